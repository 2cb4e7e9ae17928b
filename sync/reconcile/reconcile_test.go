package reconcile_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"

	"github.com/boxauthz/boxauthz/examples"
	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/testkit/fixture"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/rel"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/event"
	"github.com/boxauthz/boxauthz/sync/reconcile"
)

func TestReconcileRepairsDrift(t *testing.T) {
	ctx := context.Background()
	c := testenv.SpiceDB(t, testenv.Memory)
	state := append(append([]string{}, fixture.BaseTree()...), fixture.CollabB)
	if _, err := sync.NewApplier(c).Apply(ctx, fixture.Decode(t, state...)); err != nil {
		t.Fatal(err)
	}
	want := fixture.Export(t, c)

	// Drift: a grant nobody made, and a lost parent.
	stray := &v1.Relationship{
		Resource: &v1.ObjectReference{ObjectType: "folder", ObjectId: "a"}, Relation: "editor",
		Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "mallory"}},
	}
	lost := &v1.Relationship{
		Resource: &v1.ObjectReference{ObjectType: "file", ObjectId: "x"}, Relation: "parent",
		Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "folder", ObjectId: "c"}},
	}
	if _, err := c.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{
		{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: stray},
		{Operation: v1.RelationshipUpdate_OPERATION_DELETE, Relationship: lost},
	}}); err != nil {
		t.Fatal(err)
	}
	// The snapshot lists current objects in any order, children first here.
	snapshot := strings.Join([]string{fixture.CollabB, fixture.FileX, fixture.SubC, fixture.SubB, fixture.RootA, fixture.ExtXav, fixture.UserBob, fixture.EntAcme}, "\n")
	quiet := slog.New(slog.DiscardHandler)
	d, err := reconcile.Reconcile(ctx, c, strings.NewReader(snapshot), true, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Missing) != 1 || rel.String(d.Missing[0]) != "file:x#parent@folder:c" ||
		len(d.Extra) != 1 || rel.String(d.Extra[0]) != "folder:a#editor@user:mallory" {
		t.Fatalf("dry run drift = missing %v extra %v", d.Missing, d.Extra)
	}
	if got := fixture.Export(t, c); strings.Join(got, "\n") == strings.Join(want, "\n") {
		t.Fatal("a dry run changed spicedb")
	}
	if _, err := reconcile.Reconcile(ctx, c, strings.NewReader(snapshot), false, quiet); err != nil {
		t.Fatal(err)
	}
	if got := fixture.Export(t, c); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after reconcile:\n%v\nwant\n%v", got, want)
	}
	d, err = reconcile.Reconcile(ctx, c, strings.NewReader(snapshot), true, quiet)
	if err != nil || len(d.Missing)+len(d.Extra) != 0 {
		t.Fatalf("drift after repair: %+v %v", d, err)
	}
	if _, err := reconcile.Reconcile(ctx, c, strings.NewReader(`{"id":"x","type":"folder.deleted","folder":{"id":"a"}}`), true, quiet); err == nil {
		t.Fatal("a snapshot with a delete event was accepted")
	}
}

// acme applies the Acme enterprise (its archive folder in the trash) and
// returns its lines as a snapshot: the whole-state lines, the trash event
// dropped, each line passed through edit.
func acme(t *testing.T, c *spicedb.Client, edit func(line string) string) string {
	t.Helper()
	evs, err := event.DecodeEvents(examples.AcmeEvents, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sync.NewApplier(c).Apply(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(examples.AcmeEvents)), "\n") {
		if strings.Contains(l, `"type":"folder.trashed"`) {
			continue
		}
		out = append(out, edit(l))
	}
	return strings.Join(out, "\n")
}

func same(l string) string { return l }

// setField adds "field":value to the payload of the line about object id.
func setField(id, field, value string) func(string) string {
	return func(l string) string {
		if strings.Contains(l, `{"id":"`+id+`",`) {
			return strings.Replace(l, `{"id":"`+id+`",`, `{"id":"`+id+`","`+field+`":`+value+`,`, 1)
		}
		return l
	}
}

func relStrings(rs []*v1.Relationship) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, rel.String(r))
	}
	return out
}

