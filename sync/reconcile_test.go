package sync_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/examples"
	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/testenv"
	"github.com/boxauthz/boxauthz/sync"
)

func TestReconcileRepairsDrift(t *testing.T) {
	ctx := context.Background()
	c := testenv.SpiceDB(t, testenv.Memory)
	state := append(append([]string{}, baseTree...), collabB)
	if _, err := sync.NewApplier(c).Apply(ctx, decode(t, state...)); err != nil {
		t.Fatal(err)
	}
	want := export(t, c)

	// Drift: a grant nobody made, and a lost parent.
	stray := &v1.Relationship{Resource: &v1.ObjectReference{ObjectType: "folder", ObjectId: "a"}, Relation: "editor",
		Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "mallory"}}}
	lost := &v1.Relationship{Resource: &v1.ObjectReference{ObjectType: "file", ObjectId: "x"}, Relation: "parent",
		Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "folder", ObjectId: "c"}}}
	if _, err := c.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{
		{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: stray},
		{Operation: v1.RelationshipUpdate_OPERATION_DELETE, Relationship: lost},
	}}); err != nil {
		t.Fatal(err)
	}
	// The snapshot lists current objects in any order, children first here.
	snapshot := strings.Join([]string{collabB, fileX, subC, subB, rootA, extXav, userBob, entAcme}, "\n")
	quiet := slog.New(slog.DiscardHandler)
	d, err := sync.Reconcile(ctx, c, strings.NewReader(snapshot), true, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Missing) != 1 || sync.RelationshipString(d.Missing[0]) != "file:x#parent@folder:c" ||
		len(d.Extra) != 1 || sync.RelationshipString(d.Extra[0]) != "folder:a#editor@user:mallory" {
		t.Fatalf("dry run drift = missing %v extra %v", d.Missing, d.Extra)
	}
	if got := export(t, c); strings.Join(got, "\n") == strings.Join(want, "\n") {
		t.Fatal("a dry run changed spicedb")
	}
	if _, err := sync.Reconcile(ctx, c, strings.NewReader(snapshot), false, quiet); err != nil {
		t.Fatal(err)
	}
	if got := export(t, c); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after reconcile:\n%v\nwant\n%v", got, want)
	}
	d, err = sync.Reconcile(ctx, c, strings.NewReader(snapshot), true, quiet)
	if err != nil || len(d.Missing)+len(d.Extra) != 0 {
		t.Fatalf("drift after repair: %+v %v", d, err)
	}
	if _, err := sync.Reconcile(ctx, c, strings.NewReader(`{"id":"x","type":"folder.deleted","folder":{"id":"a"}}`), true, quiet); err == nil {
		t.Fatal("a snapshot with a delete event was accepted")
	}
}

// acme applies the Acme enterprise (its archive folder in the trash) and
// returns its lines as a snapshot: the whole-state lines, the trash event
// dropped, each line passed through edit.
func acme(t *testing.T, c *spicedb.Client, edit func(line string) string) string {
	t.Helper()
	evs, err := sync.DecodeEvents(examples.AcmeEvents, true)
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
		out = append(out, sync.RelationshipString(r))
	}
	return out
}

// TestReconcileKeepsTrash: the snapshot of Acme its own events give says
// nothing of the trash, and reconcile used to propose taking the archive
// out of it (every collaborator of projects would get its content back).
// A restriction the snapshot does not address stays, and is reported kept.
func TestReconcileKeepsTrash(t *testing.T) {
	ctx := context.Background()
	c := testenv.SpiceDB(t, testenv.Memory)
	snapshot := acme(t, c, same)
	quiet := slog.New(slog.DiscardHandler)
	for _, dry := range []bool{true, false} {
		d, err := sync.Reconcile(ctx, c, strings.NewReader(snapshot), dry, quiet)
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
	if !slices.Contains(export(t, c), "folder:archive#trashed@user:*") {
		t.Fatal("reconcile took the archive out of the trash")
	}
}
