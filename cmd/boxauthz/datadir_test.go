package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/examples"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
)

// TestServeDataDirSurvivesAKill: what serve acknowledged with --data-dir is
// there after a SIGKILL and a restart on the same directory: the
// relationships (a check answers as before) and sync's record of applied
// events (sending them again applies nothing).
func TestServeDataDirSurvivesAKill(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	start := func() (*exec.Cmd, string) {
		addr := testenv.FreeAddr(t)
		cmd := exec.Command(bin, "serve", "--addr", addr, "--admin-key", "k1", "--data-dir", dir)
		var logs bytes.Buffer
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		base := "http://" + addr
		if err := waitReadyz(context.Background(), base, 60*time.Second); err != nil {
			t.Fatalf("%v\n%s", err, logs.String())
		}
		return cmd, base
	}
	post := func(base, path, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer k1")
		if strings.HasPrefix(body, "{\"id\"") {
			req.Header.Set("Content-Type", "application/x-ndjson")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %v %v", path, resp.StatusCode, out, err)
		}
		return out
	}
	check := `{"user": "bob", "action": "rename", "item": {"type": "file", "id": "plan"}}`

	first, base := start()
	if got := post(base, "/v1/events", string(examples.AcmeEvents)); got["applied"] != float64(24) {
		t.Fatalf("first run applied %v; want 24", got)
	}
	if got := post(base, "/v1/check", check); got["allowed"] != true {
		t.Fatalf("first run: bob rename plan = %v; want allowed", got)
	}
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()

	_, base = start()
	if got := post(base, "/v1/check", check); got["allowed"] != true {
		t.Fatalf("after the kill: bob rename plan = %v; want allowed", got)
	}
	if got := post(base, "/v1/events", string(examples.AcmeEvents)); got["applied"] != float64(0) || got["duplicates"] != float64(24) {
		t.Fatalf("the same events again after the kill: %v; want 0 applied, 24 duplicates", got)
	}
}