// TestReconcileKeepsTrash: the snapshot of Acme its own events give says
// nothing of the trash, and reconcile used to propose taking the archive
// out of it (every collaborator of projects would get its content back).
// A restriction the snapshot does not address stays, and is reported kept.
func TestReconcileKeepsTrash(t *testing.T) {
	for _, ds := range testenv.Datastores() {
		t.Run(string(ds), func(t *testing.T) {
			ctx := context.Background()
			c := testenv.SpiceDB(t, ds)
			snapshot := acme(t, c, same)
			quiet := slog.New(slog.DiscardHandler)
			for _, dry := range []bool{true, false} {
				d, err := reconcile.Reconcile(ctx, c, strings.NewReader(snapshot), dry, quiet)
				if err != nil {
					t.Fatal(err)
				}
				if len(d.Missing)+len(d.Extra) != 0 {
					t.Fatalf("dry run %v: drift = missing %v extra %v, want none", dry, relStrings(d.Missing), relStrings(d.Extra))
				}
				if got := relStrings(d.Kept); strings.Join(got, " ") != "folder:archive#trashed@user:*" {
					t.Fatalf("dry run %v: kept %v, want the archive's trash", dry, got)
				}
			}
			if !slices.Contains(fixture.Export(t, c), "folder:archive#trashed@user:*") {
				t.Fatal("reconcile took the archive out of the trash")
			}
		})
	}
}

func drop(match string) func(string) string {
	return func(l string) string {
		if strings.Contains(l, match) {
			return ""
		}
		return l
	}
}

func replace(old, repl string) func(string) string {
	return func(l string) string { return strings.ReplaceAll(l, old, repl) }
}

