package sync_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
	"github.com/boxauthz/boxauthz/internal/testkit/fixture"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/schema/upgrade"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/event"
)

func TestApplyEvents(t *testing.T) {
	tests := []struct {
		name   string
		events []string
		has    []string // relationships that must be there
		hasNot []string // relationship prefixes that must not
	}{
		{
			name:   "create tree",
			events: fixture.BaseTree(),
			has:    []string{"folder:b#parent@folder:a", "file:x#parent@folder:c", "file:x#owner@user:alice"},
		},
		{
			name:   "move drops the old parent",
			events: append(append([]string{}, fixture.BaseTree()...), `{"id":"m1","type":"folder.moved","folder":{"id":"c","parent":"a","owner":"alice"}}`),
			has:    []string{"folder:c#parent@folder:a"},
			hasNot: []string{"folder:c#parent@folder:b"},
		},
		{
			name:   "role change replaces the old role",
			events: append(append([]string{}, fixture.BaseTree()...), fixture.CollabB, `{"id":"c2","type":"collaboration.updated","collaboration":{"id":"k1","item":{"type":"folder","id":"b"},"accessible_by":{"type":"user","id":"bob"},"role":"editor"}}`),
			has:    []string{"folder:b#editor@user:bob", "collaboration:k1#item@folder:b"},
			hasNot: []string{"folder:b#viewer@user:bob"},
		},
		{
			name:   "pending grants nothing",
			events: append(append([]string{}, fixture.BaseTree()...), `{"id":"c3","type":"collaboration.created","collaboration":{"id":"k2","item":{"type":"folder","id":"b"},"accessible_by":{"type":"user","id":"bob"},"role":"viewer","status":"pending"}}`),
			has:    []string{"collaboration:k2#accessible_by@user:bob"},
			hasNot: []string{"folder:b#viewer@user:bob"},
		},
		{
			name:   "expiring collaboration carries the caveat",
			events: append(append([]string{}, fixture.BaseTree()...), `{"id":"c4","type":"collaboration.created","collaboration":{"id":"k3","item":{"type":"file","id":"x"},"accessible_by":{"type":"user","id":"bob"},"role":"editor","expires_at":"2099-01-01T00:00:00Z"}}`),
			has:    []string{"file:x#editor@user:bob[not_expired]"},
		},
		{
			name: "deleting a folder takes its subtree, collaborations and links",
			events: append(append([]string{}, fixture.BaseTree()...), fixture.CollabB,
				`{"id":"l1","type":"shared_link.created","shared_link":{"item":{"type":"file","id":"x"},"access":"open"}}`,
				`{"id":"d1","type":"folder.deleted","folder":{"id":"b"}}`),
			has:    []string{"folder:a#owner@user:alice"},
			hasNot: []string{"folder:b#", "folder:c#", "file:x#", "collaboration:k1#"},
		},
		{
			name: "deleting a user leaves nothing that names it",
			events: append(append([]string{}, fixture.BaseTree()...), fixture.CollabB,
				`{"id":"g1","type":"group.created","group":{"id":"g","enterprise":"acme"}}`,
				`{"id":"g2","type":"group_membership.created","group_membership":{"id":"gm","group":"g","user":"bob","role":"admin"}}`,
				`{"id":"d2","type":"user.deleted","user":{"id":"bob"}}`),
			hasNot: []string{"user:bob#", "collaboration:k1#", "group:g#admin@user:bob", "enterprise:acme#member@user:bob", "folder:b#viewer@user:bob"},
		},
		{
			name: "trash and restore",
			events: append(append([]string{}, fixture.BaseTree()...),
				`{"id":"t1","type":"folder.trashed","folder":{"id":"b"}}`,
				`{"id":"t2","type":"folder.trashed","folder":{"id":"c"}}`,
				`{"id":"t3","type":"folder.restored","folder":{"id":"c"}}`),
			has:    []string{"folder:b#trashed@user:*"},
			hasNot: []string{"folder:c#trashed"},
		},
		{
			name: "link replaced by a narrower one",
			events: append(append([]string{}, fixture.BaseTree()...),
				`{"id":"l1","type":"shared_link.created","shared_link":{"item":{"type":"file","id":"x"},"access":"open","permissions":{"can_download":true,"can_edit":true}}}`,
				`{"id":"l2","type":"shared_link.updated","shared_link":{"item":{"type":"file","id":"x"},"access":"company"}}`),
			has:    []string{"file:x#company_link_view@user:*[shared_link]"},
			hasNot: []string{"file:x#link_view", "file:x#link_download", "file:x#link_edit", "file:x#company_link_download"},
		},
		{
			name: "user role change",
			events: append(append([]string{}, fixture.BaseTree()...),
				`{"id":"r1","type":"user.updated","user":{"id":"bob","enterprise":"acme","role":"coadmin","coadmin_privileges":["manage_users"]}}`,
				`{"id":"r2","type":"user.updated","user":{"id":"bob","enterprise":"acme","role":"user"}}`),
			has:    []string{"enterprise:acme#member@user:bob"},
			hasNot: []string{"enterprise:acme#coadmin", "user:bob#privileged"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testenv.SpiceDB(t, testenv.Memory)
			a := sync.NewApplier(c)
			if _, err := a.Apply(context.Background(), fixture.Decode(t, tt.events...)); err != nil {
				t.Fatalf("apply: %v", err)
			}
			rels := fixture.Export(t, c)
			all := strings.Join(rels, "\n")
			for _, h := range tt.has {
				if !strings.Contains(all, h) {
					t.Errorf("missing %s in\n%s", h, all)
				}
			}
			for _, h := range tt.hasNot {
				for _, r := range rels {
					if strings.HasPrefix(r, h) || strings.HasSuffix(h, "bob") && strings.Contains(r, h) {
						t.Errorf("left behind: %s", r)
					}
				}
			}
		})
	}
}

