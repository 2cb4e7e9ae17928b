package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
	"github.com/boxauthz/boxauthz/internal/testkit/eventgen"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/upgrade"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/source"
)

// buildBinary builds boxauthz once for the process-level tests.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "boxauthz")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("building boxauthz: %v\n%s", err, out)
	}
	return bin
}

// exportAll lists every model relationship SpiceDB holds, sorted, with
// caveat contexts, for comparing two runs.
func exportAll(t *testing.T, c *spicedb.Client) []string {
	t.Helper()
	var out []string
	for _, typ := range []string{schema.TypeUser, schema.TypeEnterprise, schema.TypeGroup, schema.TypeFolder, schema.TypeFile, schema.TypeCollaboration} {
		stream, err := c.ReadRelationships(context.Background(), &v1.ReadRelationshipsRequest{
			Consistency:        &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
			RelationshipFilter: &v1.RelationshipFilter{ResourceType: typ},
		})
		if err != nil {
			t.Fatal(err)
		}
		for {
			r, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			rel := r.GetRelationship()
			rel.OptionalExpiresAt = nil // compared through the caveat's expires_at
			out = append(out, rel.String())
		}
	}
	sort.Strings(out)
	return out
}

// TestSyncSurvivesSIGKILL kills a real `boxauthz sync` at random moments
// while it mirrors a 10,000-event stream into SpiceDB, restarts it each
// time, and requires the final relationships to equal an uninterrupted run's.
func TestSyncSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("process-level crash test")
	}
	const seed = 20261128
	bin := buildBinary(t)
	dir := t.TempDir()
	events := filepath.Join(dir, "events.jsonl")
	stream := eventgen.New(seed).Stream(10000)
	if err := os.WriteFile(events, append(bytes.Join(stream, []byte("\n")), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := testenv.FreeAddr(t)
	const key = "crash-test-key"
	target, err := embedded.Start(ctx, embedded.WithGRPCAddr(addr, key))
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if _, err := upgrade.Ensure(ctx, target); err != nil {
		t.Fatal(err)
	}

	rnd := rand.New(rand.NewPCG(seed, 1))
	kills := 0
	logPath := filepath.Join(dir, "sync.log")
	for run := 0; ; run++ {
		if run > 200 {
			t.Fatal("boxauthz sync did not finish in 200 runs")
		}
		logf, _ := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		cmd := exec.Command(bin, "sync", "--events", events, "--spicedb-endpoint", addr, "--spicedb-insecure", "--spicedb-token", key)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		// Kill while it works for the first dozen runs, then let it finish.
		var killAfter <-chan time.Time
		if kills < 12 {
			killAfter = time.After(time.Duration(300+rnd.IntN(2500)) * time.Millisecond)
		}
		select {
		case err := <-done:
			logf.Close()
			if err != nil {
				log, _ := os.ReadFile(logPath)
				t.Fatalf("boxauthz sync failed on its own (run %d): %v\n%s", run, err, tail(log))
			}
			goto finished
		case <-killAfter:
			_ = cmd.Process.Signal(syscall.SIGKILL)
			if err := <-done; err == nil {
				t.Logf("run %d finished just before its kill", run)
			}
			logf.Close()
			kills++
		}
	}
finished:
	if kills == 0 {
		t.Fatal("the process was never killed: the test proved nothing")
	}
	t.Logf("boxauthz sync killed %d times before finishing", kills)

	// The same stream, uninterrupted, in this process.
	ref := testSpiceDB(t)
	fi, _ := os.Stat(events)
	src, err := source.NewFileSource(events, source.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	st, err := src.Run(ctx, sync.NewApplier(ref, sync.WithLogger(slog.New(slog.DiscardHandler))))
	if err != nil || st.Position != fi.Size() {
		t.Fatalf("reference run: %+v %v", st, err)
	}
	got, want := exportAll(t, target), exportAll(t, ref)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("killed-and-restarted run differs from an uninterrupted one: %d vs %d relationships; first difference: %s", len(got), len(want), firstDiff(got, want))
	}
	pos, err := sync.NewApplier(target).Position(ctx, "file:"+events)
	if off, perr := source.FileOffset(pos); err != nil || perr != nil || off != fi.Size() {
		t.Fatalf("final position %s (%v), want the file's size %d", pos, err, fi.Size())
	}
	if _, err := os.Stat(events + ".dead"); err == nil {
		t.Fatalf("dead letters from a valid stream")
	}
}

func testSpiceDB(t *testing.T) *spicedb.Client {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c, err := embedded.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); cancel() })
	if _, err := upgrade.Ensure(ctx, c); err != nil {
		t.Fatal(err)
	}
	return c
}

func firstDiff(a, b []string) string {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return "got " + a[i] + " want " + b[i]
		}
	}
	if len(a) > len(b) {
		return "extra " + a[len(b)]
	}
	if len(b) > len(a) {
		return "missing " + b[len(a)]
	}
	return ""
}

func tail(b []byte) string {
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
