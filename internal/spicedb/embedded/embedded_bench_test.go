package embedded_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
	"github.com/boxauthz/boxauthz/schema"
)

// BenchmarkEmbeddedHeapPerWrite measures the heap the embedded in-memory
// store keeps per write while the number of relationships stays flat (the
// same 100 relationships deleted and written again): SpiceDB v1.56.2's
// in-memory datastore keeps every revision's snapshot and its changelog for
// as long as the process runs. The figure is in docs/benchmarks.md.
func BenchmarkEmbeddedHeapPerWrite(b *testing.B) {
	ctx := context.Background()
	c, err := embedded.Start(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if _, err := schema.Write(ctx, c); err != nil {
		b.Fatal(err)
	}
	write := func(i int, op v1.RelationshipUpdate_Operation) {
		_, err := c.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{{
			Operation: op,
			Relationship: &v1.Relationship{
				Resource: &v1.ObjectReference{ObjectType: "folder", ObjectId: fmt.Sprint("f", i%100)}, Relation: "trashed",
				Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "*"}},
			},
		}}})
		if err != nil {
			b.Fatal(err)
		}
	}
	for i := range 100 {
		write(i, v1.RelationshipUpdate_OPERATION_TOUCH)
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	b.ResetTimer()
	for i := range b.N {
		if i%2 == 0 {
			write(i/2, v1.RelationshipUpdate_OPERATION_DELETE)
		} else {
			write(i/2, v1.RelationshipUpdate_OPERATION_TOUCH)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(int64(heap())-int64(before))/float64(b.N), "retained-B/write")
}
