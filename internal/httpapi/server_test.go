package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/examples"
	"github.com/boxauthz/boxauthz/internal/httpapi"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/schema/upgrade"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/source"
)

const (
	adminKey   = "test-admin-key"
	webhookKey = "test-webhook-key"
)

// newAPI serves the API on the embedded in-memory SpiceDB.
func newAPI(t *testing.T) *httptest.Server {
	return newAPIOn(t, testenv.Memory)
}

// newAPIOn serves the API on a SpiceDB on ds holding the schema.
func newAPIOn(t *testing.T, ds testenv.Datastore) *httptest.Server {
	t.Helper()
	c := testenv.SpiceDB(t, ds)
	ch, err := checker.New(c)
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(ch, sync.NewApplier(c), adminKey,
		httpapi.WithReady(func(ctx context.Context) error { _, err := upgrade.Inspect(ctx, c); return err }),
		httpapi.WithWebhookKeys(source.WebhookKeys{Primary: webhookKey}),
		httpapi.WithWebhookDeadLetter(filepath.Join(t.TempDir(), "webhooks.dead")))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv
}

func call(t *testing.T, srv *httptest.Server, method, path, key, contentType, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %s", method, path, raw)
		}
	}
	return resp.StatusCode, out, resp.Header
}

func loadAcme(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	code, out, _ := call(t, srv, "POST", "/v1/events", adminKey, "application/x-ndjson", string(examples.AcmeEvents))
	if code != 200 {
		t.Fatalf("loading acme: %d %v", code, out)
	}
	tok, _ := out["consistency_token"].(string)
	if tok == "" {
		t.Fatalf("no consistency token in %v", out)
	}
	return tok
}

func TestHealthAndAuth(t *testing.T) {
	srv := newAPI(t)
	if code, _, h := call(t, srv, "GET", "/healthz", "", "", ""); code != 200 || h.Get("X-Request-Id") == "" {
		t.Fatalf("healthz = %d, request id %q", code, h.Get("X-Request-Id"))
	}
	if code, _, _ := call(t, srv, "GET", "/readyz", "", "", ""); code != 200 {
		t.Fatalf("readyz = %d", code)
	}
	for _, key := range []string{"", "wrong", adminKey + "x"} {
		code, out, _ := call(t, srv, "POST", "/v1/check", key, "", `{}`)
		if code != 401 || out["type"] != "error" || out["status"] != float64(401) {
			t.Errorf("key %q: %d %v, want Box-shaped 401", key, code, out)
		}
	}
}

func TestEventsThenChecks(t *testing.T) {
	for _, ds := range testenv.Datastores() {
		t.Run(string(ds), func(t *testing.T) { testEventsThenChecks(t, ds) })
	}
}

