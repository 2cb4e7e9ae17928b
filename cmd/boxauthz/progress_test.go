package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/boxauthz/boxauthz/internal/testkit/eventgen"
	"github.com/boxauthz/boxauthz/internal/testkit/fixture"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
)

// generatedEvents writes n generated events to a file and returns its
// path.
func generatedEvents(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(path, append(bytes.Join(eventgen.New(7).Stream(n), []byte("\n")), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// remoteSpiceDB is an embedded SpiceDB on a loopback gRPC port, for the
// commands that need one outliving them; it returns their flags.
func remoteSpiceDB(t *testing.T, key string) (*stack, []string) {
	t.Helper()
	addr := testenv.FreeAddr(t)
	st, err := openStack(context.Background(), &spicedbFlags{grpcAddr: addr, token: key}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, []string{"--spicedb-endpoint", addr, "--spicedb-insecure", "--spicedb-token", key}
}

// TestSyncLogsProgress: boxauthz sync over a file logs progress lines
// with a percent, then one "caught up" line.
func TestSyncLogsProgress(t *testing.T) {
	_, remote := remoteSpiceDB(t, "progress-key")
	events := generatedEvents(t, 1600) // four batches
	args := append([]string{"sync", "--events", events, "--progress-interval", "1ns"}, remote...)
	code, out, errs := runCmd(t, context.Background(), args...)
	if code != 0 || !strings.Contains(out, "applied 1600") {
		t.Fatalf("sync exit %d: %s%s", code, out, errs)
	}
	progress := regexp.MustCompile(`(?m)^.*msg=progress source="events file [^"]+" position=\d+ unit=bytes total=\d+ percent=\d+(\.\d)? events=\d+ events_per_s=\S+ eta=\S+$`)
	if !progress.MatchString(errs) {
		t.Errorf("no progress line with a percent and an eta:\n%s", errs)
	}
	caught := regexp.MustCompile(`(?m)^.*msg="caught up" source="events file [^"]+" position=(\d+) unit=bytes total=(\d+) percent=100 events=1600 `)
	m := caught.FindStringSubmatch(errs)
	if m == nil || m[1] != m[2] {
		t.Errorf("no caught up line at 100%% with the 1600 events:\n%s", errs)
	}
	if n := strings.Count(errs, `msg="caught up"`); n != 1 {
		t.Errorf("%d caught up lines, want 1", n)
	}
}

// TestReconcileLogsProgress: reconcile logs reading the snapshot against
// its size, and the repair's updates as they are written.
func TestReconcileLogsProgress(t *testing.T) {
	_, remote := remoteSpiceDB(t, "reconcile-key")
	snap := filepath.Join(t.TempDir(), "snapshot.jsonl")
	if err := os.WriteFile(snap, []byte(strings.Join(fixture.BaseTree(), "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCmd(t, context.Background(), append([]string{"sync", "reconcile", "--snapshot", snap, "--progress-interval", "1ns"}, remote...)...)
	if code != 0 || !strings.Contains(out, "repaired: ") {
		t.Fatalf("reconcile exit %d: %s%s", code, out, errs)
	}
	fi, err := os.Stat(snap)
	if err != nil {
		t.Fatal(err)
	}
	read := regexp.MustCompile(`msg="snapshot read" snapshot=reading position=(\d+) unit=bytes total=(\d+) percent=100 events=7 `).FindStringSubmatch(errs)
	if read == nil || read[1] != strconv.FormatInt(fi.Size(), 10) || read[2] != read[1] {
		t.Errorf("no snapshot read line at the snapshot's %d bytes with its 7 objects:\n%s", fi.Size(), errs)
	}
	if !regexp.MustCompile(`msg="repair written" repair=writing position=[1-9]\d* unit=updates per_s=\S+ elapsed=`).MatchString(errs) {
		t.Errorf("no repair written line:\n%s", errs)
	}
}
