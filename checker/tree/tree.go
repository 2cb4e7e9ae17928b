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
// level). It is a hint for chain checks, which confirm each chain in SpiceDB
// as they ask it: an index behind SpiceDB makes checks slower, never wrong.
type Index struct {
	client   Client
	logger   *slog.Logger
	pageSize uint32
	retry    time.Duration

	mu     gosync.RWMutex
	parent map[string]string
	loaded atomic.Bool
}

// New returns an empty index of c's placements; Run fills it.
func New(c Client, opts ...Option) *Index {
	x := &Index{client: c, logger: slog.New(slog.DiscardHandler), pageSize: DefaultPageSize, retry: DefaultRetry, parent: map[string]string{}}
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
	return len(x.parent)
}

// Chain returns key and the keys of every folder above it, up to a
// top-level folder; ok is false when the index does not place one of them.
func (x *Index) Chain(key string) ([]string, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]string, 1, 32)
	out[0] = key
	for cur := key; len(out) <= MaxDepth; {
		p, ok := x.parent[cur]
		if !ok {
			return nil, false
		}
		if p == "" {
			return out, true
		}
		out = append(out, p)
		cur = p
	}
	return nil, false
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
	parent := map[string]string{}
	for _, typ := range []string{schema.TypeFolder, schema.TypeFile} {
		if err := x.load(ctx, typ, at, parent); err != nil {
			return err
		}
	}
	x.mu.Lock()
	x.parent = parent
	x.mu.Unlock()
	x.loaded.Store(true)
	x.logger.Info("folder tree index loaded", slog.Int("items", len(parent)), slog.Duration("took", time.Since(began)))

	stream, err := x.client.Watch(ctx, &v1.WatchRequest{
		OptionalStartCursor: at,
		OptionalRelationshipFilters: []*v1.RelationshipFilter{
			{ResourceType: schema.TypeFolder, OptionalRelation: schema.RelationPlacement},
			{ResourceType: schema.TypeFile, OptionalRelation: schema.RelationPlacement},
		},
		OptionalUpdateKinds: []v1.WatchKind{
			v1.WatchKind_WATCH_KIND_INCLUDE_RELATIONSHIP_UPDATES, v1.WatchKind_WATCH_KIND_INCLUDE_SCHEMA_UPDATES,
		},
	})
	if err != nil {
		return fmt.Errorf("watching the folder tree: %w", err)
	}
	for {
		msg, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("watching the folder tree: %w", err)
		}
		if msg.GetSchemaUpdated() {
			return errSchemaChanged
		}
		x.apply(msg.GetUpdates())
	}
}

// load reads every placement of typ at revision at into parent.
func (x *Index) load(ctx context.Context, typ string, at *v1.ZedToken, parent map[string]string) error {
	var cursor *v1.Cursor
	for {
		stream, err := x.client.ReadRelationships(ctx, &v1.ReadRelationshipsRequest{
			Consistency:        &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: at}},
			RelationshipFilter: &v1.RelationshipFilter{ResourceType: typ, OptionalRelation: schema.RelationPlacement},
			OptionalLimit:      x.pageSize,
			OptionalCursor:     cursor,
		})
		if err != nil {
			return fmt.Errorf("loading the folder tree (%s placements): %w", typ, err)
		}
		n := uint32(0)
		for {
			r, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("loading the folder tree (%s placements): %w", typ, err)
			}
			n++
			cursor = r.GetAfterResultCursor()
			if self, p, ok := rel.PlacedUnder(r.GetRelationship()); ok {
				parent[self] = p
			}
		}
		if n < x.pageSize {
			return nil
		}
	}
}

// apply applies one revision's changes to placements.
func (x *Index) apply(ups []*v1.RelationshipUpdate) {
	if len(ups) == 0 {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, u := range ups {
		r := u.GetRelationship()
		key := rel.PlacementKey(r.GetResource().GetObjectType(), r.GetResource().GetObjectId())
		if u.GetOperation() == v1.RelationshipUpdate_OPERATION_DELETE {
			delete(x.parent, key)
			continue
		}
		if self, p, ok := rel.PlacedUnder(r); ok {
			x.parent[self] = p
		} else {
			// Not a placement sync writes: the index does not place the
			// item, and its checks go the recursive way.
			delete(x.parent, key)
		}
	}
}
