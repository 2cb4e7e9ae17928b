package reference_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/testkit/eventgen"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/rel"
	"github.com/boxauthz/boxauthz/sync/reconcile"
)

// TestDifferentialSnapshot: after each seeded stream of the differential
// test (trash and restore, deletes, moves, settings, owners deleted, users
// and groups changing enterprise ...), a snapshot of the state, written
// from the reference model, reconciles against what sync mirrored with
// nothing to do. Drift put into SpiceDB at random (trash lifted and added,
// grants removed and made up, parents lost) is repaired so that every check
// and lookup agrees with the model again. A snapshot that leaves trash and
// settings out keeps every one of them.
func TestDifferentialSnapshot(t *testing.T) {
	b := diffBudget(t)
	for seed := b.first; seed < b.first+uint64(b.seeds); seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { snapshotDifferential(t, seed, b.events) })
	}
}

func snapshotDifferential(t *testing.T, seed uint64, n int) {
	ctx := t.Context()
	gen := eventgen.New(seed, eventgen.WithAllKinds(), eventgen.WithInvalid(*flagInvalid))
	var lines [][]byte
	for _, e := range gen.Events(n) {
		lines = append(lines, e.Line)
	}
	c := testenv.SpiceDB(t, testenv.Memory)
	r, err := replay(ctx, c, lines)
	if err != nil {
		t.Fatal(err)
	}
	if r.diverged != nil {
		t.Fatalf("the replay diverged (TestDifferential tells more): %s", r.diverged)
	}
	st := modelState(t, r.ref)
	if len(st.trashed) == 0 || len(st.ownerless) == 0 {
		t.Fatalf("%d items in the trash, %d without an owner: the stream exercises too little", len(st.trashed), len(st.ownerless))
	}
	quiet := slog.New(slog.DiscardHandler)
	repair := func(snapshot string, dry bool) reconcile.Drift {
		t.Helper()
		d, err := reconcile.Reconcile(ctx, c, strings.NewReader(snapshot), dry, quiet)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	faithful := snapshotOf(t, lines, r, st, true)
	if d := repair(faithful, true); len(d.Missing)+len(d.Extra)+len(d.Kept) != 0 {
		t.Fatalf("a faithful snapshot proposes %d missing %v, %d extra %v, keeps %d %v",
			len(d.Missing), head(d.Missing), len(d.Extra), head(d.Extra), len(d.Kept), head(d.Kept))
	}

	// A snapshot in the format before trash could be stated, settings left
	// out too: nothing to do, and every restriction kept.
	d := repair(snapshotOf(t, lines, r, st, false), true)
	if len(d.Missing)+len(d.Extra) != 0 {
		t.Fatalf("a snapshot without trash or settings proposes %d missing %v, %d extra %v", len(d.Missing), head(d.Missing), len(d.Extra), head(d.Extra))
	}
	var kept []string
	for _, k := range d.Kept {
		kept = append(kept, rel.String(k))
	}
	if want := st.restrictions(); !slices.Equal(kept, want) {
		t.Fatalf("kept %d restrictions %v, want the model's %d %v", len(kept), kept, len(want), want)
	}

	drift := injectDrift(t, c, seed, st)
	d = repair(faithful, false)
	if len(d.Missing)+len(d.Extra) < drift {
		t.Fatalf("%d relationships of drift injected, reconcile found %d", drift, len(d.Missing)+len(d.Extra))
	}
	if d := repair(faithful, true); len(d.Missing)+len(d.Extra)+len(d.Kept) != 0 {
		t.Fatalf("after the repair: %d missing %v, %d extra %v, %d kept", len(d.Missing), head(d.Missing), len(d.Extra), head(d.Extra), len(d.Kept))
	}
	ms, stats, err := compare(ctx, r, gen.Users())
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if i == 10 {
			t.Errorf("... %d mismatches in all", len(ms))
			break
		}
		t.Errorf("after the repair, mismatch: %s", m)
	}
	t.Logf("%d trashed, %d ownerless items; %d restrictions kept by a snapshot without them; %d relationships of drift repaired; %d checks (%d yes) agree",
		len(st.trashed), len(st.ownerless), len(kept), len(d.Missing)+len(d.Extra), stats.checks, stats.yes)
}