// TestReconcileStatesEveryRestriction: each piece of state that restricts
// access can be stated in a snapshot either way, and is left as it is when
// the snapshot does not address it. Every case starts from Acme, with live
// events after it, and a snapshot of Acme's lines edited.
func TestReconcileStatesEveryRestriction(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		live                 []string              // events after Acme's
		edits                []func(string) string // "" drops the line
		missing, extra, kept []string
	}{{
		name:  "trash stated",
		edits: []func(string) string{setField("archive", "trashed", "true")},
	}, {
		name:  "trash stated as over",
		edits: []func(string) string{setField("archive", "trashed", "false")},
		extra: []string{"folder:archive#trashed@user:*"},
	}, {
		name:    "a trash event lost",
		live:    []string{`{"id":"l1","type":"folder.restored","folder":{"id":"archive"}}`},
		edits:   []func(string) string{setField("archive", "trashed", "true"), setField("plan", "trashed", "true")},
		missing: []string{"file:plan#trashed@user:*", "folder:archive#trashed@user:*"},
	}, {
		name:  "trash of an item the snapshot leaves out",
		edits: []func(string) string{drop(`"id":"old-notes"`), drop(`"id":"archive"`)},
		extra: []string{
			"file:old-notes#exists@user:*", "file:old-notes#owner@user:alice", "file:old-notes#parent@folder:archive", "file:old-notes#placement@user:*[placed_under]",
			"folder:archive#exists@user:*", "folder:archive#owner@user:alice", "folder:archive#parent@folder:projects", "folder:archive#placement@user:*[placed_under]",
		},
		kept: []string{"folder:archive#trashed@user:*"},
	}, {
		name:  "invites off, the setting left out",
		edits: []func(string) string{replace(`,"can_non_owners_invite":false`, "")},
		kept:  []string{"folder:archive#trashed@user:*", "folder:assets#non_owners_invite_off@user:*"},
	}, {
		name:  "invites on again, stated",
		edits: []func(string) string{replace(`"can_non_owners_invite":false`, `"can_non_owners_invite":true`)},
		extra: []string{"folder:assets#non_owners_invite_off@user:*"},
		kept:  []string{"folder:archive#trashed@user:*"},
	}, {
		name: "collaboration restricted after an outside collaboration",
		live: []string{`{"id":"l1","type":"folder.updated","folder":{"id":"projects","parent":"0","owner":"alice","is_collaboration_restricted_to_enterprise":true}}`},
		edits: []func(string) string{
			setField("projects", "is_collaboration_restricted_to_enterprise", "true"),
			setField("archive", "trashed", "true"),
		},
	}, {
		name:  "collaboration restriction, the setting left out",
		live:  []string{`{"id":"l1","type":"folder.updated","folder":{"id":"projects","parent":"0","owner":"alice","is_collaboration_restricted_to_enterprise":true}}`},
		edits: []func(string) string{setField("archive", "trashed", "true")},
		kept:  []string{"folder:projects#collaboration_restricted@user:*"},
	}, {
		name:  "a co-admin's role left out",
		edits: []func(string) string{replace(`,"role":"coadmin","coadmin_privileges":["manage_users","view_content"]`, ""), setField("archive", "trashed", "true")},
		extra: []string{"enterprise:acme#coadmin@user:carl", "enterprise:acme#coadmin_manage_users@user:carl", "enterprise:acme#coadmin_view_content@user:carl"},
		kept:  []string{"user:carl#privileged@user:*"},
	}, {
		name:  "a co-admin demoted, stated",
		edits: []func(string) string{replace(`"role":"coadmin","coadmin_privileges":["manage_users","view_content"]`, `"role":"user"`), setField("archive", "trashed", "true")},
		extra: []string{"enterprise:acme#coadmin@user:carl", "enterprise:acme#coadmin_manage_users@user:carl", "enterprise:acme#coadmin_view_content@user:carl", "user:carl#privileged@user:*"},
	}, {
		name:  "a service account, the flag left out",
		live:  []string{`{"id":"l1","type":"user.updated","user":{"id":"erin","enterprise":"acme","is_service_account":true}}`},
		edits: []func(string) string{setField("archive", "trashed", "true")},
		kept:  []string{"user:erin#service_account@user:*"},
	}, {
		name:  "a service account no more, stated",
		live:  []string{`{"id":"l1","type":"user.updated","user":{"id":"erin","enterprise":"acme","is_service_account":true}}`},
		edits: []func(string) string{setField("erin", "is_service_account", "false"), setField("archive", "trashed", "true")},
		extra: []string{"user:erin#service_account@user:*"},
	}, {
		name:  "items whose owner was deleted",
		live:  []string{`{"id":"l1","type":"user.deleted","user":{"id":"alice"}}`},
		edits: []func(string) string{drop(`"user":{"id":"alice"`), replace(`"owner":"alice"`, `"owner":null`), setField("archive", "trashed", "true")},
	}, {
		name:    "an owner lost",
		live:    []string{`{"id":"l1","type":"user.deleted","user":{"id":"alice"}}`},
		edits:   []func(string) string{drop(`"user":{"id":"alice"`), replace(`"owner":"alice"`, `"owner":null`), replace(`{"id":"plan","parent":"launch","owner":null}`, `{"id":"plan","parent":"launch","owner":"bob"}`), setField("archive", "trashed", "true")},
		missing: []string{"file:plan#owner@user:bob"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c := testenv.SpiceDB(t, testenv.Memory)
			snapshot := acme(t, c, func(l string) string {
				for _, e := range tc.edits {
					if l = e(l); l == "" {
						return ""
					}
				}
				return l
			})
			if len(tc.live) > 0 {
				if _, err := sync.NewApplier(c).Apply(ctx, fixture.Decode(t, tc.live...)); err != nil {
					t.Fatal(err)
				}
			}
			quiet := slog.New(slog.DiscardHandler)
			check := func(step string, d reconcile.Drift, missing, extra, kept []string) {
				t.Helper()
				for _, x := range []struct {
					what      string
					got, want []string
				}{{"missing", relStrings(d.Missing), missing}, {"extra", relStrings(d.Extra), extra}, {"kept", relStrings(d.Kept), kept}} {
					if x.want == nil {
						x.want = []string{}
					}
					if !slices.Equal(x.got, x.want) {
						t.Errorf("%s: %s %q, want %q", step, x.what, x.got, x.want)
					}
				}
			}
			d, err := reconcile.Reconcile(ctx, c, strings.NewReader(snapshot), true, quiet)
			if err != nil {
				t.Fatal(err)
			}
			check("dry run", d, tc.missing, tc.extra, tc.kept)
			if _, err := reconcile.Reconcile(ctx, c, strings.NewReader(snapshot), false, quiet); err != nil {
				t.Fatal(err)
			}
			d, err = reconcile.Reconcile(ctx, c, strings.NewReader(snapshot), true, quiet)
			if err != nil {
				t.Fatal(err)
			}
			check("after the repair", d, nil, nil, tc.kept)
		})
	}
}