func TestApplyIsIdempotentAndSkipsDuplicates(t *testing.T) {
	c := testenv.SpiceDB(t, testenv.Memory)
	a := sync.NewApplier(c)
	evs := fixture.Decode(t, append(append([]string{}, fixture.BaseTree()...), fixture.CollabB)...)
	r1, err := a.Apply(context.Background(), evs)
	if err != nil || r1.Applied != len(evs) {
		t.Fatalf("first apply: %+v %v", r1, err)
	}
	before := fixture.Export(t, c)
	r2, err := a.Apply(context.Background(), evs)
	if err != nil || r2.Applied != 0 || r2.Duplicates != len(evs) || r2.Token == nil {
		t.Fatalf("second apply: %+v %v; want all duplicates and a token", r2, err)
	}
	// The same states under new ids apply, and change nothing.
	renamed := make([]event.Event, len(evs))
	for i, e := range evs {
		e.ID = "again-" + e.ID
		renamed[i] = e
	}
	if _, err := a.Apply(context.Background(), renamed); err != nil {
		t.Fatal(err)
	}
	if after := fixture.Export(t, c); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Fatalf("re-applying the same states changed relationships:\nbefore %v\nafter  %v", before, after)
	}
}

func TestApplyRefusesBadBatchesWhole(t *testing.T) {
	tests := []struct {
		name, event, id, field string
	}{
		{"parent missing", `{"id":"bad","type":"folder.created","folder":{"id":"z","parent":"nope","owner":"alice"}}`, "bad", "folder.parent"},
		{"file parent missing", `{"id":"bad","type":"file.created","file":{"id":"z","parent":"nope","owner":"alice"}}`, "bad", "file.parent"},
		{"move into itself", `{"id":"bad","type":"folder.moved","folder":{"id":"a","parent":"a","owner":"alice"}}`, "bad", "folder.parent"},
		{"move below itself", `{"id":"bad","type":"folder.moved","folder":{"id":"a","parent":"c","owner":"alice"}}`, "bad", "folder.parent"},
		{"collaboration item missing", `{"id":"bad","type":"collaboration.created","collaboration":{"id":"k9","item":{"type":"file","id":"nope"},"accessible_by":{"type":"user","id":"bob"},"role":"viewer"}}`, "bad", "collaboration.item"},
		{"second collaboration for the same grantee", `{"id":"bad","type":"collaboration.created","collaboration":{"id":"k9","item":{"type":"folder","id":"b"},"accessible_by":{"type":"user","id":"bob"},"role":"editor"}}`, "bad", "collaboration.accessible_by"},
		{"link on a missing item", `{"id":"bad","type":"shared_link.created","shared_link":{"item":{"type":"file","id":"nope"},"access":"open"}}`, "bad", "shared_link.item"},
		{"trash a missing folder", `{"id":"bad","type":"folder.trashed","folder":{"id":"nope"}}`, "bad", "folder.id"},
		{"membership of a missing group", `{"id":"bad","type":"group_membership.created","group_membership":{"id":"m9","group":"nope","user":"bob"}}`, "bad", "group_membership.group"},
		{"membership updated in a missing group", `{"id":"bad","type":"group_membership.updated","group_membership":{"id":"m9","group":"nope","user":"bob","role":"admin"}}`, "bad", "group_membership.group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testenv.SpiceDB(t, testenv.Memory)
			a := sync.NewApplier(c)
			if _, err := a.Apply(context.Background(), fixture.Decode(t, append(append([]string{}, fixture.BaseTree()...), fixture.CollabB)...)); err != nil {
				t.Fatal(err)
			}
			before := fixture.Export(t, c)
			good := `{"id":"good","type":"folder.created","folder":{"id":"new","parent":"a","owner":"alice"}}`
			_, err := a.Apply(context.Background(), fixture.Decode(t, good, tt.event))
			var ee *event.Error
			if !errors.As(err, &ee) || ee.EventID != tt.id || ee.Field != tt.field || ee.Index != 1 {
				t.Fatalf("err = %v, want *EventError for event %q field %q index 1", err, tt.id, tt.field)
			}
			if strings.Contains(tt.event, `"nope"`) && !strings.Contains(ee.Error(), `"nope"`) {
				t.Errorf("err = %v, want it to name the missing %q", err, "nope")
			}
			if after := fixture.Export(t, c); strings.Join(after, "\n") != strings.Join(before, "\n") {
				t.Fatalf("a refused batch changed relationships")
			}
		})
	}
}