func testEventsThenChecks(t *testing.T, ds testenv.Datastore) {
	srv := newAPIOn(t, ds)
	tok := loadAcme(t, srv)

	checks := []struct {
		body string
		want bool
	}{
		{`{"user":"bob","action":"rename","item":{"type":"file","id":"plan"}}`, true},
		{`{"user":"bob","action":"delete","item":{"type":"folder","id":"projects"}}`, false},
		{`{"user":"xavier@partner.example","action":"preview","item":{"type":"file","id":"plan"}}`, true},
		{`{"user":"xavier@partner.example","action":"download","item":{"type":"file","id":"plan"}}`, false},
		{`{"action":"preview","item":{"type":"file","id":"plan"},"shared_link":"file:plan"}`, true},
		{`{"action":"preview","item":{"type":"file","id":"plan"},"shared_link":"https://app.box.example/2.0/files/plan"}`, true},
		{`{"action":"preview","item":{"type":"file","id":"plan"}}`, false},
		{`{"user":"alice","action":"download","item":{"type":"file","id":"old-notes"}}`, false},
		{`{"user":"ada","action":"preview","item":{"type":"file","id":"plan"}}`, false},
	}
	for _, c := range checks {
		body := strings.TrimSuffix(c.body, "}") + `,"consistency_token":"` + tok + `"}`
		code, out, _ := call(t, srv, "POST", "/v1/check", adminKey, "", body)
		if code != 200 || out["allowed"] != c.want {
			t.Errorf("check %s = %d %v, want allowed=%v", c.body, code, out, c.want)
		}
	}

	code, out, _ := call(t, srv, "POST", "/v1/check", adminKey, "", `{"user":"bob","action":"rename","item":{"type":"file","id":"plan"},"explain":true}`)
	ex, _ := out["explanation"].(map[string]any)
	grants, _ := ex["grants"].([]any)
	if code != 200 || len(grants) == 0 || grants[0].(map[string]any)["collaboration"] != "c1" {
		t.Errorf("explain = %d %v, want the grant of collaboration c1", code, out)
	}

	code, out, _ = call(t, srv, "POST", "/v1/check/bulk", adminKey, "", `{"checks":[
		{"user":"bob","action":"rename","item":{"type":"file","id":"plan"}},
		{"user":"erin","action":"list","item":{"type":"folder","id":"projects"}},
		{"user":"dave","action":"rename","item":{"type":"file","id":"logo"}}],"consistency_token":"`+tok+`"}`)
	res, _ := out["results"].([]any)
	want := []bool{true, false, true}
	if code != 200 || len(res) != 3 {
		t.Fatalf("bulk = %d %v", code, out)
	}
	for i, r := range res {
		if r.(map[string]any)["allowed"] != want[i] {
			t.Errorf("bulk result %d = %v, want %v", i, r, want[i])
		}
	}

	code, out, _ = call(t, srv, "POST", "/v1/lookup/users", adminKey, "", `{"item":{"type":"file","id":"plan"},"action":"download"}`)
	if code != 200 || !sameSet(out["users"], "alice", "bob", "dave") {
		t.Errorf("lookup users = %d %v, want alice bob dave", code, out)
	}
	code, out, _ = call(t, srv, "POST", "/v1/lookup/items", adminKey, "", `{"user":"dave","action":"preview","type":"file"}`)
	if code != 200 || !sameSet(out["items"], "plan", "logo") || out["cursor"] != nil {
		t.Errorf("lookup items = %d %v, want plan logo and no cursor", code, out)
	}
	code, out, _ = call(t, srv, "POST", "/v1/lookup/items", adminKey, "", `{"user":"dave","action":"preview","type":"file","limit":1}`)
	if code != 200 || len(out["items"].([]any)) != 1 || out["cursor"] == nil {
		t.Errorf("lookup items limit 1 = %d %v, want one item and a cursor", code, out)
	}
}

func sameSet(v any, want ...string) bool {
	got, ok := v.([]any)
	if !ok || len(got) != len(want) {
		return false
	}
	m := map[string]bool{}
	for _, g := range got {
		s, _ := g.(string)
		m[s] = true
	}
	for _, w := range want {
		if !m[w] {
			return false
		}
	}
	return true
}

func TestEventsDuplicatesAndAtomicity(t *testing.T) {
	for _, ds := range testenv.Datastores() {
		t.Run(string(ds), func(t *testing.T) { testEventsDuplicatesAndAtomicity(t, ds) })
	}
}

func testEventsDuplicatesAndAtomicity(t *testing.T, ds testenv.Datastore) {
	srv := newAPIOn(t, ds)
	loadAcme(t, srv)
	code, out, _ := call(t, srv, "POST", "/v1/events", adminKey, "application/x-ndjson", string(examples.AcmeEvents))
	if code != 200 || out["applied"] != float64(0) || out["duplicates"] != float64(24) {
		t.Fatalf("replay = %d %v, want 0 applied, 24 duplicates", code, out)
	}
	// A good event followed by a bad one: nothing of the request applies.
	body := `[{"id":"n1","type":"collaboration.created","collaboration":{"id":"c9","item":{"type":"folder","id":"launch"},"accessible_by":{"type":"user","id":"erin"},"role":"editor"}},
	          {"id":"n2","type":"folder.created","folder":{"id":"x","parent":"nowhere","owner":"alice"}}]`
	code, out, _ = call(t, srv, "POST", "/v1/events", adminKey, "application/json", body)
	msg, _ := out["message"].(string)
	if code != 400 || !strings.Contains(msg, "n2") || !strings.Contains(msg, "folder.parent") {
		t.Fatalf("bad batch = %d %v, want 400 naming n2 and folder.parent", code, out)
	}
	code, out, _ = call(t, srv, "POST", "/v1/check", adminKey, "", `{"user":"erin","action":"edit","item":{"type":"folder","id":"launch"}}`)
	if code != 200 || out["allowed"] != false {
		t.Fatalf("after refused batch erin edit = %v, want false: the good event must not apply", out)
	}
}

