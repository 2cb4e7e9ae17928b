package spicedb_test

import (
	"context"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
)

func TestSettle(t *testing.T) {
	c := testenv.SpiceDB(t, testenv.Memory)
	ctx := context.Background()
	rel := func(user string) *v1.Relationship {
		return &v1.Relationship{
			Resource: &v1.ObjectReference{ObjectType: "user", ObjectId: user},
			Relation: "exists",
			Subject:  &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "*"}},
		}
	}
	touch := func(r *v1.Relationship) *v1.RelationshipUpdate {
		return &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: r}
	}
	del := func(r *v1.Relationship) *v1.RelationshipUpdate {
		return &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_DELETE, Relationship: r}
	}
	ups := []*v1.RelationshipUpdate{touch(rel("ann")), touch(rel("ben"))}
	if _, err := c.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: ups}); err != nil {
		t.Fatal(err)
	}
	if err := spicedb.Settle(ctx, c, ups...); err != nil {
		t.Fatalf("settling a write that happened: %v", err)
	}
	if err := spicedb.Settle(ctx, c, del(rel("cid"))); err != nil {
		t.Fatalf("settling the delete of what is not there: %v", err)
	}
	err := spicedb.Settle(ctx, c, touch(rel("ann")), touch(rel("dan")))
	if err == nil || !strings.Contains(err.Error(), "user:dan") {
		t.Fatalf("settling a write that never happened: got %v, want an error naming user:dan", err)
	}
	err = spicedb.Settle(ctx, c, del(rel("ben")))
	if err == nil || !strings.Contains(err.Error(), "user:ben") {
		t.Fatalf("settling a delete that never happened: got %v, want an error naming user:ben", err)
	}
	if err := spicedb.SettleFilter(ctx, c, &v1.RelationshipFilter{ResourceType: "user", OptionalResourceId: "cid"}, false); err != nil {
		t.Fatalf("settling an empty filter as gone: %v", err)
	}
	if err := spicedb.SettleFilter(ctx, c, &v1.RelationshipFilter{ResourceType: "user", OptionalResourceId: "ann"}, false); err == nil {
		t.Fatal("settling a filter that matches as gone: want an error")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := spicedb.Settle(cctx, c, touch(rel("dan"))); err == nil {
		t.Fatal("settling with a cancelled context: want an error")
	}
}