func TestApplyRestrictedToEnterprise(t *testing.T) {
	c := testenv.SpiceDB(t, testenv.Memory)
	a := sync.NewApplier(c)
	ctx := context.Background()
	if _, err := a.Apply(ctx, fixture.Decode(t, fixture.EntAcme, fixture.UserBob, fixture.ExtXav,
		`{"id":"f1","type":"folder.created","folder":{"id":"r","parent":"0","owner":"alice","is_collaboration_restricted_to_enterprise":true}}`,
		`{"id":"f2","type":"file.created","file":{"id":"y","parent":"r","owner":"alice"}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Apply(ctx, fixture.Decode(t, `{"id":"ok","type":"collaboration.created","collaboration":{"id":"k1","item":{"type":"file","id":"y"},"accessible_by":{"type":"user","id":"bob"},"role":"viewer"}}`)); err != nil {
		t.Fatalf("member of the enterprise refused: %v", err)
	}
	_, err := a.Apply(ctx, fixture.Decode(t, `{"id":"no","type":"collaboration.created","collaboration":{"id":"k2","item":{"type":"file","id":"y"},"accessible_by":{"type":"user","id":"xav@ext.example"},"role":"viewer"}}`))
	var ee *event.Error
	if !errors.As(err, &ee) || ee.Field != "collaboration.accessible_by" {
		t.Fatalf("external collaborator: err = %v, want refusal naming collaboration.accessible_by", err)
	}
	// An existing collaboration is unaffected by the setting.
	if _, err := a.Apply(ctx, fixture.Decode(t, `{"id":"ok2","type":"collaboration.updated","collaboration":{"id":"k1","item":{"type":"file","id":"y"},"accessible_by":{"type":"user","id":"bob"},"role":"editor"}}`)); err != nil {
		t.Fatalf("updating an existing collaboration refused: %v", err)
	}
}

func TestApplyLargeDelete(t *testing.T) {
	// More updates than one SpiceDB write takes: still ends correct.
	c := testenv.SpiceDB(t, testenv.Memory)
	a := sync.NewApplier(c, sync.WithMaxUpdatesPerWrite(100))
	lines := []string{fixture.EntAcme, fixture.RootA}
	for i := 0; i < 150; i++ {
		id := "f" + strings.Repeat("0", 3-len(itoa(i))) + itoa(i)
		lines = append(lines, `{"id":"e`+id+`","type":"file.created","file":{"id":"`+id+`","parent":"a","owner":"alice"}}`)
	}
	ctx := context.Background()
	if _, err := a.Apply(ctx, fixture.Decode(t, lines...)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Apply(ctx, fixture.Decode(t, `{"id":"del","type":"folder.deleted","folder":{"id":"a"}}`)); err != nil {
		t.Fatal(err)
	}
	for _, r := range fixture.Export(t, c) {
		if strings.HasPrefix(r, "file:") || strings.HasPrefix(r, "folder:") {
			t.Fatalf("left behind after deleting the folder: %s", r)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// failingWrites fails the n-th WriteRelationships call, as a crash between
// two writes would leave things.
type failingWrites struct {
	*spicedb.Client
	n, calls int
}

func (f *failingWrites) WriteRelationships(ctx context.Context, in *v1.WriteRelationshipsRequest, opts ...grpc.CallOption) (*v1.WriteRelationshipsResponse, error) {
	f.calls++
	if f.calls == f.n {
		return nil, errors.New("injected crash")
	}
	return f.Client.WriteRelationships(ctx, in, opts...)
}

func TestInterruptedLargeDeleteIsSafeAndResumes(t *testing.T) {
	c := testenv.SpiceDB(t, testenv.Memory)
	ctx := context.Background()
	lines := []string{fixture.EntAcme, fixture.UserBob, fixture.RootA, fixture.SubB, fixture.CollabB}
	for i := 0; i < 120; i++ {
		id := "x" + itoa(i)
		lines = append(lines, `{"id":"e`+id+`","type":"file.created","file":{"id":"`+id+`","parent":"b","owner":"alice"}}`)
	}
	if _, err := sync.NewApplier(c).Apply(ctx, fixture.Decode(t, lines...)); err != nil {
		t.Fatal(err)
	}
	del := fixture.Decode(t, `{"id":"del","type":"folder.deleted","folder":{"id":"a"}}`)
	broken := sync.NewApplier(&failingWrites{Client: c, n: 3}, sync.WithMaxUpdatesPerWrite(50))
	if _, err := broken.Apply(ctx, del); err == nil {
		t.Fatal("want the injected failure")
	}
	mid := strings.Join(fixture.Export(t, c), "\n")
	if !strings.Contains(mid, "folder:a#trashed@user:*") {
		t.Fatalf("an interrupted delete must leave the folder in the trash:\n%s", mid)
	}
	res, err := sync.NewApplier(c, sync.WithMaxUpdatesPerWrite(50)).Apply(ctx, del)
	if err != nil || res.Applied != 1 {
		t.Fatalf("resume: %+v %v; want the delete applied (not a duplicate: it never finished)", res, err)
	}
	for _, r := range fixture.Export(t, c) {
		if strings.HasPrefix(r, "file:") || strings.HasPrefix(r, "folder:") || strings.HasPrefix(r, "collaboration:") {
			t.Fatalf("left behind after the resumed delete: %s", r)
		}
	}
}

func TestSourcePositionCommittedWithWrites(t *testing.T) {
	c := testenv.SpiceDB(t, testenv.Memory)
	ctx := context.Background()
	a := sync.NewApplier(c, sync.WithMaxUpdatesPerWrite(10))
	evs := fixture.Decode(t, fixture.BaseTree()...)
	pos := make([]string, len(evs))
	for i := range pos {
		pos[i] = fmt.Sprintf("%03d", 100*(i+1))
	}
	b := sync.Batch{Events: evs, Source: "file:/tmp/x.jsonl", Positions: pos, End: "750"}
	failing := sync.NewApplier(&failingWrites{Client: c, n: 2}, sync.WithMaxUpdatesPerWrite(10))
	if _, err := failing.ApplyBatch(ctx, b); err == nil {
		t.Fatal("want the injected failure")
	}
	got, err := a.Position(ctx, b.Source)
	if err != nil || got == "" || got >= "750" {
		t.Fatalf("after a failure in the second write the position is %s (%v); want the end of the first write", got, err)
	}
	// Resuming from the committed position applies the rest, exactly.
	var rest sync.Batch
	rest.Source, rest.End = b.Source, b.End
	for i, p := range pos {
		if p > got {
			rest.Events = append(rest.Events, evs[i])
			rest.Positions = append(rest.Positions, p)
		}
	}
	res, err := a.ApplyBatch(ctx, rest)
	if err != nil || res.Duplicates != 0 {
		t.Fatalf("resume: %+v %v", res, err)
	}
	if got, _ := a.Position(ctx, b.Source); got != "750" {
		t.Fatalf("position after resume = %s, want 750", got)
	}
	want := fixture.Export(t, func() *spicedb.Client {
		c2 := testenv.SpiceDB(t, testenv.Memory)
		if _, err := sync.NewApplier(c2).Apply(ctx, evs); err != nil {
			t.Fatal(err)
		}
		return c2
	}())
	if got := fixture.Export(t, c); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("interrupted and resumed run differs from an uninterrupted one:\n%v\n%v", got, want)
	}
}

// fileEvents creates folder a and n files in it, one event each, after the
// base tree: an event is applied exactly when its file is in SpiceDB.
func fileEvents(t *testing.T, n int) []event.Event {
	t.Helper()
	lines := append([]string{}, fixture.BaseTree()...)
	for i := 0; i < n; i++ {
		lines = append(lines, fmt.Sprintf(`{"id":"ef%d","type":"file.created","file":{"id":"n%d","parent":"a","owner":"alice"}}`, i, i))
	}
	return fixture.Decode(t, lines...)
}

// appliedFiles lists the ids of the events of fileEvents whose file is in
// SpiceDB, in batch order.
func appliedFiles(t *testing.T, c *spicedb.Client, evs []event.Event) []string {
	t.Helper()
	all := strings.Join(fixture.Export(t, c), "\n")
	var out []string
	for _, e := range evs {
		if strings.HasPrefix(e.ID, "ef") && strings.Contains(all, "file:"+e.File.ID+"#exists@") {
			out = append(out, e.ID)
		}
	}
	return out
}

// TestLargeBatchFailureNamesAppliedEvents fails the second of several
// writes of one batch: the error names exactly the events the first wrote,
// and sending the batch again applies exactly the rest.
func TestLargeBatchFailureNamesAppliedEvents(t *testing.T) {
	c := testenv.SpiceDB(t, testenv.Memory)
	ctx := context.Background()
	evs := fileEvents(t, 60)
	broken := sync.NewApplier(&failingWrites{Client: c, n: 2}, sync.WithMaxUpdatesPerWrite(50))
	_, err := broken.Apply(ctx, evs)
	var pe *sync.PartialError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want a *sync.PartialError", err)
	}
	inSpiceDB := appliedFiles(t, c, evs)
	if len(inSpiceDB) == 0 || len(pe.Applied) <= len(inSpiceDB) || len(pe.Unknown) != 0 || pe.Partly != "" {
		t.Fatalf("applied %v (unknown %v, partly %q); files in spicedb %v: want the first write's events, some of them files", pe.Applied, pe.Unknown, pe.Partly, inSpiceDB)
	}
	for i, id := range pe.Applied {
		if id != evs[i].ID {
			t.Fatalf("applied %v: want a prefix of the batch", pe.Applied)
		}
	}
	if got := pe.Applied[len(pe.Applied)-len(inSpiceDB):]; strings.Join(got, ",") != strings.Join(inSpiceDB, ",") {
		t.Fatalf("the error names %v applied, spicedb holds the files of %v", pe.Applied, inSpiceDB)
	}
	if !strings.Contains(err.Error(), pe.Applied[len(pe.Applied)-1]) {
		t.Errorf("the message %q does not name the last applied event", err)
	}

	res, err := sync.NewApplier(c, sync.WithMaxUpdatesPerWrite(50)).Apply(ctx, evs)
	if err != nil || res.Duplicates != len(pe.Applied) || res.Applied != len(evs)-len(pe.Applied) {
		t.Fatalf("retry: %+v %v; want %d duplicates and the other %d applied", res, err, len(pe.Applied), len(evs)-len(pe.Applied))
	}
	if got := appliedFiles(t, c, evs); len(got) != 60 {
		t.Fatalf("after the retry %d of 60 files are in spicedb", len(got))
	}
}

// stoppingWrites stops the SpiceDB server just before the n-th write, as
// SpiceDB going down between two writes of one batch would.
type stoppingWrites struct {
	*spicedb.Client
	n, calls int
}

func (s *stoppingWrites) WriteRelationships(ctx context.Context, in *v1.WriteRelationshipsRequest, opts ...grpc.CallOption) (*v1.WriteRelationshipsResponse, error) {
	if s.calls++; s.calls == s.n {
		_ = s.Client.Close()
	}
	return s.Client.WriteRelationships(ctx, in, opts...)
}

// TestSpiceDBStoppedBetweenWrites stops SpiceDB (on PostgreSQL, which
// outlives it) between two writes of a batch: the error names the events
// applied and those SpiceDB could not be asked about, and once SpiceDB is
// back the same batch applies exactly what is missing.
func TestSpiceDBStoppedBetweenWrites(t *testing.T) {
	uri := testenv.PostgresDatabase(t)
	ctx := context.Background()
	start := func() *spicedb.Client {
		c, err := embedded.Start(ctx, embedded.WithPostgres(uri))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		if _, err := upgrade.Ensure(ctx, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	evs := fileEvents(t, 60)
	_, err := sync.NewApplier(&stoppingWrites{Client: start(), n: 2}, sync.WithMaxUpdatesPerWrite(50)).Apply(ctx, evs)
	var pe *sync.PartialError
	if !errors.As(err, &pe) || len(pe.Applied) == 0 {
		t.Fatalf("err = %v, want a *sync.PartialError naming the first write's events", err)
	}
	c := start()
	inSpiceDB := appliedFiles(t, c, evs)
	if got := pe.Applied[len(pe.Applied)-len(inSpiceDB):]; len(inSpiceDB) == 0 || strings.Join(got, ",") != strings.Join(inSpiceDB, ",") {
		t.Fatalf("the error names %v applied, spicedb holds the files of %v", pe.Applied, inSpiceDB)
	}
	// SpiceDB was down: whether the failed write committed could not be
	// asked, so its events are named as unknown (they were not written).
	if len(pe.Unknown) == 0 || pe.Unknown[0] != evs[len(pe.Applied)].ID {
		t.Fatalf("unknown %v: want the failed write's events, from %q", pe.Unknown, evs[len(pe.Applied)].ID)
	}
	res, err := sync.NewApplier(c, sync.WithMaxUpdatesPerWrite(50)).Apply(ctx, evs)
	if err != nil || res.Duplicates != len(pe.Applied) || res.Applied != len(evs)-len(pe.Applied) {
		t.Fatalf("retry: %+v %v; want %d duplicates and the other %d applied", res, err, len(pe.Applied), len(evs)-len(pe.Applied))
	}
	if got := appliedFiles(t, c, evs); len(got) != 60 {
		t.Fatalf("after the retry %d of 60 files are in spicedb", len(got))
	}
}

// writeCounter counts the Applier's writes and their updates.
type writeCounter struct {
	sync.Client
	writes, updates int
}

func (w *writeCounter) WriteRelationships(ctx context.Context, in *v1.WriteRelationshipsRequest, opts ...grpc.CallOption) (*v1.WriteRelationshipsResponse, error) {
	w.writes++
	w.updates += len(in.GetUpdates())
	return w.Client.WriteRelationships(ctx, in, opts...)
}

// TestBatchUpToTheLimitIsOneWrite: the SpiceDB boxauthz starts takes
// spicedb.MaxUpdatesPerWrite updates per write and the Applier assumes as
// much, so a batch of that size is one transaction, on both datastores.
func TestBatchUpToTheLimitIsOneWrite(t *testing.T) {
	for _, ds := range testenv.Datastores() {
		for _, members := range []int{1250, spicedb.MaxUpdatesPerWrite/2 - 10} {
			t.Run(fmt.Sprintf("%s/%d", ds, members), func(t *testing.T) {
				c := &writeCounter{Client: testenv.SpiceDB(t, ds)}
				evs := memberships(t, members)
				began := time.Now()
				res, err := sync.NewApplier(c).Apply(context.Background(), evs)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%d updates in %d write(s), %s", c.updates, c.writes, time.Since(began))
				if c.updates < 2*members || c.writes != 1 || res.Writes != 1 {
					t.Fatalf("%d updates in %d writes (result %+v), want one write", c.updates, c.writes, res)
				}
			})
		}
	}
}

// TestLowerSpiceDBLimitIsLearned: a SpiceDB that takes fewer updates per
// write than the Applier assumes refuses the first write whole; the
// Applier plans again under SpiceDB's limit and the batch applies.
func TestLowerSpiceDBLimitIsLearned(t *testing.T) {
	ctx := context.Background()
	raw, err := embedded.Start(ctx, embedded.WithMaxUpdatesPerWrite(1000))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	if _, err := upgrade.Ensure(ctx, raw); err != nil {
		t.Fatal(err)
	}
	c := &writeCounter{Client: raw}
	a := sync.NewApplier(c)
	res, err := a.Apply(ctx, memberships(t, 1250))
	if err != nil || res.Writes != 3 || c.writes != 4 {
		t.Fatalf("%+v %v after %d calls; want 3 writes after one refused", res, err, c.writes)
	}
	// The limit is kept: the next large batch is planned under it at once.
	c.writes = 0
	if res, err := a.Apply(ctx, memberships(t, 1250)[2:]); err != nil || res.Duplicates != 1250 {
		t.Fatalf("%+v %v", res, err)
	}
	evs := fixture.Decode(t, `{"id":"g2","type":"group.created","group":{"id":"g2","enterprise":"acme"}}`)
	for i := 0; i < 600; i++ {
		evs = append(evs, fixture.Decode(t, fmt.Sprintf(`{"id":"x%d","type":"group_membership.created","group_membership":{"id":"x%d","group":"g2","user":"u%d"}}`, i, i, i))...)
	}
	if res, err := a.Apply(ctx, evs); err != nil || res.Writes != 2 || c.writes != 2 {
		t.Fatalf("%+v %v after %d calls; want 2 writes and no refusal", res, err, c.writes)
	}
}

// memberships is a group and n memberships in it, each for its own user.
func memberships(t *testing.T, n int) []event.Event {
	t.Helper()
	lines := []string{fixture.EntAcme, `{"id":"g1","type":"group.created","group":{"id":"g","enterprise":"acme"}}`}
	for i := 0; i < n; i++ {
		lines = append(lines, fmt.Sprintf(`{"id":"m%d","type":"group_membership.created","group_membership":{"id":"m%d","group":"g","user":"u%d"}}`, i, i, i))
	}
	return fixture.Decode(t, lines...)
}

// TestCancelledBatchStopsPromptly cancels a batch of 30,000 memberships of
// one group while it is applied: it ends at once with context.Canceled,
// and whatever it wrote is whole events, named in the error.
func TestCancelledBatchStopsPromptly(t *testing.T) {
	c := testenv.SpiceDB(t, testenv.Memory)
	evs := memberships(t, 30_000)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := sync.NewApplier(c).Apply(ctx, evs)
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the batch went on for 5 s after its context was cancelled")
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	var applied []string
	var pe *sync.PartialError
	if errors.As(err, &pe) {
		if pe.Partly != "" || len(pe.Unknown) != 0 {
			t.Fatalf("partly %q, unknown %v: want whole events only", pe.Partly, pe.Unknown)
		}
		applied = pe.Applied
	}
	t.Logf("cancelled after %d of %d events were written", len(applied), len(evs))
	res, err := sync.NewApplier(c).Apply(context.Background(), evs)
	if err != nil || res.Duplicates != len(applied) || res.Applied != len(evs)-len(applied) {
		t.Fatalf("again: %+v %v; want %d duplicates", res, err, len(applied))
	}
}
