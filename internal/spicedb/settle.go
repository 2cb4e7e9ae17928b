package spicedb

import (
	"context"
	"errors"
	"fmt"
	gosync "sync"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/boxauthz/boxauthz/schema/rel"
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
//
// A reader that reaches several nodes of one SpiceDB (Nodes, a Client dialed
// with several endpoints) is settled through each node at once, since each
// node shares its head-revision lookups on its own. A node that answers
// Unavailable is passed over; at least one must answer.
func Settle(ctx context.Context, r RelationshipReader, updates ...*v1.RelationshipUpdate) error {
	return onEveryNode(ctx, r, func(ctx context.Context, r RelationshipReader) error {
		return settleUpdates(ctx, r, updates)
	})
}

func settleUpdates(ctx context.Context, r RelationshipReader, updates []*v1.RelationshipUpdate) error {
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
			for _, r := range rels {
				have[rel.Key(r)] = true
			}
			for _, u := range byObject[o] {
				if have[rel.Key(u.GetRelationship())] == (u.GetOperation() == v1.RelationshipUpdate_OPERATION_DELETE) {
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
	return onEveryNode(ctx, r, func(ctx context.Context, r RelationshipReader) error {
		return settle(ctx, r, f, 1, func(rels []*v1.Relationship) bool { return (len(rels) > 0) == present })
	})
}

// onEveryNode runs settle through r, or, when r reaches several nodes, through
// each node at once. A node that answers Unavailable (stopped, restarting,
// unreachable) is passed over: it answers no request now, and one that
// restarts begins with nothing shared from before the write. The write must
// show on every node that answers, and at least one must answer.
func onEveryNode(ctx context.Context, r RelationshipReader, settle func(context.Context, RelationshipReader) error) error {
	n, ok := r.(Nodes)
	if !ok {
		return settle(ctx, r)
	}
	nodes := n.Nodes()
	if len(nodes) == 0 {
		return settle(ctx, r)
	}
	errs := make([]error, len(nodes))
	var wg gosync.WaitGroup
	for i, node := range nodes {
		wg.Go(func() {
			if err := settle(ctx, node); err != nil {
				errs[i] = fmt.Errorf("spicedb node %s: %w", node.Endpoint, err)
			}
		})
	}
	wg.Wait()
	var failed, down []error
	for _, err := range errs {
		switch {
		case err == nil:
		case status.Code(err) == codes.Unavailable:
			down = append(down, err)
		default:
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 {
		return errors.Join(failed...)
	}
	if len(down) == len(nodes) {
		return fmt.Errorf("reading back a write: no spicedb node answers: %w", errors.Join(down...))
	}
	return nil
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
			return fmt.Errorf("reading back a write (%s): %w", rel.FilterString(f), err)
		}
		if shows(rels) {
			return nil
		}
		if attempt == settleAttempts {
			return fmt.Errorf("reading back a write: %s does not show it after %d fully consistent reads; spicedb answers from before the write, or another writer changed it since", rel.FilterString(f), attempt)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("reading back a write (%s): %w", rel.FilterString(f), ctx.Err())
		case <-time.After(wait):
		}
		wait *= 2
	}
}
