package integration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/integration"
	"github.com/boxauthz/boxauthz/schema"
)

// TestApplyEventsAndChecker: the helpers write the schema themselves and
// apply through the real applier; a redelivered batch is skipped.
func TestApplyEventsAndChecker(t *testing.T) {
	c := run(t)
	ctx := context.Background()
	token, err := c.ApplyJSON(ctx, events...)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := c.Checker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	file := schema.ItemRef{Type: schema.TypeFile, ID: "q3"}
	for user, want := range map[string]bool{"bob": true, "eve": false} {
		a, err := ch.Check(ctx, checker.Question{User: user, Action: schema.ActionPreview, Item: file}, checker.Consistency{Token: token})
		if err != nil {
			t.Fatal(err)
		}
		if a.Allowed != want {
			t.Errorf("%s preview q3 = %v, want %v", user, a.Allowed, want)
		}
	}
	evs, err := integration.DecodeJSON(events...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ApplyEvents(ctx, evs); err != nil {
		t.Fatalf("applying the same events again: %v", err)
	}
	if _, err := c.ApplyJSON(ctx, `{"id":"bad","type":"file.created","file":{"id":"x","parent":"nowhere","owner":"alice"}}`); err == nil {
		t.Error("a file in an unknown folder was applied")
	}
}

// TestMissingImage: an image the daemon lacks and no registry has fails
// Run at once, naming the image and how to get one, and builds nothing.
func TestMissingImage(t *testing.T) {
	needDaemon(t)
	ctx := context.Background()
	const ref = "boxauthz-local/no-such-spicedb:v0.0.0"
	start := time.Now()
	c, err := integration.Run(ctx, ref, integration.WithPullTimeout(20*time.Second))
	if c != nil {
		_ = c.Terminate(ctx)
		t.Fatal("Run returned a container for an image that does not exist")
	}
	if !errors.Is(err, integration.ErrImageUnavailable) {
		t.Fatalf("Run of a missing image: %v, want ErrImageUnavailable", err)
	}
	var ie *integration.ImageError
	if !errors.As(err, &ie) || ie.Image != ref {
		t.Fatalf("Run of a missing image: %v, want an *ImageError naming %s", err, ref)
	}
	for _, want := range []string{ref, "scripts/local-images", integration.ImageEnv} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	t.Logf("failed in %s: %v", time.Since(start).Round(time.Millisecond), err)
}

// TestRunBoxauthz runs boxauthz's image beside SpiceDB: events posted to
// its HTTP API are decisions both over HTTP and through a checker on the
// same SpiceDB, with the API's consistency token.
func TestRunBoxauthz(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts func(t *testing.T) []testcontainers.ContainerCustomizer
	}{
		{"default bridge", func(*testing.T) []testcontainers.ContainerCustomizer { return nil }},
		{"network of the caller's", func(t *testing.T) []testcontainers.ContainerCustomizer {
			nw, err := network.New(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			testcontainers.CleanupNetwork(t, nw)
			return []testcontainers.ContainerCustomizer{network.WithNetwork([]string{"spicedb"}, nw)}
		}},
		{"host network", func(*testing.T) []testcontainers.ContainerCustomizer {
			return []testcontainers.ContainerCustomizer{integration.WithHostNetwork()}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, bx := needBoxauthz(t)
			opts := append(tc.opts(t), integration.WithPresharedKey("boxauthz-beside-spicedb"))
			boxauthzBeside(t, bx, run(t, opts...))
		})
	}
}

func boxauthzBeside(t *testing.T, bx string, sp *integration.Container) {
	t.Helper()
	ctx := context.Background()
	start := time.Now()
	b, err := integration.RunBoxauthz(ctx, bx, sp, integration.WithAdminKey("boxauthz-test-admin-key"))
	if b != nil {
		testcontainers.CleanupContainer(t, b)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("boxauthz ready in %s at %s", time.Since(start).Round(time.Millisecond), b.URL())
	if b.AdminKey() != "boxauthz-test-admin-key" || !strings.HasPrefix(b.URL(), "http://") {
		t.Fatalf("URL %q, admin key %q", b.URL(), b.AdminKey())
	}
	if code, _ := httpCall(t, b.URL()+"/v1/check", "", []byte(`{}`)); code != http.StatusUnauthorized {
		t.Fatalf("check without the admin key: %d, want 401", code)
	}
	code, body := httpCall(t, b.URL()+"/v1/events", b.AdminKey(), []byte(strings.Join(events, "\n")))
	var applied struct {
		Applied int    `json:"applied"`
		Token   string `json:"consistency_token"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &applied) != nil || applied.Applied != len(events) {
		t.Fatalf("POST /v1/events: %d %s", code, body)
	}
	req, _ := json.Marshal(map[string]any{
		"user": "bob", "action": "download",
		"item": map[string]string{"type": "file", "id": "q3"}, "consistency_token": applied.Token,
	})
	code, body = httpCall(t, b.URL()+"/v1/check", b.AdminKey(), req)
	var got struct {
		Allowed bool `json:"allowed"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &got) != nil || !got.Allowed {
		t.Fatalf("POST /v1/check bob download q3: %d %s, want allowed", code, body)
	}
	ch, err := sp.Checker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ch.Check(ctx, checker.Question{User: "bob", Action: schema.ActionDownload, Item: schema.ItemRef{Type: schema.TypeFile, ID: "q3"}},
		checker.Consistency{Token: applied.Token})
	if err != nil || !a.Allowed {
		t.Fatalf("checker on the container's SpiceDB: %+v %v, want allowed", a, err)
	}
	if err := b.Terminate(ctx); err != nil {
		t.Fatalf("terminating boxauthz: %v", err)
	}
	// SpiceDB outlives boxauthz.
	if _, err := sp.ApplyJSON(ctx, events[0]); err != nil {
		t.Fatalf("spicedb after boxauthz terminated: %v", err)
	}
}

func TestRunBoxauthzMissingImage(t *testing.T) {
	sp := run(t)
	_, err := integration.RunBoxauthz(context.Background(), "boxauthz-local/no-such-boxauthz:v0", sp, integration.WithBoxauthzPullTimeout(20*time.Second))
	if !errors.Is(err, integration.ErrImageUnavailable) || !strings.Contains(err.Error(), "scripts/local-images") {
		t.Fatalf("RunBoxauthz of a missing image: %v, want ErrImageUnavailable naming scripts/local-images", err)
	}
}

func httpCall(t *testing.T, url, key string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if strings.HasSuffix(url, "/v1/events") {
		req.Header.Set("Content-Type", "application/x-ndjson")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
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
