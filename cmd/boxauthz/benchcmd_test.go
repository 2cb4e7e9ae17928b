package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/internal/bench"
	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
)

// quickBench are the flags that keep a bench run to a few seconds: the tiny
// data set, few questions per row, one concurrency level.
var quickBench = []string{"--size", "tiny", "--checks", "6", "--conc", "1", "--cell-time", "5s"}

func TestBenchTable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code, out, errs := runCmd(t, ctx, append([]string{"bench", "--cold"}, quickBench...)...)
	if code != 0 {
		t.Fatalf("bench exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"boxauthz p50/p95/checks/s", "raw p50/p95/checks/s", "naive p50/p95/checks/s", "boxauthz/raw", "boxauthz/naive",
		"dispatch cache off (cold)", "Load: ", "Memory after load: VmRSS", "differ on 0 of",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("bench table lacks %q:\n%s", want, out)
		}
	}
	for _, depth := range bench.Buckets() {
		found := false
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > 2 && f[0] == depth && f[1] == "1" && strings.HasSuffix(line, "x") {
				found = true
			}
		}
		if !found {
			t.Errorf("bench table has no row for depth %s at concurrency 1 ending in a ratio:\n%s", depth, out)
		}
	}
	if !strings.Contains(errs, "data set loaded") {
		t.Errorf("bench logged no load progress:\n%s", errs)
	}
}

// TestBenchJSONExternal runs bench against an external SpiceDB (an embedded
// one serving gRPC on loopback): the report is one JSON document, naive is
// skipped, and boxauthz's answers are raw's.
func TestBenchJSONExternal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	addr := testenv.FreeAddr(t)
	ext, err := embedded.Start(ctx, embedded.WithGRPCAddr(addr, "bench-key"))
	if err != nil {
		t.Fatal(err)
	}
	defer ext.Close()
	args := append([]string{"bench", "--json", "--spicedb-endpoint", addr, "--spicedb-insecure", "--spicedb-token", "bench-key", "--yes-write"}, quickBench...)
	code, out, errs := runCmd(t, ctx, args...)
	if code != 0 {
		t.Fatalf("bench exit %d: %s", code, errs)
	}
	var rep bench.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("bench --json is not one JSON document: %v\n%s", err, out)
	}
	if rep.SpiceDB != addr || rep.NaiveSkipped == "" || rep.Relationships == 0 || rep.LoadSeconds <= 0 || rep.MemoryAtEnd.RSSBytes == 0 {
		t.Errorf("report: spicedb %q, naive skipped %q, %d relationships in %v s, rss %d", rep.SpiceDB, rep.NaiveSkipped, rep.Relationships, rep.LoadSeconds, rep.MemoryAtEnd.RSSBytes)
	}
	if len(rep.Rows) != len(bench.Buckets()) {
		t.Fatalf("%d rows, want one per depth band: %+v", len(rep.Rows), rep.Rows)
	}
	for _, r := range rep.Rows {
		if r.Boxauthz.Checks == 0 || r.Raw.Checks != r.Boxauthz.Checks || r.Naive != nil || r.VsRaw <= 0 {
			t.Errorf("row %s: boxauthz %+v, raw %+v, naive %+v, ratio %v", r.Depth, r.Boxauthz, r.Raw, r.Naive, r.VsRaw)
		}
	}
	if rep.Agreement.Raw.Compared == 0 || rep.Agreement.Raw.Differ != 0 || rep.ChainConfirmed == 0 || rep.ChainUnconfirmed != 0 {
		t.Errorf("agreement %+v, chain checks %d confirmed, %d unconfirmed", rep.Agreement, rep.ChainConfirmed, rep.ChainUnconfirmed)
	}
	// A second run with the same seed finds its data set there.
	code, _, errs = runCmd(t, ctx, args...)
	if code == 0 || !strings.Contains(errs, "--seed") {
		t.Errorf("second run into the same SpiceDB: exit %d, want a failure naming --seed: %s", code, errs)
	}
}

func TestBenchRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"bad size", []string{"--size", "huge"}, []string{"--size", "tiny", "small", "xN"}},
		{"external without --yes-write", []string{"--spicedb-endpoint", "127.0.0.1:1"}, []string{"--yes-write", "writes"}},
		{"cold on external", []string{"--spicedb-endpoint", "127.0.0.1:1", "--yes-write", "--cold"}, []string{"--cold"}},
		{"data dir on external", []string{"--spicedb-endpoint", "127.0.0.1:1", "--yes-write", "--data-dir", "/nonexistent"}, []string{"--data-dir", "--spicedb-endpoint"}},
		{"bad concurrency", []string{"--conc", "1,zero"}, []string{"--conc"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := runCmd(t, context.Background(), append([]string{"bench"}, tc.args...)...)
			if code != 2 {
				t.Errorf("exit %d, want 2: %s", code, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(errs, w) {
					t.Errorf("error lacks %q: %s", w, errs)
				}
			}
		})
	}
}

func TestBenchHelp(t *testing.T) {
	code, out, errs := runCmd(t, context.Background(), "bench", "-h")
	if code != 0 || !strings.Contains(out, "WRITTEN INTO THAT SpiceDB") || !strings.Contains(out, "-yes-write") {
		t.Errorf("bench -h: exit %d, want 0 and a help naming what an endpoint gets written:\n%s%s", code, out, errs)
	}
}

// TestBenchDataDir runs bench with --data-dir: the primary SpiceDB is the
// durable store in that directory, which holds the data set afterwards, and
// boxauthz's answers are raw's.
func TestBenchDataDir(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	code, out, errs := runCmd(t, ctx, append([]string{"bench", "--json", "--cold", "--data-dir", dir}, quickBench...)...)
	if code != 0 {
		t.Fatalf("bench --data-dir exit %d: %s", code, errs)
	}
	var rep bench.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("bench --json is not one JSON document: %v\n%s", err, out)
	}
	if !strings.Contains(rep.SpiceDB, dir) || rep.Relationships == 0 || rep.Agreement.Raw.Compared == 0 || rep.Agreement.Raw.Differ != 0 {
		t.Errorf("report: spicedb %q, %d relationships, agreement %+v", rep.SpiceDB, rep.Relationships, rep.Agreement)
	}
	// tiny is small enough for the in-memory naive SpiceDB: it is measured.
	if rep.NaiveSkipped != "" || len(rep.Rows) == 0 || rep.Rows[0].Naive == nil {
		t.Errorf("naive skipped %q at tiny; rows %+v", rep.NaiveSkipped, rep.Rows)
	}
	if fi, err := os.Stat(filepath.Join(dir, "boxauthz.db")); err != nil || fi.Size() == 0 {
		t.Fatalf("the data dir holds no store after bench: %v", err)
	}
	c, err := embedded.Start(ctx, embedded.WithDataDir(dir))
	if err != nil {
		t.Fatalf("reopening the data dir: %v", err)
	}
	defer c.Close()
	if n := len(exportAll(t, c)); n == 0 {
		t.Errorf("the reopened data dir holds no relationships; bench loaded %d", rep.Relationships)
	}
	_ = c.Close()
	// A second run on the same directory finds its data set there.
	code, _, errs = runCmd(t, ctx, append([]string{"bench", "--data-dir", dir}, quickBench...)...)
	if code == 0 || !strings.Contains(errs, "--seed") {
		t.Errorf("second run on the same data dir: exit %d, want a failure naming --seed: %s", code, errs)
	}
}
