package bench

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
	"github.com/boxauthz/boxauthz/schema/upgrade"
)

// TestRunOnPostgres runs the whole benchmark on an embedded SpiceDB over
// the PostgreSQL database BOXAUTHZ_BENCH_PG_DSN names (empty, or at least
// without this seed's data), at size BOXAUTHZ_BENCH_SIZE (default x50), and
// prints the report: the figures of docs/benchmarks.md on PostgreSQL. It
// checks only that the run completes and that every way answered alike.
func TestRunOnPostgres(t *testing.T) {
	dsn := os.Getenv("BOXAUTHZ_BENCH_PG_DSN")
	if dsn == "" {
		t.Skip("set BOXAUTHZ_BENCH_PG_DSN to an empty PostgreSQL database to run the benchmark on it")
	}
	size := os.Getenv("BOXAUTHZ_BENCH_SIZE")
	if size == "" {
		size = DefaultSize
	}
	ctx := context.Background()
	if err := embedded.MigratePostgres(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	c, err := embedded.Start(ctx, embedded.WithPostgres(dsn), embedded.WithDispatchCache(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := upgrade.Ensure(ctx, c); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(ctx, c, nil, WithSize(size), WithChecks(200), WithCellTime(20*time.Second),
		WithStore("embedded on PostgreSQL", "off (cold)"), WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))))
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteText(os.Stdout); err != nil {
		t.Fatal(err)
	}
	if rep.Agreement.Raw.Differ != 0 || rep.Lookups.Wrong != 0 || rep.Lookups.WhoCan.Differ != 0 {
		t.Fatalf("answers differ: %d checks, %d lookup items, %d who-can lookups", rep.Agreement.Raw.Differ, rep.Lookups.Wrong, rep.Lookups.WhoCan.Differ)
	}
}