func TestBadRequestsNameTheField(t *testing.T) {
	srv := newAPI(t)
	cases := []struct{ path, body, field string }{
		{"/v1/check", `{"user":"bob","action":"fly","item":{"type":"file","id":"f"}}`, "action"},
		{"/v1/check", `{"user":"bob","action":"edit","item":{"type":"folderx","id":"f"}}`, "item"},
		{"/v1/check", `{"user":"bob","action":"edit","item":{"type":"folder","id":"0"}}`, "item"},
		{"/v1/check", `{"user":"b b","action":"edit","item":{"type":"folder","id":"f"}}`, "user"},
		{"/v1/check", `{"user":"bob","action":"edit","item":{"type":"folder","id":"f"},"colour":1}`, "colour"},
		{"/v1/check", `{"user":"bob","action":7,"item":{"type":"folder","id":"f"}}`, "action"},
		{"/v1/check", `{"user":"bob","action":"edit","item":{"type":"folder","id":"f"},"shared_link":"nope"}`, "shared_link"},
		{"/v1/check/bulk", `{"checks":[{"user":"bob","action":"edit","item":{"type":"folder","id":"f"}},{"user":"bob","action":"x","item":{"type":"folder","id":"f"}}]}`, "checks[1].action"},
		{"/v1/lookup/items", `{"user":"bob","action":"edit","type":"file","limit":10001}`, "limit"},
		{"/v1/lookup/items", `{"user":"bob","action":"edit","type":"user"}`, "type"},
		{"/v1/lookup/users", `{"item":{"type":"file","id":"f"},"action":"manage_users"}`, "action"},
		{"/v1/events", `[{"id":"e1","type":"folder.exploded","folder":{"id":"f"}}]`, "type"},
		// Two readers of a body with a key given twice could disagree on it.
		{"/v1/check", `{"user":"bob","user":"alice","action":"edit","item":{"type":"folder","id":"f"}}`, `"user" given twice`},
		{"/v1/check", `{"user":"bob","action":"edit","item":{"type":"folder","id":"f","id":"g"}}`, `"id" given twice in "item"`},
		{"/v1/check", "{\"user\":\"bo\xffb\",\"action\":\"edit\",\"item\":{\"type\":\"folder\",\"id\":\"f\"}}", "UTF-8"},
		{"/v1/check", `{"user":"bob","action":"edit","item":"folder:f"}`, "want a JSON object"},
		{"/v1/lookup/items", `{"user":"bob","action":"edit","type":"file","limit":"ten"}`, "want a JSON integer"},
	}
	for _, c := range cases {
		code, out, _ := call(t, srv, "POST", c.path, adminKey, "application/json", c.body)
		msg, _ := out["message"].(string)
		if code != 400 || out["code"] != "bad_request" || !strings.Contains(msg, c.field) {
			t.Errorf("%s %s = %d %v, want 400 naming %q", c.path, c.body, code, out, c.field)
		}
		// Go's type names mean nothing to a caller.
		for _, goName := range []string{"checker.", "httpapi.", "struct", "int64", "Go "} {
			if strings.Contains(msg, goName) {
				t.Errorf("%s %s: message %q shows Go's %q", c.path, c.body, msg, goName)
			}
		}
	}
}

// TestExpiryExactWithoutWrites: a collaboration stops granting within one
// second of expires_at even when nothing else is written, on the embedded
// store and on PostgreSQL.
func TestExpiryExactWithoutWrites(t *testing.T) {
	for _, ds := range testenv.Datastores() {
		t.Run(string(ds), func(t *testing.T) { testExpiryExact(t, ds) })
	}
}

