package spicedb_test

import (
	"context"
	"fmt"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
	"github.com/boxauthz/boxauthz/schema/rel"
	"github.com/boxauthz/boxauthz/schema/upgrade"
)

// TestCallMetricsKeepReadFilters: a read through the call metrics'
// interceptors returns exactly what its filter asks for.
func TestCallMetricsKeepReadFilters(t *testing.T) {
	ctx := context.Background()
	calls, err := spicedb.NewCallMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	c, err := embedded.Start(ctx, embedded.WithDialOptions(calls.DialOptions()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := upgrade.Ensure(ctx, c); err != nil {
		t.Fatal(err)
	}
	var ups []*v1.RelationshipUpdate
	for i := range 3 {
		ups = append(ups, rel.Touch(rel.Flag("folder", fmt.Sprint("f", i), "trashed")))
	}
	if _, err := c.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: ups}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		rs, _, err := spicedb.ReadAll(ctx, c, &v1.ReadRelationshipsRequest{Consistency: rel.FullyConsistent(), RelationshipFilter: rel.Filter("folder", "f1", "trashed")})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 {
			for _, r := range rs {
				t.Log(rel.String(r))
			}
			t.Fatalf("read %d relationships, want 1", len(rs))
		}
	}
}
