package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/boxauthz/boxauthz/checker"
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
