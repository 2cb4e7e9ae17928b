package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/internal/testkit/fixture"
	"github.com/boxauthz/boxauthz/sync"
)

// TestPositionSetRefusedWhileLeased: position set is refused while a
// writer holds the source, even one caught up with nothing to commit,
// naming it; allowed once it stopped, with --force, and once a crashed
// writer's lease ended.
func TestPositionSetRefusedWhileLeased(t *testing.T) {
	ctx := context.Background()
	st, remote := remoteSpiceDB(t, "lease-key")
	events := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(events, []byte(fixture.EntAcme+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	name := "file:" + events
	wctx, stopWriter := context.WithCancel(ctx)
	defer stopWriter()
	writerDone := make(chan string, 1)
	go func() {
		code, _, errs := runCmd(t, wctx, append([]string{"sync", "--events", events, "--follow"}, remote...)...)
		writerDone <- strconv.Itoa(code) + " " + errs
	}()
	// Caught up: the event is applied and the writer idles.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		pos, err := st.applier.Position(ctx, name)
		ls, lerr := st.applier.Leases(ctx, name)
		if err == nil && lerr == nil && pos != "" && len(ls) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the writer neither committed nor holds the lease: %q %v %v %v", pos, ls, err, lerr)
		}
	}
	set := append([]string{"sync", "position", "set", "--source", name, "--quiet-window", "10ms", "--position", "0"}, remote...)
	code, _, errs := runCmd(t, ctx, set...)
	host, _ := os.Hostname()
	if code != 2 || !strings.Contains(errs, "a writer is running on "+name) || !strings.Contains(errs, "host "+host+" pid "+strconv.Itoa(os.Getpid())) ||
		!strings.Contains(errs, "lease until ") || !strings.Contains(errs, "--force") {
		t.Fatalf("set while a writer runs: exit %d, %s", code, errs)
	}
	stopWriter()
	if out := <-writerDone; !strings.HasPrefix(out, "0 ") {
		t.Fatalf("writer: %s", out)
	}
	if code, out, errs := runCmd(t, ctx, set...); code != 0 || !strings.Contains(out, "to 0") {
		t.Fatalf("set once the writer stopped: exit %d, %s%s", code, out, errs)
	}

	// A writer that crashed: its lease stays until it ends.
	crashed := sync.LeaseHolder{Host: "gone.example", PID: 99, Run: "crashed"}
	if _, err := st.applier.HoldLease(ctx, name, crashed, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	to1 := append([]string{"sync", "position", "set", "--source", name, "--quiet-window", "0", "--position", "1"}, remote...)
	if code, _, errs := runCmd(t, ctx, to1...); code != 2 || !strings.Contains(errs, "host gone.example pid 99") {
		t.Fatalf("set while a crashed writer's lease lasts: exit %d, %s", code, errs)
	}
	if code, _, errs := runCmd(t, ctx, append(to1, "--force")...); code != 0 {
		t.Fatalf("set --force: exit %d, %s", code, errs)
	}
	time.Sleep(2500 * time.Millisecond)
	to0 := append([]string{"sync", "position", "set", "--source", name, "--quiet-window", "0", "--position", "0"}, remote...)
	if code, _, errs := runCmd(t, ctx, to0...); code != 0 {
		t.Fatalf("set once the lease ended: exit %d, %s", code, errs)
	}
}
