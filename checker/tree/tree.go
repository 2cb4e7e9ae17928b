package tree

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	gosync "sync"
	"sync/atomic"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"

	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/rel"
)

// Client is what the index needs of SpiceDB.
type Client interface {
	CheckPermission(ctx context.Context, in *v1.CheckPermissionRequest, opts ...grpc.CallOption) (*v1.CheckPermissionResponse, error)
	ReadRelationships(ctx context.Context, in *v1.ReadRelationshipsRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[v1.ReadRelationshipsResponse], error)
	Watch(ctx context.Context, in *v1.WatchRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[v1.WatchResponse], error)
}

// Index maps every item's placement key to its parent's ("" at the top
// level), and knows which items are in the trash. It is a hint for chain
// checks, which confirm each chain in SpiceDB as they ask it: an index
// behind SpiceDB makes checks slower, never wrong. Lookups read it only at
// a revision it is known to stand at exactly (Read).
type Index struct {
	client   Client
	logger   *slog.Logger
	pageSize uint32
	retry    time.Duration

	mu gosync.RWMutex
	f  *forest
	// at is the revision the index has applied every change through (the
	// load's, then each checkpoint's); changedAt the first checkpoint after
	// the last change; pending is set between a change and that checkpoint.
	at, changedAt *v1.ZedToken
	pending       bool
	advanced      chan struct{} // closed and replaced at each checkpoint
	loaded        atomic.Bool
}

// New returns an empty index of c's placements; Run fills it.
func New(c Client, opts ...Option) *Index {
	x := &Index{
		client: c, logger: slog.New(slog.DiscardHandler), pageSize: DefaultPageSize, retry: DefaultRetry,
		f: newForest(), advanced: make(chan struct{}),
	}
	for _, o := range opts {
		o(x)
	}
	return x
}

// Ready reports whether the index has loaded once.
func (x *Index) Ready() bool { return x.loaded.Load() }

// Len is how many items the index places.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.f.placed
}

// Chain returns key and the keys of every folder above it, up to a
// top-level folder; ok is false when the index does not place one of them.
func (x *Index) Chain(key string) ([]string, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.f.chain(key)
}

// Run loads the index and follows SpiceDB's changes until ctx ends, loading
// again after any failure. It returns ctx's error.
func (x *Index) Run(ctx context.Context) error {
	wait := x.retry
	for {
		err := x.follow(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		x.logger.Warn("the folder tree index stopped following spicedb; loading it again", slog.Any("error", err), slog.Duration("after", wait))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, MaxRetry)
	}
}

