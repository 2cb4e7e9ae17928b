package checker_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/event"
)

// TestLookupCursorsCannotReadThePast is the old-snapshot attack: once
// gina's collaboration is gone her lookup is empty, and no cursor she makes
// herself, takes from another question or keeps past its lifetime brings
// the folders back.
func TestLookupCursorsCannotReadThePast(t *testing.T) {
	ctx := context.Background()
	evs := []string{
		`{"id":"u1","type":"user.created","user":{"id":"alice","enterprise":"acme"}}`,
		`{"id":"u2","type":"user.created","user":{"id":"gina","enterprise":"acme"}}`,
		`{"id":"r","type":"folder.created","folder":{"id":"r","parent":"0","owner":"alice"}}`,
		`{"id":"c1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"r"},"accessible_by":{"type":"user","id":"gina"},"role":"viewer"}}`,
	}
	for i := range 20 {
		evs = append(evs, fmt.Sprintf(`{"id":"f%d","type":"folder.created","folder":{"id":"f%02d","parent":"r","owner":"alice"}}`, i, i))
	}
	_, c, before := setup(t, testenv.Memory, evs...)
	now := time.Now()
	clock := func() time.Time { return now }
	ch, err := checker.New(c, checker.WithClock(clock), checker.WithCursorKey([]byte("k1")))
	if err != nil {
		t.Fatal(err)
	}
	first, err := ch.LookupItems(ctx, "gina", schema.ActionPreview, schema.TypeFolder, 5, "", before)
	if err != nil || len(first.Items) != 5 || first.Cursor == "" {
		t.Fatalf("first page while gina collaborates: %+v %v", first, err)
	}
	del, err := event.DecodeEvents([]byte(`{"id":"c1-del","type":"collaboration.deleted","collaboration":{"id":"c1"}}`), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sync.NewApplier(c, sync.WithLogger(quietLogger())).Apply(ctx, del); err != nil {
		t.Fatal(err)
	}
	after, err := ch.LookupItems(ctx, "gina", schema.ActionPreview, schema.TypeFolder, 5, "", checker.Consistency{})
	if err != nil || len(after.Items) != 0 {
		t.Fatalf("after the collaboration is deleted: %+v %v, want nothing", after, err)
	}

	forge := func(fields map[string]any) string {
		b, _ := json.Marshal(fields)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	var issued map[string]any
	b, _ := base64.RawURLEncoding.DecodeString(first.Cursor)
	if err := json.Unmarshal(b, &issued); err != nil {
		t.Fatalf("reading the real cursor: %v", err)
	}
	altered := map[string]any{}
	for k, v := range issued {
		altered[k] = v
	}
	altered["a"] = "!" // before every id: the whole old answer
	other, err := ch.LookupItems(ctx, "alice", schema.ActionPreview, schema.TypeFolder, 5, "", checker.Consistency{})
	if err != nil || other.Cursor == "" {
		t.Fatalf("alice's first page: %+v %v", other, err)
	}
	tests := []struct{ name, cursor string }{
		{"unsigned, with the earlier consistency token", forge(map[string]any{"n": now, "s": before.Token, "a": "!"})},
		{"a real cursor with its last id changed", forge(altered)},
		{"alice's cursor for the same action", other.Cursor},
		{"garbage", "bm90IGEgY3Vyc29y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ch.LookupItems(ctx, "gina", schema.ActionPreview, schema.TypeFolder, 5, tt.cursor, checker.Consistency{})
			var fe *checker.FieldError
			if !errors.As(err, &fe) || fe.Field != "cursor" {
				t.Fatalf("got %d items (%v), want the cursor refused", len(p.Items), err)
			}
		})
	}
	// Her own real cursor pages on only while it lives.
	if _, err := ch.LookupItems(ctx, "gina", schema.ActionPreview, schema.TypeFolder, 5, first.Cursor, checker.Consistency{}); err != nil {
		t.Fatalf("her real cursor within its lifetime: %v", err)
	}
	now = now.Add(checker.DefaultCursorTTL + time.Second)
	if p, err := ch.LookupItems(ctx, "gina", schema.ActionPreview, schema.TypeFolder, 5, first.Cursor, checker.Consistency{}); err == nil {
		t.Fatalf("an expired cursor gave %d items, want it refused", len(p.Items))
	}
	// Another key (a server that did not give the cursor out) refuses it.
	ch2, err := checker.New(c, checker.WithClock(func() time.Time { return now.Add(-time.Minute) }), checker.WithCursorKey([]byte("k2")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch2.LookupItems(ctx, "gina", schema.ActionPreview, schema.TypeFolder, 5, first.Cursor, checker.Consistency{}); err == nil {
		t.Error("a cursor signed with another key was accepted")
	}
}

// TestLookupUsersPages: user lookups page like item lookups, each page once.
func TestLookupUsersPages(t *testing.T) {
	evs := []string{
		`{"id":"u0","type":"user.created","user":{"id":"owner","enterprise":"e"}}`,
		`{"id":"r","type":"folder.created","folder":{"id":"r","parent":"0","owner":"owner"}}`,
	}
	for i := range 7 {
		evs = append(evs, fmt.Sprintf(`{"id":"u%d","type":"user.created","user":{"id":"user%d","enterprise":"e"}}`, i+1, i),
			fmt.Sprintf(`{"id":"c%d","type":"collaboration.created","collaboration":{"id":"c%d","item":{"type":"folder","id":"r"},"accessible_by":{"type":"user","id":"user%d"},"role":"viewer"}}`, i, i, i))
	}
	ch, _, cons := setup(t, testenv.Memory, evs...)
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		p, err := ch.LookupUsers(context.Background(), schema.ItemRef{Type: "folder", ID: "r"}, schema.ActionPreview, 3, cursor, cons)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Users) > 3 {
			t.Fatalf("page of %d, want at most 3", len(p.Users))
		}
		got = append(got, p.Users...)
		if cursor = p.Cursor; cursor == "" {
			break
		}
		if pages > 5 {
			t.Fatal("cursor never ends")
		}
	}
	want := []string{"owner", "user0", "user1", "user2", "user3", "user4", "user5", "user6"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("users = %v, want %v", got, want)
	}
	if _, err := ch.LookupUsers(context.Background(), schema.ItemRef{Type: "folder", ID: "r"}, schema.ActionPreview, checker.MaxLookupLimit+1, "", cons); err == nil {
		t.Error("a limit over the maximum was accepted")
	}
}

// TestMalformedConsistencyToken: a token SpiceDB never gave out is bad
// input naming consistency_token, on every question.
func TestMalformedConsistencyToken(t *testing.T) {
	ch, _, _ := setup(t, testenv.Memory)
	ctx := context.Background()
	bad := checker.Consistency{Token: "not-a-zedtoken"}
	q := checker.Question{User: "bob", Action: schema.ActionPreview, Item: item("file:plan")}
	_, e1 := ch.Check(ctx, q, bad)
	_, e2 := ch.LookupItems(ctx, "bob", schema.ActionPreview, schema.TypeFile, 0, "", bad)
	_, e3 := ch.LookupUsers(ctx, schema.ItemRef{Type: "file", ID: "plan"}, schema.ActionPreview, 0, "", bad)
	_, e4 := ch.Explain(ctx, q, bad)
	for i, err := range []error{e1, e2, e3, e4} {
		var fe *checker.FieldError
		if !errors.As(err, &fe) || fe.Field != "consistency_token" {
			t.Errorf("question %d: %v, want a field error naming consistency_token", i, err)
		}
	}
}
