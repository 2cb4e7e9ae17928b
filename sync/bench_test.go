package sync_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"

	"github.com/boxauthz/boxauthz/internal/eventgen"
	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/testenv"
	"github.com/boxauthz/boxauthz/sync"
)

// recorder keeps every write the Applier makes, to replay them raw.
type recorder struct {
	*spicedb.Client
	writes []*v1.WriteRelationshipsRequest
}

func (r *recorder) WriteRelationships(ctx context.Context, in *v1.WriteRelationshipsRequest, opts ...grpc.CallOption) (*v1.WriteRelationshipsResponse, error) {
	r.writes = append(r.writes, in)
	return r.Client.WriteRelationships(ctx, in, opts...)
}

// BenchmarkSyncVsRaw mirrors a generated stream through sync (decode,
// validate against state, dedup, translate, write with positions) and then
// writes exactly the same relationship updates straight to a fresh SpiceDB
// with WriteRelationships, in the same run: the ratio is what sync costs on
// top of SpiceDB's own writes.
//
//	go test ./sync -run '^$' -bench SyncVsRaw -benchtime 1x -count 5
func BenchmarkSyncVsRaw(b *testing.B) {
	for _, ds := range testenv.Datastores() {
		b.Run(string(ds), func(b *testing.B) {
			const events, batch = 5000, 500
			lines := eventgen.New(99).Stream(events)
			evs, err := sync.DecodeEvents(bytes.Join(lines, []byte("\n")), true)
			if err != nil {
				b.Fatal(err)
			}
			quiet := slog.New(slog.DiscardHandler)
			ctx := context.Background()
			var syncTime, rawTime time.Duration
			for i := 0; i < b.N; i++ {
				rec := &recorder{Client: testenv.SpiceDB(b, ds)}
				a := sync.NewApplier(rec, sync.WithLogger(quiet))
				start := time.Now()
				for s := 0; s < len(evs); s += batch {
					part := evs[s:min(s+batch, len(evs))]
					pos := make([]string, len(part))
					for j := range pos {
						pos[j] = itoa(s + j + 1)
					}
					if _, err := a.ApplyBatch(ctx, sync.Batch{Events: part, Source: "bench", Positions: pos, End: pos[len(pos)-1]}); err != nil {
						b.Fatal(err)
					}
				}
				syncTime += time.Since(start)

				raw := testenv.SpiceDB(b, ds)
				start = time.Now()
				for _, w := range rec.writes {
					if _, err := raw.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: w.Updates}); err != nil {
						b.Fatal(err)
					}
				}
				rawTime += time.Since(start)
			}
			syncRate := float64(events*b.N) / syncTime.Seconds()
			rawRate := float64(events*b.N) / rawTime.Seconds()
			b.ReportMetric(syncRate, "sync-events/s")
			b.ReportMetric(rawRate, "raw-events/s")
			b.ReportMetric(syncRate/rawRate, "ratio")
		})
	}
}
