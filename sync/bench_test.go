package sync_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"syscall"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/testkit/eventgen"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/event"
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
			evs, err := event.DecodeEvents(bytes.Join(lines, []byte("\n")), true)
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

// groupMemberships is one group and n memberships in it, each for a user of
// its own, as one batch.
func groupMemberships(tb testing.TB, n int) []event.Event {
	tb.Helper()
	var b bytes.Buffer
	b.WriteString(`{"id":"ent","type":"user.created","user":{"id":"owner","enterprise":"acme"}}` + "\n")
	b.WriteString(`{"id":"grp","type":"group.created","group":{"id":"g","enterprise":"acme"}}` + "\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `{"id":"m%d","type":"group_membership.created","group_membership":{"id":"m%d","group":"g","user":"u%d"}}`+"\n", i, i, i)
	}
	evs, err := event.DecodeEvents(b.Bytes(), true)
	if err != nil {
		tb.Fatal(err)
	}
	return evs
}

// BenchmarkGroupMemberships applies n memberships of one group in a single
// batch, on a fresh in-memory SpiceDB: the time per batch must grow
// linearly with n.
//
//	go test ./sync -run '^$' -bench GroupMemberships -benchtime 1x
func BenchmarkGroupMemberships(b *testing.B) {
	for _, n := range []int{4000, 8000, 100_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			evs := groupMemberships(b, n)
			quiet := slog.New(slog.DiscardHandler)
			ctx := context.Background()
			var cpu time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				a := sync.NewApplier(testenv.SpiceDB(b, testenv.Memory), sync.WithLogger(quiet))
				before := cpuTime(b)
				b.StartTimer()
				res, err := a.Apply(ctx, evs)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				cpu += cpuTime(b) - before
				b.StartTimer()
				if res.Applied != len(evs) {
					b.Fatalf("applied %d of %d", res.Applied, len(evs))
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "memberships/s")
			// CPU time (the process's, SpiceDB's included) says what the
			// batch costs on a machine whose cores are shared.
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

// cpuTime is the CPU time this process has used so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
