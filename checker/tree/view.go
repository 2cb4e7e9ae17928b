package tree

import (
	"context"
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
	// Placements never form a cycle (sync refuses one); the bound keeps a
	// malformed one from looping.
	stack := []string{key}
	for n := 0; len(stack) > 0 && n <= len(v.x.parent); n++ {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		fn(k)
		for c := range v.x.children[k] {
			stack = append(stack, c)
		}
	}
}

// Walk calls visit with key and, below every item for which visit returns
// true, with its children, depth first, in no order among siblings.
func (v View) Walk(key string, visit func(key string) bool) {
	stack := []string{key}
	for n := 0; len(stack) > 0 && n <= len(v.x.parent); n++ {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !visit(k) {
			continue
		}
		for c := range v.x.children[k] {
			stack = append(stack, c)
		}
	}
}

// Placed tells whether the index places key.
func (v View) Placed(key string) bool {
	_, ok := v.x.parent[key]
	return ok
}

// Trashed tells whether key itself is in the trash.
func (v View) Trashed(key string) bool { return v.x.trashed[key] }

// Chain is Index.Chain under the view's lock.
func (v View) Chain(key string) ([]string, bool) { return v.x.chain(key) }
