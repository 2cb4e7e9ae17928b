package tree_test

import (
	"context"
	"fmt"
	gosync "sync"
	"sync/atomic"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/schema"
)

// moveFixture: bob views folder a only; folder x, and file f in it, move
// between a and b.
var moveFixture = []string{
	`{"id":"u","type":"user.created","user":{"id":"alice","enterprise":"e"}}`,
	`{"id":"a","type":"folder.created","folder":{"id":"a","parent":"0","owner":"alice"}}`,
	`{"id":"b","type":"folder.created","folder":{"id":"b","parent":"0","owner":"alice"}}`,
	`{"id":"x","type":"folder.created","folder":{"id":"x","parent":"a","owner":"alice"}}`,
	`{"id":"f","type":"file.created","file":{"id":"f","parent":"x","owner":"alice"}}`,
	`{"id":"c","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"a"},"accessible_by":{"type":"user","id":"bob"},"role":"viewer"}}`,
}

// recursive asks SpiceDB the schema's own recursive permission at exactly
// the revision at.
func recursive(t *testing.T, c *spicedb.Client, ch *checker.Checker, q checker.Question, at string) bool {
	t.Helper()
	resp, err := c.CheckPermission(context.Background(), &v1.CheckPermissionRequest{
		Consistency: &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: &v1.ZedToken{Token: at}}},
		Resource:    checker.ItemObject(q.Item), Permission: string(q.Action), Subject: checker.UserSubject(q.User),
		Context: ch.CaveatContext(q.SharedLink),
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION
}

// TestChainChecksExactUnderMoves: while folder x moves back and forth
// between a folder bob views and one he does not, every chain check's answer
// is the recursive permission's at the very revision it was answered at:
// never a grant from both places, never from neither.
func TestChainChecksExactUnderMoves(t *testing.T) {
	for _, ds := range testenv.Datastores() {
		t.Run(string(ds), func(t *testing.T) {
			c := testenv.SpiceDB(t, ds)
			apply(t, c, moveFixture...)
			idx := running(t, c)
			ch, err := checker.New(c, checker.WithTree(idx))
			if err != nil {
				t.Fatal(err)
			}
			q := func(item string, a schema.Action) checker.Question {
				typ, id := "file", item
				if item == "x" {
					typ = "folder"
				}
				return checker.Question{User: "bob", Action: a, Item: schema.ItemRef{Type: typ, ID: id}}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var wg gosync.WaitGroup
			var moves atomic.Int64
			wg.Go(func() {
				defer cancel()
				for i := range 30 {
					to := []string{"b", "a"}[i%2]
					apply(t, c, fmt.Sprintf(`{"id":"m%d","type":"folder.updated","folder":{"id":"x","parent":%q,"owner":"alice"}}`, i, to))
					moves.Add(1)
				}
			})
			var yes, no atomic.Int64
			for w := range 2 {
				wg.Go(func() {
					for i := 0; ctx.Err() == nil; i++ {
						qq := q([]string{"f", "x"}[(i+w)%2], []schema.Action{schema.ActionPreview, schema.ActionDownload, schema.ActionEdit}[i%3])
						a, err := ch.Check(context.Background(), qq, checker.Consistency{})
						if err != nil {
							t.Error(err)
							return
						}
						if want := recursive(t, c, ch, qq, a.ConsistencyToken); a.Allowed != want {
							t.Errorf("after %d moves: bob %s %s = %v by chain check, %v recursively at the same revision", moves.Load(), qq.Action, qq.Item, a.Allowed, want)
							return
						}
						if a.Allowed {
							yes.Add(1)
						} else {
							no.Add(1)
						}
					}
				})
			}
			wg.Wait()
			confirmed, unconfirmed := ch.ChainCounts()
			t.Logf("%d yes, %d no; %d chain checks confirmed, %d asked again", yes.Load(), no.Load(), confirmed, unconfirmed)
			if yes.Load() == 0 || no.Load() == 0 || confirmed == 0 {
				t.Fatalf("the test saw %d yes, %d no, %d confirmed chain checks: it exercised too little", yes.Load(), no.Load(), confirmed)
			}
		})
	}
}

// lyingTree claims every item sits under chain, whatever SpiceDB says.
type lyingTree struct{ chain []string }

func (l lyingTree) Chain(key string) ([]string, bool) { return append([]string{key}, l.chain...), true }

// TestChainChecksNeverTrustTheTree: a tree that lies, in either direction,
// changes no answer: the chain it claims is not confirmed, and the question
// is asked the recursive way.
func TestChainChecksNeverTrustTheTree(t *testing.T) {
	c := testenv.SpiceDB(t, testenv.Memory)
	apply(t, c, moveFixture...)
	for _, tc := range []struct {
		name  string
		chain []string
		item  schema.ItemRef
		want  bool
	}{
		// x is under a, where bob views: a tree placing it under b would
		// deny.
		{"hides a grant", []string{key("folder", "b")}, schema.ItemRef{Type: "folder", ID: "x"}, true},
		// b is top-level: a tree placing it under a would grant.
		{"invents a grant", []string{key("folder", "a")}, schema.ItemRef{Type: "folder", ID: "b"}, false},
		// f is under x under a: a chain that skips x would still grant
		// rightly, but is not f's chain.
		{"skips a level", []string{key("folder", "a")}, schema.ItemRef{Type: "file", ID: "f"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch, err := checker.New(c, checker.WithTree(lyingTree{tc.chain}))
			if err != nil {
				t.Fatal(err)
			}
			a, err := ch.Check(context.Background(), checker.Question{User: "bob", Action: schema.ActionPreview, Item: tc.item}, checker.Consistency{})
			if err != nil {
				t.Fatal(err)
			}
			if a.Allowed != tc.want {
				t.Fatalf("bob preview %s = %v, want %v", tc.item, a.Allowed, tc.want)
			}
			if confirmed, unconfirmed := ch.ChainCounts(); confirmed != 0 || unconfirmed != 1 {
				t.Fatalf("%d confirmed, %d unconfirmed: the lie was not caught", confirmed, unconfirmed)
			}
		})
	}
}
