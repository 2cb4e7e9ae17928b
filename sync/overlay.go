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
	// log is every change in the order it was made; an event's changes are
	// log[start:] from where the event began, so a batch can be split into
	// writes at event boundaries and each write replays its slice.
	log []change
}

type change struct {
	rel     *v1.Relationship
	deleted bool
}

func newOverlay(base Reader) *overlay {
	return &overlay{base: base, changes: map[string]change{}}
}

func (o *overlay) set(r *v1.Relationship, deleted bool) {
	c := change{rel: r, deleted: deleted}
	o.changes[key(r)] = c
	o.log = append(o.log, c)
}

// mark is where the next event's changes will start in the log.
func (o *overlay) mark() int { return len(o.log) }

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
	for _, lc := range o.log {
		k := key(lc.rel)
		c := o.changes[k]
		if !c.deleted && !seen[k] && matches(f, c.rel) {
			seen[k] = true
			out = append(out, c.rel)
		}
	}
	return out, nil
}

// updates turns a slice of the change log into SpiceDB updates, the last
// change of each relationship winning (SpiceDB refuses two updates of one
// relationship in a call), in the order each relationship was first changed.
func updates(log []change) []*v1.RelationshipUpdate {
	last := map[string]int{}
	var order []string
	for i, c := range log {
		k := key(c.rel)
		if _, ok := last[k]; !ok {
			order = append(order, k)
		}
		last[k] = i
	}
	out := make([]*v1.RelationshipUpdate, 0, len(order))
	for _, k := range order {
		c := log[last[k]]
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
