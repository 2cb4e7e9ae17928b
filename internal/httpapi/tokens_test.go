package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/checker/oauth"
	"github.com/boxauthz/boxauthz/internal/httpapi"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/sync"
)

// newTokenAPI serves the whole API, tokens included, logging at debug level
// into the returned buffer.
func newTokenAPI(t *testing.T, limit, burst int) (*httptest.Server, *testenv.LockedBuffer) {
	t.Helper()
	c := testenv.SpiceDB(t, testenv.Memory)
	logs := &testenv.LockedBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ch, err := checker.New(c)
	if err != nil {
		t.Fatal(err)
	}
	tk := oauth.NewTokens(c, oauth.WithLogger(logger))
	if err := tk.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(ch,
		sync.NewApplier(c, sync.WithLogger(logger)),
		adminKey,
		httpapi.WithLogger(logger),
		httpapi.WithAuthorizer(oauth.NewAuthorizer(ch, tk)),
		httpapi.WithInvalidTokenLimit(limit, burst))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	events := `[{"id":"u1","type":"user.created","user":{"id":"alice","enterprise":"acme","role":"admin"}},
		{"id":"u2","type":"user.created","user":{"id":"bob","enterprise":"acme"}},
		{"id":"f1","type":"folder.created","folder":{"id":"docs","parent":"0","owner":"bob"}},
		{"id":"f2","type":"file.created","file":{"id":"a","parent":"docs","owner":"bob"}},
		{"id":"f3","type":"file.created","file":{"id":"b","parent":"0","owner":"bob"}}]`
	if st, out, _ := call(t, srv, "POST", "/v1/events", adminKey, "application/json", events); st != 200 {
		t.Fatalf("events: %d %v", st, out)
	}
	return srv, logs
}

func form(t *testing.T, srv *httptest.Server, path string, v url.Values) (int, map[string]any, http.Header) {
	t.Helper()
	return call(t, srv, "POST", path, "", "application/x-www-form-urlencoded", v.Encode())
}

func authorize(t *testing.T, srv *httptest.Server, token, asUser, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+"/v1/authorize", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if asUser != "" {
		req.Header.Set("As-User", asUser)
	}
	st, out := do(t, req)
	if st != 200 {
		t.Fatalf("authorize answered %d %v, want 200 with the decision", st, out)
	}
	return out
}

func do(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = jsonDecode(resp.Body, &out)
	return resp.StatusCode, out
}

