package tree_test

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"testing"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/checker/tree"
	"github.com/boxauthz/boxauthz/internal/testkit/eventgen"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/event"
)

// allItems pages through a lookup to its end.
func allItems(t *testing.T, ch *checker.Checker, user string, a schema.Action, typ string, limit int, cons checker.Consistency) []string {
	t.Helper()
	var out []string
	cursor := ""
	for {
		page, err := ch.LookupItems(context.Background(), user, a, typ, limit, cursor, cons)
		if err != nil {
			t.Fatalf("%s %s %s: %v", user, a, typ, err)
		}
		out = append(out, page.Items...)
		if cursor = page.Cursor; cursor == "" {
			return out
		}
	}
}

// TestLookupsByTreeAgreeWithSpiceDB: on generated content with moves,
// trash, groups, pending, rejected and expiring collaborations, links and
// invite settings, a lookup read from the folder tree gives exactly the
// items SpiceDB's own LookupResources gives, for every user, action and
// type, on both datastores.
func TestLookupsByTreeAgreeWithSpiceDB(t *testing.T) {
	for _, ds := range testenv.Datastores() {
		t.Run(string(ds), func(t *testing.T) {
			c := testenv.SpiceDB(t, ds)
			gen := eventgen.New(7, eventgen.WithAllKinds())
			evs, err := event.DecodeEvents(bytes.Join(gen.Stream(400), []byte("\n")), true)
			if err != nil {
				t.Fatal(err)
			}
			res, err := sync.NewApplier(c, sync.WithLogger(slog.New(slog.DiscardHandler))).Apply(context.Background(), evs)
			if err != nil {
				t.Fatal(err)
			}
			idx := running(t, c)
			byTree, err := checker.New(c, checker.WithTree(idx))
			if err != nil {
				t.Fatal(err)
			}
			bySpiceDB, err := checker.New(c)
			if err != nil {
				t.Fatal(err)
			}
			cons := checker.Consistency{Token: res.Token.GetToken()}
			compared, nonEmpty := 0, 0
			for _, user := range append(gen.Users(), "") {
				for _, a := range schema.ItemActions() {
					for _, typ := range []string{schema.TypeFolder, schema.TypeFile} {
						want := allItems(t, bySpiceDB, user, a, typ, 0, cons)
						got := allItems(t, byTree, user, a, typ, 3, cons)
						if !slices.Equal(got, want) {
							t.Errorf("%q %s %s: by the tree %v; SpiceDB %v", user, a, typ, got, want)
						}
						compared++
						if len(want) > 0 {
							nonEmpty++
						}
					}
				}
			}
			if nonEmpty < compared/4 {
				t.Fatalf("only %d of %d lookups found anything: the content is too thin to compare", nonEmpty, compared)
			}
			fast, slow := byTree.LookupCounts()
			if fast == 0 || slow != 0 {
				t.Fatalf("%d pages read from the tree, %d the slow way; want all from the tree", fast, slow)
			}
			t.Logf("%d lookups compared, %d non-empty, %d pages from the tree", compared, nonEmpty, fast)
		})
	}
}

// TestLookupWithoutARevisionGoesSpiceDBsWay: an index that has not loaded
// stands at no revision; lookups then ask SpiceDB and still answer.
func TestLookupWithoutARevisionGoesSpiceDBsWay(t *testing.T) {
	c := testenv.SpiceDB(t, testenv.Memory)
	apply(t, c, moveFixture...)
	ch, err := checker.New(c, checker.WithTree(tree.New(c)))
	if err != nil {
		t.Fatal(err)
	}
	got := allItems(t, ch, "bob", schema.ActionPreview, schema.TypeFile, 0, checker.Consistency{})
	if !slices.Equal(got, []string{"f"}) {
		t.Fatalf("bob previews %v; want [f]", got)
	}
	if fast, slow := ch.LookupCounts(); fast != 0 || slow != 1 {
		t.Fatalf("%d pages from the tree, %d the slow way; want 0 and 1", fast, slow)
	}
}
