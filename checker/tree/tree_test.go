package tree_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/checker/tree"
	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/schema/rel"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/event"
)

func apply(t *testing.T, c *spicedb.Client, lines ...string) {
	t.Helper()
	evs, err := event.DecodeEvents([]byte(strings.Join(lines, "\n")), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sync.NewApplier(c, sync.WithLogger(slog.New(slog.DiscardHandler))).Apply(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
}

// running starts an index of c and waits until it has loaded.
func running(t *testing.T, c *spicedb.Client) *tree.Index {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	idx := tree.New(c, tree.WithLogger(slog.New(slog.NewTextHandler(testWriter{t}, nil))), tree.WithPageSize(2))
	go func() { _ = idx.Run(ctx) }()
	waitFor(t, idx.Ready)
	return idx
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func key(typ, id string) string { return rel.PlacementKey(typ, id) }

// TestIndexLoadsAndFollows: the index places what sync wrote before it
// started (read in pages) and follows moves, creations and deletions after.
func TestIndexLoadsAndFollows(t *testing.T) {
	for _, ds := range testenv.Datastores() {
		t.Run(string(ds), func(t *testing.T) {
			c := testenv.SpiceDB(t, ds)
			apply(t, c,
				`{"id":"u","type":"user.created","user":{"id":"alice","enterprise":"e"}}`,
				`{"id":"a","type":"folder.created","folder":{"id":"a","parent":"0","owner":"alice"}}`,
				`{"id":"b","type":"folder.created","folder":{"id":"b","parent":"a","owner":"alice"}}`,
				`{"id":"c","type":"folder.created","folder":{"id":"c","parent":"0","owner":"alice"}}`,
				`{"id":"f","type":"file.created","file":{"id":"f","parent":"b","owner":"alice"}}`,
			)
			idx := running(t, c)
			got, ok := idx.Chain(key("file", "f"))
			want := []string{key("file", "f"), key("folder", "b"), key("folder", "a")}
			if !ok || strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("chain of f = %v, %v; want %v", got, ok, want)
			}
			if idx.Len() != 4 {
				t.Fatalf("index places %d items, want 4", idx.Len())
			}
			// A move of b under c, a new file, and a delete of folder c's
			// subtree afterwards all reach the index through the watch.
			apply(t, c, `{"id":"m","type":"folder.updated","folder":{"id":"b","parent":"c","owner":"alice"}}`)
			waitFor(t, func() bool { ch, _ := idx.Chain(key("file", "f")); return len(ch) == 3 && ch[2] == key("folder", "c") })
			apply(t, c, `{"id":"g","type":"file.created","file":{"id":"g","parent":"a","owner":"alice"}}`)
			waitFor(t, func() bool { _, ok := idx.Chain(key("file", "g")); return ok })
			apply(t, c, `{"id":"d","type":"folder.deleted","folder":{"id":"c"}}`)
			waitFor(t, func() bool { _, ok := idx.Chain(key("file", "f")); return !ok })
			if _, ok := idx.Chain(key("folder", "a")); !ok {
				t.Fatal("folder a left the index with c's subtree")
			}
		})
	}
}
