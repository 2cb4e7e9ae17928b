package sync_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/testkit/fixture"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/sync"
)

// countingReads counts ReadRelationships calls, and fails the n-th write
// when n > 0, as a crash between two writes would.
type countingReads struct {
	*spicedb.Client
	reads       int
	n, writes   int
	failedWrite bool
}

func (c *countingReads) ReadRelationships(ctx context.Context, in *v1.ReadRelationshipsRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[v1.ReadRelationshipsResponse], error) {
	c.reads++
	return c.Client.ReadRelationships(ctx, in, opts...)
}

func (c *countingReads) WriteRelationships(ctx context.Context, in *v1.WriteRelationshipsRequest, opts ...grpc.CallOption) (*v1.WriteRelationshipsResponse, error) {
	c.writes++
	if c.writes == c.n {
		c.failedWrite = true
		return nil, fmt.Errorf("injected crash at write %d", c.n)
	}
	return c.Client.WriteRelationships(ctx, in, opts...)
}

// TestLazyStoreDeletesLargeSubtreeInBulk deletes a folder with hundreds of
// items and collaborations from a store too large to preload, which reads
// the subtree by streaming whole types (both forced with low limits: at
// the real ones this takes a model of 250,000 relationships): interrupted,
// resumed, and in one batch with changes under the folder. It must leave
// exactly what the same events leave on a preloaded store, with a few
// reads rather than some per item, and the store must go on answering
// correctly after it.
func TestLazyStoreDeletesLargeSubtreeInBulk(t *testing.T) {
	const folders, filesPer = 10, 20 // 421 items under top, 201 collaborations
	lines := []string{
		fixture.EntAcme, fixture.UserBob,
		`{"id":"g1","type":"group.created","group":{"id":"g","enterprise":"acme"}}`,
		`{"id":"m1","type":"group_membership.created","group_membership":{"id":"m1","group":"g","user":"bob"}}`,
		`{"id":"top","type":"folder.created","folder":{"id":"top","parent":"0","owner":"alice"}}`,
		`{"id":"keep","type":"folder.created","folder":{"id":"keep","parent":"0","owner":"alice"}}`,
		`{"id":"keep-s","type":"folder.created","folder":{"id":"keep-s","parent":"keep","owner":"alice"}}`,
		`{"id":"keep-x","type":"file.created","file":{"id":"keep-x","parent":"keep-s","owner":"alice"}}`,
		`{"id":"ck","type":"collaboration.created","collaboration":{"id":"ck","item":{"type":"folder","id":"keep"},"accessible_by":{"type":"user","id":"bob"},"role":"viewer"}}`,
		`{"id":"cg","type":"collaboration.created","collaboration":{"id":"cg","item":{"type":"folder","id":"top"},"accessible_by":{"type":"group","id":"g"},"role":"editor"}}`,
		`{"id":"lt","type":"shared_link.created","shared_link":{"item":{"type":"folder","id":"top"},"access":"open","permissions":{"can_download":true}}}`,
	}
	for f := 0; f < folders; f++ {
		lines = append(lines,
			fmt.Sprintf(`{"id":"d%d","type":"folder.created","folder":{"id":"d%d","parent":"top","owner":"alice","can_non_owners_invite":false}}`, f, f),
			fmt.Sprintf(`{"id":"s%d","type":"folder.created","folder":{"id":"s%d","parent":"d%d","owner":"bob"}}`, f, f, f))
		for i := 0; i < filesPer; i++ {
			lines = append(lines,
				fmt.Sprintf(`{"id":"f%d-%d","type":"file.created","file":{"id":"f%d-%d","parent":"d%d","owner":"alice"}}`, f, i, f, i, f),
				fmt.Sprintf(`{"id":"g%d-%d","type":"file.created","file":{"id":"g%d-%d","parent":"s%d","owner":"bob"}}`, f, i, f, i, f),
				fmt.Sprintf(`{"id":"c%d-%d","type":"collaboration.created","collaboration":{"id":"c%d-%d","item":{"type":"file","id":"f%d-%d"},"accessible_by":{"type":"user","id":"bob"},"role":"viewer"}}`, f, i, f, i, f, i))
			if i%5 == 0 {
				lines = append(lines, fmt.Sprintf(`{"id":"l%d-%d","type":"shared_link.created","shared_link":{"item":{"type":"file","id":"g%d-%d"},"access":"company","permissions":{"can_download":true}}}`, f, i, f, i))
			}
		}
	}
	// In the delete's own batch: a file created under the folder (deleted
	// with it) and one moved out of it with its collaboration (kept).
	del := []string{
		`{"id":"new","type":"file.created","file":{"id":"new","parent":"s3","owner":"alice"}}`,
		`{"id":"out","type":"file.moved","file":{"id":"f1-1","parent":"keep","owner":"alice"}}`,
		`{"id":"del-top","type":"folder.deleted","folder":{"id":"top"}}`,
	}
	// Afterwards, on the same store: a small delete, and the deleted
	// folder's id used again.
	after := []string{
		`{"id":"del-keep-s","type":"folder.deleted","folder":{"id":"keep-s"}}`,
		`{"id":"top-again","type":"folder.created","folder":{"id":"top","parent":"keep","owner":"bob"}}`,
		`{"id":"d0-again","type":"folder.created","folder":{"id":"d0","parent":"top","owner":"bob"}}`,
		`{"id":"c-again","type":"collaboration.created","collaboration":{"id":"c0-0","item":{"type":"folder","id":"d0"},"accessible_by":{"type":"user","id":"bob"},"role":"editor"}}`,
	}
	quiet := slog.New(slog.DiscardHandler)
	lazyOpts := []sync.Option{sync.WithLogger(quiet), sync.WithPreloadLimit(0), sync.WithBulkMin(100), sync.WithMaxUpdatesPerWrite(200)}
	ctx := context.Background()
	for _, ds := range testenv.Datastores() {
		t.Run(string(ds), func(t *testing.T) {
			// The reference: a preloaded store.
			ref := testenv.SpiceDB(t, ds)
			a := sync.NewApplier(ref, sync.WithLogger(quiet))
			for _, b := range [][]string{lines, del, after} {
				if _, err := a.Apply(ctx, fixture.Decode(t, b...)); err != nil {
					t.Fatal(err)
				}
			}

			c := testenv.SpiceDB(t, ds)
			if _, err := sync.NewApplier(c, sync.WithLogger(quiet)).Apply(ctx, fixture.Decode(t, lines...)); err != nil {
				t.Fatal(err)
			}
			broken := &countingReads{Client: c, n: 4}
			if _, err := sync.NewApplier(broken, lazyOpts...).Apply(ctx, fixture.Decode(t, del...)); err == nil || !broken.failedWrite {
				t.Fatalf("want the injected failure, got %v", err)
			}
			mid := fixture.Export(t, c)
			if !strings.Contains(strings.Join(mid, "\n"), "folder:top#trashed@user:*") {
				t.Fatal("the half-deleted folder is not in the trash")
			}
			if !strings.Contains(strings.Join(mid, "\n"), "folder:top#owner@user:alice") {
				t.Fatal("the failure did not fall mid-delete: the folder itself is gone")
			}

			counted := &countingReads{Client: c}
			lazy := sync.NewApplier(counted, lazyOpts...)
			res, err := lazy.Apply(ctx, fixture.Decode(t, del...))
			if err != nil || res.Applied != 1 || res.Duplicates != 2 || res.Writes < 3 {
				t.Fatalf("resume: %+v %v", res, err)
			}
			// Per item it would be two reads for each of hundreds.
			if counted.reads > 60 {
				t.Fatalf("the resumed delete made %d reads: not in bulk", counted.reads)
			}
			t.Logf("resumed delete: %d writes, %d reads", res.Writes, counted.reads)
			if _, err := lazy.Apply(ctx, fixture.Decode(t, after...)); err != nil {
				t.Fatal(err)
			}

			got, want := fixture.Export(t, c), fixture.Export(t, ref)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("the lazy store's bulk delete differs from a preloaded one's:\n got %d: %v\nwant %d: %v", len(got), got, len(want), want)
			}
			for _, r := range got {
				if strings.HasPrefix(r, "file:g") || strings.HasPrefix(r, "folder:s") || strings.HasPrefix(r, "file:new") || strings.Contains(r, "keep-") {
					t.Fatalf("left behind: %s", r)
				}
			}
			for _, r := range []string{
				"file:f1-1#parent@folder:keep", "collaboration:c1-1#item@file:f1-1", "file:f1-1#viewer@user:bob",
				"collaboration:ck#item@folder:keep", "folder:d0#parent@folder:top", "folder:d0#editor@user:bob",
			} {
				if !strings.Contains(strings.Join(got, "\n"), r) {
					t.Fatalf("missing after the deletes: %s", r)
				}
			}
		})
	}
}
