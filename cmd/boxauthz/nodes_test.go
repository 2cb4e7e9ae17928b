package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	gosync "sync"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/examples"
	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
)

// TestServeOnSeveralNodes runs `serve --spicedb-endpoint a,b` against two
// SpiceDB nodes on one PostgreSQL database (SpiceDB running in this process
// and serving gRPC on loopback) and stops the first node: serve goes on
// answering through the second, without a restart.
func TestServeOnSeveralNodes(t *testing.T) {
	uri := testenv.PostgresDatabase(t) // skips without BOXAUTHZ_PG_DSN
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const key = "serve-nodes-key"
	node := func() (string, func() error) {
		addr := testenv.FreeAddr(t)
		c, err := embedded.Start(ctx, embedded.WithGRPCAddr(addr, key), embedded.WithPostgres(uri))
		if err != nil {
			t.Fatal(err)
		}
		stop := gosync.OnceValue(c.Close) // an embedded SpiceDB stops once
		t.Cleanup(func() { _ = stop() })
		return addr, stop
	}
	addr1, stop1 := node()
	addr2, _ := node()

	addr := testenv.FreeAddr(t)
	done := make(chan int, 1)
	go func() {
		code, _, errs := runCmd(t, ctx, "serve", "--addr", addr, "--admin-key", "k1",
			"--spicedb-endpoint", addr1+","+addr2, "--spicedb-token", key, "--spicedb-insecure")
		if code != 0 {
			t.Logf("serve: %s", errs)
		}
		done <- code
	}()
	base := "http://" + addr
	if err := waitReadyz(ctx, base, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	call := func(path, contentType, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader([]byte(body)))
		req.Header.Set("Authorization", "Bearer k1")
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := call("/v1/events", "application/x-ndjson", string(examples.AcmeEvents)); code != http.StatusOK {
		t.Fatalf("POST /v1/events: %d %s", code, body)
	}
	check := func(when string) {
		t.Helper()
		code, body := call("/v1/check", "application/json", `{"user":"bob","action":"rename","item":{"type":"file","id":"plan"}}`)
		var got struct {
			Allowed bool `json:"allowed"`
		}
		if code != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil || !got.Allowed {
			t.Fatalf("%s: check bob rename file:plan answered %d %s, want 200 allowed", when, code, body)
		}
	}
	check("both nodes up")

	if err := stop1(); err != nil {
		t.Fatalf("stopping the first node: %v", err)
	}
	check("first node stopped")
	// A write still settles: the stopped node is passed over.
	if code, body := call("/v1/events", "application/json", `[{"id":"after-stop","type":"user.created","user":{"id":"zoe","enterprise":"acme"}}]`); code != http.StatusOK {
		t.Fatalf("POST /v1/events with the first node stopped: %d %s", code, body)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d", code)
	}
}
