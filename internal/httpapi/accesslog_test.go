package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/boxauthz/boxauthz/internal/httpapi"
)

// TestAccessLogOfErrors asserts the access log as slog writes it at info
// level: one line for every refused request (at info) and every failed
// one (at error), with its route, status, duration, request id and Box
// error code, and none for a request that succeeded (debug).
func TestAccessLogOfErrors(t *testing.T) {
	// Not ready is the 5xx: SpiceDB stays up for the other requests.
	o := newObservedAPI(t, httpapi.WithReady(func(context.Context) error { return errors.New("spicedb is not answering") }))
	send := func(id, method, path, key, body string) int {
		t.Helper()
		req, err := http.NewRequest(method, o.srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Request-Id", id)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		if strings.HasPrefix(path, "/oauth2/") {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	type line struct {
		level, route, code string
		status             int
	}
	want := map[string]line{
		"ok-1":       {},
		"unauth-1":   {"INFO", "POST /v1/check", "unauthorized", 401},
		"bad-1":      {"INFO", "POST /v1/check", "bad_request", 400},
		"nowhere-1":  {"INFO", "unmatched", "not_found", 404},
		"method-1":   {"INFO", "unmatched", "method_not_allowed", 405},
		"oauth-1":    {"INFO", "POST /oauth2/token", "unsupported_grant_type", 400},
		"failing-1":  {"ERROR", "GET /readyz", "not_ready", 503},
		"allowed-ok": {},
	}
	for _, r := range []struct{ id, method, path, key, body string }{
		{"ok-1", "GET", "/healthz", "", ""},
		{"allowed-ok", "POST", "/v1/check", adminKey, `{"user":"bob","action":"download","item":{"type":"file","id":"a"}}`},
		{"unauth-1", "POST", "/v1/check", "", `{}`},
		{"bad-1", "POST", "/v1/check", adminKey, `{"user":"bob","action":"fly","item":{"type":"file","id":"a"}}`},
		{"nowhere-1", "GET", "/no/such/path", "", ""},
		{"method-1", "DELETE", "/healthz", "", ""},
		{"oauth-1", "POST", "/oauth2/token", "", "grant_type=password"},
	} {
		send(r.id, r.method, r.path, r.key, r.body)
	}
	if st := send("failing-1", "GET", "/readyz", "", ""); st != 503 {
		t.Fatalf("GET /readyz answered %d, want 503", st)
	}

	seen := map[string]int{}
	for _, raw := range strings.Split(strings.TrimSpace(o.logs.String()), "\n") {
		var l map[string]any
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Fatalf("log line is not JSON: %s", raw)
		}
		if l["msg"] != "http request" {
			continue
		}
		id, _ := l["request_id"].(string)
		seen[id]++
		w, ok := want[id]
		switch {
		case !ok:
			t.Errorf("unexpected access line %s", raw)
		case w.status == 0:
			t.Errorf("a successful request was logged at %v: %s", l["level"], raw)
		case l["level"] != w.level || l["route"] != w.route || l["code"] != w.code || l["status"] != float64(w.status):
			t.Errorf("access line %s, want level %s route %q code %q status %d", raw, w.level, w.route, w.code, w.status)
		case l["method"] == nil || l["took"] == nil:
			t.Errorf("access line %s lacks the method or the time taken (took)", raw)
		}
	}
	for id, w := range want {
		if w.status != 0 && seen[id] != 1 {
			t.Errorf("request %s: %d access lines, want 1", id, seen[id])
		}
	}
}
