// Package eventgen generates random streams of content change events
// (EVENTS.md) from a seed, for crash, differential and load tests. It tracks
// the state the events imply so that every event it means to be valid is
// valid where it stands in the stream: parents exist, moves make no cycles,
// one collaboration per item and grantee, nothing refers to a deleted object.
//
// By default the streams are the plain ones the crash and load tests were
// written against, and the same seed always gives the same bytes. Options
// widen them for differential tests: WithAllKinds adds the valid event kinds
// a plain stream lacks (settings and owner changes, restricted folders,
// users and groups changing enterprise, deleted and recreated, redelivered
// events), and WithInvalid mixes in events EVENTS.md calls bad input, each
// labelled with the rule it breaks.
package eventgen

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// Generator emits events. It is not safe for concurrent use.
type Generator struct {
	rnd     *rand.Rand
	seq     int
	now     time.Time
	users   []string
	ents    []string
	groups  []string
	folders map[string]string // id -> parent ("0" at the top)
	files   map[string]string // id -> parent
	owner   map[string]string // item id -> owner ("" after the owner's deletion)
	collabs map[string]collab // id -> collaboration
	linked  map[string]string // item id -> type
	nextID  int

	// What the options need: kept always, since keeping it draws nothing
	// from rnd and so cannot change a plain stream.
	userEnt    map[string]string // user -> enterprise ("" external)
	userGone   map[string]bool
	groupEnt   map[string]string
	groupGone  map[string]bool
	inviteOff  map[string]bool // folder -> can_non_owners_invite is false
	restricted map[string]bool // folder -> is_collaboration_restricted_to_enterprise
	gone       []string        // ids of deleted items, "type:id"

	allKinds bool
	invalid  int      // percent of events after Setup that are bad input
	sent     [][]byte // valid events so far, for redelivery (WithAllKinds)
}

// Option widens what a Generator emits.
type Option func(*Generator)

// WithAllKinds adds the valid event kinds a plain stream lacks: folder and
// file updates (settings, owner), folders restricted to their enterprise,
// users and groups changing enterprise, deleted and created again, and exact
// redeliveries of earlier events (which EVENTS.md says are skipped).
func WithAllKinds() Option { return func(g *Generator) { g.allKinds = true } }

// WithInvalid makes about percent of the events after Setup bad input, each
// of one kind (InvalidKinds). Restricted-collaboration violations need
// WithAllKinds, which is the only source of restricted folders.
func WithInvalid(percent int) Option { return func(g *Generator) { g.invalid = percent } }

// Event is one generated event. Invalid names the kind of bad input it was
// built to be (one of InvalidKinds), "" for a valid event.
type Event struct {
	Line    []byte
	Invalid string
}

type collab struct {
	itemType, item, whoType, who string
}

// New returns a generator for seed, with a fixed population of users,
// enterprises and groups.
func New(seed uint64, opts ...Option) *Generator {
	g := &Generator{
		rnd:        rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		now:        time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		folders:    map[string]string{},
		files:      map[string]string{},
		owner:      map[string]string{},
		collabs:    map[string]collab{},
		linked:     map[string]string{},
		userEnt:    map[string]string{},
		userGone:   map[string]bool{},
		groupEnt:   map[string]string{},
		groupGone:  map[string]bool{},
		inviteOff:  map[string]bool{},
		restricted: map[string]bool{},
	}
	for _, o := range opts {
		o(g)
	}
	return g
}

func (g *Generator) id(prefix string) string {
	g.nextID++
	return fmt.Sprintf("%s%d", prefix, g.nextID)
}

func (g *Generator) emit(typ, payloadName string, payload map[string]any) []byte {
	g.seq++
	ev := map[string]any{"id": fmt.Sprintf("evt-%06d", g.seq), "type": typ, payloadName: payload}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err) // maps of strings and bools always marshal
	}
	return b
}

func (g *Generator) pick(xs []string) string { return xs[g.rnd.IntN(len(xs))] }

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Users lists the generated users.
func (g *Generator) Users() []string { return append([]string(nil), g.users...) }

