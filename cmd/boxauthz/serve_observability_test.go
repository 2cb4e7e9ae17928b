package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/boxauthz/boxauthz/examples"
	"github.com/boxauthz/boxauthz/internal/telemetry/otlptest"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
)

// TestServeObservability runs serve with tracing on and asserts its wiring:
// decision and SpiceDB call metrics on the /metrics it serves, and, once
// it stops, a collector holding the request's span with the SpiceDB call
// under it.
func TestServeObservability(t *testing.T) {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_TRACES_SAMPLER"} {
		t.Setenv(k, "")
	}
	col := otlptest.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.Endpoint)
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
	post := func(path, contentType string, body []byte) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer k1")
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("POST %s: %v %v", path, err, resp)
		}
		_ = resp.Body.Close()
	}
	post("/v1/events", "application/x-ndjson", examples.AcmeEvents)
	post("/v1/check", "application/json", []byte(`{"user":"bob","action":"rename","item":{"type":"file","id":"plan"}}`))

	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	scrape, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^boxauthz_check_decisions_total\{action="rename",outcome="allowed"\} 1$`),
		regexp.MustCompile(`(?m)^boxauthz_spicedb_requests_total\{code="OK",method="Check(Bulk)?Permissions?"\} [1-9]`),
		regexp.MustCompile(`(?m)^boxauthz_spicedb_request_duration_seconds_count\{method="Check(Bulk)?Permissions?"\} [1-9]`),
	} {
		if !want.Match(scrape) {
			t.Errorf("serve's /metrics lacks %s", want)
		}
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d on shutdown", code)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop within 20s of cancel")
	}
	// serve flushed its spans on the way out.
	servers := col.Named("POST /v1/check", tracepb.Span_SPAN_KIND_SERVER)
	if len(servers) != 1 {
		t.Fatalf("%d server spans for POST /v1/check, want 1", len(servers))
	}
	found := false
	for _, s := range col.Spans() {
		if bytes.Equal(s.GetParentSpanId(), servers[0].GetSpanId()) && bytes.Equal(s.GetTraceId(), servers[0].GetTraceId()) &&
			strings.HasPrefix(s.GetName(), "authzed.api.v1.PermissionsService/") {
			found = true
		}
	}
	if !found {
		t.Error("no SpiceDB call span under the check's server span")
	}
}
