package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/sync/source"
)

// readyz is /readyz's status and, for a 503, its error body.
func readyz(t *testing.T, base, key string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/readyz", nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("/readyz body %q: %v", b, err)
	}
	return resp.StatusCode, body
}

// holdCatchUp holds serve's source at its first progress report after a
// batch, until release is closed, so the catch-up is under way and stays
// so for as long as the test wants.
type holdCatchUp struct {
	once    gosync.Once
	held    chan struct{}
	release chan struct{}
}

func newHoldCatchUp(t *testing.T) *holdCatchUp {
	h := &holdCatchUp{held: make(chan struct{}), release: make(chan struct{})}
	t.Cleanup(h.let)
	return h
}

func (h *holdCatchUp) hook(p source.Progress) {
	if p.Applied == 0 || p.CaughtUp {
		return
	}
	first := false
	h.once.Do(func() { first = true })
	if first {
		close(h.held)
		<-h.release
	}
}

func (h *holdCatchUp) let() {
	select {
	case <-h.release:
	default:
		close(h.release)
	}
}

// startServe runs serve's own wiring with an embedded SpiceDB until the
// test ends.
func startServe(t *testing.T, hook func(source.Progress), args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := testenv.FreeAddr(t)
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, append([]string{"--addr", addr, "--admin-key", "ready-key"}, args...), slog.New(slog.DiscardHandler), hook)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop within 20s")
		}
	})
	return "http://" + addr
}

// waitListening waits until serve answers HTTP at all.
func waitListening(t *testing.T, base string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not answering after 60s", base)
		}
	}
}

// TestReadyzWaitsForCatchUp: serve --events answers /readyz 503, saying
// why, while it applies the file it found at start, and 200 once caught up.
func TestReadyzWaitsForCatchUp(t *testing.T) {
	const n = 3000
	events := generatedEvents(t, n)
	hold := newHoldCatchUp(t)
	base := startServe(t, hold.hook, "--events", events)
	<-hold.held
	waitListening(t, base)
	code, body := readyz(t, base, "")
	msg, _ := body["message"].(string)
	if code != http.StatusServiceUnavailable || body["code"] != "not_ready" || body["type"] != "error" ||
		!strings.Contains(msg, "catching up on 1 event source(s)") || !strings.Contains(msg, "500 events applied") || strings.Contains(msg, events) {
		t.Fatalf("readyz while catching up: %d %v; want 503 not_ready saying it catches up, without the path", code, body)
	}
	code, body = readyz(t, base, "ready-key")
	if msg, _ := body["message"].(string); code != http.StatusServiceUnavailable || !strings.Contains(msg, "events file "+events+": ") {
		t.Fatalf("readyz for an admin while catching up: %d %v; want 503 naming the file", code, body)
	}
	hold.let()
	if err := waitReadyz(context.Background(), base, 120*time.Second); err != nil {
		t.Fatal(err)
	}
	// A plain generated stream is valid throughout: every event applies.
	if applied := scrapeMetric(t, base, `boxauthz_sync_events_applied_total{source="file:`+events+`"}`); applied != n {
		t.Fatalf("ready with %v events applied, want all %d", applied, n)
	}
}

// TestReadyDuringCatchUp: with --ready-during-catch-up, /readyz answers 200
// while the catch-up is held.
func TestReadyDuringCatchUp(t *testing.T) {
	events := generatedEvents(t, 1000)
	hold := newHoldCatchUp(t)
	base := startServe(t, hold.hook, "--events", events, "--ready-during-catch-up")
	<-hold.held
	if err := waitReadyz(context.Background(), base, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case <-hold.release:
		t.Fatal("the catch-up was let go")
	default:
	}
}

// TestReadyzSaysSourceStopped: a source whose run fails before it caught
// up keeps /readyz at 503, saying it stopped and, to an admin, why.
func TestReadyzSaysSourceStopped(t *testing.T) {
	dsn := "postgres://nobody@" + testenv.FreeAddr(t) + "/none?sslmode=disable&connect_timeout=1"
	base := startServe(t, nil, "--outbox-dsn", dsn)
	waitListening(t, base)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		code, body := readyz(t, base, "")
		msg, _ := body["message"].(string)
		if code != http.StatusServiceUnavailable {
			t.Fatalf("readyz with an unreachable outbox: %d %v", code, body)
		}
		if strings.Contains(msg, "stopped (retrying)") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz never said the source stopped: %v", body)
		}
	}
	_, body := readyz(t, base, "ready-key")
	if msg, _ := body["message"].(string); !strings.Contains(msg, "outbox: starting, stopped (retrying): connecting to the outbox database") {
		t.Fatalf("readyz for an admin: %v", body)
	}
}
