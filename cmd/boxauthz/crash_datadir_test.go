package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
	"github.com/boxauthz/boxauthz/internal/testkit/eventgen"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/schema/upgrade"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/source"
)

// TestServeDataDirSurvivesSIGKILLDuringApply kills a real `boxauthz serve
// --data-dir D --events FILE` at random instants while it applies a
// generated event stream, restarts it each time on the same directory and
// file until it has caught up, and requires the store to end holding exactly
// what one uninterrupted run on a fresh directory holds, with the file's
// position at its end and no dead letters.
func TestServeDataDirSurvivesSIGKILLDuringApply(t *testing.T) {
	if testing.Short() {
		t.Skip("process-level crash test")
	}
	const (
		seed   = 20261206
		events = 12000
		kills  = 8
	)
	bin := buildBinary(t)
	work := t.TempDir()
	file := filepath.Join(work, "events.jsonl")
	stream := eventgen.New(seed).Stream(events)
	if err := os.WriteFile(file, append(bytes.Join(stream, []byte("\n")), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(work, "crashed")

	rnd := rand.New(rand.NewPCG(seed, 2))
	logPath := filepath.Join(work, "serve.log")
	killed, midApply := 0, 0
	for run := 0; ; run++ {
		if run > 60 {
			t.Fatal("serve did not catch up in 60 runs")
		}
		// The kill comes after start-up (opening the store, ensuring the
		// schema) plus a random share of the apply; a run past the kill
		// budget is left to catch up.
		// A clean run applies about 5,000 events a second here after some
		// 100 ms of start-up: kills 150-800 ms in land from the store's open
		// to well into the apply, each run advancing by a share of the file.
		var killAt <-chan time.Time
		if killed < kills {
			killAt = time.After(time.Duration(150+rnd.IntN(650)) * time.Millisecond)
		}
		caughtUp, err := serveOnce(t, bin, dataDir, file, logPath, killAt)
		if err != nil {
			log, _ := os.ReadFile(logPath)
			t.Fatalf("run %d: %v\n%s", run, err, tail(log))
		}
		if caughtUp {
			break
		}
		killed++
		off := committedOffset(t, dataDir, file)
		if off > 0 && off < fi.Size() {
			midApply++
		}
		t.Logf("run %d killed at %d of %d bytes", run, off, fi.Size())
	}
	if killed < kills {
		t.Fatalf("killed %d times, want %d: the kills came too late to prove anything", killed, kills)
	}
	if midApply < 5 {
		t.Fatalf("only %d of %d kills came while part of the file was applied: too few kill points inside the apply", midApply, killed)
	}
	t.Logf("serve --data-dir killed %d times (%d inside the apply) before catching up", killed, midApply)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ref := dataDirSpiceDB(ctx, t, filepath.Join(work, "reference"))
	src, err := source.NewFileSource(file, source.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	st, err := src.Run(ctx, sync.NewApplier(ref, sync.WithLogger(slog.New(slog.DiscardHandler))))
	if err != nil || st.Position != fi.Size() {
		t.Fatalf("reference run: %+v %v", st, err)
	}
	target := dataDirSpiceDB(ctx, t, dataDir)

	got, want := exportAll(t, target), exportAll(t, ref)
	if len(want) == 0 {
		t.Fatal("the reference holds no relationships: the stream proved nothing")
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("killed-and-restarted data dir differs from an uninterrupted one: %d vs %d relationships; first difference: %s", len(got), len(want), firstDiff(got, want))
	}
	pos, err := sync.NewApplier(target).Position(ctx, "file:"+file)
	if off, perr := source.FileOffset(pos); err != nil || perr != nil || off != fi.Size() {
		t.Fatalf("final position %s (%v, %v), want the file's size %d", pos, err, perr, fi.Size())
	}
	if _, err := os.Stat(file + ".dead"); err == nil {
		dead, _ := os.ReadFile(file + ".dead")
		t.Fatalf("dead letters from a valid stream:\n%s", tail(dead))
	}
}

// serveOnce runs serve on dataDir following file until /readyz says it has
// caught up (then stops it with SIGTERM and reports caughtUp) or killAt
// fires (then SIGKILLs it). A serve that exits on its own is an error.
func serveOnce(t *testing.T, bin, dataDir, file, logPath string, killAt <-chan time.Time) (caughtUp bool, err error) {
	t.Helper()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return false, err
	}
	defer logf.Close()
	addr := testenv.FreeAddr(t)
	cmd := exec.Command(bin, "serve", "--addr", addr, "--admin-key", "k1", "--data-dir", dataDir, "--events", file, "--chain-checks=false")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return false, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ready := make(chan error, 1)
	readyCtx, stopReady := context.WithCancel(context.Background())
	defer stopReady()
	go func() { ready <- waitReadyz(readyCtx, "http://"+addr, 5*time.Minute) }()

	select {
	case err := <-done:
		return false, fmt.Errorf("serve exited on its own: %w", err)
	case <-killAt:
		_ = cmd.Process.Signal(syscall.SIGKILL)
		if err := <-done; err == nil {
			t.Log("serve exited cleanly before its SIGKILL")
		}
		return false, nil
	case err := <-ready:
		if err != nil {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			if werr := <-done; werr == nil {
				t.Log("serve exited cleanly before its SIGKILL")
			}
			return false, err
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := <-done; err != nil {
			return true, fmt.Errorf("serve stopping after catch-up: %w", err)
		}
		return true, nil
	}
}

// dataDirSpiceDB starts an embedded SpiceDB on dir, holding the schema,
// closed when the test ends.
func dataDirSpiceDB(ctx context.Context, t *testing.T, dir string) *spicedb.Client {
	t.Helper()
	c, err := embedded.Start(ctx, embedded.WithDataDir(dir))
	if err != nil {
		t.Fatalf("opening data dir %s: %v", dir, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := upgrade.Ensure(ctx, c); err != nil {
		t.Fatal(err)
	}
	return c
}

// committedOffset is the file position the store in dataDir records for
// file, read with serve stopped.
func committedOffset(t *testing.T, dataDir, file string) int64 {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := embedded.Start(ctx, embedded.WithDataDir(dataDir))
	if err != nil {
		t.Fatalf("opening data dir %s after a kill: %v", dataDir, err)
	}
	defer func() { _ = c.Close() }()
	pos, err := sync.NewApplier(c).Position(ctx, "file:"+file)
	if err != nil {
		// Killed before the schema was written: nothing applied yet.
		return 0
	}
	if pos == "" {
		return 0
	}
	off, err := source.FileOffset(pos)
	if err != nil {
		t.Fatalf("position %q after a kill: %v", pos, err)
	}
	return off
}
