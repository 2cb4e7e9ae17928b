package embedded_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
	"github.com/boxauthz/boxauthz/internal/store"
	"github.com/boxauthz/boxauthz/schema"
)

// benchRelationships is the data size the datastores are compared at.
const benchRelationships = 100_000

// BenchmarkCheckByDatastore asks the same cold checks (dispatch cache off,
// fully consistent) of the in-memory datastore and of the durable store,
// each holding benchRelationships viewer grants on as many folders. The
// figures are in docs/store.md.
func BenchmarkCheckByDatastore(b *testing.B) {
	for _, bc := range []struct {
		name    string
		dataDir bool
	}{
		{"memdb", false},
		{"store", true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			opts := []embedded.Option{embedded.WithDispatchCache(false)}
			dir := b.TempDir()
			if bc.dataDir {
				opts = append(opts, embedded.WithDataDir(dir))
			}
			c, err := embedded.Start(ctx, opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = c.Close() }()
			loadViewers(ctx, b, c)
			b.ResetTimer()
			for i := range b.N {
				resp, err := c.CheckPermission(ctx, &v1.CheckPermissionRequest{
					Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
					Resource:    &v1.ObjectReference{ObjectType: "folder", ObjectId: fmt.Sprint("f", (i*7919)%benchRelationships)},
					Permission:  "g_download",
					Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: fmt.Sprint("u", ((i*7919)%benchRelationships)%1000)}},
				})
				if err != nil {
					b.Fatal(err)
				}
				if resp.Permissionship != v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION {
					b.Fatalf("check %d: %v", i, resp.Permissionship)
				}
			}
			if bc.dataDir {
				// The file's size per relationship: both indexes, the change
				// log and bbolt's free pages.
				fi, err := os.Stat(filepath.Join(dir, store.DataFileName))
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(fi.Size())/benchRelationships, "file-B/rel")
			}
		})
	}
}

func loadViewers(ctx context.Context, b *testing.B, c *spicedb.Client) {
	b.Helper()
	if _, err := schema.Write(ctx, c); err != nil {
		b.Fatal(err)
	}
	const batch = 1000
	for start := 0; start < benchRelationships; start += batch {
		ups := make([]*v1.RelationshipUpdate, 0, batch)
		for i := start; i < start+batch; i++ {
			ups = append(ups, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: &v1.Relationship{
				Resource: &v1.ObjectReference{ObjectType: "folder", ObjectId: fmt.Sprint("f", i)}, Relation: "viewer",
				Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: fmt.Sprint("u", i%1000)}},
			}})
		}
		if _, err := c.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: ups}); err != nil {
			b.Fatal(err)
		}
	}
}
