package sync

import (
	"context"
	"errors"
	"fmt"
	"io"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"
)

// Reader reads relationships from SpiceDB.
type Reader interface {
	ReadRelationships(ctx context.Context, in *v1.ReadRelationshipsRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[v1.ReadRelationshipsResponse], error)
}

// overlay is SpiceDB as it will be once the batch being built is written:
// what SpiceDB holds now, with the batch's pending changes on top. Events
// later in a batch see the effects of earlier ones through it.
type overlay struct {
	base    Reader
	changes map[string]change
	order   []string // keys in first-change order, so writes are deterministic
}

type change struct {
	rel     *v1.Relationship
	deleted bool
}

func newOverlay(base Reader) *overlay {
	return &overlay{base: base, changes: map[string]change{}}
}

func (o *overlay) set(r *v1.Relationship, deleted bool) {
	k := key(r)
	if _, ok := o.changes[k]; !ok {
		o.order = append(o.order, k)
	}
	o.changes[k] = change{rel: r, deleted: deleted}
}

func (o *overlay) touch(r *v1.Relationship)  { o.set(r, false) }
func (o *overlay) delete(r *v1.Relationship) { o.set(r, true) }

// read returns the relationships matching f as they will be after the batch.
func (o *overlay) read(ctx context.Context, f *v1.RelationshipFilter) ([]*v1.Relationship, error) {
	stream, err := o.base.ReadRelationships(ctx, &v1.ReadRelationshipsRequest{
		Consistency:        &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
		RelationshipFilter: f,
	})
	if err != nil {
		return nil, fmt.Errorf("reading relationships %s: %w", describe(f), err)
	}
	var out []*v1.Relationship
	seen := map[string]bool{}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading relationships %s: %w", describe(f), err)
		}
		r := resp.GetRelationship()
		k := key(r)
		seen[k] = true
		if c, ok := o.changes[k]; ok {
			if c.deleted {
				continue
			}
			r = c.rel
		}
		out = append(out, r)
	}
	for _, k := range o.order {
		c := o.changes[k]
		if !c.deleted && !seen[k] && matches(f, c.rel) {
			out = append(out, c.rel)
		}
	}
	return out, nil
}

// updates is the batch as SpiceDB updates, in first-change order.
func (o *overlay) updates() []*v1.RelationshipUpdate {
	out := make([]*v1.RelationshipUpdate, 0, len(o.order))
	for _, k := range o.order {
		c := o.changes[k]
		op := v1.RelationshipUpdate_OPERATION_TOUCH
		if c.deleted {
			op = v1.RelationshipUpdate_OPERATION_DELETE
		}
		out = append(out, &v1.RelationshipUpdate{Operation: op, Relationship: c.rel})
	}
	return out
}

func describe(f *v1.RelationshipFilter) string {
	s := f.GetResourceType()
	if f.GetOptionalResourceId() != "" {
		s += ":" + f.GetOptionalResourceId()
	}
	if f.GetOptionalRelation() != "" {
		s += "#" + f.GetOptionalRelation()
	}
	if sf := f.GetOptionalSubjectFilter(); sf != nil {
		s += "@" + sf.GetSubjectType()
		if sf.GetOptionalSubjectId() != "" {
			s += ":" + sf.GetOptionalSubjectId()
		}
	}
	return s
}
