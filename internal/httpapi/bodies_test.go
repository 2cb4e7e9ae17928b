package httpapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/checker/oauth"
	"github.com/boxauthz/boxauthz/internal/httpapi"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/source"
)

// countingBody is an endless request body that counts what the server
// reads of it.
type countingBody struct {
	read  atomic.Int64
	block chan struct{} // when set, the first read waits for it
}

func (b *countingBody) Read(p []byte) (int, error) {
	if b.block != nil {
		<-b.block
	}
	for i := range p {
		p[i] = 'x'
	}
	b.read.Add(int64(len(p)))
	return len(p), nil
}

func newBodyAPI(t *testing.T, reads int) http.Handler {
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
	api, err := httpapi.New(ch, sync.NewApplier(c), adminKey,
		httpapi.WithPublicBodyReads(reads),
		httpapi.WithWebhookKeys(source.WebhookKeys{Primary: webhookKey}),
		httpapi.WithWebhookDeadLetter(t.TempDir()+"/dead"),
		httpapi.WithAuthorizer(oauth.NewAuthorizer(ch, tk)))
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// TestPublicBodiesAreSmall is the memory attack on routes any caller
// reaches: huge bodies are cut at a small limit, an unsigned webhook is
// refused before its body is read, and the bodies read at once are bounded.
func TestPublicBodiesAreSmall(t *testing.T) {
	api := newBodyAPI(t, 1)
	tests := []struct {
		path, contentType string
		header            http.Header
		status            int
		maxRead           int64
	}{
		{"/v1/authorize", "application/json", http.Header{"Authorization": {"Bearer bxat_x"}}, 413, httpapi.MaxPublicBodyBytes + 64<<10},
		{"/oauth2/token", "application/x-www-form-urlencoded", nil, 413, httpapi.MaxPublicBodyBytes + 64<<10},
		{"/oauth2/revoke", "application/x-www-form-urlencoded", nil, 413, httpapi.MaxPublicBodyBytes + 64<<10},
		{"/webhooks/box", "application/json", nil, 401, 0},
		{
			"/webhooks/box", "application/json",
			http.Header{"Box-Signature-Primary": {"forged"}, "Box-Delivery-Timestamp": {time.Now().UTC().Format(time.RFC3339)}},
			413, httpapi.MaxWebhookBodyBytes + 64<<10,
		},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			body := &countingBody{}
			r := httptest.NewRequest("POST", tt.path, body)
			r.ContentLength = -1
			r.Header.Set("Content-Type", tt.contentType)
			for k, v := range tt.header {
				r.Header[k] = v
			}
			w := httptest.NewRecorder()
			api.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Errorf("%s: %d %s, want %d", tt.path, w.Code, w.Body, tt.status)
			}
			if n := body.read.Load(); n > tt.maxRead {
				t.Errorf("%s: the server read %d bytes of the body, want at most %d", tt.path, n, tt.maxRead)
			}
		})
	}

	// One read slot: a sender that stalls holds it; the next public body
	// waits, then is answered 503, and an admin request is not held up.
	stalled := &countingBody{block: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := httptest.NewRequest("POST", "/v1/authorize", stalled)
		r.Header.Set("Authorization", "Bearer bxat_x")
		api.ServeHTTP(httptest.NewRecorder(), r)
	}()
	time.Sleep(100 * time.Millisecond) // let it take the slot
	r := httptest.NewRequest("POST", "/v1/authorize", strings.NewReader(`{"action":"preview"}`))
	r.Header.Set("Authorization", "Bearer bxat_x")
	w := httptest.NewRecorder()
	api.ServeHTTP(w, r)
	if w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Errorf("a second public body while the slot is held: %d %s, want 503 with Retry-After", w.Code, w.Body)
	}
	r = httptest.NewRequest("POST", "/v1/lookup/users", strings.NewReader(`{"item":{"type":"file","id":"x"},"action":"preview"}`))
	r.Header.Set("Authorization", "Bearer "+adminKey)
	w = httptest.NewRecorder()
	api.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Errorf("an admin request while the public slot is held: %d %s", w.Code, w.Body)
	}
	close(stalled.block)
	<-done
}

// TestSmallerHardening: a malformed consistency token is a 400 naming
// consistency_token on every question; user lookups have a page limit;
// /readyz tells internal addresses only to the admin.
func TestSmallerHardening(t *testing.T) {
	srv := newAPI(t)
	loadAcme(t, srv)
	for _, tt := range []struct{ path, body string }{
		{"/v1/check", `{"user":"bob","action":"preview","item":{"type":"file","id":"plan"},"consistency_token":"garbage"}`},
		{"/v1/check/bulk", `{"checks":[{"user":"bob","action":"preview","item":{"type":"file","id":"plan"}}],"consistency_token":"garbage"}`},
		{"/v1/lookup/items", `{"user":"bob","action":"preview","type":"file","consistency_token":"garbage"}`},
		{"/v1/lookup/users", `{"item":{"type":"file","id":"plan"},"action":"preview","consistency_token":"garbage"}`},
		{"/v1/lookup/users", `{"item":{"type":"file","id":"plan"},"action":"preview","limit":10001}`},
		{"/v1/lookup/users", `{"item":{"type":"file","id":"plan"},"action":"preview","cursor":"forged"}`},
	} {
		code, out, _ := call(t, srv, "POST", tt.path, adminKey, "application/json", tt.body)
		msg, _ := out["message"].(string)
		if code != 400 || !(strings.Contains(msg, "consistency_token") || strings.Contains(msg, "limit") || strings.Contains(msg, "cursor")) {
			t.Errorf("%s %s: %d %v, want 400 naming the field", tt.path, tt.body, code, out)
		}
	}
	code, out, _ := call(t, srv, "POST", "/v1/lookup/users", adminKey, "application/json", `{"item":{"type":"file","id":"plan"},"action":"preview","limit":1}`)
	if users, _ := out["users"].([]any); code != 200 || len(users) != 1 || out["cursor"] == nil {
		t.Errorf("lookup users limit 1: %d %v, want one user and a cursor", code, out)
	}

	c := testenv.SpiceDB(t, testenv.Memory)
	ch, _ := checker.New(c)
	secret := errors.New("dial tcp 10.20.30.40:50051: connection refused")
	api, err := httpapi.New(ch, sync.NewApplier(c), adminKey,
		httpapi.WithReady(func(context.Context) error { return secret }))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		key   string
		shows bool
	}{{"", false}, {"wrong", false}, {adminKey, true}} {
		r := httptest.NewRequest("GET", "/readyz", nil)
		if tt.key != "" {
			r.Header.Set("Authorization", "Bearer "+tt.key)
		}
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		body, _ := io.ReadAll(w.Body)
		if w.Code != 503 || strings.Contains(string(body), "10.20.30.40") != tt.shows {
			t.Errorf("readyz with key %q: %d %s; want 503, address shown: %v", tt.key, w.Code, body, tt.shows)
		}
	}
}
