package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/internal/testkit/fixture"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
)

// TestSyncPosition shows and moves the position sync committed for a file,
// against a SpiceDB that outlives each command.
func TestSyncPosition(t *testing.T) {
	ctx := context.Background()
	addr := testenv.FreeAddr(t)
	st, err := openStack(ctx, &spicedbFlags{grpcAddr: addr, token: "pos-key"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	remote := []string{"--spicedb-endpoint", addr, "--spicedb-insecure", "--spicedb-token", "pos-key"}
	events := filepath.Join(t.TempDir(), "events.jsonl")
	line := fixture.EntAcme + "\n"
	if err := os.WriteFile(events, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCmd(t, ctx, append([]string{"sync", "--events", events}, remote...)...); code != 0 {
		t.Fatalf("sync exit %d: %s", code, errs)
	}
	name := "file:" + events
	show := append([]string{"sync", "position", "show", "--source", name}, remote...)
	code, out, errs := runCmd(t, ctx, show...)
	if code != 0 || !strings.Contains(out, "f2|") || !strings.Contains(out, "offset "+strconv.Itoa(len(line))+" of the file with device") {
		t.Fatalf("show: exit %d, %s%s", code, out, errs)
	}
	committed := strings.TrimSpace(strings.SplitN(strings.SplitN(out, "\n", 2)[0], ": ", 2)[1])

	set := append([]string{"sync", "position", "set", "--source", name, "--quiet-window", "10ms"}, remote...)
	if code, _, errs := runCmd(t, ctx, append(set, "--position", "x|y")...); code != 2 || !strings.Contains(errs, "not a file position") {
		t.Fatalf("set to a non-file position: exit %d, %s", code, errs)
	}
	if code, _, errs := runCmd(t, ctx, append(set, "--position", "0", "--from", "7")...); code != 2 || !strings.Contains(errs, "moved since you looked") {
		t.Fatalf("set from a stale position: exit %d, %s", code, errs)
	}
	code, out, errs = runCmd(t, ctx, append(set, "--position", "0", "--from", committed)...)
	if code != 0 || !strings.Contains(out, "moved from "+committed+" to 0") {
		t.Fatalf("set: exit %d, %s%s", code, out, errs)
	}
	if got, err := st.applier.Position(ctx, name); err != nil || got != "0" {
		t.Fatalf("position after set = %q (%v), want 0", got, err)
	}
	// A writer committing within the window is running: set refuses.
	stop := make(chan struct{})
	writing := make(chan struct{})
	go func() {
		defer close(writing)
		for n := 1; ; n++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			cur, err := st.applier.Position(ctx, name)
			if err == nil {
				_ = st.applier.SetPosition(ctx, name, cur, strconv.Itoa(n))
			}
		}
	}()
	slow := append([]string{"sync", "position", "set", "--source", name, "--quiet-window", "1s", "--position", "0"}, remote...)
	code, _, errs = runCmd(t, ctx, slow...)
	close(stop)
	<-writing
	if code != 2 || !strings.Contains(errs, "a writer is committing positions") {
		t.Fatalf("set while a writer commits: exit %d, %s", code, errs)
	}
}

func TestSyncPositionNeedsItsFlags(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sync", "position"}, "want a command: set, show"},
		{[]string{"sync", "position", "move"}, "unknown command \"move\" for \"boxauthz sync position\"\nValid commands: set, show"},
		{[]string{"sync", "position", "show"}, "needs --source"},
		{[]string{"sync", "position", "show", "--source", "stdin"}, "needs --spicedb-endpoint"},
		{[]string{"sync", "position", "set", "--source", "stdin", "--spicedb-endpoint", "127.0.0.1:1"}, "needs --position"},
		{[]string{"sync", "position", "set", "--source", "stdin", "--kind", "x", "--spicedb-endpoint", "127.0.0.1:1"}, "--kind"},
	} {
		if code, _, errs := runCmd(t, ctx, tc.args...); code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, %s; want 2 and %q", tc.args, code, errs, tc.want)
		}
	}
}

func TestDescribePosition(t *testing.T) {
	for _, tc := range []struct{ kind, pos, want string }{
		{kindOutbox, "12-3", "txid 12, id 3"},
		{kindFile, "40", "offset 40 (from before"},
		{kindFile, "f2|40|1|2|40|ab", "offset 40 of the file with device 1, inode 2, whose first 40 bytes hash to ab"},
		{kindFile, "nope", ""},
	} {
		if got := describePosition(tc.kind, tc.pos); !strings.Contains(got, tc.want) || (tc.want == "" && got != "") {
			t.Errorf("describePosition(%s, %s) = %q, want %q", tc.kind, tc.pos, got, tc.want)
		}
	}
}

func TestValidateFor(t *testing.T) {
	for _, tc := range []struct {
		kind, name, pos string
		ok              bool
	}{
		{kindFile, "file:/x", "0", true},
		{kindFile, "file:/x", "f2|40|1|2|40|ab", true},
		{kindFile, "file:/x", "12-3", false},
		{kindFile, "stdin", "40", true},
		{kindFile, "stdin", "f2|40|1|2|40|ab", false},
		{kindOutbox, "outbox:h:5432/db", "12-3", true},
		{kindOutbox, "outbox:h:5432/db", "12", false},
		{"", "custom", "12", false},
	} {
		if err := validateFor(tc.kind, tc.name, tc.pos); (err == nil) != tc.ok {
			t.Errorf("validateFor(%s, %s, %s) = %v, want ok %v", tc.kind, tc.name, tc.pos, err, tc.ok)
		}
	}
}