func head(rs []*v1.Relationship) []string {
	var out []string
	for i, r := range rs {
		if i == 5 {
			out = append(out, "...")
			break
		}
		out = append(out, rel.String(r))
	}
	return out
}

// state is what the reference model holds, read from its dump.
type state struct {
	users, groups, members, collabs, links map[string]bool
	items                                  map[string]itemState // "type:id"
	trashed, ownerless                     []string             // "type:id", sorted
}

type itemState struct {
	parent, owner                  string // parent "0" at the top; owner "" for none
	inviteOff, restricted, trashed bool
}

func modelState(t *testing.T, m interface{ Dump() string }) *state {
	t.Helper()
	st := &state{
		users: map[string]bool{}, groups: map[string]bool{}, members: map[string]bool{}, collabs: map[string]bool{},
		links: map[string]bool{}, items: map[string]itemState{},
	}
	for _, l := range strings.Split(m.Dump(), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		attr := map[string]string{}
		for _, kv := range f[2:] {
			k, v, _ := strings.Cut(kv, "=")
			attr[k] = v
		}
		switch f[0] {
		case "user":
			st.users[f[1]] = true
		case "group":
			st.groups[f[1]] = true
		case "member":
			st.members[f[1]+"|"+f[2]] = true
		case "collab":
			st.collabs[f[1]] = true
		case "link":
			st.links[f[1]] = true
		case "item":
			it := itemState{
				parent: strings.TrimPrefix(attr["parent"], "folder:"), owner: attr["owner"],
				inviteOff: attr["inviteOff"] == "true", restricted: attr["restricted"] == "true", trashed: attr["trashed"] == "true",
			}
			if it.parent == "" {
				it.parent = schema.RootID
			}
			st.items[f[1]] = it
			if it.trashed {
				st.trashed = append(st.trashed, f[1])
			}
			if it.owner == "" {
				st.ownerless = append(st.ownerless, f[1])
			}
		case "applied":
		default:
			t.Fatalf("the model's dump has a line this test cannot read: %q", l)
		}
	}
	slices.Sort(st.trashed)
	slices.Sort(st.ownerless)
	return st
}

// restrictions are the relationships the model's trash and folder settings
// stand for, as sync writes them, sorted.
func (st *state) restrictions() []string {
	var out []string
	for k, it := range st.items {
		typ, id, _ := strings.Cut(k, ":")
		obj := typ + ":" + schema.EncodeID(id)
		if it.trashed {
			out = append(out, obj+"#trashed@user:*")
		}
		if it.inviteOff {
			out = append(out, obj+"#non_owners_invite_off@user:*")
		}
		if it.restricted {
			out = append(out, obj+"#collaboration_restricted@user:*")
		}
	}
	slices.Sort(out)
	return out
}

