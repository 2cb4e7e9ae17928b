package checker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	gosync "sync"
	"sync/atomic"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"

	"github.com/boxauthz/boxauthz/schema"
)

// RevisionOrder places a zedtoken in its SpiceDB's order of revisions: a
// later revision gives a larger number. Only a datastore whose revisions
// are one total order has one (the in-memory store: see
// internal/spicedb.MemoryRevision).
type RevisionOrder func(*v1.ZedToken) (int64, error)

// RevocationWatcher is the SpiceDB capability WatchRevocations needs: its
// change feed, and its schema, to know what the feed must show.
type RevocationWatcher interface {
	Watch(ctx context.Context, in *v1.WatchRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[v1.WatchResponse], error)
	ReadSchema(ctx context.Context, in *v1.ReadSchemaRequest, opts ...grpc.CallOption) (*v1.ReadSchemaResponse, error)
}

// watchedTypes are the object types whose relationships make a token
// valid: the watch follows their changes.
func watchedTypes() []string {
	return []string{typeAccessToken, typeFamily, typeAppGrant, typeApp, typeSession}
}

// validityDefinitions are the schema definitions a token's validity is
// made of. The watch vouches for tokens only while the stored schema holds
// exactly boxauthz's definitions of them, since a changed one could make
// validity depend on objects the watch does not follow.
func validityDefinitions() []string { return append(watchedTypes(), typeFlag) }

const (
	// fenceWait bounds how long a decision waits for the watch to reach the
	// revision its check was answered at before asking SpiceDB instead.
	fenceWait = 20 * time.Millisecond
	// validityMax bounds the tokens remembered as valid.
	validityMax = 100_000
	// maxDownscopeDepth bounds the parents followed to remember a token.
	maxDownscopeDepth = 16
	// watchStallLimit is how long the watch may stay behind a revision a
	// decision waited for in vain before it is restarted: a stream that
	// neither delivers nor fails would otherwise keep every decision asking.
	watchStallLimit = 10 * time.Second
)

