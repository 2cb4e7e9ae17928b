package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"

	"github.com/boxauthz/boxauthz/schema/rel"
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
	resp, err := t.client.CheckPermission(ctx, &v1.CheckPermissionRequest{
		Consistency: rel.FullyConsistent(),
		Resource:    rel.RawObject(typeAccessToken, "watch-start"), Permission: permValid, Subject: flagOnSubject(),
	})
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
	diffs, err := validityDifferences(sch.GetSchemaText())
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
		OptionalUpdateKinds: []v1.WatchKind{
			v1.WatchKind_WATCH_KIND_INCLUDE_RELATIONSHIP_UPDATES,
			v1.WatchKind_WATCH_KIND_INCLUDE_SCHEMA_UPDATES, v1.WatchKind_WATCH_KIND_INCLUDE_CHECKPOINTS,
		},
	})
	if err != nil {
		return fmt.Errorf("starting the revocation watch: %w", err)
	}
	if vouch {
		t.validity.start(order, start)
	}
	t.validity.watches.Add(1)
	limit := t.validity.stallLimit
	stalled := t.validity.guardStall(ctx, cancel, limit)
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
		// expiry (a refresh rewrites its family's flag).
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

// validItem asks whether an access token is valid.
func validItem(hash string) *v1.CheckBulkPermissionsRequestItem {
	return &v1.CheckBulkPermissionsRequestItem{Resource: rel.RawObject(typeAccessToken, hash), Permission: permValid, Subject: flagOnSubject()}
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

// guardStall cancels a watch that stays behind a revision decisions waited
// for longer than limit, closing the channel it returns first.
func (v *validity) guardStall(ctx context.Context, cancel context.CancelFunc, limit time.Duration) <-chan struct{} {
	stalled := make(chan struct{})
	go func() {
		tick := time.NewTicker(min(time.Second, limit/4))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if v.stalledFor(time.Now()) > limit {
					close(stalled)
					cancel()
					return
				}
			}
		}
	}()
	return stalled
}