// TestReconcileRefusesBadSnapshots: a bad line is named, with its field,
// and nothing is written.
func TestReconcileRefusesBadSnapshots(t *testing.T) {
	ctx := context.Background()
	c := testenv.SpiceDB(t, testenv.Memory)
	acme(t, c, same)
	before := fixture.Export(t, c)
	quiet := slog.New(slog.DiscardHandler)
	root := `{"id":"s1","type":"folder.created","folder":{"id":"a","parent":"0","owner":"alice"}}`
	for _, tc := range []struct{ line, want string }{
		{`{"id":"s2","type":"folder.created","folder":{"id":"b","parent":"0","owner":"alice","trashed":"yes"}}`, `snapshot line 2: event "s2" (index 2): field "folder.trashed": want true or false (whether the folder is in the trash), got string`},
		{`{"id":"s2","type":"file.created","file":{"id":"b","parent":"a","owner":"alice","trashed":true,"trashed":false}}`, `snapshot line 2: event "s2" (index 2): field "file.trashed": field appears twice`},
		{`{"id":"s2","type":"folder.trashed","folder":{"id":"a"}}`, `snapshot line 2: folder.trashed: a snapshot states current objects (*.created or *.updated; trash as "trashed": true on the item's line)`},
		{`{"id":"s2","type":"user.created","user":{"id":"bob","trashed":true}}`, `field "user.trashed": unknown field`},
		{`{"id":"s2","type":"file.created","file":{"id":"b","parent":"a"}}`, `field "file.owner": required`},
		{`{"id":"s2","type":"file.created","file":{"id":"b","parent":"a","owner":null,"owner":"bob"}}`, `field "file.owner": field appears twice`},
	} {
		for _, dry := range []bool{true, false} {
			_, err := reconcile.Reconcile(ctx, c, strings.NewReader(root+"\n"+tc.line), dry, quiet)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: error %v, want %q", tc.line, err, tc.want)
			}
		}
	}
	if after := fixture.Export(t, c); !slices.Equal(after, before) {
		t.Error("a refused snapshot changed spicedb")
	}
}

// writeLog keeps every write a repair makes.
type writeLog struct {
	*spicedb.Client
	writes [][]*v1.RelationshipUpdate
}

func (r *writeLog) WriteRelationships(ctx context.Context, in *v1.WriteRelationshipsRequest, opts ...grpc.CallOption) (*v1.WriteRelationshipsResponse, error) {
	r.writes = append(r.writes, in.GetUpdates())
	return r.Client.WriteRelationships(ctx, in, opts...)
}

// TestReconcileWritesRestrictionsSafely: a repair larger than one write is
// not one transaction, so its order matters: restrictions added first,
// grants removed, parents, grants added, restrictions removed last. No write
// lifts a restriction while a grant it guards is still to go.
func TestReconcileWritesRestrictionsSafely(t *testing.T) {
	ctx := context.Background()
	c := testenv.SpiceDB(t, testenv.Memory)
	const n = 600
	var live, snap []string
	old := `{"id":"old","type":"folder.created","folder":{"id":"old","parent":"0","owner":"alice"}}`
	live = append(live, fixture.EntAcme, fixture.UserBob, old)
	snap = append(snap, fixture.EntAcme, fixture.UserBob, old)
	for i := range n {
		f := fmt.Sprintf(`{"id":"f%d","type":"folder.created","folder":{"id":"d%d","parent":"old","owner":"alice"}}`, i, i)
		live = append(live, f, fmt.Sprintf(`{"id":"t%d","type":"folder.trashed","folder":{"id":"d%d"}}`, i, i))
		// The snapshot takes the first half out of the trash, puts the
		// second half in a new folder and every tenth folder under a
		// collaboration.
		switch {
		case i < n/2:
			snap = append(snap, setField(fmt.Sprint("d", i), "trashed", "false")(f))
		default:
			snap = append(snap, setField(fmt.Sprint("d", i), "trashed", "true")(strings.Replace(f, `"parent":"old"`, `"parent":"new"`, 1)))
		}
		if i%10 == 0 {
			snap = append(snap, fmt.Sprintf(`{"id":"c%d","type":"collaboration.created","collaboration":{"id":"k%d","item":{"type":"folder","id":"d%d"},"accessible_by":{"type":"user","id":"bob"},"role":"viewer"}}`, i, i, i))
		}
	}
	live = append(live[:3], append([]string{`{"id":"new","type":"folder.created","folder":{"id":"new","parent":"0","owner":"alice"}}`}, live[3:]...)...)
	snap = append(snap, `{"id":"new","type":"folder.created","folder":{"id":"new","parent":"0","owner":"alice","trashed":true}}`)
	if _, err := sync.NewApplier(c).Apply(ctx, fixture.Decode(t, live...)); err != nil {
		t.Fatal(err)
	}
	// Drift to remove: a grant on every folder.
	var stray []*v1.RelationshipUpdate
	for i := range n {
		stray = append(stray, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: &v1.Relationship{
			Resource: &v1.ObjectReference{ObjectType: "folder", ObjectId: fmt.Sprint("d", i)}, Relation: "editor",
			Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "mallory"}},
		}})
	}
	if _, err := c.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: stray}); err != nil {
		t.Fatal(err)
	}
	rec := &writeLog{Client: c}
	quiet := slog.New(slog.DiscardHandler)
	d, err := reconcile.Reconcile(ctx, rec, strings.NewReader(strings.Join(snap, "\n")), false, quiet)
	if err != nil {
		t.Fatal(err)
	}
	// 1 new trash, n stray grants and n/2 old parents to remove, n/2 new
	// parents and their placements to write, n/10 collaborations (3
	// relationships each) to add, n/2 trash flags to lift.
	if got, want := len(d.Missing)+len(d.Extra), 1+n+n/2+n/2+n/2+3*n/10+n/2; got != want {
		t.Fatalf("drift of %d relationships, want %d", got, want)
	}
	if len(rec.writes) < 3 {
		t.Fatalf("%d writes: the test wants a repair of several", len(rec.writes))
	}
	phase := func(u *v1.RelationshipUpdate) int {
		r := u.GetRelationship()
		restriction := r.GetRelation() == "trashed"
		touch := u.GetOperation() == v1.RelationshipUpdate_OPERATION_TOUCH
		switch {
		case restriction && touch:
			return 0
		case r.GetRelation() == "parent" || r.GetRelation() == "placement":
			return 2
		case restriction:
			return 4
		case !touch:
			return 1
		}
		return 3
	}
	names := []string{"restrictions added", "grants removed", "parents changed", "grants added", "restrictions removed"}
	last := 0
	parentWrites := map[int]bool{}
	for w, ups := range rec.writes {
		if len(ups) > 1000 {
			t.Errorf("write %d has %d updates, more than SpiceDB takes", w, len(ups))
		}
		for _, u := range ups {
			p := phase(u)
			if p < last {
				t.Fatalf("write %d: %s (%s) after %s", w, names[p], rel.String(u.GetRelationship()), names[last])
			}
			last = p
			if p == 2 {
				parentWrites[w] = true
			}
		}
	}
	if len(parentWrites) != 1 {
		t.Errorf("the parents changed in %d writes, want one", len(parentWrites))
	}
	if d, err := reconcile.Reconcile(ctx, c, strings.NewReader(strings.Join(snap, "\n")), true, quiet); err != nil || len(d.Missing)+len(d.Extra)+len(d.Kept) != 0 {
		t.Fatalf("drift after the repair: %d missing, %d extra, %d kept (%v)", len(d.Missing), len(d.Extra), len(d.Kept), err)
	}
}

