package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/examples"
	"github.com/boxauthz/boxauthz/internal/testkit/fixture"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/schema"
)

// acmeServe runs `boxauthz serve` on loopback with the Acme sample as its
// event file and the embedded SpiceDB's gRPC exposed; it returns the
// server's flags and the flags that reach its SpiceDB directly.
func acmeServe(t *testing.T) (server, direct []string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	events := filepath.Join(t.TempDir(), "acme.jsonl")
	if err := os.WriteFile(events, examples.AcmeEvents, 0o600); err != nil {
		t.Fatal(err)
	}
	addr, grpcAddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	done := make(chan int, 1)
	go func() {
		code, _, errs := runCmd(t, ctx, "serve", "--addr", addr, "--admin-key", "cli-key", "--events", events,
			"--spicedb-grpc-addr", grpcAddr, "--spicedb-token", "cli-token")
		if code != 0 {
			t.Logf("serve: %s", errs)
		}
		done <- code
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop within 20s")
		}
	})
	base := "http://" + addr
	// Ready once the event file is applied.
	if err := waitReadyz(ctx, base, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	return []string{"--server", base, "--admin-key", "cli-key"},
		[]string{"--spicedb-endpoint", grpcAddr, "--spicedb-insecure", "--spicedb-token", "cli-token"}
}

