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
// redeliveries of earlier events (which docs/events.md says are skipped).
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
// is_collaboration_restricted_to_enterprise (docs/model.md §3): the grantee must
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
