package tree

import (
	"slices"
	"testing"
)

// TestForestKeepsChainsThroughMovesAndDeletes: placing, moving, trashing
// and forgetting items keeps every chain right, and numbers of items that
// are gone are reused rather than piling up.
func TestForestKeepsChainsThroughMovesAndDeletes(t *testing.T) {
	f := newForest()
	f.place("folder:a", "")
	f.place("folder:b", "")
	f.place("folder:x", "folder:a")
	f.place("file:f", "folder:x")
	chain := func(key string) []string {
		c, ok := f.chain(key)
		if !ok {
			return nil
		}
		return c
	}
	if got := chain("file:f"); !slices.Equal(got, []string{"file:f", "folder:x", "folder:a"}) {
		t.Fatalf("chain of f = %v", got)
	}
	f.place("folder:x", "folder:b") // a move
	if got := chain("file:f"); !slices.Equal(got, []string{"file:f", "folder:x", "folder:b"}) {
		t.Fatalf("after the move, chain of f = %v", got)
	}
	if kids := f.children[f.ids["folder:a"]]; len(kids) != 0 {
		t.Fatalf("folder a still has children %v after the move", kids)
	}
	f.setTrashed("folder:x", true)
	f.unplace("file:f")
	f.unplace("folder:x") // still trashed: known, not placed
	if !f.isTrashed("folder:x") || f.isPlaced("folder:x") || chain("file:f") != nil {
		t.Fatal("an unplaced trashed folder must stay known as trashed and place nothing")
	}
	f.setTrashed("folder:x", false)
	if _, ok := f.ids["folder:x"]; ok {
		t.Fatal("a folder neither placed nor trashed must be forgotten")
	}
	before := len(f.keys)
	f.place("file:g", "folder:b")
	f.place("file:h", "folder:b")
	if len(f.keys) != before {
		t.Fatalf("%d numbers after reuse, want %d: numbers of forgotten items are not reused", len(f.keys), before)
	}
	if f.placed != 4 {
		t.Fatalf("%d placed; want a, b, g and h", f.placed)
	}
	if got := chain("file:h"); !slices.Equal(got, []string{"file:h", "folder:b"}) {
		t.Fatalf("chain of h = %v", got)
	}
}
