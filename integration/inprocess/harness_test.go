package inprocess_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/integration"
	"github.com/boxauthz/boxauthz/integration/inprocess"
	"github.com/boxauthz/boxauthz/schema"
)

// box: alice owns folder "reports" holding file "q3"; bob collaborates on
// the folder as a viewer; eve is an outsider.
var box = []string{
	`{"id":"e1","type":"user.created","user":{"id":"alice","enterprise":"acme"}}`,
	`{"id":"e2","type":"user.created","user":{"id":"bob","enterprise":"acme"}}`,
	`{"id":"e3","type":"user.created","user":{"id":"eve","enterprise":"acme"}}`,
	`{"id":"e4","type":"folder.created","folder":{"id":"reports","parent":"0","owner":"alice"}}`,
	`{"id":"e5","type":"file.created","file":{"id":"q3","parent":"reports","owner":"alice"}}`,
	`{"id":"e6","type":"collaboration.created","collaboration":{"id":"k1","item":{"type":"folder","id":"reports"},"accessible_by":{"type":"user","id":"bob"},"role":"viewer"}}`,
}

var q3 = schema.ItemRef{Type: schema.TypeFile, ID: "q3"}

func TestApplyThenCheck(t *testing.T) {
	start := time.Now()
	h := inprocess.New(t)
	t.Logf("harness started in %s", time.Since(start).Round(time.Millisecond))
	ctx := t.Context()
	token, err := h.ApplyJSON(ctx, box...)
	if err != nil {
		t.Fatal(err)
	}
	if token == "" {
		t.Fatal("ApplyJSON returned no consistency token")
	}
	for _, tc := range []struct {
		user   string
		action schema.Action
		want   bool
	}{
		{"alice", schema.ActionDelete, true},
		{"bob", schema.ActionDownload, true},
		{"bob", schema.ActionEdit, false},
		{"eve", schema.ActionPreview, false},
	} {
		a, err := h.Checker().Check(ctx, checker.Question{User: tc.user, Action: tc.action, Item: q3}, checker.Consistency{Token: token})
		if err != nil {
			t.Fatal(err)
		}
		if a.Allowed != tc.want {
			t.Errorf("%s %s %s: allowed=%v, want %v", tc.user, tc.action, q3, a.Allowed, tc.want)
		}
	}

	// Removing the collaboration takes bob's access away, seen with the
	// token of the removal.
	token, err = h.ApplyJSON(ctx, `{"id":"e7","type":"collaboration.deleted","collaboration":{"id":"k1"}}`)
	if err != nil {
		t.Fatal(err)
	}
	a, err := h.Checker().Check(ctx, checker.Question{User: "bob", Action: schema.ActionDownload, Item: q3}, checker.Consistency{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	if a.Allowed {
		t.Error("bob may still download q3 after his collaboration was deleted")
	}
}

// TestClientGoesToIntegration: the harness's client is an
// integration.Client, so the container helpers' functions take it too, and
// a repeated batch is skipped by the real applier.
func TestClientGoesToIntegration(t *testing.T) {
	h := inprocess.New(t)
	ctx := t.Context()
	if _, err := integration.ApplyJSON(ctx, h.Client(), box...); err != nil {
		t.Fatal(err)
	}
	ch, err := integration.NewChecker(ctx, h.Client())
	if err != nil {
		t.Fatal(err)
	}
	token, err := h.ApplyJSON(ctx, box...) // redelivered: skipped
	if err != nil {
		t.Fatal(err)
	}
	a, err := ch.Check(ctx, checker.Question{User: "bob", Action: schema.ActionPreview, Item: q3}, checker.Consistency{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Allowed {
		t.Error("bob may not preview q3")
	}
}

func TestBadEventsAreRefused(t *testing.T) {
	h := inprocess.New(t)
	_, err := h.ApplyJSON(t.Context(), `{"id":"x","type":"no.such.event"}`)
	if err == nil || !strings.Contains(err.Error(), "decoding events") {
		t.Fatalf("ApplyJSON of an unknown event type: %v, want a decoding error", err)
	}
	// A file in a folder nobody created fails the whole batch.
	_, err = h.ApplyJSON(t.Context(), box[0], `{"id":"f","type":"file.created","file":{"id":"lost","parent":"nowhere","owner":"alice"}}`)
	if err == nil {
		t.Fatal("ApplyJSON of a file in an unknown folder succeeded")
	}
}

func TestHTTPAPI(t *testing.T) {
	h := inprocess.New(t, inprocess.WithAdminKey("harness-admin-key"))
	if h.AdminKey() != "harness-admin-key" || !strings.HasPrefix(h.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL %q, admin key %q", h.URL(), h.AdminKey())
	}
	if code, body := call(t, h, http.MethodGet, "/readyz", "", nil); code != http.StatusOK {
		t.Fatalf("GET /readyz: %d %s", code, body)
	}
	if code, _ := call(t, h, http.MethodPost, "/v1/check", "", []byte(`{}`)); code != http.StatusUnauthorized {
		t.Fatalf("POST /v1/check without the admin key: %d, want 401", code)
	}
	code, body := call(t, h, http.MethodPost, "/v1/events", h.AdminKey(), []byte(strings.Join(box, "\n")))
	if code != http.StatusOK {
		t.Fatalf("POST /v1/events: %d %s", code, body)
	}
	var applied struct {
		Applied int    `json:"applied"`
		Token   string `json:"consistency_token"`
	}
	if err := json.Unmarshal(body, &applied); err != nil || applied.Applied != len(box) || applied.Token == "" {
		t.Fatalf("POST /v1/events answered %s (%v)", body, err)
	}
	for user, want := range map[string]bool{"bob": true, "eve": false} {
		req, _ := json.Marshal(map[string]any{
			"user": user, "action": "download",
			"item":              map[string]string{"type": "file", "id": "q3"},
			"consistency_token": applied.Token,
		})
		code, body := call(t, h, http.MethodPost, "/v1/check", h.AdminKey(), req)
		var got struct {
			Allowed bool `json:"allowed"`
		}
		if code != http.StatusOK || json.Unmarshal(body, &got) != nil {
			t.Fatalf("POST /v1/check: %d %s", code, body)
		}
		if got.Allowed != want {
			t.Errorf("%s download q3 over HTTP = %v, want %v", user, got.Allowed, want)
		}
	}
	// The HTTP API and ApplyEvents share one applier and one SpiceDB: the
	// posted events, applied again through the harness, are redeliveries
	// (a token, no error), and the harness's checker sees the HTTP writes.
	token, err := h.ApplyJSON(t.Context(), box...)
	if err != nil {
		t.Fatal(err)
	}
	a, err := h.Checker().Check(t.Context(), checker.Question{User: "bob", Action: schema.ActionDownload, Item: q3}, checker.Consistency{Token: token})
	if err != nil || !a.Allowed {
		t.Fatalf("the harness's checker after HTTP writes: %+v %v, want allowed", a, err)
	}
}

func TestWithoutHTTPAPI(t *testing.T) {
	h := inprocess.New(t)
	if h.URL() != "" || h.AdminKey() != "" {
		t.Fatalf("without WithHTTPAPI: URL %q, admin key %q, want none", h.URL(), h.AdminKey())
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil { // and the cleanup's close again
		t.Fatalf("second Close: %v", err)
	}
}

func call(t *testing.T, h *inprocess.Harness, method, path, key string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, h.URL()+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if path == "/v1/events" {
		req.Header.Set("Content-Type", "application/x-ndjson")
	} else if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}
