package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
)

// latencies records request latencies per endpoint.
type latencies struct {
	mu gosync.Mutex
	m  map[string][]time.Duration
}

func (l *latencies) add(name string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m[name] = append(l.m[name], d)
}

// TestSoak runs `boxauthz serve` (debug logs) under concurrent events,
// checks, authorizations and token issue / refresh / exchange / revoke for
// a bounded time: no unexpected answer, no goroutine growth, bounded heap,
// latency percentiles reported; then no token string and neither key
// appears anywhere in the logs. It runs in front of SpiceDB on PostgreSQL
// (the production shape) and on the embedded default, where the revocation
// watch vouches for tokens: every token revoked in the soak must be
// refused at once all the same.
//
// CI runs 40 s each; BOXAUTHZ_SOAK=10m runs longer.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak")
	}
	dur := 40 * time.Second
	if v := os.Getenv("BOXAUTHZ_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("BOXAUTHZ_SOAK=%q: %v", v, err)
		}
		dur = d
	}
	for _, ds := range []testenv.Datastore{testenv.Postgres, testenv.Memory} {
		t.Run(string(ds), func(t *testing.T) { soak(t, ds, dur) })
	}
}

func soak(t *testing.T, ds testenv.Datastore, dur time.Duration) {
	const adminKey = "soak-admin-key-0123456789abcdef"
	const spicedbKey = "soak-spicedb-key-fedcba9876543210"
	t.Setenv("BOXAUTHZ_LOG_LEVEL", "debug")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, grpcAddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	args := []string{"serve", "--addr", addr, "--admin-key", adminKey, "--access-token-ttl", "30s", "--invalid-token-limit", "-1"}
	if ds == testenv.Postgres {
		uri := testenv.PostgresDatabase(t)
		if err := embedded.MigratePostgres(ctx, uri); err != nil {
			t.Fatal(err)
		}
		sdb, err := embedded.Start(ctx, embedded.WithGRPCAddr(grpcAddr, spicedbKey), embedded.WithPostgres(uri))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sdb.Close() })
		args = append(args, "--spicedb-endpoint", grpcAddr, "--spicedb-token", spicedbKey, "--spicedb-insecure")
	}
	logs := &testenv.LockedBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, io.Discard, logs) }()
	base := "http://" + addr
	if err := waitReadyz(ctx, base, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 30 * time.Second}

	var secretsMu gosync.Mutex
	secrets := []string{}
	remember := func(ss ...string) {
		secretsMu.Lock()
		defer secretsMu.Unlock()
		secrets = append(secrets, ss...)
	}
	lat := &latencies{m: map[string][]time.Duration{}}
	do := func(name, method, path, bearer, ct, body string) (int, map[string]any, error) {
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, fmt.Errorf("%s: %w", name, err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		lat.add(name, time.Since(start))
		var out map[string]any
		if len(bytes.TrimSpace(raw)) > 0 {
			if err := json.Unmarshal(raw, &out); err != nil {
				return resp.StatusCode, nil, fmt.Errorf("%s: answer is not JSON: %s", name, raw)
			}
		}
		return resp.StatusCode, out, nil
	}
	const js = "application/json"
	const formCT = "application/x-www-form-urlencoded"

	// The world: an enterprise, 20 folders of 5 files owned by alice.
	var world []string
	world = append(world, `{"id":"u-alice","type":"user.created","user":{"id":"alice","enterprise":"acme","role":"admin"}}`)
	for u := range 10 {
		world = append(world, fmt.Sprintf(`{"id":"u-%d","type":"user.created","user":{"id":"user%d","enterprise":"acme"}}`, u, u))
	}
	for f := range 20 {
		world = append(world, fmt.Sprintf(`{"id":"d-%d","type":"folder.created","folder":{"id":"d%d","parent":"0","owner":"alice"}}`, f, f))
		for i := range 5 {
			world = append(world, fmt.Sprintf(`{"id":"f-%d-%d","type":"file.created","file":{"id":"f%d-%d","parent":"d%d","owner":"alice"}}`, f, i, f, i, f))
		}
	}
	if st, out, err := do("events", "POST", "/v1/events", adminKey, "application/x-ndjson", strings.Join(world, "\n")); err != nil || st != 200 {
		t.Fatalf("loading the world: %d %v %v", st, out, err)
	}

	deadline := time.Now().Add(dur)
	errc := make(chan error, 16)
	var wg gosync.WaitGroup
	worker := func(name string, step func(i int) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				if err := step(i); err != nil {
					errc <- fmt.Errorf("%s, step %d: %w", name, i, err)
					return
				}
			}
		}()
	}
	roles := []string{"viewer", "editor", "previewer", "co-owner"}
	worker("events", func(i int) error {
		var evs []string
		for k := range 10 {
			n := i*10 + k
			evs = append(evs, fmt.Sprintf(`{"id":"c-%d","type":"collaboration.updated","collaboration":{"id":"c%d","item":{"type":"folder","id":"d%d"},"accessible_by":{"type":"user","id":"user%d"},"role":"%s"}}`,
				n, n%50, (n%50)%20, (n%50)/5, roles[n%len(roles)]))
		}
		if i%5 == 0 {
			evs = append(evs, fmt.Sprintf(`{"id":"t-%d","type":"folder.trashed","folder":{"id":"d19"}}`, i), fmt.Sprintf(`{"id":"r-%d","type":"folder.restored","folder":{"id":"d19"}}`, i))
		}
		st, out, err := do("events", "POST", "/v1/events", adminKey, js, "["+strings.Join(evs, ",")+"]")
		if err == nil && st != 200 {
			err = fmt.Errorf("status %d: %v", st, out)
		}
		time.Sleep(20 * time.Millisecond)
		return err
	})
	worker("checks", func(i int) error {
		st, out, err := do("check", "POST", "/v1/check", adminKey, js,
			fmt.Sprintf(`{"user":"user%d","action":"download","item":{"type":"file","id":"f%d-%d"}}`, i%10, i%20, i%5))
		if err == nil && (st != 200 || out["allowed"] == nil) {
			err = fmt.Errorf("check: %d %v", st, out)
		}
		if err == nil && i%10 == 0 {
			st, out, err = do("lookup-items", "POST", "/v1/lookup/items", adminKey, js, fmt.Sprintf(`{"user":"user%d","action":"preview","type":"file"}`, i%10))
			if err == nil && st != 200 {
				err = fmt.Errorf("lookup: %d %v", st, out)
			}
		}
		return err
	})
	worker("tokens", func(i int) error {
		u := fmt.Sprintf("user%d", i%10)
		st, pair, err := do("issue", "POST", "/v1/tokens", adminKey, js, fmt.Sprintf(`{"user":%q,"scopes":["root_readwrite"]}`, u))
		if err := unexpected("issue", st, 201, pair, err); err != nil {
			return err
		}
		access, refresh := pair["access_token"].(string), pair["refresh_token"].(string)
		remember(access, refresh)
		authz := func(tok string, want float64) error {
			st, d, err := do("authorize", "POST", "/v1/authorize", tok, js, fmt.Sprintf(`{"action":"preview","item":{"type":"file","id":"f%d-0"},"explain":true}`, i%19))
			if err := unexpected(fmt.Sprintf("authorize (want %v)", want), st, 200, d, err); err != nil {
				return err
			}
			if (want == 401 && d["status"] != 401.0) || (want != 401 && d["status"] == 401.0) {
				return fmt.Errorf("token validity answered wrongly: %v (want %v)", d, want)
			}
			return nil
		}
		if err := authz(access, 200); err != nil {
			return err
		}
		st, p2, err := do("refresh", "POST", "/oauth2/token", "", formCT, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}.Encode())
		if err := unexpected("refresh", st, 200, p2, err); err != nil {
			return err
		}
		remember(p2["access_token"].(string), p2["refresh_token"].(string))
		st, down, err := do("exchange", "POST", "/oauth2/token", "", formCT, url.Values{
			"grant_type":    {"urn:ietf:params:oauth:grant-type:token-exchange"},
			"subject_token": {p2["access_token"].(string)}, "subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "scope": {"item_preview"},
		}.Encode())
		if err := unexpected("exchange", st, 200, down, err); err != nil {
			return err
		}
		remember(down["access_token"].(string))
		if err := authz(down["access_token"].(string), 200); err != nil {
			return err
		}
		st, revoked, err := do("revoke", "POST", "/oauth2/revoke", "", formCT, url.Values{"token": {p2["refresh_token"].(string)}}.Encode())
		if err := unexpected("revoke", st, 200, revoked, err); err != nil {
			return err
		}
		if err := authz(p2["access_token"].(string), 401); err != nil {
			return err
		}
		return authz(down["access_token"].(string), 401)
	})
	st, longPair, err := do("issue", "POST", "/v1/tokens", adminKey, js, `{"user":"alice","scopes":["root_readonly","manage_managed_users"]}`)
	if err != nil || st != 201 {
		t.Fatalf("issue: %d %v", st, err)
	}
	long := longPair["access_token"].(string)
	remember(long, longPair["refresh_token"].(string))
	worker("authorize", func(i int) error {
		if time.Until(deadline) > 0 && i%200 == 199 {
			// Keep a fresh token: the TTL is 30 s.
			st, p, err := do("issue", "POST", "/v1/tokens", adminKey, js, `{"user":"alice","scopes":["root_readonly","manage_managed_users"]}`)
			if err := unexpected("issue", st, 201, p, err); err != nil {
				return err
			}
			long = p["access_token"].(string)
			remember(long, p["refresh_token"].(string))
		}
		body := fmt.Sprintf(`{"action":"download","item":{"type":"file","id":"f%d-%d"}}`, i%20, i%5)
		if i%3 == 0 {
			body = `{"action":"manage_users","enterprise":"acme"}`
		}
		st, d, err := do("authorize", "POST", "/v1/authorize", long, js, body)
		if err == nil && (st != 200 || d["status"] != 200.0) {
			err = fmt.Errorf("%d %v", st, d)
		}
		return err
	})

	// Goroutines and heap: sampled a quarter in (warm) and at the end.
	sample := func() (int, uint64) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return runtime.NumGoroutine(), ms.HeapAlloc
	}
	time.Sleep(dur / 4)
	g1, h1 := sample()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	client.CloseIdleConnections()
	time.Sleep(2 * time.Second) // let finished requests' goroutines end
	g2, h2 := sample()
	t.Logf("goroutines %d -> %d, heap %.1f MiB -> %.1f MiB over %s", g1, g2, float64(h1)/(1<<20), float64(h2)/(1<<20), dur)
	if g2 > g1+10 {
		t.Errorf("goroutines grew from %d to %d", g1, g2)
	}
	if h2 > h1*2+64<<20 {
		t.Errorf("heap grew from %d to %d bytes", h1, h2)
	}
	names := make([]string, 0, len(lat.m))
	for n := range lat.m {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		d := lat.m[n]
		slices.Sort(d)
		p := func(q float64) time.Duration { return d[int(q*float64(len(d)-1))].Round(10 * time.Microsecond) }
		t.Logf("%-13s n=%-6d p50=%-9s p90=%-9s p99=%-9s max=%s", n, len(d), p(0.5), p(0.9), p(0.99), d[len(d)-1].Round(time.Millisecond))
	}

	if ds == testenv.Memory {
		// The decisions above must have gone the watch's way, or the soak
		// proved nothing of it.
		watched := scrapeMetric(t, base, "boxauthz_token_validity_watched_total")
		if watched < 100 {
			t.Errorf("%v decisions vouched for by the revocation watch, want at least 100", watched)
		}
		t.Logf("token validity: %v watched, %v asked, %v late", watched,
			scrapeMetric(t, base, "boxauthz_token_validity_asked_total"), scrapeMetric(t, base, "boxauthz_token_validity_late_total"))
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited %d", code)
		}
	case <-time.After(20 * time.Second):
		t.Error("serve did not stop")
	}
	out := logs.String()
	if !strings.Contains(out, "token issued") || !strings.Contains(out, "http request") {
		t.Fatalf("the debug log lacks token and request lines; the secrets check would prove nothing:\n%.2000s", out)
	}
	secretsMu.Lock()
	defer secretsMu.Unlock()
	for _, s := range append(secrets, adminKey, spicedbKey) {
		if strings.Contains(out, s) || strings.Contains(out, s[5:25]) {
			t.Errorf("a secret (%s...) appears in the logs", s[:5])
		}
	}
	t.Logf("%d secrets absent from %d bytes of logs", len(secrets)+2, len(out))
}

// unexpected is what went wrong with one call of the soak: the call's
// error, or a status other than want, with the answer.
func unexpected(what string, status, want int, answer map[string]any, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if status != want {
		return fmt.Errorf("%s: %d %v", what, status, answer)
	}
	return nil
}
