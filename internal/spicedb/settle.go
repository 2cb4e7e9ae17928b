package spicedb

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
)

// Why settling exists: SpiceDB (v1.56) answers a fully consistent request at
// the head revision, and it shares one head-revision lookup among the
// requests that arrive while a lookup is under way (a singleflight in its
// datastore proxy, whose entry lives on until its last waiter leaves). So a
// request that starts after a write returned can still be answered at the
// revision before the write. Once one fully consistent read shows the write,
// though, the lookup it shared is newer than the write, and no later request
// to that SpiceDB can join an older one. A writer that settles before it
// returns therefore gives its callers what "fully consistent" promises: every
// request that starts afterwards sees the write.

const (
	settleAttempts  = 12
	settleFirstWait = 500 * time.Microsecond
)

// Settle returns once a fully consistent read shows updates, just written:
// each touched or created relationship there (whatever its caveat or
// expiry) and each deleted one gone. Callers pass the updates that changed
// something (a touch of what was there already proves nothing); it reads
// each resource object they name once per attempt, again with growing waits
// (about 1 s in all) until the write shows, and fails if it never does.
func Settle(ctx context.Context, r RelationshipReader, updates ...*v1.RelationshipUpdate) error {
	type object struct{ typ, id string }
	var order []object
	byObject := map[object][]*v1.RelationshipUpdate{}
	for _, u := range updates {
		o := object{u.GetRelationship().GetResource().GetObjectType(), u.GetRelationship().GetResource().GetObjectId()}
		if _, ok := byObject[o]; !ok {
			order = append(order, o)
		}
		byObject[o] = append(byObject[o], u)
	}
	for _, o := range order {
		f := &v1.RelationshipFilter{ResourceType: o.typ, OptionalResourceId: o.id}
		err := settle(ctx, r, f, 0, func(rels []*v1.Relationship) bool {
			have := make(map[string]bool, len(rels))
			for _, rel := range rels {
				have[relationshipKey(rel)] = true
			}
			for _, u := range byObject[o] {
				if have[relationshipKey(u.GetRelationship())] == (u.GetOperation() == v1.RelationshipUpdate_OPERATION_DELETE) {
					return false
				}
			}
			return true
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// SettleFilter returns once a fully consistent read finds f matching
// something (present) or nothing (!present); see Settle.
func SettleFilter(ctx context.Context, r RelationshipReader, f *v1.RelationshipFilter, present bool) error {
	return settle(ctx, r, f, 1, func(rels []*v1.Relationship) bool { return (len(rels) > 0) == present })
}

// settle reads what f matches (at most limit, 0 for all), fully consistent,
// until shows says the write is visible.
func settle(ctx context.Context, r RelationshipReader, f *v1.RelationshipFilter, limit uint32, shows func([]*v1.Relationship) bool) error {
	wait := settleFirstWait
	for attempt := 1; ; attempt++ {
		rels, _, err := ReadAll(ctx, r, &v1.ReadRelationshipsRequest{
			Consistency:        &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
			RelationshipFilter: f,
			OptionalLimit:      limit,
		})
		if err != nil {
			return fmt.Errorf("reading back a write (%s): %w", describeFilter(f), err)
		}
		if shows(rels) {
			return nil
		}
		if attempt == settleAttempts {
			return fmt.Errorf("reading back a write: %s does not show it after %d fully consistent reads; spicedb answers from before the write, or another writer changed it since", describeFilter(f), attempt)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("reading back a write (%s): %w", describeFilter(f), ctx.Err())
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func describeFilter(f *v1.RelationshipFilter) string {
	s := f.GetResourceType()
	if id := f.GetOptionalResourceId(); id != "" {
		s += ":" + id
	}
	if rel := f.GetOptionalRelation(); rel != "" {
		s += "#" + rel
	}
	if sf := f.GetOptionalSubjectFilter(); sf != nil {
		s += "@" + sf.GetSubjectType()
		if id := sf.GetOptionalSubjectId(); id != "" {
			s += ":" + id
		}
	}
	return s
}

func relationshipKey(r *v1.Relationship) string {
	return r.GetResource().GetObjectType() + ":" + r.GetResource().GetObjectId() + "#" + r.GetRelation() + "@" +
		r.GetSubject().GetObject().GetObjectType() + ":" + r.GetSubject().GetObject().GetObjectId() + "#" + r.GetSubject().GetOptionalRelation()
}
