package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/boxauthz/boxauthz/internal/testkit/eventgen"
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