// TestCheckAndLookupCommands asks a served Acme sample through the command
// line, over the server and straight to its SpiceDB, which must agree.
func TestCheckAndLookupCommands(t *testing.T) {
	server, direct := acmeServe(t)
	ctx := t.Context()
	for _, via := range []struct {
		name  string
		flags []string
	}{{"server", server}, {"spicedb", direct}} {
		t.Run(via.name, func(t *testing.T) {
			cmd := func(args ...string) (int, string, string) {
				t.Helper()
				return runCmd(t, ctx, append(args, via.flags...)...)
			}
			// check --json: the verdict and the token it answered at.
			code, out, errs := cmd("check", "bob", "rename", "file:plan", "--json")
			var res struct {
				Allowed          bool   `json:"allowed"`
				ConsistencyToken string `json:"consistency_token"`
			}
			if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil || !res.Allowed || res.ConsistencyToken == "" {
				t.Fatalf("check --json: exit %d, %q (%v) %s", code, out, err, errs)
			}
			if code, out, errs := cmd("check", "bob", "rename", "file:plan", "--consistency-token", res.ConsistencyToken); code != 0 || out != "allowed\n" {
				t.Errorf("check --consistency-token: exit %d %q %s", code, out, errs)
			}
			if code, _, errs := cmd("check", "bob", "rename", "file:plan", "--consistency-token", "garbage"); code != 2 || !strings.Contains(errs, "consistency") {
				t.Errorf("check with a bad token: exit %d %s", code, errs)
			}
			// --explain: one sentence, with the reason code.
			code, out, _ = cmd("check", "bob", "delete", "folder:projects", "--explain")
			if code != 1 || out != "denied\nbecause: holds collaboration c1: editor on folder:projects, which does not include this action (action_not_in_role)\n" {
				t.Errorf("check --explain: exit %d, %q", code, out)
			}
			code, out, _ = cmd("check", "bob", "rename", "file:plan", "--explain")
			if code != 0 || out != "allowed\nbecause: collaboration c1: editor on folder:projects\n" {
				t.Errorf("check --explain allowed: exit %d, %q", code, out)
			}
			code, out, _ = cmd("check", "bob", "delete", "folder:projects", "--explain", "--json")
			var ex struct {
				Allowed     bool `json:"allowed"`
				Explanation struct {
					Reason string `json:"reason"`
					Grants []struct {
						Role string `json:"role"`
					} `json:"grants"`
				} `json:"explanation"`
			}
			if err := json.Unmarshal([]byte(out), &ex); code != 1 || err != nil || ex.Allowed || ex.Explanation.Reason != "action_not_in_role" || len(ex.Explanation.Grants) != 1 || ex.Explanation.Grants[0].Role != "editor" {
				t.Errorf("check --explain --json: exit %d, %q (%v)", code, out, err)
			}

			// Lookups follow the cursors to the end, page by page.
			for _, tt := range []struct {
				args []string
				want string
			}{
				{[]string{"lookup", "items", "dave", "preview", "file"}, "logo\nplan\n"},
				{[]string{"lookup", "items", "dave", "preview", "file", "--page-size", "1"}, "logo\nplan\n"},
				{[]string{"lookup", "items", "dave", "preview", "file", "--limit", "1"}, "logo\n"},
				{[]string{"lookup", "users", "file:plan", "download"}, "alice\nbob\ndave\n"},
				{[]string{"lookup", "users", "file:plan", "download", "--page-size", "2"}, "alice\nbob\ndave\n"},
				{[]string{"lookup", "items", "dave", "preview", "file", "--json"}, `{"action":"preview","items":["logo","plan"],"type":"file","user":"dave"}` + "\n"},
				{[]string{"lookup", "users", "file:plan", "download", "--json"}, `{"action":"download","item":{"type":"file","id":"plan"},"users":["alice","bob","dave"]}` + "\n"},
				{[]string{"lookup", "items", "nobody", "preview", "folder", "--json"}, `{"action":"preview","items":[],"type":"folder","user":"nobody"}` + "\n"},
			} {
				code, out, errs := cmd(tt.args...)
				if code != 0 || out != tt.want {
					t.Errorf("%v: exit %d, %q %s; want %q", tt.args, code, out, errs, tt.want)
				}
			}

			// check --bulk: one result a line, exit 1 when any is denied.
			dir := t.TempDir()
			jsonl := filepath.Join(dir, "checks.jsonl")
			writeFile(t, jsonl, `{"id":"a","user":"bob","action":"rename","item":{"type":"file","id":"plan"}}
{"user":"bob","action":"delete","item":{"type":"folder","id":"projects"}}
{"action":"preview","item":{"type":"file","id":"plan"},"shared_link":"file:plan"}
`)
			code, out, errs = cmd("check", "--bulk", jsonl)
			if code != 1 || out != "a: allowed bob rename file:plan\ndenied  bob delete folder:projects\nallowed (anonymous) preview file:plan\n" {
				t.Errorf("check --bulk jsonl: exit %d, %q %s", code, out, errs)
			}
			array := filepath.Join(dir, "checks.json")
			writeFile(t, array, `[{"user":"bob","action":"rename","item":{"type":"file","id":"plan"}},{"user":"dave","action":"preview","item":{"type":"file","id":"logo"}}]`)
			code, out, errs = cmd("check", "--bulk", array, "--json")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if code != 0 || len(lines) != 2 {
				t.Fatalf("check --bulk array --json: exit %d, %q %s", code, out, errs)
			}
			for _, l := range lines {
				var r struct {
					User             string         `json:"user"`
					Item             schema.ItemRef `json:"item"`
					Allowed          bool           `json:"allowed"`
					ConsistencyToken string         `json:"consistency_token"`
				}
				if err := json.Unmarshal([]byte(l), &r); err != nil || !r.Allowed || r.User == "" || r.Item.ID == "" || r.ConsistencyToken == "" {
					t.Errorf("bulk line %q: %+v %v", l, r, err)
				}
			}
			bad := filepath.Join(dir, "bad.jsonl")
			writeFile(t, bad, `{"user":"bob","action":"fly","item":{"type":"file","id":"plan"}}`)
			if code, _, errs := cmd("check", "--bulk", bad); code != 2 || !strings.Contains(errs, "transfer_ownership") {
				t.Errorf("check --bulk with a bad action: exit %d %s; want 2 and the valid actions", code, errs)
			}
			writeFile(t, bad, `{"user":"bob","verb":"rename"}`)
			if code, _, errs := cmd("check", "--bulk", bad); code != 2 || !strings.Contains(errs, "verb") {
				t.Errorf("check --bulk with an unknown field: exit %d %s", code, errs)
			}

			// Wrong actions and types list the valid ones.
			for _, tt := range []struct {
				args []string
				want []string
			}{
				{[]string{"check", "bob", "read", "file:plan"}, append([]string{`unknown action "read"`}, actionList()...)},
				// Another type is the server's to refuse (it may be a type of
				// its schema extension); the direct path refuses it alike.
				{[]string{"check", "bob", "list", "dir:plan"}, []string{`item type "dir": want folder or file`}},
				{[]string{"lookup", "items", "bob", "read", "file"}, append([]string{`unknown action "read"`}, actionList()...)},
				{[]string{"lookup", "items", "bob", "list", "document"}, []string{`"document"`, "want folder or file"}},
				{[]string{"lookup", "users", "doc:1", "list"}, []string{`"doc"`, "want folder or file"}},
			} {
				code, _, errs := cmd(tt.args...)
				if code != 2 {
					t.Errorf("%v: exit %d, want 2", tt.args, code)
				}
				for _, w := range tt.want {
					if !strings.Contains(errs, w) {
						t.Errorf("%v: stderr lacks %q: %s", tt.args, w, errs)
					}
				}
			}
		})
	}

	// The real binary reads --bulk - from standard input.
	bin := buildBinary(t)
	bulk := exec.Command(bin, append([]string{"check", "--bulk", "-"}, server...)...)
	bulk.Stdin = strings.NewReader(`[{"user":"dave","action":"download","item":{"type":"file","id":"plan"}}]`)
	if out, err := bulk.Output(); err != nil || string(out) != "allowed dave download file:plan\n" {
		t.Errorf("check --bulk - from standard input: %v, %q", err, out)
	}

	// A wrong admin key is a 401 that names the flag.
	code, _, errs := runCmd(t, ctx, "check", server[0], server[1], "--admin-key", "wrong", "bob", "rename", "file:plan")
	if code != 2 || !strings.Contains(errs, "401") || !strings.Contains(errs, "--admin-key") {
		t.Errorf("check with a wrong admin key: exit %d %s", code, errs)
	}
	// TLS against the plaintext gRPC listener names --spicedb-insecure,
	// at once rather than after retrying; a wrong key names --spicedb-token.
	start := time.Now()
	code, _, errs = runCmd(t, ctx, "check", "bob", "rename", "file:plan", direct[0], direct[1], "--spicedb-token", "cli-token")
	if code != 2 || !strings.Contains(errs, "add --spicedb-insecure") || time.Since(start) > 20*time.Second {
		t.Errorf("TLS to plaintext: exit %d after %s: %s", code, time.Since(start), errs)
	}
	code, _, errs = runCmd(t, ctx, "lookup", "users", "file:plan", "list", direct[0], direct[1], "--spicedb-insecure", "--spicedb-token", "wrong")
	if code != 2 || !strings.Contains(errs, "--spicedb-token") {
		t.Errorf("a wrong SpiceDB key: exit %d: %s", code, errs)
	}
}

