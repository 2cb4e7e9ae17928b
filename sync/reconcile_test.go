package sync_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/internal/testenv"
	"github.com/boxauthz/boxauthz/sync"
)

func TestReconcileRepairsDrift(t *testing.T) {
	ctx := context.Background()
	c := testenv.SpiceDB(t, testenv.Memory)
	state := append(append([]string{}, baseTree...), collabB)
	if _, err := sync.NewApplier(c).Apply(ctx, decode(t, state...)); err != nil {
		t.Fatal(err)
	}
	want := export(t, c)

	// Drift: a grant nobody made, and a lost parent.
	stray := &v1.Relationship{Resource: &v1.ObjectReference{ObjectType: "folder", ObjectId: "a"}, Relation: "editor",
		Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "mallory"}}}
	lost := &v1.Relationship{Resource: &v1.ObjectReference{ObjectType: "file", ObjectId: "x"}, Relation: "parent",
		Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "folder", ObjectId: "c"}}}
	if _, err := c.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{
		{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: stray},
		{Operation: v1.RelationshipUpdate_OPERATION_DELETE, Relationship: lost},
	}}); err != nil {
		t.Fatal(err)
	}
	// The snapshot lists current objects in any order, children first here.
	snapshot := strings.Join([]string{collabB, fileX, subC, subB, rootA, extXav, userBob, entAcme}, "\n")
	quiet := slog.New(slog.DiscardHandler)
	d, err := sync.Reconcile(ctx, c, strings.NewReader(snapshot), true, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Missing) != 1 || sync.RelationshipString(d.Missing[0]) != "file:x#parent@folder:c" ||
		len(d.Extra) != 1 || sync.RelationshipString(d.Extra[0]) != "folder:a#editor@user:mallory" {
		t.Fatalf("dry run drift = missing %v extra %v", d.Missing, d.Extra)
	}
	if got := export(t, c); strings.Join(got, "\n") == strings.Join(want, "\n") {
		t.Fatal("a dry run changed spicedb")
	}
	if _, err := sync.Reconcile(ctx, c, strings.NewReader(snapshot), false, quiet); err != nil {
		t.Fatal(err)
	}
	if got := export(t, c); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after reconcile:\n%v\nwant\n%v", got, want)
	}
	d, err = sync.Reconcile(ctx, c, strings.NewReader(snapshot), true, quiet)
	if err != nil || len(d.Missing)+len(d.Extra) != 0 {
		t.Fatalf("drift after repair: %+v %v", d, err)
	}
	if _, err := sync.Reconcile(ctx, c, strings.NewReader(`{"id":"x","type":"folder.deleted","folder":{"id":"a"}}`), true, quiet); err == nil {
		t.Fatal("a snapshot with a delete event was accepted")
	}
}