// TestReconcileEndsSessionsOfRemovedUsers: a user the repair removes keeps
// no live token session; the users it leaves keep theirs, and the sessions
// themselves are never drift.
func TestReconcileEndsSessionsOfRemovedUsers(t *testing.T) {
	ctx := context.Background()
	c := testenv.SpiceDB(t, testenv.Memory)
	snapshot := acme(t, c, func(l string) string { return drop(`"user":{"id":"bob"`)(setField("archive", "trashed", "true")(l)) })
	sessions := func() map[string]bool {
		t.Helper()
		rs, _, err := spicedb.ReadAll(ctx, c, &v1.ReadRelationshipsRequest{
			Consistency:        &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
			RelationshipFilter: &v1.RelationshipFilter{ResourceType: schema.TypeUserSession, OptionalRelation: schema.RelationLive},
		})
		if err != nil {
			t.Fatal(err)
		}
		live := map[string]bool{}
		for _, r := range rs {
			live[r.GetResource().GetObjectId()] = true
		}
		return live
	}
	sessionOf := func(user string) string {
		t.Helper()
		rs, _, err := spicedb.ReadAll(ctx, c, &v1.ReadRelationshipsRequest{
			Consistency:        &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
			RelationshipFilter: &v1.RelationshipFilter{ResourceType: schema.TypeUser, OptionalResourceId: user, OptionalRelation: schema.RelationTokenSession},
		})
		if err != nil || len(rs) != 1 {
			t.Fatalf("token session of %s: %v %v", user, rs, err)
		}
		return rs[0].GetSubject().GetObject().GetObjectId()
	}
	bob, alice := sessionOf("bob"), sessionOf("alice")
	if live := sessions(); !live[bob] || !live[alice] {
		t.Fatalf("live sessions %v, want bob's %s and alice's %s", live, bob, alice)
	}
	quiet := slog.New(slog.DiscardHandler)
	d, err := reconcile.Reconcile(ctx, c, strings.NewReader(snapshot), false, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if got := relStrings(d.Extra); !slices.Contains(got, "user:bob#exists@user:*") || slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "session") }) {
		t.Fatalf("extra %v: want bob's relationships, no session", got)
	}
	if live := sessions(); live[bob] || !live[alice] {
		t.Fatalf("after the repair, live sessions %v: want alice's %s only, not bob's %s", live, alice, bob)
	}
}
