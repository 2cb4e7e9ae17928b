package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/examples"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
)

// TestRevocationOnAnotherReplica: two `boxauthz serve` processes' worth of
// replicas on one SpiceDB. The first embeds it (in memory, so it vouches for
// tokens through its revocation watch) and exposes its gRPC on loopback;
// the second uses it as an external SpiceDB. A token issued and then revoked
// through the second is refused by the first's very next authorization,
// although the first had just vouched for it.
func TestRevocationOnAnotherReplica(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const key, admin = "replicas-spicedb-key", "replicas-admin-key"
	grpcAddr := testenv.FreeAddr(t)
	serve := func(args ...string) (base string, done chan int) {
		addr := testenv.FreeAddr(t)
		done = make(chan int, 1)
		go func() {
			code, _, errs := runCmd(t, ctx, append([]string{"serve", "--addr", addr, "--admin-key", admin, "--spicedb-token", key}, args...)...)
			if code != 0 {
				t.Logf("serve %v: %s", args, errs)
			}
			done <- code
		}()
		if err := waitReadyz(ctx, "http://"+addr, 60*time.Second); err != nil {
			t.Fatal(err)
		}
		return "http://" + addr, done
	}
	embedded, done1 := serve("--spicedb-grpc-addr", grpcAddr)
	external, done2 := serve("--spicedb-endpoint", grpcAddr, "--spicedb-insecure")

	post := func(base, path, bearer, contentType, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader([]byte(body)))
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST %s%s: %v", base, path, err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		_ = json.Unmarshal(raw, &out)
		return resp.StatusCode, out
	}
	if code, body := post(embedded, "/v1/events", admin, "application/x-ndjson", string(examples.AcmeEvents)); code != http.StatusOK {
		t.Fatalf("POST /v1/events: %d %v", code, body)
	}
	// authorize answers the decision's status (docs/api.md: the decision is the
	// body of a 200).
	authorize := func(token string) int {
		t.Helper()
		code, d := post(embedded, "/v1/authorize", token, "application/json", `{"action":"rename","item":{"type":"file","id":"plan"}}`)
		status, _ := d["status"].(float64)
		if code != http.StatusOK {
			t.Fatalf("POST /v1/authorize: %d %v", code, d)
		}
		return int(status)
	}
	for i := range 20 {
		code, pair := post(external, "/v1/tokens", admin, "application/json", `{"user":"bob","scopes":["root_readwrite"]}`)
		if code != http.StatusCreated {
			t.Fatalf("round %d: issue on the external replica: %d %v", i, code, pair)
		}
		access, _ := pair["access_token"].(string)
		for range 2 { // the second is vouched for by the watch
			if code := authorize(access); code != http.StatusOK {
				t.Fatalf("round %d: authorize on the embedded replica: %d, want 200", i, code)
			}
		}
		form := url.Values{"token": {access}}.Encode()
		if code, body := post(external, "/oauth2/revoke", "", "application/x-www-form-urlencoded", form); code != http.StatusOK {
			t.Fatalf("round %d: revoke on the external replica: %d %v", i, code, body)
		}
		if code := authorize(access); code != http.StatusUnauthorized {
			t.Fatalf("round %d: authorize with a token revoked on the other replica: %d, want 401", i, code)
		}
	}
	// The embedded replica's second authorization of each round was the
	// watch's to confirm.
	if n := scrapeMetric(t, embedded, "boxauthz_token_validity_watched_total"); n < 10 {
		t.Errorf("the watch confirmed %v authorizations, want at least 10 (one per round, but for waits cut short on a loaded machine)", n)
	}
	cancel()
	for _, d := range []chan int{done1, done2} {
		if code := <-d; code != 0 {
			t.Fatalf("serve exited %d", code)
		}
	}
}