func testExpiryExact(t *testing.T, ds testenv.Datastore) {
	srv := newAPIOn(t, ds)
	loadAcme(t, srv)
	expires := time.Now().Add(2 * time.Second).UTC()
	ev := `[{"id":"x1","type":"collaboration.created","collaboration":{"id":"c10","item":{"type":"file","id":"plan"},"accessible_by":{"type":"user","id":"erin"},"role":"viewer","expires_at":"` + expires.Format(time.RFC3339Nano) + `"}}]`
	if code, out, _ := call(t, srv, "POST", "/v1/events", adminKey, "", ev); code != 200 {
		t.Fatalf("events = %d %v", code, out)
	}
	check := func() bool {
		_, out, _ := call(t, srv, "POST", "/v1/check", adminKey, "", `{"user":"erin","action":"download","item":{"type":"file","id":"plan"}}`)
		return out["allowed"] == true
	}
	if !check() {
		t.Fatal("before expires_at: want allowed")
	}
	for time.Now().Before(expires) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	deadline := expires.Add(time.Second)
	for check() {
		if time.Now().After(deadline) {
			t.Fatal("still allowed a second after expires_at")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBoxWebhooks(t *testing.T) {
	srv := newAPI(t)
	loadAcme(t, srv)
	deliver := func(body string, key string, ts time.Time) (int, map[string]any) {
		t.Helper()
		stamp := ts.UTC().Format(time.RFC3339)
		req, _ := http.NewRequest("POST", srv.URL+"/webhooks/box", strings.NewReader(body))
		req.Header.Set("BOX-DELIVERY-TIMESTAMP", stamp)
		req.Header.Set("BOX-SIGNATURE-PRIMARY", source.SignWebhook(key, []byte(body), stamp))
		req.Header.Set("BOX-SIGNATURE-VERSION", "1")
		req.Header.Set("BOX-SIGNATURE-ALGORITHM", "HmacSHA256")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	collab := `{"type":"webhook_event","id":"wh-1","trigger":"COLLABORATION.CREATED","source":{"type":"collaboration","id":"wc1","item":{"type":"folder","id":"launch"},"accessible_by":{"type":"user","id":"erin"},"role":"editor"}}`
	if code, out := deliver(collab, "wrong-key", time.Now()); code != 401 {
		t.Fatalf("wrong key: %d %v", code, out)
	}
	if code, out := deliver(collab, webhookKey, time.Now().Add(-11*time.Minute)); code != 401 {
		t.Fatalf("stale: %d %v", code, out)
	}
	code, out := deliver(collab, webhookKey, time.Now())
	if code != 200 || out["applied"] != float64(1) {
		t.Fatalf("delivery: %d %v", code, out)
	}
	_, got, _ := call(t, srv, "POST", "/v1/check", adminKey, "", `{"user":"erin","action":"edit","item":{"type":"file","id":"plan"},"consistency_token":"`+out["consistency_token"].(string)+`"}`)
	if got["allowed"] != true {
		t.Fatalf("erin edit after the webhook = %v", got)
	}
	// Box retries with the same id: a duplicate.
	if code, out := deliver(collab, webhookKey, time.Now()); code != 200 || out["duplicates"] != float64(1) {
		t.Fatalf("redelivery: %d %v", code, out)
	}
	// Triggers that change no permission are acknowledged and ignored.
	if code, out := deliver(`{"type":"webhook_event","id":"wh-2","trigger":"FILE.PREVIEWED","source":{"type":"file","id":"plan"}}`, webhookKey, time.Now()); code != 200 || out["ignored"] != true {
		t.Fatalf("ignored trigger: %d %v", code, out)
	}
	// One that can never apply is set aside, and acknowledged so Box stops.
	if code, out := deliver(`{"type":"webhook_event","id":"wh-3","trigger":"FILE.UPLOADED","source":{"type":"file","id":"nf","parent":{"type":"folder","id":"nowhere"},"owned_by":{"type":"user","id":"alice"}}}`, webhookKey, time.Now()); code != 200 || out["dead_lettered"] != true {
		t.Fatalf("unappliable: %d %v", code, out)
	}
}