// follow loads every placement at one revision and applies the changes
// after it, until the watch fails.
func (x *Index) follow(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	began := time.Now()
	// A fully consistent answer's revision: the load reads exactly it, and
	// the watch shows every change after it.
	resp, err := x.client.CheckPermission(ctx, &v1.CheckPermissionRequest{
		Consistency: rel.FullyConsistent(),
		Resource:    rel.RawObject(schema.TypeFolder, "tree-start"), Permission: schema.RelationPlacement,
		Subject: rel.RawSubject(schema.TypeUser, schema.AnonymousUser),
	})
	if err != nil {
		return fmt.Errorf("finding the revision to load the folder tree at: %w", err)
	}
	at := resp.GetCheckedAt()
	f, trashed := newForest(), 0
	for _, typ := range []string{schema.TypeFolder, schema.TypeFile} {
		if err := x.load(ctx, typ, schema.RelationPlacement, at, func(r *v1.Relationship) {
			if self, p, ok := rel.PlacedUnder(r); ok {
				f.place(self, p)
			}
		}); err != nil {
			return err
		}
		if err := x.load(ctx, typ, schema.RelationTrashed, at, func(r *v1.Relationship) {
			f.setTrashed(rel.PlacementKey(typ, r.GetResource().GetObjectId()), true)
			trashed++
		}); err != nil {
			return err
		}
	}
	x.mu.Lock()
	x.f = f
	x.at, x.changedAt, x.pending = at, at, false
	x.mu.Unlock()
	x.loaded.Store(true)
	x.logger.Info("folder tree index loaded", slog.Int("items", f.placed), slog.Int("trashed", trashed), slog.Duration("took", time.Since(began)))

	var filters []*v1.RelationshipFilter
	for _, typ := range []string{schema.TypeFolder, schema.TypeFile} {
		for _, relation := range []string{schema.RelationPlacement, schema.RelationTrashed} {
			filters = append(filters, &v1.RelationshipFilter{ResourceType: typ, OptionalRelation: relation})
		}
	}
	stream, err := x.client.Watch(ctx, &v1.WatchRequest{
		OptionalStartCursor:         at,
		OptionalRelationshipFilters: filters,
		// Checkpoints tell the revision the index stands at even while
		// nothing it follows changes.
		OptionalUpdateKinds: []v1.WatchKind{
			v1.WatchKind_WATCH_KIND_INCLUDE_RELATIONSHIP_UPDATES, v1.WatchKind_WATCH_KIND_INCLUDE_SCHEMA_UPDATES,
			v1.WatchKind_WATCH_KIND_INCLUDE_CHECKPOINTS,
		},
	})
	if err != nil {
		x.unsettle()
		return fmt.Errorf("watching the folder tree: %w", err)
	}
	for {
		msg, err := stream.Recv()
		if err != nil {
			x.unsettle()
			return fmt.Errorf("watching the folder tree: %w", err)
		}
		if msg.GetSchemaUpdated() {
			x.unsettle()
			return errSchemaChanged
		}
		x.apply(msg.GetUpdates())
		if msg.GetIsCheckpoint() {
			x.checkpoint(msg.GetChangesThrough())
		}
	}
}

// unsettle marks the index as standing at no known revision, until it has
// loaded again: it may miss changes meanwhile.
func (x *Index) unsettle() {
	x.mu.Lock()
	x.pending = true
	x.mu.Unlock()
}

// checkpoint records that every change through at has been applied.
func (x *Index) checkpoint(at *v1.ZedToken) {
	if at == nil {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.at = at
	if x.pending {
		x.changedAt, x.pending = at, false
	}
	close(x.advanced)
	x.advanced = make(chan struct{})
}

// load reads every relationship of typ and relation at revision at into
// keep.
func (x *Index) load(ctx context.Context, typ, relation string, at *v1.ZedToken, keep func(*v1.Relationship)) error {
	var cursor *v1.Cursor
	for {
		stream, err := x.client.ReadRelationships(ctx, &v1.ReadRelationshipsRequest{
			Consistency:        &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: at}},
			RelationshipFilter: &v1.RelationshipFilter{ResourceType: typ, OptionalRelation: relation},
			OptionalLimit:      x.pageSize,
			OptionalCursor:     cursor,
		})
		if err != nil {
			return fmt.Errorf("loading the folder tree (%s %s): %w", typ, relation, err)
		}
		n := uint32(0)
		for {
			r, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("loading the folder tree (%s %s): %w", typ, relation, err)
			}
			n++
			cursor = r.GetAfterResultCursor()
			keep(r.GetRelationship())
		}
		if n < x.pageSize {
			return nil
		}
	}
}

// apply applies one revision's changes to placements and the trash.
func (x *Index) apply(ups []*v1.RelationshipUpdate) {
	if len(ups) == 0 {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.pending = true
	for _, u := range ups {
		r := u.GetRelationship()
		key := rel.PlacementKey(r.GetResource().GetObjectType(), r.GetResource().GetObjectId())
		deleted := u.GetOperation() == v1.RelationshipUpdate_OPERATION_DELETE
		if r.GetRelation() == schema.RelationTrashed {
			x.f.setTrashed(key, !deleted)
			continue
		}
		self, p, ok := rel.PlacedUnder(r)
		if deleted || !ok {
			// Deleted, or not a placement sync writes: the index does not
			// place the item, and its checks go the recursive way.
			x.f.unplace(key)
			continue
		}
		if self != key {
			x.f.unplace(key)
		}
		x.f.place(self, p)
	}
}
