package tree

import (
	"context"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/internal/spicedb"
)

// Revision returns the revision the index stands at exactly, and whether
// it stands at one: not while a change is applied without the checkpoint
// that follows it, nor before the first load.
func (x *Index) Revision() (*v1.ZedToken, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.at, x.at != nil && !x.pending
}

// RevisionCovering waits, up to wait, until the index stands at a revision
// that covers want (spicedb.Covers), and returns it; ok is false when it
// did not in time, or when the datastore's revisions cannot be compared.
func (x *Index) RevisionCovering(ctx context.Context, want *v1.ZedToken, wait time.Duration) (*v1.ZedToken, bool) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		x.mu.RLock()
		at, settled, advanced := x.at, x.at != nil && !x.pending, x.advanced
		x.mu.RUnlock()
		if settled {
			covers, err := spicedb.Covers(at, want)
			if err != nil {
				return nil, false
			}
			if covers {
				return at, true
			}
		}
		select {
		case <-advanced:
		case <-deadline.C:
			return nil, false
		case <-ctx.Done():
			return nil, false
		}
	}
}

// View reads the index as it stood at one revision.
type View struct{ x *Index }

// Read calls fn with a view of the index, provided the index is exactly as
// it was at revision at: nothing the index follows changed after at. It
// reports whether it called fn. fn runs under the index's read lock: it
// must not call SpiceDB or block.
func (x *Index) Read(at *v1.ZedToken, fn func(View)) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.at == nil || x.pending {
		return false
	}
	noLaterChange, err := spicedb.Covers(at, x.changedAt)
	if err != nil || !noLaterChange {
		return false
	}
	if reached, err := spicedb.Covers(x.at, at); err != nil || !reached {
		return false
	}
	fn(View{x: x})
	return true
}

// Subtree calls fn with key and every item below it, in no order.
func (v View) Subtree(key string, fn func(key string)) {
	v.Walk(key, func(k string) bool { fn(k); return true })
}

// Walk calls visit with key and, below every item for which visit returns
// true, with its children, depth first, in no order among siblings.
func (v View) Walk(key string, visit func(key string) bool) {
	f := v.x.f
	n, ok := f.ids[key]
	if !ok {
		return
	}
	// Placements never form a cycle (sync refuses one); the bound keeps a
	// malformed one from looping.
	stack := []int32{n}
	for steps := 0; len(stack) > 0 && steps <= len(f.keys); steps++ {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if visit(f.keys[k]) {
			stack = append(stack, f.children[k]...)
		}
	}
}

// Reach returns the keys starting with prefix of the sources and every item
// below them, leaving out what a trashed item is at or above: the items a
// grant on any source reaches, the trash aside. ok is false when a source
// is not placed.
func (v View) Reach(sources []string, prefix string) (keys []string, ok bool) {
	f := v.x.f
	seen := make([]bool, len(f.keys))
	var stack []int32
	for _, src := range sources {
		n, known := f.ids[src]
		if !known || f.parent[n] == unplaced {
			return nil, false
		}
		trashedAbove := false
		for p, depth := f.parent[n], 0; p >= 0 && depth <= MaxDepth; p, depth = f.parent[p], depth+1 {
			trashedAbove = trashedAbove || f.trashed[p]
		}
		if trashedAbove {
			continue
		}
		stack = append(stack[:0], n)
		for len(stack) > 0 {
			k := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[k] || f.trashed[k] {
				continue // reached from another source already, or trashed
			}
			seen[k] = true
			if strings.HasPrefix(f.keys[k], prefix) {
				keys = append(keys, f.keys[k])
			}
			stack = append(stack, f.children[k]...)
		}
	}
	return keys, true
}

// Placed tells whether the index places key.
func (v View) Placed(key string) bool { return v.x.f.isPlaced(key) }

// Trashed tells whether key itself is in the trash.
func (v View) Trashed(key string) bool { return v.x.f.isTrashed(key) }

// Chain is Index.Chain under the view's lock.
func (v View) Chain(key string) ([]string, bool) { return v.x.f.chain(key) }