// WatchRevocations lets Authorize skip asking SpiceDB whether a token is
// still valid, safely, until ctx ends. It follows every change to the
// relationships that make tokens valid (tokens, refresh families, app
// grants, apps) and every schema change through SpiceDB's Watch API. A
// token SpiceDB found valid at a revision is remembered until it expires
// (the first expiry on its validity path: see familyExpiry), or until a
// later change on an object it depends on (itself, its parents, its family,
// grant or app). Nothing else can end it: valid is made of intersections
// and unions, no exclusion (TestTokenValidityIsMonotone), so a relationship
// written elsewhere never turns it off. That holds for boxauthz's schema,
// so the watch vouches only while SpiceDB holds boxauthz's definitions of
// tokens unchanged, and starts again from any new schema. A decision then
// asks only its other questions and trusts the memory only once the watch
// has shown every change up to the revision those questions were answered
// at: a revocation that returned before the decision began (on any
// replica; writes settle before they return) is at or before that
// revision, so it has been seen. Otherwise the decision asks SpiceDB as it
// would without the watch.
//
// order must be the datastore's revision order; with none (PostgreSQL),
// do not call WatchRevocations: every decision asks SpiceDB. While the watch
// is down (SpiceDB restarting), nothing is remembered and every decision
// asks SpiceDB; the watch is started again with backoff. It returns when ctx
// ends.
func (t *Tokens) WatchRevocations(ctx context.Context, w RevocationWatcher, order RevisionOrder) {
	backoff := 100 * time.Millisecond
	for {
		began := time.Now()
		err := t.watchOnce(ctx, w, order)
		t.validity.stop()
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errSchemaChanged) {
			t.logger.Info("spicedb's schema changed; the revocation watch starts again from it")
			continue
		}
		if time.Since(began) > time.Minute {
			backoff = 100 * time.Millisecond
		}
		t.logger.Warn("revocation watch ended; token validity is asked of SpiceDB until it resumes", slog.Any("error", err), slog.Duration("retry_in", backoff))
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

func (t *Tokens) watchOnce(ctx context.Context, w RevocationWatcher, order RevisionOrder) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The watch starts after a fully consistent answer's revision: every
	// change at or before it is already committed, so a token SpiceDB finds
	// valid at a later revision has outlived it.
	resp, err := t.client.CheckPermission(ctx, &v1.CheckPermissionRequest{Consistency: fullyConsistent(),
		Resource: obj(typeAccessToken, "watch-start"), Permission: permValid, Subject: flagSubject()})
	if err != nil {
		return fmt.Errorf("finding where to start the revocation watch: %w", err)
	}
	start, err := order(resp.GetCheckedAt())
	if err != nil {
		return fmt.Errorf("starting the revocation watch: %w", err)
	}
	// Read after start: a schema written since is shown by the watch.
	sch, err := w.ReadSchema(ctx, &v1.ReadSchemaRequest{})
	if err != nil {
		return fmt.Errorf("reading the schema for the revocation watch: %w", err)
	}
	diffs, err := schema.Differences(sch.GetSchemaText(), validityDefinitions()...)
	if err != nil {
		return fmt.Errorf("reading the schema for the revocation watch: %w", err)
	}
	vouch := len(diffs) == 0
	if !vouch {
		t.logger.Warn("spicedb's schema changes boxauthz's token definitions; token validity is asked of SpiceDB until they are restored", slog.Any("differences", diffs))
	}
	stream, err := w.Watch(ctx, &v1.WatchRequest{
		OptionalObjectTypes: watchedTypes(),
		OptionalStartCursor: resp.GetCheckedAt(),
		OptionalUpdateKinds: []v1.WatchKind{v1.WatchKind_WATCH_KIND_INCLUDE_RELATIONSHIP_UPDATES,
			v1.WatchKind_WATCH_KIND_INCLUDE_SCHEMA_UPDATES, v1.WatchKind_WATCH_KIND_INCLUDE_CHECKPOINTS},
	})
	if err != nil {
		return fmt.Errorf("starting the revocation watch: %w", err)
	}
	if vouch {
		t.validity.start(order, start)
	}
	t.validity.watches.Add(1)
	stalled := make(chan struct{})
	limit := t.validity.stallLimit
	go func() {
		tick := time.NewTicker(min(time.Second, limit/4))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if t.validity.stalledFor(time.Now()) > limit {
					close(stalled)
					cancel()
					return
				}
			}
		}
	}()
	for {
		msg, err := stream.Recv()
		if err != nil {
			select {
			case <-stalled:
				return fmt.Errorf("following the revocation watch: no change shown for %s past a revision decisions waited for", limit)
			default:
			}
			return fmt.Errorf("following the revocation watch: %w", err)
		}
		if msg.GetSchemaUpdated() {
			return errSchemaChanged
		}
		if !vouch {
			continue
		}
		rev, err := order(msg.GetChangesThrough())
		if err != nil {
			return fmt.Errorf("following the revocation watch: %w", err)
		}
		// Any change, not only a deletion: a touch can shorten an
		// expiry (a refresh rewrites its family's switch).
		var changed []string
		for _, u := range msg.GetUpdates() {
			res := u.GetRelationship().GetResource()
			changed = append(changed, dependency(res.GetObjectType(), res.GetObjectId()))
		}
		t.validity.observe(rev, changed)
	}
}

// dependency names an object a token's validity depends on.
func dependency(typ, id string) string { return typ + ":" + id }

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

// validItem asks whether an access token is valid.
func validItem(hash string) *v1.CheckBulkPermissionsRequestItem {
	return &v1.CheckBulkPermissionsRequestItem{Resource: obj(typeAccessToken, hash), Permission: permValid, Subject: flagSubject()}
}

// rememberValid remembers that SpiceDB found an access token valid at
// revision at, until the token expires (the first expiry on its validity
// path: see familyExpiry) or a change on an object it depends on. Its
// dependencies are the objects whose relationships its schema permission
// valid is made of: the token and its parents, its refresh family, its app
// grant and that grant's app, and its user's token session.
func (t *Tokens) rememberValid(ctx context.Context, meta *tokenMeta, now time.Time, at *v1.ZedToken) {
	if !t.validity.running() {
		return
	}
	var deps []string
	for m, n := meta, 0; ; n++ {
		// A downscoped token shares its parent's family and grant, as
		// boxauthz writes them; each is named all the same, so that what
		// is remembered follows the relationships, not that rule.
		app, ok := grantApp(m.grant)
		if m.irregular || !ok {
			return
		}
		for _, d := range []string{dependency(typeAccessToken, m.hash), dependency(typeFamily, m.family), dependency(typeAppGrant, m.grant), dependency(typeApp, app), dependency(typeSession, m.session)} {
			if !slices.Contains(deps, d) {
				deps = append(deps, d)
			}
		}
		if m.parent == "" {
			break
		}
		if n == maxDownscopeDepth {
			return
		}
		p, ok, err := t.accessByHash(ctx, m.parent)
		if err != nil || !ok {
			return
		}
		m = p
	}
	t.validity.remember(meta.hash, meta.expires, deps, now, at)
}
