package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/checker/oauth"
	"github.com/boxauthz/boxauthz/internal/httpapi"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/sync"
)

// TestHTTPMetricsFromAScrape asserts the request metrics' names and labels
// as a scrape of /metrics shows them: routes by their pattern, paths no
// route takes under one label, so that a scan of random paths adds none.
func TestHTTPMetricsFromAScrape(t *testing.T) {
	c := testenv.SpiceDB(t, testenv.Memory)
	ch, err := checker.New(c)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	api, err := httpapi.New(ch, sync.NewApplier(c), adminKey,
		httpapi.WithRegisterer(reg), httpapi.WithMetrics(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path, auth, body string) {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		if auth != "" {
			r.Header.Set("Authorization", "Bearer "+auth)
		}
		api.ServeHTTP(httptest.NewRecorder(), r)
	}
	do("GET", "/healthz", "", "")
	do("GET", "/healthz", "", "")
	do("POST", "/v1/check", "", `{}`)
	do("POST", "/v1/check", adminKey, `{"user":"u","action":"nope","item":{"type":"file","id":"f"}}`)
	do("GET", "/no/such/path/1", "", "")
	do("GET", "/no/such/path/2", "", "")
	do("DELETE", "/healthz", "", "")

	w := httptest.NewRecorder()
	api.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", w.Code)
	}
	scrape := w.Body.String()
	for _, want := range []string{
		`boxauthz_http_requests_total{code="200",route="GET /healthz"} 2`,
		`boxauthz_http_requests_total{code="401",route="POST /v1/check"} 1`,
		`boxauthz_http_requests_total{code="400",route="POST /v1/check"} 1`,
		`boxauthz_http_requests_total{code="404",route="unmatched"} 2`,
		`boxauthz_http_requests_total{code="405",route="unmatched"} 1`,
		`boxauthz_http_request_duration_seconds_count{route="GET /healthz"} 2`,
		`boxauthz_http_request_duration_seconds_bucket{route="POST /v1/check",le="+Inf"} 2`,
	} {
		if !strings.Contains(scrape, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	if strings.Contains(scrape, "/no/such/path") {
		t.Error("an unmatched path became a label value")
	}
}

// observed is the whole API (tokens included) with its metrics on reg and
// its log at info level in logs, on an embedded SpiceDB holding a small
// enterprise: bob owns folder docs and files a and b, carol has no access.
type observed struct {
	srv  *httptest.Server
	reg  *prometheus.Registry
	logs *testenv.LockedBuffer
}

func newObservedAPI(t *testing.T, opts ...httpapi.Option) observed {
	t.Helper()
	c := testenv.SpiceDB(t, testenv.Memory)
	ch, err := checker.New(c)
	if err != nil {
		t.Fatal(err)
	}
	tk := oauth.NewTokens(c)
	if err := tk.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	o := observed{reg: prometheus.NewRegistry(), logs: &testenv.LockedBuffer{}}
	logger := slog.New(slog.NewJSONHandler(o.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	api, err := httpapi.New(ch, sync.NewApplier(c), adminKey, append([]httpapi.Option{
		httpapi.WithLogger(logger),
		httpapi.WithAuthorizer(oauth.NewAuthorizer(ch, tk)),
		httpapi.WithRegisterer(o.reg), httpapi.WithMetrics(promhttp.HandlerFor(o.reg, promhttp.HandlerOpts{})),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	o.srv = httptest.NewServer(api)
	t.Cleanup(o.srv.Close)
	events := `[{"id":"u1","type":"user.created","user":{"id":"bob","enterprise":"acme"}},
		{"id":"u2","type":"user.created","user":{"id":"carol","enterprise":"acme"}},
		{"id":"f1","type":"folder.created","folder":{"id":"docs","parent":"0","owner":"bob"}},
		{"id":"f2","type":"file.created","file":{"id":"a","parent":"docs","owner":"bob"}},
		{"id":"f3","type":"file.created","file":{"id":"b","parent":"0","owner":"bob"}}]`
	if st, out, _ := call(t, o.srv, "POST", "/v1/events", adminKey, "application/json", events); st != 200 {
		t.Fatalf("events: %d %v", st, out)
	}
	return o
}

func (o observed) scrape(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(o.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDecisionMetricsFromAScrape asserts the decision counters as a scrape
// shows them: each question of a check or bulk check by action and
// outcome, each authorize decision by the status of its refusal, made-up
// actions under one label.
func TestDecisionMetricsFromAScrape(t *testing.T) {
	o := newObservedAPI(t)
	check := func(body string, want int) {
		t.Helper()
		if st, out, _ := call(t, o.srv, "POST", "/v1/check", adminKey, "application/json", body); st != want {
			t.Fatalf("check %s: %d %v, want %d", body, st, out, want)
		}
	}
	check(`{"user":"bob","action":"download","item":{"type":"file","id":"a"}}`, 200)
	check(`{"user":"carol","action":"download","item":{"type":"file","id":"a"}}`, 200)
	check(`{"user":"carol","action":"download","item":{"type":"file","id":"b"}}`, 200)
	check(`{"user":"bob","action":"fly","item":{"type":"file","id":"a"}}`, 400)
	check(`{"user":"bob","action":"fly-1"}`, 400)
	bulk := func(body string, want int) {
		t.Helper()
		if st, out, _ := call(t, o.srv, "POST", "/v1/check/bulk", adminKey, "application/json", body); st != want {
			t.Fatalf("bulk %s: %d %v, want %d", body, st, out, want)
		}
	}
	bulk(`{"checks":[{"user":"bob","action":"rename","item":{"type":"file","id":"a"}},
		{"user":"carol","action":"rename","item":{"type":"file","id":"a"}},
		{"user":"bob","action":"rename","item":{"type":"file","id":"b"}}]}`, 200)
	bulk(`{"checks":[{"user":"bob","action":"list","item":{"type":"folder","id":"docs"}},
		{"user":"bob","action":"swim","item":{"type":"file","id":"a"}}]}`, 400)

	st, pair, _ := call(t, o.srv, "POST", "/v1/tokens", adminKey, "application/json", `{"user":"bob","scopes":["root_readonly"]}`)
	if st != 201 {
		t.Fatalf("issue: %d %v", st, pair)
	}
	access := pair["access_token"].(string)
	for _, c := range []struct {
		token, body string
		status      float64
	}{
		{access, `{"action":"download","item":{"type":"file","id":"a"}}`, 200},
		{access, `{"action":"delete","item":{"type":"file","id":"a"}}`, 403},
		{access, `{"action":"download","item":{"type":"file","id":"ghost"}}`, 404},
		{"bxat_not-a-token", `{"action":"download","item":{"type":"file","id":"a"}}`, 401},
	} {
		if d := authorize(t, o.srv, c.token, "", c.body); d["status"] != c.status {
			t.Fatalf("authorize %s: %v, want status %v", c.body, d, c.status)
		}
	}
	if st, out, _ := call(t, o.srv, "POST", "/v1/authorize", access, "application/json", `{"action":"fly","item":{"type":"file","id":"a"}}`); st != 400 {
		t.Fatalf("authorize of a made-up action: %d %v", st, out)
	}

	scrape := o.scrape(t)
	for _, want := range []string{
		`boxauthz_check_decisions_total{action="download",outcome="allowed"} 1`,
		`boxauthz_check_decisions_total{action="download",outcome="denied"} 2`,
		`boxauthz_check_decisions_total{action="invalid",outcome="error"} 3`,
		`boxauthz_check_decisions_total{action="rename",outcome="allowed"} 2`,
		`boxauthz_check_decisions_total{action="rename",outcome="denied"} 1`,
		`boxauthz_check_decisions_total{action="list",outcome="error"} 1`,
		`boxauthz_authorize_decisions_total{action="download",outcome="allowed"} 1`,
		`boxauthz_authorize_decisions_total{action="delete",outcome="denied_403"} 1`,
		`boxauthz_authorize_decisions_total{action="download",outcome="denied_404"} 1`,
		`boxauthz_authorize_decisions_total{action="download",outcome="denied_401"} 1`,
		`boxauthz_authorize_decisions_total{action="invalid",outcome="error"} 1`,
	} {
		if !strings.Contains(scrape, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	for _, made := range []string{"fly", "swim"} {
		if strings.Contains(scrape, `action="`+made) {
			t.Errorf("the made-up action %q became a label value", made)
		}
	}
}
