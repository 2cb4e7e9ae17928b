package oauth_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/boxauthz/boxauthz/checker/oauth"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
)

// BenchmarkAuthorizeVsRaw measures Authorize against a raw SpiceDB
// CheckPermission of the same question (may bob download file a, fully
// consistent, same caveat context), interleaved in one run so the machine's
// noise hits both alike. It reports p50 and p99 of each and their ratios.
// BOXAUTHZ_BENCH_DATASTORE=postgres runs it on SpiceDB on PostgreSQL.
//
//	go test ./checker/oauth -run '^$' -bench AuthorizeVsRaw -benchtime 3000x
func BenchmarkAuthorizeVsRaw(b *testing.B) {
	env := newTokenEnv(b, benchDatastore(), oauth.WithLogger(quietLogger()))
	ctx := context.Background()
	tok := env.issue(b, "bob", "", "root_readwrite").AccessToken
	req := onItem(tok, "download", "file:a")
	raw := func() {
		if err := rawDownload(ctx, env); err != nil {
			b.Fatal(err)
		}
	}
	authz := func() {
		d, err := env.authz.Authorize(ctx, req)
		if err != nil || !d.Allowed {
			b.Fatalf("authorize: %+v %v", d, err)
		}
	}
	// Warm both paths (the token's description is cached after first use).
	for range 50 {
		raw()
		authz()
	}
	rawLat := make([]time.Duration, 0, b.N)
	authzLat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		first, second := raw, authz
		fl, sl := &rawLat, &authzLat
		if i%2 == 1 {
			first, second, fl, sl = authz, raw, &authzLat, &rawLat
		}
		s := time.Now()
		first()
		*fl = append(*fl, time.Since(s))
		s = time.Now()
		second()
		*sl = append(*sl, time.Since(s))
	}
	b.StopTimer()
	pct := func(d []time.Duration, p float64) float64 {
		slices.Sort(d)
		return float64(d[int(p*float64(len(d)-1))].Microseconds())
	}
	rp50, rp99 := pct(rawLat, 0.5), pct(rawLat, 0.99)
	ap50, ap99 := pct(authzLat, 0.5), pct(authzLat, 0.99)
	b.ReportMetric(rp50, "raw-p50-µs")
	b.ReportMetric(rp99, "raw-p99-µs")
	b.ReportMetric(ap50, "authorize-p50-µs")
	b.ReportMetric(ap99, "authorize-p99-µs")
	b.ReportMetric(ap50/rp50, "p50-ratio")
	b.ReportMetric(ap99/rp99, "p99-ratio")
}

// BenchmarkAuthorizeThroughput and BenchmarkRawCheckThroughput are the same
// questions from 8 goroutines at once: compare their ns/op.
func BenchmarkAuthorizeThroughput(b *testing.B) {
	env := newTokenEnv(b, testenv.Memory, oauth.WithLogger(quietLogger()))
	tok := env.issue(b, "bob", "", "root_readwrite").AccessToken
	req := onItem(tok, "download", "file:a")
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if d, err := env.authz.Authorize(context.Background(), req); err != nil || !d.Allowed {
				b.Errorf("authorize: %+v %v", d, err)
				return
			}
		}
	})
}

func BenchmarkRawCheckThroughput(b *testing.B) {
	env := newTokenEnv(b, testenv.Memory, oauth.WithLogger(quietLogger()))
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := rawDownload(context.Background(), env); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchDatastore is the in-memory store, or SpiceDB on PostgreSQL with
// BOXAUTHZ_BENCH_DATASTORE=postgres.
func benchDatastore() testenv.Datastore {
	if os.Getenv("BOXAUTHZ_BENCH_DATASTORE") == "postgres" {
		return testenv.Postgres
	}
	return testenv.Memory
}

// linkContext is the caveat context boxauthz passes with every item check.
func linkContext() *structpb.Struct {
	st, _ := structpb.NewStruct(map[string]any{"now": time.Now().UTC().Format(time.RFC3339Nano), "presented_link": ""})
	return st
}

// rawDownload is the raw question the benchmarks compare with: may bob
// download file a, one fully consistent CheckPermission.
func rawDownload(ctx context.Context, env *tokenEnv) error {
	resp, err := env.client.CheckPermission(ctx, &v1.CheckPermissionRequest{
		Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
		Resource:    &v1.ObjectReference{ObjectType: "file", ObjectId: "a"},
		Permission:  "download",
		Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "bob"}},
		Context:     linkContext(),
	})
	if err != nil {
		return fmt.Errorf("raw check: %w", err)
	}
	if resp.GetPermissionship() != v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION {
		return fmt.Errorf("raw check: %v", resp)
	}
	return nil
}
