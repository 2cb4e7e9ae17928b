package modeltest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/schema"
)

// Suite is one test file: events that build an enterprise, and tests that
// ask questions of it.
type Suite struct {
	File   string
	Name   string
	Events []Event
	Tests  []Test
}

// Test is one test: its own events on top of the file's, a clock, and the
// assertions it makes.
type Test struct {
	Name        string
	Line        int
	At          time.Time // zero: the real time
	Events      []Event
	Checks      []Check
	ItemLookups []ItemLookup
	UserLookups []UserLookup
}

// Only keeps the tests whose name match matches, and tells how many are
// left.
func (s *Suite) Only(match func(name string) bool) int {
	kept := s.Tests[:0]
	for _, t := range s.Tests {
		if match(t.Name) {
			kept = append(kept, t)
		}
	}
	s.Tests = kept
	return len(kept)
}

// Assertions counts the test's assertions.
func (t Test) Assertions() int { return len(t.Checks) + len(t.ItemLookups) + len(t.UserLookups) }

// Check asserts the answer to one question, and optionally why.
type Check struct {
	Line        int
	Question    checker.Question
	Allowed     bool
	AllowedLine int
	// Grant is a collaboration id, "ownership" or "shared_link" that must be
	// among the explanation's grants; "" asserts nothing.
	Grant     string
	GrantLine int
	// Role is a role some collaboration grant of the explanation must have.
	Role     schema.Role
	RoleLine int
	// Reason is the reason code a denial must give; "" asserts nothing.
	Reason     string
	ReasonLine int
}

// ItemLookup asserts exactly which items of a type a user may act on.
type ItemLookup struct {
	Line      int
	User      string
	Action    schema.Action
	Type      string
	Items     []string
	ItemsLine int
}

// UserLookup asserts exactly which users may act on an item.
type UserLookup struct {
	Line      int
	Item      schema.ItemRef
	Action    schema.Action
	Users     []string
	UsersLine int
}

// The keys of each mapping of a test file.
var (
	suiteKeys      = []string{"name", "events", "tests"}
	testKeys       = []string{"name", "at", "events", "check", "lookup_items", "lookup_users"}
	checkKeys      = []string{"user", "anonymous", "action", "item", "shared_link", "allowed", "grant", "role", "reason"}
	itemLookupKeys = []string{"user", "action", "type", "items"}
	userLookupKeys = []string{"item", "action", "users"}
)

// Load reads and checks the test file at path; the event files it names
// are read relative to it. Errors are *FileError.
func Load(path string) (*Suite, error) {
	data, err := os.ReadFile(path) //nolint:gosec // G304: the operator names the test file
	if err != nil {
		return nil, &FileError{File: path, Err: fmt.Errorf("reading the test file: %w", err)}
	}
	return Parse(path, data, os.ReadFile)
}

// Parse checks the test file data, named path, strictly: an unknown key,
// a value of the wrong kind, an action, type, role or reason that does not
// exist is an error naming its line. readFile reads the event files the
// file names (relative to path's directory).
func Parse(path string, data []byte, readFile func(string) ([]byte, error)) (*Suite, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &FileError{File: path, Err: errors.New("empty test file: want a mapping with tests")}
		}
		line, msg := yamlError(err)
		return nil, &FileError{File: path, Line: line, Err: fmt.Errorf("invalid YAML: %s", msg)}
	}
	var more node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, &FileError{File: path, Line: more.Line, Err: errors.New("more than one YAML document: a test file is one")}
	}
	if len(doc.Content) == 0 {
		return nil, &FileError{File: path, Err: errors.New("empty test file: want a mapping with tests")}
	}
	p := &parser{file: path, readFile: readFile}
	return p.suite(doc.Content[0])
}

// parser reads one test file.
type parser struct {
	file     string
	readFile func(string) ([]byte, error)
}

func (p *parser) suite(n *node) (*Suite, error) {
	f, err := readFields(p.file, n, "the test file", suiteKeys...)
	if err != nil {
		return nil, err
	}
	s := &Suite{File: p.file}
	if s.Name, _, err = f.str("name"); err != nil {
		return nil, err
	}
	if s.Events, err = p.events(f.get("events")); err != nil {
		return nil, err
	}
	tests, tn, err := f.list("tests")
	if err != nil {
		return nil, err
	}
	if len(tests) == 0 {
		at := f.n
		if tn != nil {
			at = tn
		}
		return nil, errorAt(p.file, at, "the test file has no tests: want a list under \"tests\"")
	}
	fileIDs, err := distinctIDs(nil, s.Events)
	if err != nil {
		return nil, err
	}
	names := map[string]int{}
	for _, tn := range tests {
		t, err := p.test(tn)
		if err != nil {
			return nil, err
		}
		if _, err := distinctIDs(fileIDs, t.Events); err != nil {
			return nil, err
		}
		if line, dup := names[t.Name]; dup {
			return nil, errorAt(p.file, tn, "test name %q is also the name of the test on line %d: names must be distinct", t.Name, line)
		}
		names[t.Name] = t.Line
		s.Tests = append(s.Tests, t)
	}
	return s, nil
}

func (p *parser) test(n *node) (Test, error) {
	f, err := readFields(p.file, n, "a test", testKeys...)
	if err != nil {
		return Test{}, err
	}
	t := Test{Line: f.n.Line}
	if t.Name, _, err = f.needStr("name"); err != nil {
		return Test{}, err
	}
	if t.At, err = p.at(f); err != nil {
		return Test{}, err
	}
	if t.Events, err = p.events(f.get("events")); err != nil {
		return Test{}, err
	}
	if err := p.assertions(f, &t); err != nil {
		return Test{}, err
	}
	if t.Assertions() == 0 {
		return Test{}, errorAt(p.file, f.n, "test %q asserts nothing: give check, lookup_items or lookup_users", t.Name)
	}
	return t, nil
}

// at reads a test's clock: checks and lookups are asked as of that time,
// so a collaboration's expiry can be tested without waiting for it.
func (p *parser) at(f *fields) (time.Time, error) {
	v := f.get("at")
	if v == nil {
		return time.Time{}, nil
	}
	if v.Kind == yaml.ScalarNode && (v.ShortTag() == "!!str" || v.ShortTag() == "!!timestamp") {
		if t, err := time.Parse(time.RFC3339Nano, v.Value); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errorAt(p.file, v, "\"at\" must be an RFC 3339 time such as 2026-12-01T00:00:00Z, got %q", v.Value)
}

func (p *parser) assertions(f *fields, t *Test) error {
	checks, _, err := f.list("check")
	if err != nil {
		return err
	}
	for _, n := range checks {
		c, err := p.check(n)
		if err != nil {
			return err
		}
		t.Checks = append(t.Checks, c)
	}
	items, _, err := f.list("lookup_items")
	if err != nil {
		return err
	}
	for _, n := range items {
		l, err := p.itemLookup(n)
		if err != nil {
			return err
		}
		t.ItemLookups = append(t.ItemLookups, l)
	}
	users, _, err := f.list("lookup_users")
	if err != nil {
		return err
	}
	for _, n := range users {
		l, err := p.userLookup(n)
		if err != nil {
			return err
		}
		t.UserLookups = append(t.UserLookups, l)
	}
	return nil
}

// yamlError splits a syntax error of yaml.v3 ("yaml: line 3: ...") into
// its line (0 when it names none) and what it says.
func yamlError(err error) (int, string) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var line int
	if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr != nil {
		return 0, msg
	}
	_, rest, _ := strings.Cut(msg, ": ")
	return line, rest
}
