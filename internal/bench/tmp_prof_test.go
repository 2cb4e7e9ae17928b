package bench

import (
	"context"
	"os"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
	"github.com/boxauthz/boxauthz/schema"
)

func TestTmpProf(t *testing.T) {
	dsn := os.Getenv("TMP_DSN")
	if dsn == "" {
		t.Skip()
	}
	ctx := context.Background()
	c, err := embedded.Start(ctx, embedded.WithPostgres(dsn), embedded.WithDispatchCache(false))
	if err != nil {
		t.Fatal(err)
	}
	ch, stop, err := startChecker(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	time.Sleep(time.Second)
	f, _ := os.Create("/tmp/lb/cpu.prof")
	pprof.StartCPUProfile(f)
	for i := 0; i < 20; i++ {
		start := time.Now()
		p, err := ch.LookupItems(ctx, "u14999", schema.ActionPreview, schema.TypeFile, 1000, "", checker.Consistency{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d items %v", len(p.Items), time.Since(start))
	}
	pprof.StopCPUProfile()
	f.Close()
}
