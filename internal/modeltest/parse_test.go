package modeltest

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// noFiles refuses every read: the cases below name no event file.
func noFiles(string) ([]byte, error) { return nil, os.ErrNotExist }

func TestParseRefusesBadFilesAtTheirLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		line int
		want []string
	}{
		{"unknown top key", "name: x\ntest: []\n", 2, []string{`unknown key "test"`, "allowed keys: name, events, tests"}},
		{"no tests", "name: x\n", 1, []string{"has no tests"}},
		{"unknown check key", "tests:\n  - name: a\n    check:\n      - user: bob\n        acton: list\n", 5, []string{`unknown key "acton" in a check`, "action, item, shared_link, allowed"}},
		{"bad action", "tests:\n  - name: a\n    check:\n      - {user: bob, action: lst, item: file:p, allowed: true}\n", 4, []string{`unknown action "lst"`, "list, preview, download"}},
		{"bad item type", "tests:\n  - name: a\n    check:\n      - {user: bob, action: list, item: doc:p, allowed: true}\n", 4, []string{`unknown type "doc"`, "folder, file"}},
		{"bad lookup type", "tests:\n  - name: a\n    lookup_items:\n      - user: bob\n        action: list\n        type: docs\n        items: []\n", 6, []string{`unknown type "docs"`}},
		{"typed id in items", "tests:\n  - name: a\n    lookup_items:\n      - user: bob\n        action: list\n        type: file\n        items: [file:plan]\n", 7, []string{"(plan, not file:plan)"}},
		{"bad role", "tests:\n  - name: a\n    check:\n      - user: bob\n        action: list\n        item: file:p\n        allowed: true\n        role: owner\n", 8, []string{`unknown role "owner"`, "co-owner, editor"}},
		{"bad reason", "tests:\n  - name: a\n    check:\n      - {user: bob, action: list, item: file:p, allowed: false, reason: nope}\n", 4, []string{`unknown reason "nope"`, "not_mirrored, pending"}},
		{"reason on allowed", "tests:\n  - name: a\n    check:\n      - {user: bob, action: list, item: file:p, allowed: true, reason: pending}\n", 4, []string{"expects allowed: true"}},
		{"allowed missing", "tests:\n  - name: a\n    check:\n      - {user: bob, action: list, item: file:p}\n", 4, []string{`needs "allowed"`}},
		{"allowed not bool", "tests:\n  - name: a\n    check:\n      - {user: bob, action: list, item: file:p, allowed: yes please}\n", 4, []string{"true or false"}},
		{"user and anonymous", "tests:\n  - name: a\n    check:\n      - {user: bob, anonymous: true, action: list, item: file:p, allowed: true}\n", 4, []string{"not both"}},
		{"no caller", "tests:\n  - name: a\n    check:\n      - {action: list, item: file:p, allowed: true}\n", 4, []string{`needs "user"`}},
		{"bad user id", "tests:\n  - name: a\n    check:\n      - {user: bob smith, action: list, item: file:p, allowed: true}\n", 4, []string{`"user"`, "character"}},
		{"bad at", "tests:\n  - name: a\n    at: tomorrow\n    check:\n      - {user: bob, action: list, item: file:p, allowed: true}\n", 3, []string{"RFC 3339"}},
		{"test without assertions", "tests:\n  - name: a\n", 2, []string{"asserts nothing"}},
		{"duplicate test names", "tests:\n  - name: a\n    check: [{user: b, action: list, item: file:p, allowed: true}]\n  - name: a\n    check: [{user: b, action: list, item: file:p, allowed: true}]\n", 4, []string{"line 2"}},
		{"duplicate key", "tests:\n  - name: a\n    name: b\n", 3, []string{`"name" given twice`}},
		{"lookup listed twice", "tests:\n  - name: a\n    lookup_users:\n      - item: file:p\n        action: list\n        users:\n          - bob\n          - bob\n", 8, []string{`"bob" is listed twice`}},
		{"check not a list", "tests:\n  - name: a\n    check: {user: b}\n", 3, []string{`"check" in a test must be a list`}},
		{"bad YAML", "tests:\n  - name: a\n    check: [\n", 3, []string{"invalid YAML"}},
		{"bad inline event", "events:\n  - id: e1\n    type: folder.created\n    folder:\n      id: f\n      parent: '0'\n      owner: alice\n      colour: red\n" +
			"tests:\n  - name: a\n    check: [{user: b, action: list, item: file:p, allowed: true}]\n", 8, []string{`event "e1"`, "colour"}},
		{"bad event role", "tests:\n  - name: a\n    events:\n      - id: e1\n        type: collaboration.created\n        collaboration:\n          id: c1\n          item: {type: folder, id: f}\n          accessible_by: {type: user, id: u}\n          role: owner\n    check: [{user: b, action: list, item: file:p, allowed: true}]\n", 10, []string{`"collaboration.role"`, `unknown role "owner"`}},
		{"repeated event id", "events:\n  - {id: e1, type: user.created, user: {id: alice}}\ntests:\n  - name: a\n    events:\n      - {id: e1, type: user.created, user: {id: bob}}\n    check: [{user: b, action: list, item: file:p, allowed: true}]\n", 6, []string{`event id "e1"`, "t.yaml:2", "redelivery"}},
		{"events file missing", "events: nowhere.jsonl\ntests:\n  - name: a\n    check: [{user: b, action: list, item: file:p, allowed: true}]\n", 1, []string{"reading events"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tc.yaml), noFiles)
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("want a *FileError, got %v", err)
			}
			if fe.File != "t.yaml" || fe.Line != tc.line {
				t.Errorf("error at %s:%d, want t.yaml:%d: %v", fe.File, fe.Line, tc.line, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestParseReadsEventsFromFilesAndInline(t *testing.T) {
	files := map[string]string{
		"dir/base.jsonl": `{"id":"e1","type":"user.created","user":{"id":"alice"}}` + "\n\n" +
			`{"id":"e2","type":"folder.created","folder":{"id":"123","parent":"0","owner":"alice"}}` + "\n",
		"dir/bad.jsonl": `{"id":"e1","type":"user.created","user":{"id":"alice"}}` + "\n" + `{"id":"e2","type":"user.made"}` + "\n",
	}
	read := func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, os.ErrNotExist
	}
	src := `events:
  - base.jsonl
  - {id: e3, type: file.created, file: {id: 456, parent: 123, owner: alice}}
tests:
  - name: a
    at: 2026-12-01T00:00:00Z
    check:
      - {user: alice, action: list, item: "file:456", allowed: true}
`
	s, err := Parse("dir/t.yaml", []byte(src), read)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Events) != 3 {
		t.Fatalf("got %d events, want 3", len(s.Events))
	}
	// Numbers are ids as written, and each event keeps its place.
	if f := s.Events[2].Event.File; f == nil || f.ID != "456" || f.Parent != "123" {
		t.Errorf("inline event: %+v", s.Events[2].Event)
	}
	if s.Events[1].File != "dir/base.jsonl" || s.Events[1].Line != 3 || s.Events[2].Line != 3 {
		t.Errorf("places: %s:%d, %s:%d", s.Events[1].File, s.Events[1].Line, s.Events[2].File, s.Events[2].Line)
	}
	if s.Tests[0].At.Format("2006-01-02") != "2026-12-01" {
		t.Errorf("at: %v", s.Tests[0].At)
	}
	_, err = Parse("dir/t.yaml", []byte("events: bad.jsonl\n"+src[strings.Index(src, "tests:"):]), read)
	var fe *FileError
	if !errors.As(err, &fe) || fe.File != "dir/bad.jsonl" || fe.Line != 2 || !strings.Contains(err.Error(), "dir/t.yaml:1") {
		t.Errorf("bad JSONL line: %v", err)
	}
}
