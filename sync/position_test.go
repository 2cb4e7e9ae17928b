package sync_test

import (
	"context"
	"errors"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/sync"
)

func TestSetPosition(t *testing.T) {
	for _, ds := range testenv.Datastores() {
		t.Run(string(ds), func(t *testing.T) {
			ctx := context.Background()
			a := sync.NewApplier(testenv.SpiceDB(t, ds))
			const src = "file:/tmp/set.jsonl"
			if err := a.SetPosition(ctx, src, "5", "10"); !errors.Is(err, sync.ErrPositionMoved) {
				t.Fatalf("set from a position never committed: %v, want ErrPositionMoved", err)
			}
			if err := a.SetPosition(ctx, src, "", "10"); err != nil {
				t.Fatalf("first set: %v", err)
			}
			if err := a.SetPosition(ctx, src, "", "20"); !errors.Is(err, sync.ErrPositionMoved) {
				t.Fatalf("set from none once one is committed: %v, want ErrPositionMoved", err)
			}
			if err := a.SetPosition(ctx, src, "10", "f2|20|1|2|3|abc"); err != nil {
				t.Fatalf("second set: %v", err)
			}
			if got, err := a.Position(ctx, src); err != nil || got != "f2|20|1|2|3|abc" {
				t.Fatalf("position = %q (%v), want the one set", got, err)
			}
			if err := a.SetPosition(ctx, src, "f2|20|1|2|3|abc", "bad position"); err == nil || errors.Is(err, sync.ErrPositionMoved) {
				t.Fatalf("set to an invalid position: %v, want a validation error", err)
			}
			if err := a.SetPosition(ctx, "", "", "1"); !errors.Is(err, sync.ErrNoSource) {
				t.Fatalf("set without a source: %v, want ErrNoSource", err)
			}
		})
	}
}

// racingWrites moves the position with another Applier just before
// passing the write on, as a writer committing between the read and the
// write of SetPosition would.
type racingWrites struct {
	*spicedb.Client
	other *sync.Applier
	done  bool
}

func (r *racingWrites) WriteRelationships(ctx context.Context, in *v1.WriteRelationshipsRequest, opts ...grpc.CallOption) (*v1.WriteRelationshipsResponse, error) {
	if !r.done {
		r.done = true
		if err := r.other.SetPosition(ctx, "stdin", "1", "2"); err != nil {
			return nil, err
		}
	}
	return r.Client.WriteRelationships(ctx, in, opts...)
}

func TestSetPositionRefusesAPositionMovedMeanwhile(t *testing.T) {
	for _, ds := range testenv.Datastores() {
		t.Run(string(ds), func(t *testing.T) {
			ctx := context.Background()
			c := testenv.SpiceDB(t, ds)
			other := sync.NewApplier(c)
			if err := other.SetPosition(ctx, "stdin", "", "1"); err != nil {
				t.Fatal(err)
			}
			a := sync.NewApplier(&racingWrites{Client: c, other: other})
			if err := a.SetPosition(ctx, "stdin", "1", "9"); !errors.Is(err, sync.ErrPositionMoved) {
				t.Fatalf("set racing another writer: %v, want ErrPositionMoved", err)
			}
			if got, err := other.Position(ctx, "stdin"); err != nil || got != "2" {
				t.Fatalf("position = %q (%v), want the other writer's 2", got, err)
			}
		})
	}
}
