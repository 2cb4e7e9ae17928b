package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/examples"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/sync/event"
)

func runCmd(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestDemo(t *testing.T) {
	code, out, errs := runCmd(t, context.Background(), "demo")
	if code != 0 {
		t.Fatalf("demo exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"ALLOWED  bob rename file:plan",
		"because: collaboration c1: editor on folder:projects",
		"DENIED   bob delete folder:projects",
		"only owners and co-owners may invite here",
		"DENIED   erin list folder:projects",
		"ALLOWED  (anonymous) preview file:plan (presenting link file:plan)",
		"because: the item or a folder above it is in the trash",
		"Who may download file:plan? alice, bob, dave",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}

func TestSchemaValidateReportsLines(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	for path, user := range map[string]string{good: "x", bad: "y"} {
		if err := os.WriteFile(path, []byte("relationships: |-\n  folder:a#owner@user:x\nassertions:\n  assertTrue:\n    - folder:a#rename@user:"+user+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	code, out, _ := runCmd(t, context.Background(), "schema", "validate", good)
	if code != 0 || !strings.Contains(out, "ok (1 assertions") {
		t.Fatalf("good file: exit %d, %s", code, out)
	}
	code, out, _ = runCmd(t, context.Background(), "schema", "validate", bad)
	if code != 1 || !strings.Contains(out, "bad.yaml:5:7: assertion:") {
		t.Fatalf("bad file: exit %d, want 1 and a failure on line 5:\n%s", code, out)
	}
	code, out, _ = runCmd(t, context.Background(), "schema", "print")
	if code != 0 || !strings.Contains(out, "definition folder {") {
		t.Fatalf("schema print: exit %d", code)
	}
}

// TestServeAndCheck runs `boxauthz serve` on the embedded default, loads the
// sample over HTTP and asks it with `boxauthz check`.
func TestServeAndCheck(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := testenv.FreeAddr(t)
	done := make(chan int, 1)
	go func() {
		code, _, errs := runCmd(t, ctx, "serve", "--addr", addr, "--admin-key", "k1")
		if code != 0 {
			t.Logf("serve: %s", errs)
		}
		done <- code
	}()
	base := "http://" + addr
	if err := waitReadyz(ctx, base, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", base+"/v1/events", bytes.NewReader(examples.AcmeEvents))
	req.Header.Set("Authorization", "Bearer k1")
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("loading events: %v %v", err, resp)
	}
	resp.Body.Close()

	tests := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"bob", "rename", "file:plan"}, 0, "allowed"},
		{[]string{"bob", "delete", "folder:projects", "--explain"}, 1, "action_not_in_role"},
		{[]string{"bob", "fly", "file:plan"}, 2, ""},
	}
	for _, tt := range tests {
		args := append([]string{"check", "--server", base, "--admin-key", "k1"}, tt.args...)
		code, out, errs := runCmd(t, ctx, args...)
		if code != tt.code || !strings.Contains(out, tt.out) {
			t.Errorf("check %v: exit %d out %q err %q; want exit %d and %q", tt.args, code, out, errs, tt.code, tt.out)
		}
	}
	mresp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mbody, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	if !strings.Contains(string(mbody), `boxauthz_sync_events_applied_total{source="http"} 24`) {
		t.Errorf("/metrics does not count the 24 events applied:\n%s", mbody)
	}
	if code, out, errs := runCmd(t, ctx, "healthcheck", "--url", base+"/readyz"); code != 0 || !strings.Contains(out, "healthy") {
		t.Errorf("healthcheck of a ready server: exit %d %q %q", code, out, errs)
	}
	if code, _, _ := runCmd(t, ctx, "healthcheck", "--url", "http://"+testenv.FreeAddr(t)+"/readyz"); code != 1 {
		t.Errorf("healthcheck of nothing: exit %d, want 1", code)
	}
	// Tokens are served too: issue one and authorize with it.
	treq, _ := http.NewRequest("POST", base+"/v1/tokens", strings.NewReader(`{"user":"bob","scopes":["root_readonly"]}`))
	treq.Header.Set("Authorization", "Bearer k1")
	tresp, err := http.DefaultClient.Do(treq)
	if err != nil || tresp.StatusCode != 201 {
		t.Fatalf("issuing a token: %v %v", err, tresp)
	}
	var pair struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(tresp.Body).Decode(&pair)
	tresp.Body.Close()
	areq, _ := http.NewRequest("POST", base+"/v1/authorize", strings.NewReader(`{"action":"download","item":{"type":"file","id":"plan"}}`))
	areq.Header.Set("Authorization", "Bearer "+pair.AccessToken)
	aresp, err := http.DefaultClient.Do(areq)
	if err != nil {
		t.Fatal(err)
	}
	abody, _ := io.ReadAll(aresp.Body)
	aresp.Body.Close()
	if !strings.Contains(string(abody), `"allowed":true`) {
		t.Errorf("authorize with an issued token: %s", abody)
	}
	code, _, errs := runCmd(t, ctx, "check", "--server", base, "--admin-key", "wrong", "bob", "rename", "file:plan")
	if code != 2 || !strings.Contains(errs, "401") {
		t.Errorf("check with a wrong key: exit %d, %q; want 2 and the 401", code, errs)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited %d on shutdown", code)
		}
	case <-time.After(20 * time.Second):
		t.Error("serve did not stop within 20s of cancel")
	}
}

func TestServeNeedsAdminKey(t *testing.T) {
	t.Setenv("BOXAUTHZ_ADMIN_KEY", "")
	os.Unsetenv("BOXAUTHZ_ADMIN_KEY")
	code, _, errs := runCmd(t, context.Background(), "serve", "--addr", testenv.FreeAddr(t))
	if code != 2 || !strings.Contains(errs, "--admin-key") {
		t.Fatalf("serve without a key: exit %d, %q", code, errs)
	}
}

func TestFlagsFromEnvironment(t *testing.T) {
	t.Setenv("BOXAUTHZ_ADDR", "not-an-address")
	code, _, errs := runCmd(t, context.Background(), "serve", "--admin-key", "k")
	if code != 2 || !strings.Contains(errs, "not-an-address") {
		t.Fatalf("BOXAUTHZ_ADDR not used: exit %d, %q", code, errs)
	}
}

// TestEmbeddedWarnings: serve on the embedded store warns once past the
// relationships it serves well and once past the heap its kept revisions
// take, each pointing at PostgreSQL, and stops watching after both.
func TestEmbeddedWarnings(t *testing.T) {
	st, err := openStack(context.Background(), &spicedbFlags{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.applier.Apply(context.Background(), mustDecode(t, examples.AcmeEvents)); err != nil {
		t.Fatal(err)
	}
	n, err := st.countRelationships(context.Background())
	if err != nil || n < 50 {
		t.Fatalf("count = %d, %v; want the sample's relationships", n, err)
	}
	for _, c := range []struct {
		name  string
		lim   embeddedLimits
		heap  uint64
		warns []string
	}{
		{"relationships", embeddedLimits{relationships: n - 1, heapBytes: 1 << 30}, 1 << 20, []string{"many relationships"}},
		{"heap", embeddedLimits{relationships: n, heapBytes: 1 << 30}, 1<<30 + 1, []string{"every revision"}},
		{"both", embeddedLimits{relationships: n - 1, heapBytes: 1 << 20}, 1<<20 + 1, []string{"many relationships", "every revision"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			done := make(chan struct{})
			go func() {
				watchEmbedded(ctx, st.countRelationships, func() uint64 { return c.heap }, 10*time.Millisecond, c.lim, slog.New(slog.NewTextHandler(&logs, nil)))
				close(done)
			}()
			<-done // after warning once of each, or at the deadline
			out := logs.String()
			if strings.Count(out, "level=WARN") != len(c.warns) || strings.Count(out, "PostgreSQL") != len(c.warns) {
				t.Fatalf("want %d warnings pointing at PostgreSQL (%q), got %q", len(c.warns), c.warns, out)
			}
			for _, w := range c.warns {
				if !strings.Contains(out, w) {
					t.Errorf("no warning of %q in %q", w, out)
				}
			}
		})
	}
}

// TestEmbeddedGRPCAddr: --spicedb-grpc-addr lets another SpiceDB client read
// the embedded store, with the token, on loopback only.
func TestEmbeddedGRPCAddr(t *testing.T) {
	addr := testenv.FreeAddr(t)
	sf := &spicedbFlags{grpcAddr: addr, token: "inspect-key"}
	st, err := openStack(context.Background(), sf, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	other, err := openStack(context.Background(), &spicedbFlags{endpoint: addr, token: "inspect-key", insecure: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("second client on %s: %v", addr, err)
	}
	defer other.Close()
	if err := other.ready(context.Background()); err != nil {
		t.Fatalf("the exposed embedded spicedb does not hold the schema: %v", err)
	}
	bad, err := openStack(context.Background(), &spicedbFlags{endpoint: addr, token: "wrong", insecure: true}, slog.New(slog.DiscardHandler))
	if err == nil {
		bad.Close()
		t.Fatal("a wrong token was accepted")
	}
	if _, err := openStack(context.Background(), &spicedbFlags{grpcAddr: "0.0.0.0:0", token: "k"}, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("non-loopback address: err = %v, want a refusal naming loopback", err)
	}
	if _, err := openStack(context.Background(), &spicedbFlags{grpcAddr: testenv.FreeAddr(t)}, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "--spicedb-token") {
		t.Fatalf("no token: err = %v, want a refusal naming --spicedb-token", err)
	}
}

func mustDecode(t *testing.T, b []byte) []event.Event {
	t.Helper()
	evs, err := event.DecodeEvents(b, true)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// waitReadyz polls base/readyz until it answers 200.
// scrapeMetric reads one unlabelled metric from a serve's /metrics.
func scrapeMetric(t testing.TB, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("/metrics has no %s:\n%s", name, body)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatalf("/metrics: %s = %q: %v", name, m[1], err)
	}
	return v
}

func waitReadyz(ctx context.Context, base string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		if resp, err := http.DefaultClient.Do(req); err != nil {
			last = err.Error()
		} else {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s/readyz not ready after %s: %s", base, timeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