// snapshotOf writes a snapshot of the state the stream reached: items from
// the model (parent, owner or null, settings, trash), every other object
// that the model still holds from the last whole-state event applied for
// it. Without restrictions, items say nothing of trash or settings.
func snapshotOf(t *testing.T, lines [][]byte, r *run, st *state, restrictions bool) string {
	t.Helper()
	last := map[string]json.RawMessage{} // "kind key" -> payload
	applied := map[string]bool{}
	for i, l := range lines {
		id := eventID(l)
		if r.refErr[i] != nil || applied[id] {
			continue
		}
		applied[id] = true
		var e map[string]json.RawMessage
		if err := json.Unmarshal(l, &e); err != nil {
			t.Fatal(err)
		}
		var typ string
		_ = json.Unmarshal(e["type"], &typ)
		obj, verb, _ := strings.Cut(typ, ".")
		if verb != "created" && verb != "updated" {
			continue
		}
		var p struct {
			ID, Group, User string
			Item            struct{ Type, ID string }
		}
		if err := json.Unmarshal(e[obj], &p); err != nil {
			t.Fatal(err)
		}
		k := p.ID
		switch obj {
		case "group_membership":
			k = p.Group + "|" + p.User
		case "shared_link":
			k = p.Item.Type + ":" + p.Item.ID
		}
		last[obj+" "+k] = e[obj]
	}
	var out []string
	line := func(obj string, payload any) {
		b, err := json.Marshal(map[string]any{"id": fmt.Sprint("s", len(out)), "type": obj + ".created", obj: payload})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	for _, kind := range []struct {
		obj  string
		keys map[string]bool
	}{{"user", st.users}, {"group", st.groups}, {"group_membership", st.members}, {"collaboration", st.collabs}, {"shared_link", st.links}} {
		for k := range kind.keys {
			p, ok := last[kind.obj+" "+k]
			if !ok {
				t.Fatalf("the model holds %s %s, and no event applied created it", kind.obj, k)
			}
			line(kind.obj, p)
		}
	}
	for k, it := range st.items {
		typ, id, _ := strings.Cut(k, ":")
		p := map[string]any{"id": id, "parent": it.parent, "owner": nil}
		if it.owner != "" {
			p["owner"] = it.owner
		}
		if restrictions {
			p["trashed"] = it.trashed
			if typ == "folder" {
				p["can_non_owners_invite"] = !it.inviteOff
				p["is_collaboration_restricted_to_enterprise"] = it.restricted
			}
		}
		line(typ, p)
	}
	// Any order is a snapshot; this one is random.
	rand.New(rand.NewPCG(uint64(len(out)), 7)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return strings.Join(out, "\n")
}

// injectDrift writes drift into SpiceDB as a lost event or a stray write
// would: trash lifted from some trashed items and put on others, grants and
// parents lost, grants made up. It returns how many relationships it changed.
func injectDrift(t *testing.T, c *spicedb.Client, seed uint64, st *state) int {
	t.Helper()
	ctx := t.Context()
	rnd := rand.New(rand.NewPCG(seed, 42))
	ref := func(k string) *v1.ObjectReference {
		typ, id, _ := strings.Cut(k, ":")
		return &v1.ObjectReference{ObjectType: typ, ObjectId: schema.EncodeID(id)}
	}
	flagOn := func(k, relation string) *v1.Relationship {
		return &v1.Relationship{Resource: ref(k), Relation: relation, Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "*"}}}
	}
	ups := map[string]*v1.RelationshipUpdate{}
	put := func(op v1.RelationshipUpdate_Operation, r *v1.Relationship) {
		ups[r.String()] = &v1.RelationshipUpdate{Operation: op, Relationship: r}
	}
	items := make([]string, 0, len(st.items))
	for k := range st.items {
		items = append(items, k)
	}
	slices.Sort(items)
	for _, k := range items {
		it := st.items[k]
		switch x := rnd.IntN(10); {
		case it.trashed && x < 5:
			put(v1.RelationshipUpdate_OPERATION_DELETE, flagOn(k, "trashed"))
		case !it.trashed && x == 0:
			put(v1.RelationshipUpdate_OPERATION_TOUCH, flagOn(k, "trashed"))
		case x == 1:
			put(v1.RelationshipUpdate_OPERATION_TOUCH, &v1.Relationship{
				Resource: ref(k), Relation: "editor",
				Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "mallory"}},
			})
		case x == 2 && it.parent != schema.RootID:
			put(v1.RelationshipUpdate_OPERATION_DELETE, &v1.Relationship{
				Resource: ref(k), Relation: "parent",
				Subject: &v1.SubjectReference{Object: ref("folder:" + it.parent)},
			})
		case x == 3 && it.owner != "":
			put(v1.RelationshipUpdate_OPERATION_DELETE, &v1.Relationship{
				Resource: ref(k), Relation: "owner",
				Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: schema.EncodeID(it.owner)}},
			})
		}
	}
	var list []*v1.RelationshipUpdate
	for _, u := range ups {
		list = append(list, u)
	}
	if len(list) == 0 {
		t.Fatal("no drift to inject")
	}
	if _, err := c.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: list}); err != nil {
		t.Fatalf("injecting drift: %v", err)
	}
	return len(list)
}
