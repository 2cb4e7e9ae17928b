package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTestCommand runs `boxauthz test` as its users do, through the built
// binary: the sample file passes, a wrong expectation fails at its line
// with the explanation, a malformed file is refused at its line.
func TestTestCommand(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	events, err := os.ReadFile("../../examples/acme.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	write("acme.jsonl", string(events))
	failing := write("failing.yaml", `name: wrong on purpose
events: acme.jsonl
tests:
  - name: erin is not in yet
    check:
      - user: erin
        action: list
        item: folder:projects
        allowed: true
  - name: bob edits the plan
    check:
      - {user: bob, action: edit, item: file:plan, allowed: true, grant: c1}
`)
	malformed := write("malformed.yaml", "events: acme.jsonl\ntests:\n  - name: typo\n    check:\n      - user: bob\n        action: edit\n        item: file:plan\n        alowed: true\n")

	t.Run("the sample passes", func(t *testing.T) {
		code, out, errs := execBin(t, bin, nil, "test", "../../examples/acme_test.yaml")
		if code != 0 {
			t.Fatalf("exit %d, want 0:\n%s%s", code, out, errs)
		}
		for _, w := range []string{"PASS  the owner may give her folder away", "PASS  who may act on the plan", " tests passed, "} {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
		if strings.Contains(out, "FAIL") {
			t.Errorf("a test of the sample fails:\n%s", out)
		}
	})
	t.Run("a failure names its line and why", func(t *testing.T) {
		code, out, _ := execBin(t, bin, nil, "test", failing)
		if code != 1 {
			t.Fatalf("exit %d, want 1:\n%s", code, out)
		}
		for _, w := range []string{
			"FAIL  erin is not in yet",
			failing + ":9: erin list folder:projects: want allowed, got denied: no grant is active yet: collaboration c4 on folder:projects is pending until accepted (reason pending)",
			"PASS  bob edits the plan",
			"1 of 2 tests passed, 2 assertions, 1 failed",
		} {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
	})
	t.Run("a malformed file is refused at its line", func(t *testing.T) {
		code, out, errs := execBin(t, bin, nil, "test", "../../examples/acme_test.yaml", malformed)
		if code != 2 {
			t.Fatalf("exit %d, want 2:\n%s%s", code, out, errs)
		}
		if !strings.Contains(errs, malformed+`:8: unknown key "alowed" in a check; allowed keys: user, anonymous, action, item, shared_link, allowed`) {
			t.Errorf("stderr does not name the key and its line:\n%s", errs)
		}
		if out != "" {
			t.Errorf("nothing should run when a file is malformed, got:\n%s", out)
		}
	})
	t.Run("--json", func(t *testing.T) {
		code, out, errs := execBin(t, bin, nil, "test", "--json", failing)
		if code != 1 {
			t.Fatalf("exit %d, want 1: %s", code, errs)
		}
		var rep struct {
			Files []struct {
				File  string `json:"file"`
				Name  string `json:"name"`
				Tests []struct {
					Name     string `json:"name"`
					Passed   bool   `json:"passed"`
					Failures []struct {
						Line     int    `json:"line"`
						Reason   string `json:"reason"`
						Sentence string `json:"sentence"`
						Allowed  *bool  `json:"allowed"`
					} `json:"failures"`
				} `json:"tests"`
			} `json:"files"`
			Tests      int `json:"tests"`
			Passed     int `json:"passed"`
			Assertions int `json:"assertions"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("--json output does not parse: %v\n%s", err, out)
		}
		if rep.Tests != 2 || rep.Passed != 1 || rep.Assertions != 2 || len(rep.Files) != 1 || rep.Files[0].Name != "wrong on purpose" {
			t.Fatalf("totals: %+v", rep)
		}
		f := rep.Files[0].Tests[0].Failures
		if len(f) != 1 || f[0].Line != 9 || f[0].Reason != "pending" || f[0].Allowed == nil || *f[0].Allowed || !strings.Contains(f[0].Sentence, "pending until accepted") {
			t.Errorf("failure: %+v", f)
		}
	})
	t.Run("--run picks tests by name", func(t *testing.T) {
		code, out, errs := execBin(t, bin, nil, "test", "../../examples/acme_test.yaml", "--run", "link")
		if code != 0 || !strings.Contains(out, "2 of 2 tests passed") || !strings.Contains(out, "company link") {
			t.Errorf("exit %d:\n%s%s", code, out, errs)
		}
		code, _, errs = execBin(t, bin, nil, "test", "../../examples/acme_test.yaml", "--run", "no such test")
		if code != 2 || !strings.Contains(errs, "matches no test name") {
			t.Errorf("a filter matching nothing: exit %d: %s", code, errs)
		}
	})
	t.Run("no file is a usage error", func(t *testing.T) {
		code, _, errs := execBin(t, bin, nil, "test")
		if code != 2 || !strings.Contains(errs, "want one or more test files") {
			t.Errorf("exit %d: %s", code, errs)
		}
	})
}

// TestTestHelpExamplePasses: the file the help shows is one that passes.
func TestTestHelpExamplePasses(t *testing.T) {
	start := strings.Index(testLong, "  name: acme")
	end := strings.Index(testLong[start:], "\n\n")
	if start < 0 || end < 0 {
		t.Fatal("the help shows no example file")
	}
	var body strings.Builder
	for _, l := range strings.Split(testLong[start:start+end], "\n") {
		body.WriteString(strings.TrimPrefix(l, "  ") + "\n")
	}
	dir := t.TempDir()
	events, err := os.ReadFile("../../examples/acme.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "acme.jsonl"), events, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "help.yaml")
	if err := os.WriteFile(path, []byte(body.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCmd(t, t.Context(), "test", path)
	if code != 0 || !strings.Contains(out, "3 of 3 tests passed") {
		t.Fatalf("exit %d:\n%s%s", code, out, errs)
	}
}
