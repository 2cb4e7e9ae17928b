package oauth

import (
	"context"
	gosync "sync"
	"sync/atomic"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
)

// ValidityStats counts how authorizations settled their token's validity.
type ValidityStats struct {
	Watched uint64 // confirmed by the revocation watch, with no question to SpiceDB
	Asked   uint64 // asked of SpiceDB
	// Late counts decisions that waited fenceWait for the watch in vain and
	// asked SpiceDB after all; until the watch catches up, later decisions
	// ask at once instead of waiting too.
	Late uint64
}

// ValidityStats returns the counts since t was made.
func (t *Tokens) ValidityStats() ValidityStats {
	return ValidityStats{Watched: t.validity.watched.Load(), Asked: t.validity.asked.Load(), Late: t.validity.late.Load()}
}

// validity remembers tokens SpiceDB found valid, for WatchRevocations, each
// with the objects its validity depends on (itself, its parents, its
// refresh family, app grant and app): a change on one of them forgets it.
type validity struct {
	mu    gosync.Mutex
	order RevisionOrder // nil while no watch runs: nothing is remembered
	// through: the watch has shown every change at or before this revision.
	through int64
	// Validity found at a revision before floor, or before the last
	// change on one of its dependencies (changed), is not remembered: the
	// change may have ended it.
	floor   int64
	changed map[string]int64
	valid   map[string]remembered          // token hash → what it depends on
	by      map[string]map[string]struct{} // dependency → token hashes
	// advanced is closed when through moves, then replaced.
	advanced chan struct{}
	// behind is a revision a decision waited for in vain (0: none), and
	// behindSince when the watch first fell behind it: until through
	// reaches it, decisions do not wait for the watch.
	behind      int64
	behindSince time.Time
	stallLimit  time.Duration // watchStallLimit, but for tests
	fenceWait   time.Duration // fenceWait, but for tests

	watched, asked, late atomic.Uint64 // see ValidityStats
	watches              atomic.Uint64 // watches started, for tests
}

type remembered struct {
	expires time.Time
	deps    []string
	at      int64 // the revision it was found valid at
}

func newValidity() *validity {
	v := &validity{advanced: make(chan struct{}), stallLimit: watchStallLimit, fenceWait: fenceWait}
	v.resetLocked()
	return v
}

func (v *validity) resetLocked() {
	v.valid, v.by, v.changed = map[string]remembered{}, map[string]map[string]struct{}{}, map[string]int64{}
}

func (v *validity) start(order RevisionOrder, at int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.order, v.through, v.floor = order, at, at
	v.behind, v.behindSince = 0, time.Time{}
	v.resetLocked()
	v.wakeLocked()
}

// running says whether a watch is following SpiceDB.
func (v *validity) running() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.order != nil
}

func (v *validity) stop() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.order = nil
	v.resetLocked()
	v.wakeLocked()
}

func (v *validity) wakeLocked() {
	close(v.advanced)
	v.advanced = make(chan struct{})
}

// observe records that the watch has shown every change through rev, among
// them changes on the dependencies changed.
func (v *validity) observe(rev int64, changed []string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.changed)+len(changed) > validityMax {
		// Forget when each dependency last changed; the floor stands in
		// for all of them. What is remembered stays: later changes still
		// reach it through by.
		v.floor = max(v.floor, rev)
		v.changed = map[string]int64{}
	}
	for _, d := range changed {
		v.changed[d] = rev
		for h := range v.by[d] {
			// A change at or before the revision a token was found
			// valid at is already in that answer.
			if v.valid[h].at < rev {
				v.forgetLocked(h)
			}
		}
	}
	if rev > v.through {
		v.through = rev
		if v.through >= v.behind {
			v.behind, v.behindSince = 0, time.Time{}
		}
		v.wakeLocked()
	}
}

// lateLocked records that a decision waited in vain for the watch to reach
// rev.
func (v *validity) lateLocked(rev int64, now time.Time) {
	v.late.Add(1)
	if rev <= v.through || rev <= v.behind {
		return
	}
	if v.behind == 0 {
		v.behindSince = now
	}
	v.behind = rev
}

// stalledFor is how long the watch has been behind a revision a decision
// waited for in vain (0 when it is not).
func (v *validity) stalledFor(now time.Time) time.Duration {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.behind == 0 {
		return 0
	}
	return now.Sub(v.behindSince)
}

func (v *validity) forgetLocked(hash string) {
	r, ok := v.valid[hash]
	if !ok {
		return
	}
	delete(v.valid, hash)
	for _, d := range r.deps {
		delete(v.by[d], hash)
		if len(v.by[d]) == 0 {
			delete(v.by, d)
		}
	}
}

// known says whether hash is remembered as valid at now, so a decision may
// leave the validity question out (and must then confirm). While the watch
// is behind a revision a decision waited for in vain, nothing is: waiting
// again would only add fenceWait to every decision.
func (v *validity) known(hash string, now time.Time) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.behind == 0 && v.rememberedLocked(hash, now)
}

// remembered says whether hash is remembered as valid at now, whether or
// not the watch is behind.
func (v *validity) remembered(hash string, now time.Time) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.rememberedLocked(hash, now)
}

func (v *validity) rememberedLocked(hash string, now time.Time) bool {
	r, ok := v.valid[hash]
	return v.order != nil && ok && now.Before(r.expires)
}

// confirm says whether hash was valid at every revision of at, the answers
// of a decision that left the validity question out: once the watch has
// shown every change through the latest of them, hash is still remembered.
// It waits at most fenceWait for the watch; false means ask SpiceDB.
func (v *validity) confirm(ctx context.Context, hash string, now time.Time, at ...*v1.ZedToken) bool {
	v.mu.Lock()
	order := v.order
	v.mu.Unlock()
	if order == nil {
		return false
	}
	var latest int64
	for _, zt := range at {
		r, err := order(zt)
		if err != nil {
			return false
		}
		latest = max(latest, r)
	}
	timer := time.NewTimer(v.fenceWait)
	defer timer.Stop()
	for {
		v.mu.Lock()
		if v.order == nil {
			v.mu.Unlock()
			return false
		}
		if v.through >= latest {
			r, ok := v.valid[hash]
			v.mu.Unlock()
			return ok && now.Before(r.expires)
		}
		wake := v.advanced
		v.mu.Unlock()
		select {
		case <-wake:
		case <-timer.C:
			v.mu.Lock()
			if v.order != nil {
				v.lateLocked(latest, time.Now())
			}
			v.mu.Unlock()
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// remember records that SpiceDB found hash valid at revision at; it is
// remembered until expires or until the watch shows a change on one of deps.
func (v *validity) remember(hash string, expires time.Time, deps []string, now time.Time, at *v1.ZedToken) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.order == nil {
		return
	}
	r, err := v.order(at)
	if err != nil || r < v.floor {
		return
	}
	for _, d := range deps {
		if r < v.changed[d] {
			return
		}
	}
	v.forgetLocked(hash)
	if len(v.valid) >= validityMax {
		for h, e := range v.valid {
			if !now.Before(e.expires) {
				v.forgetLocked(h)
			}
		}
		if len(v.valid) > validityMax*9/10 {
			// Still nearly full: forget every token (a forgotten one costs
			// one question) rather than sweep again on the next one.
			v.valid, v.by = map[string]remembered{}, map[string]map[string]struct{}{}
		}
	}
	v.valid[hash] = remembered{expires: expires, deps: deps, at: r}
	for _, d := range deps {
		if v.by[d] == nil {
			v.by[d] = map[string]struct{}{}
		}
		v.by[d][hash] = struct{}{}
	}
}