// TestTokenEndpoints walks docs/api.md's Tokens and Authorize sections over HTTP,
// then checks that no token string reached the logs.
func TestTokenEndpoints(t *testing.T) {
	srv, logs := newTokenAPI(t, -1, 0)
	var secrets []string

	// Applications.
	st, out, _ := call(t, srv, "POST", "/v1/apps", adminKey, "application/json", `{"id":"crm","scopes":["root_readonly"],"as_user":false}`)
	if st != 201 || out["id"] != "crm" {
		t.Fatalf("create app: %d %v", st, out)
	}
	crmSecret := out["client_secret"].(string)
	secrets = append(secrets, crmSecret)
	crm := func(v url.Values) url.Values {
		v.Set("client_id", "crm")
		v.Set("client_secret", crmSecret)
		return v
	}
	for _, c := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"POST", "/v1/apps", `{"id":"crm","scopes":[]}`, 409, "conflict"},
		{"POST", "/v1/apps", `{"id":"x","scopes":["root_all"]}`, 400, `unknown scope "root_all"`},
		{"POST", "/v1/apps", `{"id":"x"}`, 400, "scopes"},
		{"POST", "/v1/apps", `{"id":"a|b","scopes":[]}`, 400, "id"},
		{"PUT", "/v1/apps/nope", `{"scopes":[]}`, 404, "not_found"},
		{"PUT", "/v1/apps/default", `{"scopes":[]}`, 400, "built-in"},
		{"POST", "/v1/tokens", `{"user":"bob","scopes":["root_readonly"],"app":"crm"}`, 403, "not authorized"},
		{"POST", "/v1/tokens", `{"user":"nobody","scopes":["root_readonly"]}`, 400, `no user "nobody"`},
		{"POST", "/v1/tokens", `{"user":"bob","scopes":["root_readonly"],"app":"nope"}`, 400, "app"},
		{"POST", "/v1/tokens", `{"user":"bob","scopes":["root_xyz"]}`, 400, "root_xyz"},
		{"POST", "/v1/tokens", `{"user":"bob","scopes":["root_readonly"],"extra":1}`, 400, "extra"},
	} {
		st, out, _ := call(t, srv, c.method, c.path, adminKey, "application/json", c.body)
		if st != c.status || !strings.Contains(out["message"].(string)+out["code"].(string), c.want) {
			t.Errorf("%s %s %s: %d %v, want %d naming %s", c.method, c.path, c.body, st, out, c.status, c.want)
		}
	}
	if st, _, _ := call(t, srv, "PUT", "/v1/apps/crm/enterprises/acme", adminKey, "", ""); st != 204 {
		t.Fatalf("authorize app for acme: %d", st)
	}
	if st, _, _ := call(t, srv, "POST", "/v1/tokens", "wrong-key", "application/json", `{"user":"bob","scopes":["root_readonly"]}`); st != 401 {
		t.Errorf("issue without the admin key: %d", st)
	}

	// Issue.
	st, pair, h := call(t, srv, "POST", "/v1/tokens", adminKey, "application/json", `{"user":"bob","scopes":["root_readonly"],"app":"crm"}`)
	if st != 201 || pair["token_type"] != "bearer" || pair["expires_in"] != 3600.0 || pair["refresh_token"] == "" || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("issue: %d %v %v", st, pair, h)
	}
	if rt, ok := pair["restricted_to"].([]any); !ok || len(rt) != 0 {
		t.Errorf("restricted_to %v, want []", pair["restricted_to"])
	}
	access, refresh := pair["access_token"].(string), pair["refresh_token"].(string)
	secrets = append(secrets, access, refresh)

	// Authorize: always 200 with the decision.
	d := authorize(t, srv, access, "", `{"action":"download","item":{"type":"file","id":"a"}}`)
	if d["allowed"] != true || d["status"] != 200.0 || d["code"] != "" || d["user"] != "bob" {
		t.Errorf("authorize: %v", d)
	}
	d = authorize(t, srv, access, "", `{"action":"edit","item":{"type":"file","id":"a"}}`)
	if d["allowed"] != false || d["status"] != 403.0 || d["code"] != "insufficient_scope" {
		t.Errorf("authorize without scope: %v", d)
	}
	d = authorize(t, srv, "bxat_nope", "", `{"action":"download","item":{"type":"file","id":"a"}}`)
	if d["status"] != 401.0 || d["code"] != "invalid_token" {
		t.Errorf("authorize unknown token: %v", d)
	}
	d = authorize(t, srv, access, "", `{"action":"download","item":{"type":"file","id":"a"},"explain":true}`)
	if ex, ok := d["explanation"].(map[string]any); !ok || ex["grants"] == nil {
		t.Errorf("explain: %v", d)
	}
	for _, bad := range []struct{ body, field string }{
		{`{"action":"fly","item":{"type":"file","id":"a"}}`, "action"},
		{`{"item":{"type":"file","id":"a"}}`, "action"},
		{`{"action":"download"}`, "item"},
		{`{"action":"download","item":{"type":"user","id":"a"}}`, "item"},
		{`{"action":"manage_users"}`, "enterprise"},
		{`{"action":"manage_groups","enterprise":"acme","group":"g"}`, "group"},
		{`{"action":"download","item":{"type":"file","id":"a"},"shared_link":"https://x/y"}`, "shared_link"},
		{`{"action":"download","item":{"type":"file","id":"a"},"color":1}`, "color"},
	} {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/authorize", strings.NewReader(bad.body))
		req.Header.Set("Authorization", "Bearer "+access)
		st, out := do(t, req)
		if st != 400 || !strings.Contains(out["message"].(string), bad.field) {
			t.Errorf("authorize %s: %d %v, want 400 naming %s", bad.body, st, out, bad.field)
		}
	}

	// users/me.
	req, _ := http.NewRequest("GET", srv.URL+"/2.0/users/me", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	if st, out := do(t, req); st != 200 || out["id"] != "bob" || out["enterprise"] != "acme" || out["role"] != "user" || out["type"] != "user" {
		t.Errorf("users/me: %d %v", st, out)
	}
	req, _ = http.NewRequest("GET", srv.URL+"/2.0/users/me", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("users/me without a token: %d %v", resp.StatusCode, resp.Header)
	}

	// Exchange.
	st, down, _ := form(t, srv, "/oauth2/token", crm(url.Values{
		"grant_type":    {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token": {access}, "subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
		"scope": {"item_preview"}, "resource": {"https://api.box.com/2.0/folders/docs"},
	}))
	if st != 200 || down["issued_token_type"] != "urn:ietf:params:oauth:token-type:access_token" || down["refresh_token"] != nil {
		t.Fatalf("exchange: %d %v", st, down)
	}
	if rt := down["restricted_to"].([]any); len(rt) != 1 || rt[0].(map[string]any)["scope"] != "item_preview" ||
		rt[0].(map[string]any)["object"].(map[string]any)["id"] != "docs" {
		t.Errorf("restricted_to %v", rt)
	}
	secrets = append(secrets, down["access_token"].(string))
	if d := authorize(t, srv, down["access_token"].(string), "", `{"action":"preview","item":{"type":"file","id":"b"}}`); d["code"] != "not_found" {
		t.Errorf("downscoped token outside its folder: %v", d)
	}

	// OAuth errors.
	for _, c := range []struct {
		v    url.Values
		code string
	}{
		{url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"bxrt_nope"}}, "invalid_grant"},
		{url.Values{"grant_type": {"password"}}, "unsupported_grant_type"},
		{url.Values{}, "invalid_request"},
		{url.Values{"grant_type": {"refresh_token"}, "color": {"red"}}, "invalid_request"},
		{crm(url.Values{
			"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {access},
			"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "scope": {"root_readwrite"},
		}), "invalid_scope"},
		{url.Values{
			"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {access},
			"subject_token_type": {"urn:ietf:params:oauth:token-type:id_token"}, "scope": {"item_preview"},
		}, "invalid_request"},
	} {
		st, out, _ := form(t, srv, "/oauth2/token", c.v)
		if st != 400 || out["error"] != c.code || out["error_description"] == "" {
			t.Errorf("token %v: %d %v, want 400 %s", c.v, st, out, c.code)
		}
	}
	if st, out, _ := call(t, srv, "POST", "/oauth2/token", "", "application/json", `{"grant_type":"refresh_token"}`); st != 400 || out["error"] != "invalid_request" {
		t.Errorf("JSON token request: %d %v", st, out)
	}

	// Refresh, then reuse.
	st, pair2, _ := form(t, srv, "/oauth2/token", crm(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}))
	if st != 200 || pair2["refresh_token"] == "" || pair2["access_token"] == access {
		t.Fatalf("refresh: %d %v", st, pair2)
	}
	secrets = append(secrets, pair2["access_token"].(string), pair2["refresh_token"].(string))
	// Presented again at once: a retry after a lost response, answered
	// with the same pair (the checker's tests cover reuse after the leeway).
	if st, again, _ := form(t, srv, "/oauth2/token", crm(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})); st != 200 ||
		again["access_token"] != pair2["access_token"] || again["refresh_token"] != pair2["refresh_token"] {
		t.Errorf("refresh retried at once: %d %v, want the same pair", st, again)
	}

	// Revoke.
	st, issued, _ := call(t, srv, "POST", "/v1/tokens", adminKey, "application/json", `{"user":"alice","scopes":["root_readwrite"]}`)
	if st != 201 {
		t.Fatal(st)
	}
	secrets = append(secrets, issued["access_token"].(string), issued["refresh_token"].(string))
	resp, err = http.PostForm(srv.URL+"/oauth2/revoke", url.Values{"token": {issued["refresh_token"].(string)}})
	if err != nil {
		t.Fatal(err)
	}
	body := new(bytes.Buffer)
	_, _ = body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || body.Len() != 0 {
		t.Errorf("revoke: %d %q, want 200 and an empty body", resp.StatusCode, body)
	}
	if d := authorize(t, srv, issued["access_token"].(string), "", `{"action":"manage_users","enterprise":"acme"}`); d["status"] != 401.0 {
		t.Errorf("access token after its refresh token was revoked: %v", d)
	}
	if st, _, _ := form(t, srv, "/oauth2/token?token=x", url.Values{"token": {"y"}}); st != 400 {
		t.Errorf("a token in the URL was accepted: %d", st)
	}

	// Deleting the app ends its tokens.
	if st, _, _ := call(t, srv, "DELETE", "/v1/apps/crm", adminKey, "", ""); st != 204 {
		t.Errorf("delete app: %d", st)
	}
	if d := authorize(t, srv, pair2["access_token"].(string), "", `{"action":"preview","item":{"type":"file","id":"a"}}`); d["status"] != 401.0 {
		t.Errorf("token of a deleted app: %v", d)
	}

	out2 := logs.String()
	if !strings.Contains(out2, "token issued") {
		t.Fatal("the log captured nothing: the secrets check below would prove nothing")
	}
	for _, s := range append(secrets, adminKey) {
		if strings.Contains(out2, s) {
			t.Errorf("a secret reached the log: %s...", s[:8])
		}
		// Nor any long piece of one.
		if len(s) > 20 && strings.Contains(out2, s[5:25]) {
			t.Errorf("part of a secret reached the log: %s...", s[:8])
		}
	}
}