// actionList is every item action's name, as an error must list them.
func actionList() []string {
	var out []string
	for _, a := range schema.ItemActions() {
		out = append(out, string(a))
	}
	return out
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestJSONResults: schema validate, sync and sync reconcile print their
// results as the JSON their help documents.
func TestJSONResults(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.yaml"), filepath.Join(dir, "bad.yaml")
	for path, user := range map[string]string{good: "x", bad: "y"} {
		writeFile(t, path, "relationships: |-\n  folder:a#owner@user:x\nassertions:\n  assertTrue:\n    - folder:a#rename@user:"+user+"\n")
	}
	code, out, _ := runCmd(t, ctx, "schema", "validate", good, bad, "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 1 || len(lines) != 2 {
		t.Fatalf("schema validate --json: exit %d, %q", code, out)
	}
	var v struct {
		File       string `json:"file"`
		OK         bool   `json:"ok"`
		Assertions int    `json:"assertions"`
		Problems   []struct {
			Line int    `json:"line"`
			Kind string `json:"kind"`
		} `json:"problems"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &v); err != nil || v.File != good || !v.OK || v.Assertions != 1 || len(v.Problems) != 0 {
		t.Errorf("good file: %q %+v %v", lines[0], v, err)
	}
	v.Problems = nil
	if err := json.Unmarshal([]byte(lines[1]), &v); err != nil || v.File != bad || v.OK || len(v.Problems) == 0 || v.Problems[0].Line != 5 {
		t.Errorf("bad file: %q %+v %v", lines[1], v, err)
	}

	_, remote := remoteSpiceDB(t, "json-key")
	events := filepath.Join(dir, "events.jsonl")
	writeFile(t, events, strings.Join(fixture.BaseTree(), "\n")+"\n")
	code, out, errs := runCmd(t, ctx, append([]string{"sync", "--events", events, "--json"}, remote...)...)
	var s syncResult
	if err := json.Unmarshal([]byte(out), &s); code != 0 || err != nil || s.Applied != 7 || s.Source != "file:"+events || s.Position == "" || s.Position == "0" {
		t.Fatalf("sync --json: exit %d, %q %+v %v %s", code, out, s, err, errs)
	}
	code, out, _ = runCmd(t, ctx, append([]string{"sync", "--events", events, "--json"}, remote...)...)
	if err := json.Unmarshal([]byte(out), &s); code != 0 || err != nil || s.Applied != 0 {
		t.Errorf("sync again --json: exit %d, %q %+v %v", code, out, s, err)
	}
	// The snapshot lacks the file: reconcile would remove its relationships.
	snap := filepath.Join(dir, "snapshot.jsonl")
	writeFile(t, snap, strings.Join(fixture.BaseTree()[:6], "\n")+"\n")
	code, out, errs = runCmd(t, ctx, append([]string{"sync", "reconcile", "--snapshot", snap, "--dry-run", "--json"}, remote...)...)
	var r reconcileResult
	if err := json.Unmarshal([]byte(out), &r); code != 0 || err != nil || !r.DryRun || len(r.Extra) == 0 || len(r.Missing) != 0 || r.Kept == nil {
		t.Fatalf("reconcile --dry-run --json: exit %d, %q %+v %v %s", code, out, r, err, errs)
	}
	for _, e := range r.Extra {
		if !strings.HasPrefix(e, "file:") {
			t.Errorf("extra relationship %q is not the file's", e)
		}
	}
}
