package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/internal/httpapi"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/sync"
)

// newHandler is the API on the embedded in-memory SpiceDB, served without
// a listener so a test can send bodies past the limits.
func newHandler(t *testing.T) *httpapi.Server {
	t.Helper()
	c := testenv.SpiceDB(t, testenv.Memory)
	ch, err := checker.New(c)
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(ch, sync.NewApplier(c), adminKey)
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// serve sends one request to h and decodes its JSON answer.
func serve(t *testing.T, h http.Handler, method, path string, header http.Header, body string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %s", method, path, w.Body)
	}
	return w, out
}

// wantBoxError checks w is Box's error shape with status and code, and its
// request_id is the X-Request-Id header.
func wantBoxError(t *testing.T, what string, w *httptest.ResponseRecorder, out map[string]any, status int, code string) {
	t.Helper()
	id := w.Header().Get("X-Request-Id")
	if w.Code != status || out["type"] != "error" || out["status"] != float64(status) || out["code"] != code ||
		out["message"] == "" || id == "" || out["request_id"] != id {
		t.Errorf("%s: %d %v (X-Request-Id %q), want a Box error %d %s", what, w.Code, out, id, status, code)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
}

func TestUnknownRoutesAnswerBoxErrors(t *testing.T) {
	api := newHandler(t)
	admin := http.Header{"Authorization": {"Bearer " + adminKey}}

	w, out := serve(t, api, "GET", "/v1/nope", admin, "")
	wantBoxError(t, "unknown path", w, out, 404, "not_found")

	w, out = serve(t, api, "GET", "/v1/check", admin, "")
	wantBoxError(t, "GET /v1/check", w, out, 405, "method_not_allowed")
	if allow := w.Header().Get("Allow"); allow != "POST" {
		t.Errorf("GET /v1/check: Allow %q, want POST", allow)
	}
	if msg, _ := out["message"].(string); !strings.Contains(msg, "POST") {
		t.Errorf("GET /v1/check: message %q does not name the allowed method", msg)
	}

	w, out = serve(t, api, "DELETE", "/healthz", nil, "")
	wantBoxError(t, "DELETE /healthz", w, out, 405, "method_not_allowed")
	if allow := w.Header().Get("Allow"); !strings.Contains(allow, "GET") {
		t.Errorf("DELETE /healthz: Allow %q, want GET", allow)
	}

	// Webhooks are off without a key: the path is unknown.
	w, out = serve(t, api, "POST", "/webhooks/box", nil, "{}")
	wantBoxError(t, "webhooks off", w, out, 404, "not_found")

	// Under /oauth2/ errors take OAuth's shape.
	w, out = serve(t, api, "GET", "/oauth2/nope", nil, "")
	if w.Code != 404 || out["error"] != "invalid_request" || out["error_description"] == "" || w.Header().Get("X-Request-Id") == "" {
		t.Errorf("unknown /oauth2 path: %d %v, want an OAuth-shaped 404", w.Code, out)
	}

	// A route that is served still answers as before.
	if w, out := serve(t, api, "GET", "/healthz", nil, ""); w.Code != 200 || out["status"] != "ok" {
		t.Errorf("healthz = %d %v", w.Code, out)
	}
}

func TestOversizedBodiesAnswer413(t *testing.T) {
	api := newHandler(t)
	admin := http.Header{"Authorization": {"Bearer " + adminKey}, "Content-Type": {"application/json"}}
	big := `[` + strings.Repeat(" ", 9<<20) + `]`

	w, out := serve(t, api, "POST", "/v1/events", admin, big)
	wantBoxError(t, "9 MB of events", w, out, 413, "request_entity_too_large")
	msg, _ := out["message"].(string)
	if !strings.Contains(msg, "8388608 bytes") || !strings.Contains(msg, "batches") {
		t.Errorf("9 MB of events: message %q, want the limit and how to split", msg)
	}

	w, out = serve(t, api, "POST", "/v1/check/bulk", admin, `{"checks":`+big+`}`)
	wantBoxError(t, "9 MB of checks", w, out, 413, "request_entity_too_large")
	if msg, _ := out["message"].(string); !strings.Contains(msg, "fewer checks") {
		t.Errorf("9 MB of checks: message %q, want how to split", msg)
	}

	// Public routes have their own, smaller limit.
	w, out = serve(t, api, "POST", "/v1/authorize", http.Header{"Authorization": {"Bearer bxat_x"}},
		strings.Repeat(" ", httpapi.MaxPublicBodyBytes+1))
	wantBoxError(t, "large authorize", w, out, 413, "request_entity_too_large")

	// A small malformed body is still a 400.
	w, out = serve(t, api, "POST", "/v1/events", admin, `[`)
	wantBoxError(t, "malformed events", w, out, 400, "bad_request")
}

func TestRequestIDs(t *testing.T) {
	api := newHandler(t)
	for _, in := range []string{"abc-123", "Trace_1.2-x", strings.Repeat("a", 128)} {
		w, _ := serve(t, api, "GET", "/healthz", http.Header{"X-Request-Id": {in}}, "")
		if got := w.Header().Get("X-Request-Id"); got != in {
			t.Errorf("inbound %q: answered %q, want it kept", in, got)
		}
	}
	w, out := serve(t, api, "GET", "/v1/nope", http.Header{"X-Request-Id": {"caller-7"}}, "")
	if out["request_id"] != "caller-7" || w.Header().Get("X-Request-Id") != "caller-7" {
		t.Errorf("error with inbound id: %v, header %q, want caller-7 in both", out, w.Header().Get("X-Request-Id"))
	}
	for _, in := range []string{"", "has space", "new\nline", "a/b", "é", strings.Repeat("a", 129)} {
		w, _ := serve(t, api, "GET", "/healthz", http.Header{"X-Request-Id": {in}}, "")
		got := w.Header().Get("X-Request-Id")
		if got == "" || got == in {
			t.Errorf("inbound %q: answered %q, want a new id", in, got)
		}
	}
}

func TestChecksReturnTokenAndIDs(t *testing.T) {
	srv := newAPI(t)
	tok := loadAcme(t, srv)

	code, out, _ := call(t, srv, "POST", "/v1/check", adminKey, "",
		`{"user":"bob","action":"rename","item":{"type":"file","id":"plan"},"consistency_token":"`+tok+`"}`)
	got, _ := out["consistency_token"].(string)
	if code != 200 || out["allowed"] != true || got == "" {
		t.Fatalf("check = %d %v, want allowed with a consistency_token", code, out)
	}
	// The token answered at reads again.
	code, out, _ = call(t, srv, "POST", "/v1/check", adminKey, "",
		`{"user":"bob","action":"rename","item":{"type":"file","id":"plan"},"consistency_token":"`+got+`"}`)
	if code != 200 || out["allowed"] != true {
		t.Errorf("check at the answered token = %d %v", code, out)
	}

	code, out, _ = call(t, srv, "POST", "/v1/check/bulk", adminKey, "", `{"checks":[
		{"id":"first","user":"bob","action":"rename","item":{"type":"file","id":"plan"}},
		{"user":"erin","action":"list","item":{"type":"folder","id":"projects"}},
		{"id":"third","user":"dave","action":"rename","item":{"type":"file","id":"logo"}}],"consistency_token":"`+tok+`"}`)
	res, _ := out["results"].([]any)
	if code != 200 || len(res) != 3 || out["consistency_token"] == "" || out["consistency_token"] == nil {
		t.Fatalf("bulk = %d %v, want 3 results and a consistency_token", code, out)
	}
	want := []map[string]any{{"id": "first", "allowed": true}, {"allowed": false}, {"id": "third", "allowed": true}}
	for i, r := range res {
		m, _ := r.(map[string]any)
		if len(m) != len(want[i]) || m["allowed"] != want[i]["allowed"] || m["id"] != want[i]["id"] {
			t.Errorf("bulk result %d = %v, want %v", i, m, want[i])
		}
	}

	long := strings.Repeat("x", httpapi.MaxCheckIDLength+1)
	code, out, h := call(t, srv, "POST", "/v1/check/bulk", adminKey, "",
		`{"checks":[{"id":"`+long+`","user":"bob","action":"rename","item":{"type":"file","id":"plan"}}]}`)
	msg, _ := out["message"].(string)
	if code != 400 || out["code"] != "bad_request" || !strings.Contains(msg, "checks[0].id") || out["request_id"] != h.Get("X-Request-Id") {
		t.Errorf("bulk with a long id = %d %v, want 400 naming checks[0].id", code, out)
	}

	// A single check takes no id: it needs no correlation.
	code, out, _ = call(t, srv, "POST", "/v1/check", adminKey, "",
		`{"id":"x","user":"bob","action":"rename","item":{"type":"file","id":"plan"}}`)
	if code != 400 || out["type"] != "error" {
		t.Errorf("check with an id = %d %v, want 400", code, out)
	}
}