// serveFrom sends one request to the API as if from addr, with token.
func serveFrom(srv *httptest.Server, addr, method, path, token, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.RemoteAddr = addr
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	if strings.HasPrefix(path, "/oauth2/") {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	srv.Config.Handler.ServeHTTP(w, r)
	return w
}

// TestInvalidTokensSlowedDown: bad credentials past the burst are answered
// 429 with Retry-After, per address and per presented credential.
func TestInvalidTokensSlowedDown(t *testing.T) {
	srv, _ := newTokenAPI(t, 3, 3)
	const body = `{"action":"preview","item":{"type":"file","id":"a"}}`
	const mallory, other = "198.51.100.9:4000", "192.0.2.7:5555"
	for i := range 3 {
		if w := serveFrom(srv, mallory, "POST", "/v1/authorize", fmt.Sprintf("bxat_guess%d", i), body); w.Code != 200 || !strings.Contains(w.Body.String(), `"status":401`) {
			t.Fatalf("guess %d: %d %s, want the 401 decision", i, w.Code, w.Body)
		}
	}
	w := serveFrom(srv, mallory, "POST", "/v1/authorize", "bxat_guess3", body)
	if w.Code != 429 || w.Header().Get("Retry-After") == "" {
		t.Fatalf("4th guess from one address: %d (Retry-After %q), want 429", w.Code, w.Header().Get("Retry-After"))
	}
	w = serveFrom(srv, mallory, "POST", "/oauth2/token", "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}.Encode())
	if w.Code != 429 || !strings.Contains(w.Body.String(), `"too_many_requests"`) {
		t.Errorf("token endpoint from the slowed address: %d %s, want 429 too_many_requests", w.Code, w.Body)
	}
	// One credential tried from many addresses is limited by itself.
	for i := range 3 {
		serveFrom(srv, fmt.Sprintf("203.0.113.%d:1", i), "POST", "/v1/authorize", "bxat_sprayed", body)
	}
	if w := serveFrom(srv, other, "POST", "/v1/authorize", "bxat_sprayed", body); w.Code != 429 {
		t.Errorf("one bad credential from a 4th address: %d %s, want 429", w.Code, w.Body)
	}
}

// TestBadTokensLockOutNobodyElse is the lockout attack: a caller sharing an
// address with others (NAT, a proxy, the admin's own host) floods bad end
// user tokens and wrong admin keys; every valid credential from that address
// is still served, the admin key included.
func TestBadTokensLockOutNobodyElse(t *testing.T) {
	srv, _ := newTokenAPI(t, 0, 0) // the defaults
	_, issued, _ := call(t, srv, "POST", "/v1/tokens", adminKey, "application/json", `{"user":"bob","scopes":["root_readonly"]}`)
	good := issued["access_token"].(string)
	const shared = "10.1.2.3:999"
	const body = `{"action":"preview","item":{"type":"file","id":"a"}}`
	t.Logf("before: %v", authorize(t, srv, good, "", body))
	t.Logf("before: %s", serveFrom(srv, shared, "POST", "/v1/authorize", good, body).Body)
	for i := range 2 * httpapi.DefaultInvalidTokenBurst {
		serveFrom(srv, shared, "GET", "/2.0/users/me", fmt.Sprintf("bxat_bogus%d", i), "")
	}
	if w := serveFrom(srv, shared, "GET", "/2.0/users/me", "bxat_bogus_more", ""); w.Code != 429 {
		t.Fatalf("the flood itself: %d, want 429 once past the burst", w.Code)
	}
	if w := serveFrom(srv, shared, "POST", "/v1/check", adminKey, `{"user":"bob","action":"preview","item":{"type":"file","id":"a"}}`); w.Code != 200 {
		t.Errorf("admin check after the end-user flood: %d %s, want 200", w.Code, w.Body)
	}
	if w := serveFrom(srv, shared, "POST", "/v1/authorize", good, body); w.Code != 200 || !strings.Contains(w.Body.String(), `"allowed":true`) {
		t.Errorf("bob's valid token after the flood: %d %s, want 200 allowed", w.Code, w.Body)
	}
	// Wrong admin keys from the address do not refuse the right one either,
	// and are answered 429 themselves past the burst.
	var last int
	for i := range 2 * httpapi.DefaultInvalidTokenBurst {
		last = serveFrom(srv, shared, "POST", "/v1/check", fmt.Sprintf("wrong-%d", i), `{}`).Code
	}
	if last != 429 {
		t.Errorf("admin key guessing past the burst: %d, want 429", last)
	}
	if w := serveFrom(srv, shared, "POST", "/v1/check", adminKey, `{"user":"bob","action":"preview","item":{"type":"file","id":"a"}}`); w.Code != 200 {
		t.Errorf("admin check after admin-key guessing: %d %s, want 200", w.Code, w.Body)
	}
	if w := serveFrom(srv, shared, "GET", "/2.0/users/me", good, ""); w.Code != 200 {
		t.Errorf("users/me with a valid token: %d %s, want 200", w.Code, w.Body)
	}
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

// TestTokenFormParameters: unrecognized parameters are ignored (RFC 6749
// §3.2; Box SDKs send box_device_id and box_device_name), a known one given
// twice is refused naming it (§3.1), and an unsupported grant type says so.
func TestTokenFormParameters(t *testing.T) {
	srv, _ := newTokenAPI(t, -1, 0)
	_, pair, _ := call(t, srv, "POST", "/v1/tokens", adminKey, "application/json", `{"user":"bob","scopes":["root_readonly"]}`)
	refresh := pair["refresh_token"].(string)
	for _, c := range []struct {
		name   string
		body   string
		status int
		code   string // "" = a new pair
		names  string // what the error description names
	}{
		{"a known parameter twice", "grant_type=refresh_token&refresh_token=" + refresh + "&refresh_token=" + refresh, 400, "invalid_request", `"refresh_token"`},
		{"grant_type twice", "grant_type=refresh_token&grant_type=refresh_token&refresh_token=" + refresh, 400, "invalid_request", `"grant_type"`},
		{"password grant", "grant_type=password&username=bob&password=x", 400, "unsupported_grant_type", "password"},
		{"Box SDK device parameters", "grant_type=refresh_token&refresh_token=" + refresh + "&box_device_id=d1&box_device_name=phone&extra=1&extra=2", 200, "", ""},
	} {
		st, out, _ := call(t, srv, "POST", "/oauth2/token", "", "application/x-www-form-urlencoded", c.body)
		if st != c.status || (c.code != "" && (out["error"] != c.code || !strings.Contains(fmt.Sprint(out["error_description"]), c.names))) ||
			(c.code == "" && out["access_token"] == nil) {
			t.Errorf("%s: %d %v, want %d %s naming %s", c.name, st, out, c.status, c.code, c.names)
		}
	}
	_, other, _ := call(t, srv, "POST", "/v1/tokens", adminKey, "application/json", `{"user":"bob","scopes":["root_readonly"]}`)
	if st, out, _ := form(t, srv, "/oauth2/revoke", url.Values{"token": {other["access_token"].(string)}, "box_device_id": {"d1"}}); st != 200 {
		t.Errorf("revoke with a device parameter: %d %v, want 200", st, out)
	}
	if d := authorize(t, srv, other["access_token"].(string), "", `{"action":"preview","item":{"type":"file","id":"a"}}`); d["status"] != 401.0 {
		t.Errorf("the token revoked with a device parameter still works: %v", d)
	}
	if st, out, _ := form(t, srv, "/oauth2/revoke", url.Values{"token": {"a", "b"}}); st != 400 || !strings.Contains(fmt.Sprint(out["error_description"]), `"token"`) {
		t.Errorf("revoke with token twice: %d %v, want 400 naming token", st, out)
	}
}

// TestNoGoTypesInErrors: a JSON value of the wrong type, and a token
// exchange's subject_token_type, are refused naming the field and what is
// allowed in JSON's or OAuth's terms, never a Go type.
func TestNoGoTypesInErrors(t *testing.T) {
	srv, _ := newTokenAPI(t, -1, 0)
	goTypes := regexp.MustCompile(`\[\]|map\[|struct|checker\.|httpapi\.|schema\.|\*|int64|float64|Go (value|struct)|unmarshal`)
	for _, c := range []struct {
		path, body string
		names      []string
	}{
		{"/v1/apps", `{"id":"x","scopes":"root_readonly"}`, []string{`"scopes"`, "array", "string"}},
		{"/v1/apps", `{"id":1,"scopes":[]}`, []string{`"id"`, "want a JSON string", "number"}},
		{"/v1/apps", `{"id":"x","scopes":[],"as_user":"yes"}`, []string{`"as_user"`, "boolean"}},
		{"/v1/apps", `{"id":"x","scopes":[1]}`, []string{`"scopes`, "string", "number"}},
		{"/v1/apps", `[]`, []string{"request body", "object", "array"}},
		{"/v1/tokens", `"bob"`, []string{"request body", "object", "string"}},
		{"/v1/check", `{"user":"bob","action":"preview","item":"file:a"}`, []string{`"item"`, "object", "string"}},
		{"/v1/check", `{"user":"bob","action":"preview","item":{"type":"file","id":7}}`, []string{`"item.id"`, "string", "number"}},
	} {
		st, out, _ := call(t, srv, "POST", c.path, adminKey, "application/json", c.body)
		msg := fmt.Sprint(out["message"])
		if st != 400 || goTypes.MatchString(msg) {
			t.Errorf("%s %s: %d %q, want 400 without Go types", c.path, c.body, st, msg)
		}
		for _, n := range c.names {
			if !strings.Contains(msg, n) {
				t.Errorf("%s %s: %q does not name %s", c.path, c.body, msg, n)
			}
		}
	}
	exchange := func(tt ...string) url.Values {
		v := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {"bxat_x"}, "scope": {"item_preview"}}
		if len(tt) > 0 {
			v["subject_token_type"] = tt
		}
		return v
	}
	for _, c := range []struct {
		v     url.Values
		names []string
	}{
		{exchange(), []string{"subject_token_type", "required", "urn:ietf:params:oauth:token-type:access_token"}},
		{exchange("urn:ietf:params:oauth:token-type:id_token"), []string{"subject_token_type", `"urn:ietf:params:oauth:token-type:id_token"`, "urn:ietf:params:oauth:token-type:access_token"}},
	} {
		st, out, _ := form(t, srv, "/oauth2/token", c.v)
		d := fmt.Sprint(out["error_description"])
		if st != 400 || out["error"] != "invalid_request" {
			t.Errorf("%v: %d %v, want 400 invalid_request", c.v, st, out)
		}
		for _, n := range c.names {
			if !strings.Contains(d, n) {
				t.Errorf("%v: %q does not name %s", c.v, d, n)
			}
		}
	}
}

// tokenCall posts a form to an OAuth endpoint with optional HTTP Basic
// client credentials, form-encoded first as RFC 6749 §2.3.1 asks.
func tokenCall(t *testing.T, srv *httptest.Server, path, basicID, basicSecret string, v url.Values) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = jsonDecode(resp.Body, &out)
	return resp.StatusCode, out, resp.Header
}

// TestClientAuthenticationHTTP: /v1/apps shows the client secret once,
// /v1/apps/{id}/secret rotates it, and /oauth2/token and /oauth2/revoke
// authenticate an application's client by HTTP Basic or form parameters
// (RFC 6749 §2.3.1), answering 401 invalid_client with WWW-Authenticate
// otherwise (§5.2), slowed down like any bad credential.
func TestClientAuthenticationHTTP(t *testing.T) {
	srv, logs := newTokenAPI(t, 4, 4)
	st, app, h := call(t, srv, "POST", "/v1/apps", adminKey, "application/json", `{"id":"crm","scopes":["root_readonly"]}`)
	secret, _ := app["client_secret"].(string)
	if st != 201 || app["client_id"] != "crm" || !strings.HasPrefix(secret, "bxcs_") || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("create app: %d %v %v, want 201 with client_id, client_secret, not cached", st, app, h)
	}
	if st, got, _ := call(t, srv, "GET", "/v1/apps/crm", adminKey, "", ""); st != 200 || got["client_id"] != "crm" || got["client_secret"] != nil {
		t.Errorf("read app: %d %v, want its client_id and no secret", st, got)
	}
	call(t, srv, "PUT", "/v1/apps/crm/enterprises/acme", adminKey, "", "")
	issue := func() (string, string) {
		_, p, _ := call(t, srv, "POST", "/v1/tokens", adminKey, "application/json", `{"user":"bob","scopes":["root_readonly"],"app":"crm"}`)
		return p["access_token"].(string), p["refresh_token"].(string)
	}
	access, refresh := issue()
	refreshForm := func(extra ...string) url.Values {
		v := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}
	const peer = "198.51.100.20:1234"
	for _, c := range []struct {
		name            string
		basicID, secret string
		v               url.Values
		header          string // raw Authorization, when set
		status          int
		code            string
	}{
		{"no client", "", "", refreshForm(), "", 401, "invalid_client"},
		{"wrong form secret", "", "", refreshForm("client_id", "crm", "client_secret", "bxcs_wrong"), "", 401, "invalid_client"},
		{"client_id alone", "", "", refreshForm("client_id", "crm"), "", 401, "invalid_client"},
		{"client_secret alone", "", "", refreshForm("client_secret", secret), "", 400, "invalid_request"},
		{"Basic and form", "crm", secret, refreshForm("client_id", "crm", "client_secret", secret), "", 400, "invalid_request"},
		{"a Bearer header", "", "", refreshForm(), "Bearer " + secret, 401, "invalid_client"},
	} {
		req := httptest.NewRequest("POST", "/oauth2/token", strings.NewReader(c.v.Encode()))
		req.RemoteAddr = peer
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if c.basicID != "" {
			req.SetBasicAuth(c.basicID, c.secret)
		}
		if c.header != "" {
			req.Header.Set("Authorization", c.header)
		}
		w := httptest.NewRecorder()
		srv.Config.Handler.ServeHTTP(w, req)
		var out map[string]any
		_ = jsonDecode(w.Body, &out)
		if w.Code != c.status || out["error"] != c.code || out["error_description"] == "" {
			t.Errorf("%s: %d %v, want %d %s", c.name, w.Code, out, c.status, c.code)
		}
		if c.status == 401 && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Basic") {
			t.Errorf("%s: WWW-Authenticate %q, want Basic (RFC 6749 §5.2)", c.name, w.Header().Get("WWW-Authenticate"))
		}
	}
	// Four invalid_client answers from one address: the next is slowed down.
	req := httptest.NewRequest("POST", "/oauth2/token", strings.NewReader(refreshForm("client_id", "crm", "client_secret", "bxcs_guess").Encode()))
	req.RemoteAddr = peer
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	srv.Config.Handler.ServeHTTP(w, req)
	if w.Code != 429 || w.Header().Get("Retry-After") == "" {
		t.Errorf("client secret guessing past the burst: %d %s, want 429 with Retry-After", w.Code, w.Body)
	}
	// None of that spent the refresh token: its own client refreshes it, by
	// Basic, then by form parameters.
	st, p2, _ := tokenCall(t, srv, "/oauth2/token", "crm", secret, refreshForm())
	if st != 200 || p2["refresh_token"] == nil {
		t.Fatalf("refresh by Basic: %d %v", st, p2)
	}
	refresh = p2["refresh_token"].(string)
	st, p3, _ := tokenCall(t, srv, "/oauth2/token", "", "", refreshForm("client_id", "crm", "client_secret", secret))
	if st != 200 || p3["refresh_token"] == nil {
		t.Fatalf("refresh by form parameters: %d %v", st, p3)
	}
	exchange := url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {p3["access_token"].(string)},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "scope": {"item_preview"},
	}
	if st, out, _ := tokenCall(t, srv, "/oauth2/token", "", "", exchange); st != 401 || out["error"] != "invalid_client" {
		t.Errorf("exchange without the client: %d %v, want 401 invalid_client", st, out)
	}
	if st, out, _ := tokenCall(t, srv, "/oauth2/token", "crm", secret, exchange); st != 200 {
		t.Errorf("exchange by the client: %d %v", st, out)
	}

	// Revoke: the client is needed too.
	if st, out, h := tokenCall(t, srv, "/oauth2/revoke", "", "", url.Values{"token": {access}}); st != 401 || out["error"] != "invalid_client" || h.Get("WWW-Authenticate") == "" {
		t.Errorf("revoke without the client: %d %v %v, want 401 invalid_client", st, out, h)
	}
	if d := authorize(t, srv, access, "", `{"action":"preview","item":{"type":"file","id":"a"}}`); d["allowed"] != true {
		t.Errorf("a refused revoke ended the token: %v", d)
	}
	if st, out, _ := tokenCall(t, srv, "/oauth2/revoke", "crm", secret, url.Values{"token": {access}}); st != 200 {
		t.Errorf("revoke by the client: %d %v", st, out)
	}

	// Rotation: the old secret stops working at once.
	st, rotated, h := call(t, srv, "POST", "/v1/apps/crm/secret", adminKey, "", "")
	newSecret, _ := rotated["client_secret"].(string)
	if st != 200 || rotated["client_id"] != "crm" || !strings.HasPrefix(newSecret, "bxcs_") || newSecret == secret || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("rotate: %d %v %v", st, rotated, h)
	}
	if st, _, _ := call(t, srv, "POST", "/v1/apps/default/secret", adminKey, "", ""); st != 400 {
		t.Errorf("rotating the default app's secret: %d, want 400", st)
	}
	if st, _, _ := call(t, srv, "POST", "/v1/apps/nope/secret", adminKey, "", ""); st != 404 {
		t.Errorf("rotating an unknown app's secret: %d, want 404", st)
	}
	if st, _, _ := call(t, srv, "POST", "/v1/apps/crm/secret", "", "", ""); st != 401 {
		t.Errorf("rotating without the admin key: %d, want 401", st)
	}
	refresh = p3["refresh_token"].(string)
	if st, out, _ := tokenCall(t, srv, "/oauth2/token", "crm", secret, refreshForm()); st != 401 || out["error"] != "invalid_client" {
		t.Errorf("refresh with the rotated-away secret: %d %v", st, out)
	}
	if st, out, _ := tokenCall(t, srv, "/oauth2/token", "crm", newSecret, refreshForm()); st != 200 {
		t.Errorf("refresh with the new secret: %d %v", st, out)
	}
	for _, s := range []string{secret, newSecret} {
		if strings.Contains(logs.String(), s) || strings.Contains(logs.String(), s[5:25]) {
			t.Errorf("a client secret reached the log")
		}
	}
}
