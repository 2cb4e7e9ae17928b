package sync_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/testenv"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/sync"
)

// export lists every relationship SpiceDB holds except sync's own
// bookkeeping, as sorted strings.
func export(t *testing.T, c *spicedb.Client) []string {
	t.Helper()
	var out []string
	for _, typ := range []string{schema.TypeUser, schema.TypeEnterprise, schema.TypeGroup, schema.TypeFolder, schema.TypeFile, schema.TypeCollaboration} {
		stream, err := c.ReadRelationships(context.Background(), &v1.ReadRelationshipsRequest{
			Consistency:        &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
			RelationshipFilter: &v1.RelationshipFilter{ResourceType: typ},
		})
		if err != nil {
			t.Fatal(err)
		}
		for {
			r, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			rel := r.GetRelationship()
			s := rel.GetResource().GetObjectType() + ":" + rel.GetResource().GetObjectId() + "#" + rel.GetRelation() + "@" +
				rel.GetSubject().GetObject().GetObjectType() + ":" + rel.GetSubject().GetObject().GetObjectId()
			if sr := rel.GetSubject().GetOptionalRelation(); sr != "" {
				s += "#" + sr
			}
			if cv := rel.GetOptionalCaveat(); cv != nil {
				s += "[" + cv.GetCaveatName() + "]"
			}
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func decode(t *testing.T, lines ...string) []sync.Event {
	t.Helper()
	evs, err := sync.DecodeEvents([]byte(strings.Join(lines, "\n")), true)
	if err != nil {
		t.Fatalf("decoding test events: %v", err)
	}
	return evs
}

var (
	entAcme  = `{"id":"u1","type":"user.created","user":{"id":"alice","enterprise":"acme"}}`
	userBob  = `{"id":"u2","type":"user.created","user":{"id":"bob","enterprise":"acme"}}`
	extXav   = `{"id":"u3","type":"user.created","user":{"id":"xav@ext.example"}}`
	rootA    = `{"id":"f1","type":"folder.created","folder":{"id":"a","parent":"0","owner":"alice"}}`
	subB     = `{"id":"f2","type":"folder.created","folder":{"id":"b","parent":"a","owner":"alice"}}`
	subC     = `{"id":"f3","type":"folder.created","folder":{"id":"c","parent":"b","owner":"alice"}}`
	fileX    = `{"id":"f4","type":"file.created","file":{"id":"x","parent":"c","owner":"alice"}}`
	collabB  = `{"id":"c1","type":"collaboration.created","collaboration":{"id":"k1","item":{"type":"folder","id":"b"},"accessible_by":{"type":"user","id":"bob"},"role":"viewer"}}`
	baseTree = []string{entAcme, userBob, extXav, rootA, subB, subC, fileX}
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
			events: baseTree,
			has:    []string{"folder:b#parent@folder:a", "file:x#parent@folder:c", "file:x#owner@user:alice"},
		},
		{
			name:   "move drops the old parent",
			events: append(append([]string{}, baseTree...), `{"id":"m1","type":"folder.moved","folder":{"id":"c","parent":"a","owner":"alice"}}`),
			has:    []string{"folder:c#parent@folder:a"},
			hasNot: []string{"folder:c#parent@folder:b"},
		},
		{
			name:   "role change replaces the old role",
			events: append(append([]string{}, baseTree...), collabB, `{"id":"c2","type":"collaboration.updated","collaboration":{"id":"k1","item":{"type":"folder","id":"b"},"accessible_by":{"type":"user","id":"bob"},"role":"editor"}}`),
			has:    []string{"folder:b#editor@user:bob", "collaboration:k1#item@folder:b"},
			hasNot: []string{"folder:b#viewer@user:bob"},
		},
		{
			name:   "pending grants nothing",
			events: append(append([]string{}, baseTree...), `{"id":"c3","type":"collaboration.created","collaboration":{"id":"k2","item":{"type":"folder","id":"b"},"accessible_by":{"type":"user","id":"bob"},"role":"viewer","status":"pending"}}`),
			has:    []string{"collaboration:k2#accessible_by@user:bob"},
			hasNot: []string{"folder:b#viewer@user:bob"},
		},
		{
			name:   "expiring collaboration carries the caveat",
			events: append(append([]string{}, baseTree...), `{"id":"c4","type":"collaboration.created","collaboration":{"id":"k3","item":{"type":"file","id":"x"},"accessible_by":{"type":"user","id":"bob"},"role":"editor","expires_at":"2099-01-01T00:00:00Z"}}`),
			has:    []string{"file:x#editor@user:bob[not_expired]"},
		},
		{
			name: "deleting a folder takes its subtree, collaborations and links",
			events: append(append([]string{}, baseTree...), collabB,
				`{"id":"l1","type":"shared_link.created","shared_link":{"item":{"type":"file","id":"x"},"access":"open"}}`,
				`{"id":"d1","type":"folder.deleted","folder":{"id":"b"}}`),
			has:    []string{"folder:a#owner@user:alice"},
			hasNot: []string{"folder:b#", "folder:c#", "file:x#", "collaboration:k1#"},
		},
		{
			name: "deleting a user leaves nothing that names it",
			events: append(append([]string{}, baseTree...), collabB,
				`{"id":"g1","type":"group.created","group":{"id":"g","enterprise":"acme"}}`,
				`{"id":"g2","type":"group_membership.created","group_membership":{"id":"gm","group":"g","user":"bob","role":"admin"}}`,
				`{"id":"d2","type":"user.deleted","user":{"id":"bob"}}`),
			hasNot: []string{"user:bob#", "collaboration:k1#", "group:g#admin@user:bob", "enterprise:acme#member@user:bob", "folder:b#viewer@user:bob"},
		},
		{
			name: "trash and restore",
			events: append(append([]string{}, baseTree...),
				`{"id":"t1","type":"folder.trashed","folder":{"id":"b"}}`,
				`{"id":"t2","type":"folder.trashed","folder":{"id":"c"}}`,
				`{"id":"t3","type":"folder.restored","folder":{"id":"c"}}`),
			has:    []string{"folder:b#trashed@user:*"},
			hasNot: []string{"folder:c#trashed"},
		},
		{
			name: "link replaced by a narrower one",
			events: append(append([]string{}, baseTree...),
				`{"id":"l1","type":"shared_link.created","shared_link":{"item":{"type":"file","id":"x"},"access":"open","permissions":{"can_download":true,"can_edit":true}}}`,
				`{"id":"l2","type":"shared_link.updated","shared_link":{"item":{"type":"file","id":"x"},"access":"company"}}`),
			has:    []string{"file:x#company_link_view@user:*[shared_link]"},
			hasNot: []string{"file:x#link_view", "file:x#link_download", "file:x#link_edit", "file:x#company_link_download"},
		},
		{
			name: "user role change",
			events: append(append([]string{}, baseTree...),
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
			if _, err := a.Apply(context.Background(), decode(t, tt.events...)); err != nil {
				t.Fatalf("apply: %v", err)
			}
			rels := export(t, c)
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
	evs := decode(t, append(append([]string{}, baseTree...), collabB)...)
	r1, err := a.Apply(context.Background(), evs)
	if err != nil || r1.Applied != len(evs) {
		t.Fatalf("first apply: %+v %v", r1, err)
	}
	before := export(t, c)
	r2, err := a.Apply(context.Background(), evs)
	if err != nil || r2.Applied != 0 || r2.Duplicates != len(evs) || r2.Token == nil {
		t.Fatalf("second apply: %+v %v; want all duplicates and a token", r2, err)
	}
	// The same states under new ids apply, and change nothing.
	renamed := make([]sync.Event, len(evs))
	for i, e := range evs {
		e.ID = "again-" + e.ID
		renamed[i] = e
	}
	if _, err := a.Apply(context.Background(), renamed); err != nil {
		t.Fatal(err)
	}
	if after := export(t, c); strings.Join(after, "\n") != strings.Join(before, "\n") {
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testenv.SpiceDB(t, testenv.Memory)
			a := sync.NewApplier(c)
			if _, err := a.Apply(context.Background(), decode(t, append(append([]string{}, baseTree...), collabB)...)); err != nil {
				t.Fatal(err)
			}
			before := export(t, c)
			good := `{"id":"good","type":"folder.created","folder":{"id":"new","parent":"a","owner":"alice"}}`
			_, err := a.Apply(context.Background(), decode(t, good, tt.event))
			var ee *sync.EventError
			if !errors.As(err, &ee) || ee.EventID != tt.id || ee.Field != tt.field || ee.Index != 1 {
				t.Fatalf("err = %v, want *EventError for event %q field %q index 1", err, tt.id, tt.field)
			}
			if after := export(t, c); strings.Join(after, "\n") != strings.Join(before, "\n") {
				t.Fatalf("a refused batch changed relationships")
			}
		})
	}
}

func TestApplyRestrictedToEnterprise(t *testing.T) {
	c := testenv.SpiceDB(t, testenv.Memory)
	a := sync.NewApplier(c)
	ctx := context.Background()
	if _, err := a.Apply(ctx, decode(t, entAcme, userBob, extXav,
		`{"id":"f1","type":"folder.created","folder":{"id":"r","parent":"0","owner":"alice","is_collaboration_restricted_to_enterprise":true}}`,
		`{"id":"f2","type":"file.created","file":{"id":"y","parent":"r","owner":"alice"}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Apply(ctx, decode(t, `{"id":"ok","type":"collaboration.created","collaboration":{"id":"k1","item":{"type":"file","id":"y"},"accessible_by":{"type":"user","id":"bob"},"role":"viewer"}}`)); err != nil {
		t.Fatalf("member of the enterprise refused: %v", err)
	}
	_, err := a.Apply(ctx, decode(t, `{"id":"no","type":"collaboration.created","collaboration":{"id":"k2","item":{"type":"file","id":"y"},"accessible_by":{"type":"user","id":"xav@ext.example"},"role":"viewer"}}`))
	var ee *sync.EventError
	if !errors.As(err, &ee) || ee.Field != "collaboration.accessible_by" {
		t.Fatalf("external collaborator: err = %v, want refusal naming collaboration.accessible_by", err)
	}
	// An existing collaboration is unaffected by the setting.
	if _, err := a.Apply(ctx, decode(t, `{"id":"ok2","type":"collaboration.updated","collaboration":{"id":"k1","item":{"type":"file","id":"y"},"accessible_by":{"type":"user","id":"bob"},"role":"editor"}}`)); err != nil {
		t.Fatalf("updating an existing collaboration refused: %v", err)
	}
}

func TestApplyLargeDelete(t *testing.T) {
	// More updates than one SpiceDB write takes: still ends correct.
	c := testenv.SpiceDB(t, testenv.Memory)
	a := sync.NewApplier(c, sync.WithMaxUpdatesPerWrite(100))
	lines := []string{entAcme, rootA}
	for i := 0; i < 150; i++ {
		id := "f" + strings.Repeat("0", 3-len(itoa(i))) + itoa(i)
		lines = append(lines, `{"id":"e`+id+`","type":"file.created","file":{"id":"`+id+`","parent":"a","owner":"alice"}}`)
	}
	ctx := context.Background()
	if _, err := a.Apply(ctx, decode(t, lines...)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Apply(ctx, decode(t, `{"id":"del","type":"folder.deleted","folder":{"id":"a"}}`)); err != nil {
		t.Fatal(err)
	}
	for _, r := range export(t, c) {
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
	lines := []string{entAcme, userBob, rootA, subB, collabB}
	for i := 0; i < 120; i++ {
		id := "x" + itoa(i)
		lines = append(lines, `{"id":"e`+id+`","type":"file.created","file":{"id":"`+id+`","parent":"b","owner":"alice"}}`)
	}
	if _, err := sync.NewApplier(c).Apply(ctx, decode(t, lines...)); err != nil {
		t.Fatal(err)
	}
	del := decode(t, `{"id":"del","type":"folder.deleted","folder":{"id":"a"}}`)
	broken := sync.NewApplier(&failingWrites{Client: c, n: 3}, sync.WithMaxUpdatesPerWrite(50))
	if _, err := broken.Apply(ctx, del); err == nil {
		t.Fatal("want the injected failure")
	}
	mid := strings.Join(export(t, c), "\n")
	if !strings.Contains(mid, "folder:a#trashed@user:*") {
		t.Fatalf("an interrupted delete must leave the folder in the trash:\n%s", mid)
	}
	res, err := sync.NewApplier(c, sync.WithMaxUpdatesPerWrite(50)).Apply(ctx, del)
	if err != nil || res.Applied != 1 {
		t.Fatalf("resume: %+v %v; want the delete applied (not a duplicate: it never finished)", res, err)
	}
	for _, r := range export(t, c) {
		if strings.HasPrefix(r, "file:") || strings.HasPrefix(r, "folder:") || strings.HasPrefix(r, "collaboration:") {
			t.Fatalf("left behind after the resumed delete: %s", r)
		}
	}
}

func TestSourcePositionCommittedWithWrites(t *testing.T) {
	c := testenv.SpiceDB(t, testenv.Memory)
	ctx := context.Background()
	a := sync.NewApplier(c, sync.WithMaxUpdatesPerWrite(10))
	evs := decode(t, baseTree...)
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
	want := export(t, func() *spicedb.Client {
		c2 := testenv.SpiceDB(t, testenv.Memory)
		if _, err := sync.NewApplier(c2).Apply(ctx, evs); err != nil {
			t.Fatal(err)
		}
		return c2
	}())
	if got := export(t, c); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("interrupted and resumed run differs from an uninterrupted one:\n%v\n%v", got, want)
	}
}
