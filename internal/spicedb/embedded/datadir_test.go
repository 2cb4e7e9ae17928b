package embedded_test

import (
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
	"github.com/boxauthz/boxauthz/schema"
)

// TestDataDirSurvivesRestart writes the boxauthz schema and a two-level
// folder tree through the embedded SpiceDB on a data dir, then asks the
// same inherited permission before and after a restart on that dir.
func TestDataDirSurvivesRestart(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	ask := func(c v1.PermissionsServiceClient, user string) v1.CheckPermissionResponse_Permissionship {
		t.Helper()
		resp, err := c.CheckPermission(ctx, &v1.CheckPermissionRequest{
			Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
			Resource:    &v1.ObjectReference{ObjectType: "folder", ObjectId: "sub"},
			Permission:  "g_download",
			Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: user}},
		})
		if err != nil {
			t.Fatalf("check for %s: %v", user, err)
		}
		return resp.Permissionship
	}

	c, err := embedded.Start(ctx, embedded.WithDataDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := schema.Write(ctx, c); err != nil {
		t.Fatal(err)
	}
	rel := func(resType, resID, relation, subType, subID string) *v1.RelationshipUpdate {
		return &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: &v1.Relationship{
			Resource: &v1.ObjectReference{ObjectType: resType, ObjectId: resID}, Relation: relation,
			Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: subType, ObjectId: subID}},
		}}
	}
	if _, err := c.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{
		rel("folder", "root", "viewer", "user", "alice"),
		rel("folder", "sub", "parent", "folder", "root"),
	}}); err != nil {
		t.Fatal(err)
	}
	has, hasNot := v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION, v1.CheckPermissionResponse_PERMISSIONSHIP_NO_PERMISSION
	if got := ask(c, "alice"); got != has {
		t.Fatalf("alice before restart: %v, want %v", got, has)
	}
	if got := ask(c, "bob"); got != hasNot {
		t.Fatalf("bob before restart: %v, want %v", got, hasNot)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	c, err = embedded.Start(ctx, embedded.WithDataDir(dir))
	if err != nil {
		t.Fatalf("restart on %s: %v", dir, err)
	}
	defer func() { _ = c.Close() }()
	if got := ask(c, "alice"); got != has {
		t.Fatalf("alice after restart: %v, want %v", got, has)
	}
	if got := ask(c, "bob"); got != hasNot {
		t.Fatalf("bob after restart: %v, want %v", got, hasNot)
	}
}
