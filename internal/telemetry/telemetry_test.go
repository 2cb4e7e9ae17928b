package telemetry_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/internal/httpapi"
	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
	"github.com/boxauthz/boxauthz/internal/telemetry"
	"github.com/boxauthz/boxauthz/internal/telemetry/otlptest"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/schema/upgrade"
	"github.com/boxauthz/boxauthz/sync"
)

// clearOTelEnv leaves only what a test sets of the variables that steer
// tracing.
func clearOTelEnv(t *testing.T) {
	for _, k := range []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_TRACES_SAMPLER", "OTEL_SERVICE_NAME",
	} {
		t.Setenv(k, "")
	}
}

// TestTracingOfARequestReachesSpiceDB serves a check with tracing on and
// asserts what a collector receives: the request's server span, in the
// trace its caller's traceparent named, and the SpiceDB call as its child,
// whose trace context reached SpiceDB's side of the connection.
func TestTracingOfARequestReachesSpiceDB(t *testing.T) {
	clearOTelEnv(t)
	col := otlptest.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", col.Endpoint)
	ctx := context.Background()
	tr, err := telemetry.Setup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !tr.Enabled() {
		t.Fatal("tracing is off with an endpoint set")
	}
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })

	// SpiceDB, exposed on loopback behind a proxy that notes the trace
	// context each call arrives with.
	spiceAddr := testenv.FreeAddr(t)
	const key = "tracing-key"
	sdb, err := embedded.Start(ctx, embedded.WithGRPCAddr(spiceAddr, key))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sdb.Close() })
	if _, err := upgrade.Ensure(ctx, sdb); err != nil {
		t.Fatal(err)
	}
	seen := startMetadataProxy(t, spiceAddr)
	c, err := spicedb.DialExternal(seen.addr, spicedb.WithToken(key), spicedb.WithInsecure(true), spicedb.WithDialOptions(tr.DialOptions()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ch, err := checker.New(c)
	if err != nil {
		t.Fatal(err)
	}
	const adminKey = "tracing-admin-key"
	api, err := httpapi.New(ch, sync.NewApplier(c), adminKey, httpapi.WithTracing(tr.TracerProvider(), tr.Propagator()))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)

	const callerTrace, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, err := http.NewRequest("POST", srv.URL+"/v1/check", strings.NewReader(`{"user":"bob","action":"download","item":{"type":"file","id":"a"}}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("traceparent", "00-"+callerTrace+"-"+callerSpan+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("check: %d", resp.StatusCode)
	}
	shutdownCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := tr.Shutdown(shutdownCtx); err != nil {
		t.Fatal(err)
	}

	spans := col.Spans()
	servers := col.Named("POST /v1/check", tracepb.Span_SPAN_KIND_SERVER)
	if len(servers) != 1 {
		t.Fatalf("%d server spans for POST /v1/check among %v, want 1", len(servers), names(spans))
	}
	server := servers[0]
	if got := hex.EncodeToString(server.GetTraceId()); got != callerTrace {
		t.Errorf("server span in trace %s, want the caller's %s", got, callerTrace)
	}
	if got := hex.EncodeToString(server.GetParentSpanId()); got != callerSpan {
		t.Errorf("server span's parent %s, want the caller's span %s", got, callerSpan)
	}
	if !hasIntAttr(server, "http.response.status_code", 200) {
		t.Errorf("server span lacks http.response.status_code=200: %v", server.GetAttributes())
	}
	var child *tracepb.Span
	for _, s := range spans {
		if bytes.Equal(s.GetParentSpanId(), server.GetSpanId()) && s.GetKind() == tracepb.Span_SPAN_KIND_CLIENT {
			child = s
		}
	}
	if child == nil {
		t.Fatalf("no client span under the server span among %v", names(spans))
	}
	if !bytes.Equal(child.GetTraceId(), server.GetTraceId()) || !strings.HasPrefix(child.GetName(), "authzed.api.v1.PermissionsService/") {
		t.Errorf("SpiceDB call span %q in trace %x, want a PermissionsService call in %x", child.GetName(), child.GetTraceId(), server.GetTraceId())
	}
	want := "00-" + callerTrace + "-" + hex.EncodeToString(child.GetSpanId()) + "-01"
	if !seen.has(want) {
		t.Errorf("SpiceDB received no traceparent %s; it received %v", want, seen.all())
	}
}

func names(spans []*tracepb.Span) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.GetName()
	}
	return out
}

func hasIntAttr(s *tracepb.Span, key string, v int64) bool {
	for _, a := range s.GetAttributes() {
		if a.GetKey() == key && a.GetValue().GetIntValue() == v {
			return true
		}
	}
	return false
}

// TestTracingOffWithoutAnEndpoint asserts that without an endpoint nothing
// is set up: no exporter, no dial options, a tracer that records nothing.
func TestTracingOffWithoutAnEndpoint(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"no endpoint":   {},
		"sdk disabled":  {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_SDK_DISABLED": "true"},
		"exporter none": {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_TRACES_EXPORTER": "none"},
	} {
		t.Run(name, func(t *testing.T) {
			clearOTelEnv(t)
			for k, v := range env {
				t.Setenv(k, v)
			}
			tr, err := telemetry.Setup(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tr.Enabled() || tr.DialOptions() != nil || tr.Propagator() != nil || tr.Endpoint() != "" {
				t.Fatal("tracing is on")
			}
			_, span := tr.TracerProvider().Tracer("t").Start(context.Background(), "s")
			if span.IsRecording() || span.SpanContext().IsValid() {
				t.Error("the tracer of tracing off records")
			}
			if err := tr.Shutdown(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestTracingRefusesWhatItCannotExport asserts that an exporter or
// protocol boxauthz does not speak fails the start instead of exporting
// nothing.
func TestTracingRefusesWhatItCannotExport(t *testing.T) {
	for _, kv := range [][2]string{
		{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"},
		{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"},
		{"OTEL_TRACES_EXPORTER", "zipkin"},
	} {
		t.Run(kv[0], func(t *testing.T) {
			clearOTelEnv(t)
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
			t.Setenv(kv[0], kv[1])
			if _, err := telemetry.Setup(context.Background()); err == nil || !strings.Contains(err.Error(), kv[0]) {
				t.Fatalf("Setup with %s=%s: %v, want an error naming it", kv[0], kv[1], err)
			}
		})
	}
}
