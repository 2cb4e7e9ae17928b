package modeltest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/schema"
)

// Assertion kinds, as failures name them.
const (
	AssertCheck       = "check"
	AssertLookupItems = "lookup_items"
	AssertLookupUsers = "lookup_users"
)

// checkOne compares one check's answer with what the file expects, and
// explains it when the file asks why or when it fails.
func checkOne(ctx context.Context, ch *checker.Checker, file string, c Check, allowed bool) (*Failure, error) {
	if allowed == c.Allowed && c.Grant == "" && c.Role == "" && c.Reason == "" {
		return nil, nil
	}
	ex, err := ch.Explain(ctx, c.Question, checker.Consistency{})
	if err != nil {
		return nil, fmt.Errorf("explaining %s: %w", describe(c.Question), err)
	}
	got := verdict(allowed)
	sentence := ex.Sentence()
	if ex.Reason != "" {
		sentence += " (reason " + ex.Reason + ")"
	}
	f := &Failure{File: file, Assertion: AssertCheck, Allowed: &allowed, Reason: ex.Reason, Sentence: ex.Sentence(), Grants: ex.Grants}
	q := describe(c.Question)
	switch {
	case ex.Allowed != allowed:
		// Both ask SpiceDB the same question: a difference is a bug.
		f.Line, f.Message = c.Line, fmt.Sprintf("%s: the check says %s but its explanation says %s: %s", q, got, verdict(ex.Allowed), sentence)
	case allowed != c.Allowed:
		f.Line, f.Message = c.AllowedLine, fmt.Sprintf("%s: want %s, got %s: %s", q, verdict(c.Allowed), got, sentence)
	case (c.Grant != "" || c.Role != "") && !hasGrant(ex, c.Grant, c.Role):
		f.Line = c.GrantLine
		if f.Line == 0 {
			f.Line = c.RoleLine
		}
		f.Message = fmt.Sprintf("%s: %s, but not by %s: %s", q, got, wantedGrant(c), sentence)
	case c.Reason != "" && ex.Reason != c.Reason:
		f.Line, f.Message = c.ReasonLine, fmt.Sprintf("%s: denied, want reason %s, got %s: %s", q, c.Reason, ex.Reason, sentence)
	default:
		return nil, nil
	}
	return f, nil
}

func verdict(allowed bool) string {
	if allowed {
		return "allowed"
	}
	return "denied"
}

// describe says a question as the command line asks it.
func describe(q checker.Question) string {
	who := q.User
	if who == "" {
		who = "(anonymous)"
	}
	s := fmt.Sprintf("%s %s %s", who, q.Action, q.Item)
	if q.SharedLink != nil {
		s += " presenting link " + q.SharedLink.String()
	}
	return s
}

func wantedGrant(c Check) string {
	switch {
	case c.Grant == GrantOwnership:
		return "ownership"
	case c.Grant == GrantSharedLink:
		return "a shared link"
	case c.Grant != "" && c.Role != "":
		return fmt.Sprintf("collaboration %s as %s", c.Grant, c.Role)
	case c.Grant != "":
		return "collaboration " + c.Grant
	}
	return "a collaboration as " + string(c.Role)
}

// hasGrant tells whether the explanation names the grant (and role) the
// check wants: among the grants that allow, or, for a denial, among those
// held without the action and the collaborations not active (pending,
// expired).
func hasGrant(ex checker.Explanation, grant string, role schema.Role) bool {
	gs := ex.Grants
	if !ex.Allowed {
		gs = append(slices.Clone(gs), ex.Inactive...)
	}
	for _, g := range gs {
		switch {
		case grant == GrantOwnership:
			if g.Kind == "ownership" {
				return true
			}
		case grant == GrantSharedLink:
			if g.Kind == "shared_link" {
				return true
			}
		case g.Kind == "collaboration" && (grant == "" || g.Collaboration == grant) && (role == "" || g.Role == string(role)):
			return true
		}
	}
	return false
}

func lookupItems(ctx context.Context, ch *checker.Checker, file string, l ItemLookup) (*Failure, error) {
	var got []string
	cursor := ""
	for {
		page, err := ch.LookupItems(ctx, l.User, l.Action, l.Type, checker.MaxLookupLimit, cursor, checker.Consistency{})
		if err != nil {
			return nil, fmt.Errorf("looking up the %s items %s may %s: %w", l.Type, l.User, l.Action, err)
		}
		got = append(got, page.Items...)
		if cursor = page.Cursor; cursor == "" {
			break
		}
	}
	what := fmt.Sprintf("%s items %s may %s", l.Type, l.User, l.Action)
	return compareSets(file, l.ItemsLine, AssertLookupItems, what, l.Items, got), nil
}

func lookupUsers(ctx context.Context, ch *checker.Checker, file string, l UserLookup) (*Failure, error) {
	var got []string
	cursor := ""
	for {
		page, err := ch.LookupUsers(ctx, l.Item, l.Action, checker.MaxLookupLimit, cursor, checker.Consistency{})
		if err != nil {
			return nil, fmt.Errorf("looking up the users who may %s %s: %w", l.Action, l.Item, err)
		}
		got = append(got, page.Users...)
		if cursor = page.Cursor; cursor == "" {
			break
		}
	}
	what := fmt.Sprintf("users who may %s %s", l.Action, l.Item)
	return compareSets(file, l.UsersLine, AssertLookupUsers, what, l.Users, got), nil
}

// compareSets is a failure naming what a lookup missed and what it found
// beyond the expected, or nil when they are the same set.
func compareSets(file string, line int, kind, what string, want, got []string) *Failure {
	wantSet := map[string]bool{}
	for _, s := range want {
		wantSet[s] = true
	}
	gotSet := map[string]bool{}
	for _, s := range got {
		gotSet[s] = true
	}
	f := &Failure{File: file, Line: line, Assertion: kind, Missing: []string{}, Extra: []string{}}
	for _, s := range want {
		if !gotSet[s] {
			f.Missing = append(f.Missing, s)
		}
	}
	for s := range gotSet {
		if !wantSet[s] {
			f.Extra = append(f.Extra, s)
		}
	}
	if len(f.Missing) == 0 && len(f.Extra) == 0 {
		return nil
	}
	slices.Sort(f.Missing)
	slices.Sort(f.Extra)
	gotSorted := slices.Sorted(maps.Keys(gotSet))
	var parts []string
	if len(f.Missing) > 0 {
		parts = append(parts, "missing "+strings.Join(f.Missing, ", "))
	}
	if len(f.Extra) > 0 {
		parts = append(parts, "extra "+strings.Join(f.Extra, ", "))
	}
	f.Message = fmt.Sprintf("%s: %s (got [%s])", what, strings.Join(parts, "; "), strings.Join(gotSorted, ", "))
	return f
}
