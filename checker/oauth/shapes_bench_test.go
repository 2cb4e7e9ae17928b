package oauth_test

import (
	"context"
	"slices"
	gosync "sync"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/boxauthz/boxauthz/checker/oauth"
)

// BenchmarkRequestShapes prices the ways of asking SpiceDB what an allowed
// Authorize needs, interleaved like BenchmarkAuthorizeVsRaw: raw (one
// CheckPermission of the action), bulk1 (the same question through
// CheckBulkPermissions: the price of the bulk API alone), bulk2 (token valid
// and the action: what Authorize asks), bulk3/bulk4 (adding visible and
// trashed_any: what Authorize asked before), par2 and seq2 (two
// CheckPermission calls, concurrent or one after the other), validonly. It
// reports each shape's p50.
//
//	go test ./checker/oauth -run '^$' -bench RequestShapes -benchtime 2000x
func BenchmarkRequestShapes(b *testing.B) {
	env := newTokenEnv(b, benchDatastore(), oauth.WithLogger(quietLogger()))
	ctx := context.Background()
	tok := env.issue(b, "bob", "", "root_readwrite").AccessToken
	h := oauth.TokenID(tok)
	fc := &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}
	file := &v1.ObjectReference{ObjectType: "file", ObjectId: "a"}
	bob := &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "bob"}}
	flag := &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "boxauthz_flag", ObjectId: "on"}}
	tokObj := &v1.ObjectReference{ObjectType: "boxauthz_access_token", ObjectId: h}
	validItem := func() *v1.CheckBulkPermissionsRequestItem {
		return &v1.CheckBulkPermissionsRequestItem{Resource: tokObj, Permission: "valid", Subject: flag}
	}
	itemOf := func(p string, c *structpb.Struct) *v1.CheckBulkPermissionsRequestItem {
		return &v1.CheckBulkPermissionsRequestItem{Resource: file, Permission: p, Subject: bob, Context: c}
	}
	raw := func() {
		if err := rawDownload(ctx, env); err != nil {
			b.Fatal(err)
		}
	}
	validOnly := func() {
		_, _ = env.client.CheckPermission(ctx, &v1.CheckPermissionRequest{Consistency: fc, Resource: tokObj, Permission: "valid", Subject: flag})
	}
	bulk := func(perms ...string) func() {
		return func() {
			c := linkContext()
			items := []*v1.CheckBulkPermissionsRequestItem{validItem()}
			for _, p := range perms {
				items = append(items, itemOf(p, c))
			}
			if _, err := env.client.CheckBulkPermissions(ctx, &v1.CheckBulkPermissionsRequest{Consistency: fc, Items: items}); err != nil {
				b.Fatal(err)
			}
		}
	}
	bulkNoValid := func() {
		c := linkContext()
		if _, err := env.client.CheckBulkPermissions(ctx, &v1.CheckBulkPermissionsRequest{Consistency: fc, Items: []*v1.CheckBulkPermissionsRequestItem{itemOf("download", c)}}); err != nil {
			b.Fatal(err)
		}
	}
	seq := func() {
		validOnly()
		raw()
	}
	par := func() {
		var wg gosync.WaitGroup
		wg.Go(validOnly)
		raw()
		wg.Wait()
	}
	shapes := []struct {
		name string
		f    func()
	}{
		{"raw", raw},
		{"validonly", validOnly},
		{"bulk1", bulkNoValid},
		{"bulk2", bulk("download")},
		{"bulk3", bulk("visible", "download")},
		{"bulk4", bulk("visible", "trashed_any", "download")},
		{"par2", par},
		{"seq2", seq},
	}
	for _, s := range shapes {
		for range 50 {
			s.f()
		}
	}
	lat := make([][]time.Duration, len(shapes))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k := range shapes {
			j := (k + i) % len(shapes)
			s := time.Now()
			shapes[j].f()
			lat[j] = append(lat[j], time.Since(s))
		}
	}
	for k, s := range shapes {
		slices.Sort(lat[k])
		b.ReportMetric(float64(lat[k][len(lat[k])/2].Microseconds()), s.name+"-p50-µs")
	}
}