// Setup emits the population: two enterprises with admins, users (some
// external), groups with members.
func (g *Generator) Setup() [][]byte {
	var out [][]byte
	g.ents = []string{"ent-a", "ent-b"}
	for i := 0; i < 16; i++ {
		u := fmt.Sprintf("user%d", i)
		if i%5 == 4 {
			u = fmt.Sprintf("ext%d@partner.example", i)
		}
		g.users = append(g.users, u)
		p := map[string]any{"id": u}
		if i%5 != 4 {
			p["enterprise"] = g.ents[i%2]
			g.userEnt[u] = g.ents[i%2]
			if i < 2 {
				p["role"] = "admin"
			}
		}
		out = append(out, g.emit("user.created", "user", p))
	}
	for i := 0; i < 4; i++ {
		gr := fmt.Sprintf("group%d", i)
		g.groups = append(g.groups, gr)
		g.groupEnt[gr] = g.ents[i%2]
		out = append(out, g.emit("group.created", "group", map[string]any{"id": gr, "enterprise": g.ents[i%2]}))
		for j := 0; j < 3; j++ {
			u := g.users[(i*3+j)%len(g.users)]
			role := "member"
			if j == 0 {
				role = "admin"
			}
			out = append(out, g.emit("group_membership.created", "group_membership", map[string]any{"id": g.id("m"), "group": gr, "user": u, "role": role}))
		}
	}
	if g.allKinds {
		g.sent = append(g.sent, out...)
	}
	return out
}

// Next emits one more event.
func (g *Generator) Next() []byte { return g.NextEvent().Line }

// NextEvent emits one more event, labelled.
func (g *Generator) NextEvent() Event {
	for {
		// Plain streams draw nothing here, so they stay what they were.
		if g.invalid > 0 && g.rnd.IntN(100) < g.invalid {
			if b, kind := g.tryInvalid(); b != nil {
				return Event{Line: b, Invalid: kind}
			}
			continue
		}
		if g.allKinds && g.rnd.IntN(100) < 15 {
			if b := g.tryExtra(); b != nil {
				g.sent = append(g.sent, b)
				return Event{Line: b}
			}
			continue
		}
		if b := g.try(); b != nil {
			if g.allKinds {
				g.sent = append(g.sent, b)
			}
			return Event{Line: b}
		}
	}
}

// Stream emits Setup and then events up to n in all.
func (g *Generator) Stream(n int) [][]byte {
	evs := g.Events(n)
	out := make([][]byte, len(evs))
	for i, e := range evs {
		out[i] = e.Line
	}
	return out
}

// Events emits Setup and then events up to n in all, labelled.
func (g *Generator) Events(n int) []Event {
	var out []Event
	for _, b := range g.Setup() {
		out = append(out, Event{Line: b})
	}
	for len(out) < n {
		out = append(out, g.NextEvent())
	}
	return out[:n]
}

var folderRoles = []string{"co-owner", "editor", "viewer uploader", "previewer uploader", "viewer", "previewer", "uploader"}

