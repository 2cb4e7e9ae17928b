package modeltest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runFile writes src as a test file next to the sample events and runs it.
func runFile(t *testing.T, src string) (FileResult, error) {
	t.Helper()
	dir := t.TempDir()
	events, err := os.ReadFile("../../examples/acme.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "acme.jsonl"), events, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "t.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return NewRunner().Run(context.Background(), s)
}

// TestAcmeExamplePasses runs the sample test file: every test of it must
// pass, quickly, or the example teaches something false.
func TestAcmeExamplePasses(t *testing.T) {
	s, err := Load("../../examples/acme_test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := NewRunner().Run(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	var rep Report
	rep.Add(res)
	if !rep.OK() || rep.Tests < 15 {
		var b strings.Builder
		_ = rep.WriteText(&b)
		t.Fatalf("want every test of the example to pass:\n%s", b.String())
	}
	t.Logf("%d tests, %d assertions in %s", rep.Tests, rep.Assertions, took)
}

func TestFailuresNameTheirLineAndTheExplanation(t *testing.T) {
	res, err := runFile(t, `events: acme.jsonl
tests:
  - name: wrong on purpose
    check:
      - user: erin
        action: list
        item: folder:projects
        allowed: true
      - {user: bob, action: rename, item: file:plan, allowed: true, grant: c2}
      - user: bob
        action: delete
        item: folder:projects
        allowed: false
        reason: trashed
      - {user: xavier@partner.example, action: preview, item: file:plan, allowed: true, role: editor}
    lookup_items:
      - user: dave
        action: preview
        type: file
        items: [plan, old-notes]
    lookup_users:
      - {item: file:plan, action: download, users: [alice, bob]}
  - name: right
    check:
      - {user: bob, action: rename, item: file:plan, allowed: true, grant: c1, role: editor}
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tests) != 2 || res.Tests[0].Passed || !res.Tests[1].Passed {
		t.Fatalf("want the first test to fail and the second to pass: %+v", res.Tests)
	}
	fs := res.Tests[0].Failures
	want := []struct {
		line int
		has  []string
	}{
		{8, []string{"erin list folder:projects: want allowed, got denied", "pending until accepted", "(reason pending)"}},
		{9, []string{"not by collaboration c2", "collaboration c1: editor on folder:projects"}},
		{14, []string{"want reason trashed, got action_not_in_role", "which does not include this action"}},
		{15, []string{"not by a collaboration as editor", "previewer"}},
		{20, []string{"missing old-notes; extra logo"}},
		{22, []string{"extra dave"}},
	}
	if len(fs) != len(want) {
		t.Fatalf("got %d failures, want %d: %+v", len(fs), len(want), fs)
	}
	for i, w := range want {
		if fs[i].Line != w.line {
			t.Errorf("failure %d at line %d, want %d: %s", i, fs[i].Line, w.line, fs[i].Message)
		}
		for _, h := range w.has {
			if !strings.Contains(fs[i].Message, h) {
				t.Errorf("failure %d %q lacks %q", i, fs[i].Message, h)
			}
		}
	}
	if fs[0].Reason != "pending" || fs[0].Sentence == "" || fs[0].Allowed == nil || *fs[0].Allowed {
		t.Errorf("the check's answer is not in the failure: %+v", fs[0])
	}
	if strings.Join(fs[4].Missing, ",") != "old-notes" || strings.Join(fs[4].Extra, ",") != "logo" {
		t.Errorf("lookup difference: missing %v, extra %v", fs[4].Missing, fs[4].Extra)
	}
}

// TestEachTestSeesOnlyItsOwnEvents: a test's events never reach the tests
// after it, whether those have events of their own or not.
func TestEachTestSeesOnlyItsOwnEvents(t *testing.T) {
	res, err := runFile(t, `events: acme.jsonl
tests:
  - name: before
    check: [{user: erin, action: list, item: folder:projects, allowed: false, reason: pending}]
  - name: erin accepts
    events:
      - id: x1
        type: collaboration.updated
        collaboration: {id: c4, item: {type: folder, id: projects}, accessible_by: {type: user, id: erin}, role: viewer}
    check: [{user: erin, action: list, item: folder:projects, allowed: true, grant: c4}]
  - name: after, on the shared store
    check: [{user: erin, action: list, item: folder:projects, allowed: false, reason: pending}]
  - name: after, in a store of its own
    events:
      - {id: x2, type: user.created, user: {id: zed}}
    check: [{user: erin, action: list, item: folder:projects, allowed: false, reason: pending}]
`)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range res.Tests {
		if !tr.Passed {
			t.Errorf("test %q failed: %+v", tr.Name, tr.Failures)
		}
	}
}

func TestAtSetsTheClockOfChecksAndLookups(t *testing.T) {
	res, err := runFile(t, `events: acme.jsonl
tests:
  - name: expired
    at: 2099-01-01T00:00:01Z
    check: [{user: xavier@partner.example, action: preview, item: file:plan, allowed: true}]
    lookup_items: [{user: xavier@partner.example, action: preview, type: file, items: [plan]}]
`)
	if err != nil {
		t.Fatal(err)
	}
	fs := res.Tests[0].Failures
	if len(fs) != 2 || fs[0].Reason != "expired" || !strings.Contains(fs[0].Message, "has expired") || strings.Join(fs[1].Missing, ",") != "plan" {
		t.Fatalf("want the check and the lookup to see the collaboration expired: %+v", fs)
	}
}

func TestAnEventThatDoesNotApplyIsAFileError(t *testing.T) {
	_, err := runFile(t, `events: acme.jsonl
tests:
  - name: orphan
    events:
      - id: x1
        type: file.created
        file:
          id: orphan
          parent: nowhere
          owner: alice
    check: [{user: alice, action: list, item: file:orphan, allowed: true}]
`)
	var fe *FileError
	if !errors.As(err, &fe) || fe.Line != 9 || !strings.Contains(err.Error(), `field "file.parent"`) {
		t.Fatalf("want a file error at the parent's line 9, got %v", err)
	}
}
