package sync

import (
	"context"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"

	"github.com/boxauthz/boxauthz/schema/rel"
)

// Reader reads relationships from SpiceDB.
type Reader interface {
	ReadRelationships(ctx context.Context, in *v1.ReadRelationshipsRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[v1.ReadRelationshipsResponse], error)
}

// overlay is SpiceDB as it will be once the batch being built is written:
// what SpiceDB holds now, with the batch's pending changes on top. Events
// later in a batch see the effects of earlier ones through it.
type overlay struct {
	base    *store
	changes map[string]change
	// log is every change in the order it was made; an event's changes are
	// log[start:] from where the event began, so a batch can be split into
	// writes at event boundaries and each write replays its slice.
	log []change
	// Indexes of changed keys, so a read looks only at changes that can
	// match it: a batch of memberships of one group reads each member's
	// relationship with the group, and must not look through every change
	// the batch made to the group (that made such a batch quadratic).
	byObject, byObjectRelation, byPair, bySubject, byType map[string][]string
}

type change struct {
	rel     *v1.Relationship
	deleted bool
}

func newOverlay(base *store) *overlay {
	return &overlay{
		base: base, changes: map[string]change{},
		byObject: map[string][]string{}, byObjectRelation: map[string][]string{}, byPair: map[string][]string{},
		bySubject: map[string][]string{}, byType: map[string][]string{},
	}
}

func (o *overlay) set(r *v1.Relationship, deleted bool) {
	c := change{rel: r, deleted: deleted}
	k := rel.Key(r)
	if _, ok := o.changes[k]; !ok {
		res, sub := r.GetResource(), r.GetSubject().GetObject()
		ok := objectKey(res.GetObjectType(), res.GetObjectId())
		rk := reverseKey(res.GetObjectType(), sub.GetObjectType(), sub.GetObjectId())
		o.byObject[ok] = append(o.byObject[ok], k)
		o.byObjectRelation[ok+"#"+r.GetRelation()] = append(o.byObjectRelation[ok+"#"+r.GetRelation()], k)
		o.byPair[ok+"|"+rk] = append(o.byPair[ok+"|"+rk], k)
		o.bySubject[rk] = append(o.bySubject[rk], k)
		o.byType[res.GetObjectType()] = append(o.byType[res.GetObjectType()], k)
	}
	o.changes[k] = c
	o.log = append(o.log, c)
}

// mark is where the next event's changes will start in the log.
func (o *overlay) mark() int { return len(o.log) }

func (o *overlay) touch(r *v1.Relationship)  { o.set(r, false) }
func (o *overlay) delete(r *v1.Relationship) { o.set(r, true) }

// read returns the relationships matching f as they will be after the batch.
func (o *overlay) read(ctx context.Context, f *v1.RelationshipFilter) ([]*v1.Relationship, error) {
	return o.readAs(ctx, f, false)
}

// readFresh reads as read does, but never from the catalogue's guesses.
func (o *overlay) readFresh(ctx context.Context, f *v1.RelationshipFilter) ([]*v1.Relationship, error) {
	return o.readAs(ctx, f, true)
}

func (o *overlay) readAs(ctx context.Context, f *v1.RelationshipFilter, fresh bool) ([]*v1.Relationship, error) {
	base, err := o.base.read(ctx, f, fresh)
	if err != nil {
		return nil, err
	}
	var out []*v1.Relationship
	seen := map[string]bool{}
	for _, r := range base {
		k := rel.Key(r)
		seen[k] = true
		if c, ok := o.changes[k]; ok {
			if c.deleted {
				continue
			}
			r = c.rel
		}
		out = append(out, r)
	}
	var candidates []string
	ok := objectKey(f.GetResourceType(), f.GetOptionalResourceId())
	sf := f.GetOptionalSubjectFilter()
	rk := reverseKey(f.GetResourceType(), sf.GetSubjectType(), sf.GetOptionalSubjectId())
	exact, isExact := exactKey(f)
	switch {
	case isExact:
		if _, changed := o.changes[exact]; changed {
			candidates = []string{exact}
		}
	case f.GetOptionalResourceId() != "" && sf.GetOptionalSubjectId() != "":
		candidates = o.byPair[ok+"|"+rk]
	case f.GetOptionalResourceId() != "" && f.GetOptionalRelation() != "":
		candidates = o.byObjectRelation[ok+"#"+f.GetOptionalRelation()]
	case f.GetOptionalResourceId() != "":
		candidates = o.byObject[ok]
	case sf.GetOptionalSubjectId() != "":
		candidates = o.bySubject[rk]
	default:
		candidates = o.byType[f.GetResourceType()]
	}
	for _, k := range candidates {
		c := o.changes[k]
		if !c.deleted && !seen[k] && rel.Matches(f, c.rel) {
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
		k := rel.Key(c.rel)
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