func (g *Generator) try() []byte {
	folders := keys(g.folders)
	files := keys(g.files)
	switch r := g.rnd.IntN(100); {
	case r < 20 || len(folders) == 0: // create a folder
		id := g.id("fo")
		parent := "0"
		if len(folders) > 0 && g.rnd.IntN(5) > 0 {
			parent = g.pick(folders)
		}
		owner := g.pick(g.users)
		g.folders[id], g.owner[id] = parent, owner
		p := map[string]any{"id": id, "parent": parent, "owner": owner, "can_non_owners_invite": g.rnd.IntN(6) > 0}
		g.inviteOff[id] = !p["can_non_owners_invite"].(bool)
		if g.allKinds && g.rnd.IntN(7) == 0 {
			p["is_collaboration_restricted_to_enterprise"] = true
			g.restricted[id] = true
		}
		return g.emit("folder.created", "folder", p)
	case r < 38: // create a file
		id := g.id("fi")
		parent := g.pick(folders)
		owner := g.owner[parent]
		if owner == "" { // the folder's owner was deleted: the file gets its own
			owner = g.pick(g.users)
		}
		g.files[id], g.owner[id] = parent, owner
		return g.emit("file.created", "file", map[string]any{"id": id, "parent": parent, "owner": owner})
	case r < 62: // create or change a collaboration
		itemType, item := "folder", g.pick(folders)
		if len(files) > 0 && g.rnd.IntN(3) == 0 {
			itemType, item = "file", g.pick(files)
		}
		whoType, who := "user", g.pick(g.users)
		if g.rnd.IntN(4) == 0 {
			whoType, who = "group", g.pick(g.groups)
		}
		id := ""
		for cid, c := range g.collabs {
			if c.item == item && c.who == who && c.whoType == whoType {
				id = cid
			}
		}
		if id == "" && g.violates(itemType, item, whoType, who) {
			return nil // a plain stream has no restricted folder, so never here
		}
		typ := "collaboration.updated"
		if id == "" {
			id, typ = g.id("c"), "collaboration.created"
		}
		role := g.pick(folderRoles)
		if itemType == "file" {
			role = []string{"editor", "viewer"}[g.rnd.IntN(2)]
		}
		p := map[string]any{"id": id, "item": map[string]any{"type": itemType, "id": item}, "accessible_by": map[string]any{"type": whoType, "id": who}, "role": role}
		switch g.rnd.IntN(8) {
		case 0:
			p["status"] = "pending"
		case 1:
			// Some lapsed already, most far ahead.
			p["expires_at"] = g.now.Add(time.Duration(g.rnd.IntN(1_000_000)) * time.Hour).Format(time.RFC3339)
		}
		g.collabs[id] = collab{itemType: itemType, item: item, whoType: whoType, who: who}
		return g.emit(typ, "collaboration", p)
	case r < 67 && len(g.collabs) > 0: // delete a collaboration
		ids := make([]string, 0, len(g.collabs))
		for id := range g.collabs {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		id := g.pick(ids)
		delete(g.collabs, id)
		return g.emit("collaboration.deleted", "collaboration", map[string]any{"id": id})
	case r < 75: // move a folder or file
		if g.rnd.IntN(2) == 0 && len(files) > 0 {
			id := g.pick(files)
			g.files[id] = g.pick(folders)
			return g.emit("file.moved", "file", map[string]any{"id": id, "parent": g.files[id], "owner": g.ownerOr(id)})
		}
		id := g.pick(folders)
		dest := g.pick(append(folders, "0"))
		if dest == id || g.below(dest, id) {
			return nil
		}
		g.folders[id] = dest
		if !g.allKinds {
			// A plain stream's moves state no settings, which (whole state)
			// puts them back to their defaults.
			g.inviteOff[id], g.restricted[id] = false, false
			return g.emit("folder.moved", "folder", map[string]any{"id": id, "parent": dest, "owner": g.owner[id]})
		}
		return g.emit("folder.moved", "folder", g.folderState(id))
	case r < 82: // trash or restore
		typ, id := "folder", g.pick(folders)
		if len(files) > 0 && g.rnd.IntN(2) == 0 {
			typ, id = "file", g.pick(files)
		}
		verb := []string{"trashed", "restored"}[g.rnd.IntN(2)]
		return g.emit(typ+"."+verb, typ, map[string]any{"id": id})
	case r < 86: // delete
		if len(files) > 0 && g.rnd.IntN(2) == 0 {
			id := g.pick(files)
			g.forget(id)
			delete(g.files, id)
			g.gone = append(g.gone, "file:"+id)
			return g.emit("file.deleted", "file", map[string]any{"id": id})
		}
		if len(folders) < 5 {
			return nil
		}
		id := g.pick(folders)
		g.deleteFolder(id)
		return g.emit("folder.deleted", "folder", map[string]any{"id": id})
	case r < 93: // shared link
		typ, id := "folder", g.pick(folders)
		if len(files) > 0 && g.rnd.IntN(2) == 0 {
			typ, id = "file", g.pick(files)
		}
		if _, ok := g.linked[id]; ok && g.rnd.IntN(2) == 0 {
			delete(g.linked, id)
			return g.emit("shared_link.deleted", "shared_link", map[string]any{"item": map[string]any{"type": typ, "id": id}})
		}
		g.linked[id] = typ
		perm := map[string]any{"can_download": g.rnd.IntN(2) == 0}
		if typ == "file" {
			perm["can_edit"] = g.rnd.IntN(3) == 0
		}
		p := map[string]any{"item": map[string]any{"type": typ, "id": id}, "access": []string{"open", "company", "collaborators"}[g.rnd.IntN(3)], "permissions": perm}
		if g.allKinds && g.rnd.IntN(5) == 0 {
			// From 2026 to late 2027: some have passed, some have not.
			p["unshared_at"] = g.now.Add(time.Duration(g.rnd.IntN(16000)) * time.Hour).Format(time.RFC3339)
		}
		return g.emit("shared_link.created", "shared_link", p)
	default: // group membership change
		gr := g.pick(g.groups)
		u := g.pick(g.users)
		if g.groupGone[gr] || g.rnd.IntN(3) == 0 {
			// A deleted group takes no memberships (only their deletion).
			return g.emit("group_membership.deleted", "group_membership", map[string]any{"id": g.id("m"), "group": gr, "user": u})
		}
		return g.emit("group_membership.updated", "group_membership", map[string]any{"id": g.id("m"), "group": gr, "user": u, "role": []string{"member", "admin"}[g.rnd.IntN(2)]})
	}
}

// below tells whether folder x lies below folder anc.
func (g *Generator) below(x, anc string) bool {
	for cur := x; cur != "0" && cur != ""; cur = g.folders[cur] {
		if cur == anc {
			return true
		}
	}
	return false
}

func (g *Generator) forget(item string) {
	delete(g.owner, item)
	delete(g.linked, item)
	for id, c := range g.collabs {
		if c.item == item {
			delete(g.collabs, id)
		}
	}
}

func (g *Generator) deleteFolder(id string) {
	// Find the whole subtree before removing any of it: removing first would
	// cut the chains below() walks.
	var files, folders []string
	for _, f := range keys(g.files) {
		if g.below(g.files[f], id) {
			files = append(files, f)
		}
	}
	for _, f := range keys(g.folders) {
		if g.below(f, id) {
			folders = append(folders, f)
		}
	}
	for _, f := range files {
		g.forget(f)
		delete(g.files, f)
	}
	for _, f := range files {
		g.gone = append(g.gone, "file:"+f)
	}
	for _, f := range folders {
		g.forget(f)
		delete(g.folders, f)
		delete(g.inviteOff, f)
		delete(g.restricted, f)
		g.gone = append(g.gone, "folder:"+f)
	}
}

// ownerOr is the owner of item, or, when that owner was deleted, a user
// picked to own it from now on (an event must name an owner).
func (g *Generator) ownerOr(item string) string {
	if g.owner[item] == "" {
		g.owner[item] = g.pick(g.users)
	}
	return g.owner[item]
}

// folderState is the whole state of folder id as an event payload.
func (g *Generator) folderState(id string) map[string]any {
	return map[string]any{
		"id": id, "parent": g.folders[id], "owner": g.ownerOr(id),
		"can_non_owners_invite": !g.inviteOff[id], "is_collaboration_restricted_to_enterprise": g.restricted[id],
	}
}

// restrictedAt tells whether item or a folder above it restricts
// collaboration to the enterprise.
func (g *Generator) restrictedAt(itemType, item string) bool {
	cur := item
	if itemType == "file" {
		cur = g.files[item]
	}
	for ; cur != "0" && cur != ""; cur = g.folders[cur] {
		if g.restricted[cur] {
			return true
		}
	}
	return false
}

func (g *Generator) enterpriseOf(whoType, who string) string {
	if whoType == "group" {
		if g.groupGone[who] {
			return ""
		}
		return g.groupEnt[who]
	}
	if g.userGone[who] {
		return ""
	}
	return g.userEnt[who]
}

// violates tells whether a new collaboration for who on item breaks
// is_collaboration_restricted_to_enterprise (MODEL.md §3): the grantee must
// be in the enterprise of the item's owner.
func (g *Generator) violates(itemType, item, whoType, who string) bool {
	if !g.restrictedAt(itemType, item) {
		return false
	}
	ownerEnt := ""
	if o := g.owner[item]; o != "" {
		ownerEnt = g.enterpriseOf("user", o)
	}
	theirs := g.enterpriseOf(whoType, who)
	return theirs == "" || theirs != ownerEnt
}
