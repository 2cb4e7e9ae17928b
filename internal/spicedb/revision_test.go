package spicedb_test

import (
	"context"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	implv1 "github.com/authzed/spicedb/pkg/proto/impl/v1"
	"github.com/authzed/spicedb/pkg/zedtoken"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
)

func TestMemoryRevisionOrdersWrites(t *testing.T) {
	ctx := context.Background()
	c, err := embedded.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: "definition user {}\ndefinition doc {\n\trelation viewer: user\n}"}); err != nil {
		t.Fatal(err)
	}
	var last int64
	for i := range 5 {
		resp, err := c.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{
			Operation: v1.RelationshipUpdate_OPERATION_TOUCH,
			Relationship: &v1.Relationship{
				Resource: &v1.ObjectReference{ObjectType: "doc", ObjectId: "d"}, Relation: "viewer",
				Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: string(rune('a' + i))}},
			},
		}}})
		if err != nil {
			t.Fatal(err)
		}
		n, err := spicedb.MemoryRevision(resp.GetWrittenAt())
		if err != nil {
			t.Fatal(err)
		}
		if n <= last {
			t.Fatalf("write %d at revision %d, not after %d", i, n, last)
		}
		last = n
	}
	// Another datastore's revision (a hybrid logical clock, as on
	// CockroachDB) is not one integer.
	snapshot, err := zedtoken.Encode(&implv1.DecodedZedToken{VersionOneof: &implv1.DecodedZedToken_V1{V1: &implv1.DecodedZedToken_V1ZedToken{Revision: "5.0000000001"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []*v1.ZedToken{nil, {Token: "not base64!"}, snapshot} {
		if _, err := spicedb.MemoryRevision(bad); err == nil {
			t.Errorf("MemoryRevision(%v) = nil error, want one", bad)
		}
	}
}
