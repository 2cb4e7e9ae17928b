package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/boxauthz/boxauthz/internal/httpapi"
)

// TestExtensionCheckMetrics: checks of the extension's types, alone or in
// a bulk request, count under the one action label "extension", never
// under the permission a caller named, while Box checks keep theirs.
func TestExtensionCheckMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	srv, tok := newExtendedAPI(t, httpapi.WithRegisterer(reg), httpapi.WithMetrics(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	for _, c := range []struct {
		path, body string
		code       int
	}{
		{"/v1/check", `{"user":"alice","action":"viewer","item":{"type":"hub","id":"h1"},"consistency_token":"` + tok + `"}`, 200},
		{"/v1/check", `{"user":"nobody","action":"viewer","item":{"type":"hub","id":"h1"}}`, 200},
		{"/v1/check", `{"user":"alice","action":"made_up_permission","item":{"type":"hub","id":"h1"}}`, 400},
		{"/v1/check", `{"user":"alice","action":"viewer","item":{"type":"made_up_type","id":"x"}}`, 400},
		{"/v1/check/bulk", `{"checks":[{"user":"alice","action":"viewer","item":{"type":"hub","id":"h1"}},{"user":"alice","action":"preview","item":{"type":"folder","id":"launch"}}],"consistency_token":"` + tok + `"}`, 200},
		{"/v1/check/bulk", `{"checks":[{"user":"alice","action":"preview","item":{"type":"folder","id":"launch"}},{"user":"alice","action":"bulk_made_up","item":{"type":"hub","id":"h1"}}]}`, 400},
	} {
		if code, out, _ := call(t, srv, "POST", c.path, adminKey, "application/json", c.body); code != c.code {
			t.Fatalf("%s %s: %d %v, want %d", c.path, c.body, code, out, c.code)
		}
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	scrape := string(b)
	for _, want := range []string{
		`boxauthz_check_decisions_total{action="extension",outcome="allowed"} 2`,
		`boxauthz_check_decisions_total{action="extension",outcome="denied"} 1`,
		`boxauthz_check_decisions_total{action="extension",outcome="error"} 3`,
		`boxauthz_check_decisions_total{action="preview",outcome="allowed"} 1`,
		`boxauthz_check_decisions_total{action="preview",outcome="error"} 1`,
	} {
		if !strings.Contains(scrape, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	for _, made := range []string{"viewer", "made_up", "bulk_made_up"} {
		if strings.Contains(scrape, `action="`+made) {
			t.Errorf("the permission %q became a label value", made)
		}
	}
	if strings.Contains(scrape, `action="invalid"`) {
		t.Error("an extension check was counted as invalid")
	}
}
