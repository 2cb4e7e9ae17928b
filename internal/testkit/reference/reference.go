package reference

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The §2 table: which holders have each action.
var table = map[string]map[string]bool{}

func init() {
	rows := []struct {
		action  string
		holders []string
	}{
		{"list", []string{"owner", "co-owner", "editor", "viewer uploader", "previewer uploader", "viewer", "previewer", "uploader"}},
		{"preview", []string{"owner", "co-owner", "editor", "viewer uploader", "previewer uploader", "viewer", "previewer"}},
		{"download", []string{"owner", "co-owner", "editor", "viewer uploader", "viewer"}},
		{"upload", []string{"owner", "co-owner", "editor", "viewer uploader", "previewer uploader", "uploader"}},
		{"edit", []string{"owner", "co-owner", "editor", "viewer uploader"}},
		{"rename", []string{"owner", "co-owner", "editor"}},
		{"delete", []string{"owner", "co-owner", "editor"}},
		{"move", []string{"owner", "co-owner", "editor"}},
		{"share", []string{"owner", "co-owner", "editor", "viewer uploader", "viewer"}},
		{"set_share_access", []string{"owner", "co-owner", "editor"}},
		{"invite", []string{"owner", "co-owner", "editor"}},
		{"comment", []string{"owner", "co-owner", "editor", "viewer uploader", "previewer uploader", "viewer", "previewer"}},
		{"change_settings", []string{"owner", "co-owner"}},
		{"transfer_ownership", []string{"owner"}},
	}
	for _, r := range rows {
		table[r.action] = map[string]bool{}
		for _, h := range r.holders {
			table[r.action][h] = true
		}
	}
}

// Actions lists the 14 item actions.
func Actions() []string {
	return []string{"list", "preview", "download", "upload", "edit", "rename", "delete", "move", "share", "set_share_access", "invite", "comment", "change_settings", "transfer_ownership"}
}

type user struct {
	enterprise string
}

type item struct {
	typ, parent, owner    string // parent "" at the top
	inviteOff, restricted bool
	trashed               bool
}

type collab struct {
	itemType, item, whoType, who, role, status string
	expires                                    time.Time
}

type link struct {
	access         string
	download, edit bool
	unshared       time.Time
}

// Model is the state the events imply.
type Model struct {
	users   map[string]*user
	groups  map[string]string          // group -> enterprise
	members map[string]map[string]bool // group -> user
	items   map[string]*item           // "folder:id" / "file:id"
	collabs map[string]*collab         // id -> collaboration
	links   map[string]*link           // "type:id" -> link
	applied map[string]bool            // ids of the events applied
	Now     func() time.Time
}

// New returns an empty model.
func New() *Model {
	return &Model{
		users: map[string]*user{}, groups: map[string]string{}, members: map[string]map[string]bool{},
		items: map[string]*item{}, collabs: map[string]*collab{}, links: map[string]*link{}, applied: map[string]bool{}, Now: time.Now,
	}
}

// Apply applies one event (a JSON line). It refuses, changing nothing, an
// event docs/events.md calls bad input: malformed on its own, or breaking a
// stateful rule where it stands. An event whose id was applied before is
// skipped, as docs/events.md says ids are for; a refused event's id is not
// remembered, so a corrected event may reuse it.
func (m *Model) Apply(line []byte) error {
	e, err := decode(line)
	if err != nil {
		return err
	}
	if m.applied[e.id] {
		return nil
	}
	if err := m.apply(e); err != nil {
		return err
	}
	m.applied[e.id] = true
	return nil
}

func (m *Model) apply(e *event) error {
	switch e.object + "." + e.verb {
	case "user.created", "user.updated":
		m.users[e.user.id] = &user{enterprise: e.user.enterprise}
	case "user.deleted":
		m.deleteUser(e.user.id)
	case "group.created", "group.updated":
		m.groups[e.group.id] = e.group.enterprise
	case "group.deleted":
		m.deleteGroup(e.group.id)
	case "group_membership.created", "group_membership.updated":
		gm := e.membership
		if _, ok := m.groups[gm.group]; !ok {
			return fmt.Errorf("group %s does not exist", gm.group)
		}
		if m.members[gm.group] == nil {
			m.members[gm.group] = map[string]bool{}
		}
		m.members[gm.group][gm.user] = true
	case "group_membership.deleted":
		delete(m.members[e.membership.group], e.membership.user)
	case "folder.created", "folder.updated", "folder.moved":
		f := e.folder
		return m.putItem("folder", f.id, f.parent, f.owner, f.inviteOff, f.restricted)
	case "file.created", "file.updated", "file.moved":
		return m.putItem("file", e.file.id, e.file.parent, e.file.owner, false, false)
	case "folder.trashed", "folder.restored", "file.trashed", "file.restored":
		return m.trash(e)
	case "folder.deleted":
		m.deleteItem("folder:" + e.folder.id)
	case "file.deleted":
		m.deleteItem("file:" + e.file.id)
	case "collaboration.created", "collaboration.updated":
		return m.putCollab(e)
	case "collaboration.deleted":
		delete(m.collabs, e.collab.id)
	case "shared_link.created", "shared_link.updated":
		l := e.link
		k := l.item.typ + ":" + l.item.id
		if m.items[k] == nil {
			return fmt.Errorf("link item %s does not exist", k)
		}
		m.links[k] = &link{access: l.access, download: l.download, edit: l.edit, unshared: l.unshared}
	case "shared_link.deleted":
		delete(m.links, e.link.item.typ+":"+e.link.item.id)
	default:
		// decode knows every type docs/events.md lists; reaching here is a bug.
		return fmt.Errorf("unhandled type %q", e.typ)
	}
	return nil
}

// deleteUser removes a user with their memberships and collaborations; the
// items they owned stay, ownerless.
func (m *Model) deleteUser(id string) {
	delete(m.users, id)
	for _, mem := range m.members {
		delete(mem, id)
	}
	for cid, c := range m.collabs {
		if c.whoType == "user" && c.who == id {
			delete(m.collabs, cid)
		}
	}
	for _, it := range m.items {
		if it.owner == id {
			it.owner = ""
		}
	}
}

// deleteGroup removes a group with its members and collaborations.
func (m *Model) deleteGroup(id string) {
	delete(m.groups, id)
	delete(m.members, id)
	for cid, c := range m.collabs {
		if c.whoType == "group" && c.who == id {
			delete(m.collabs, cid)
		}
	}
}

// trash applies a trashed or restored event to its folder or file.
func (m *Model) trash(e *event) error {
	id := e.folder.id
	if e.object == "file" {
		id = e.file.id
	}
	it := m.items[e.object+":"+id]
	if it == nil {
		return fmt.Errorf("%s %s does not exist", e.object, id)
	}
	it.trashed = e.verb == "trashed"
	return nil
}

// putCollab creates or updates a collaboration: one per item and grantee,
// and a new one on a restricted item only for the owner's enterprise.
func (m *Model) putCollab(e *event) error {
	c := e.collab
	k := c.item.typ + ":" + c.item.id
	it := m.items[k]
	if it == nil {
		return fmt.Errorf("collaboration item %s does not exist", k)
	}
	for id, o := range m.collabs {
		if id != c.id && o.itemType == c.item.typ && o.item == c.item.id && o.whoType == c.who.typ && o.who == c.who.id {
			return fmt.Errorf("already a collaborator through %s", id)
		}
	}
	if _, existed := m.collabs[c.id]; !existed && m.restricted(k) {
		ownerEnt := ""
		if u := m.users[it.owner]; u != nil {
			ownerEnt = u.enterprise
		}
		theirs := ""
		if c.who.typ == "user" {
			if u := m.users[c.who.id]; u != nil {
				theirs = u.enterprise
			}
		} else {
			theirs = m.groups[c.who.id]
		}
		if theirs == "" || theirs != ownerEnt {
			return fmt.Errorf("restricted to the enterprise")
		}
	}
	m.collabs[c.id] = &collab{itemType: c.item.typ, item: c.item.id, whoType: c.who.typ, who: c.who.id, role: c.role, status: c.status, expires: c.expires}
	return nil
}

func (m *Model) putItem(typ, id, parent, owner string, inviteOff, restricted bool) error {
	k := typ + ":" + id
	p := ""
	if parent != "0" {
		p = "folder:" + parent
		if m.items[p] == nil {
			return fmt.Errorf("parent %s does not exist", p)
		}
		for cur := p; cur != ""; cur = m.items[cur].parent {
			if cur == k {
				return fmt.Errorf("cyclical_folder_structure")
			}
		}
	}
	it := m.items[k]
	if it == nil {
		it = &item{typ: typ}
		m.items[k] = it
	}
	it.parent, it.owner, it.inviteOff, it.restricted = p, owner, inviteOff, restricted
	return nil
}

func (m *Model) deleteItem(k string) {
	if m.items[k] == nil {
		return
	}
	for ck, c := range m.items {
		if c.parent == k {
			m.deleteItem(ck)
		}
	}
	delete(m.items, k)
	delete(m.links, k)
	for id, c := range m.collabs {
		if c.itemType+":"+c.item == k {
			delete(m.collabs, id)
		}
	}
}

// chain is the item and its ancestors, the item first.
func (m *Model) chain(k string) []string {
	var out []string
	for cur := k; cur != ""; cur = m.items[cur].parent {
		out = append(out, cur)
	}
	return out
}

func (m *Model) restricted(k string) bool {
	for _, c := range m.chain(k) {
		if m.items[c].restricted {
			return true
		}
	}
	return false
}

// Items lists every item as "type:id".
func (m *Model) Items() []string {
	out := make([]string, 0, len(m.items))
	for k := range m.items {
		out = append(out, k)
	}
	return out
}

// Links lists the items that have a shared link.
func (m *Model) Links() []string {
	out := make([]string, 0, len(m.links))
	for k := range m.links {
		out = append(out, k)
	}
	return out
}

// Can tells whether user ("" for anonymous) may do action on item k
// ("type:id"), presenting the link of item presented ("" for none).
func (m *Model) Can(userID, action, k, presented string) bool {
	it := m.items[k]
	if it == nil {
		return false
	}
	chain := m.chain(k)
	for _, c := range chain {
		if m.items[c].trashed {
			return false
		}
	}
	now := m.Now()
	inviteOff := false
	for _, c := range chain {
		inviteOff = inviteOff || m.items[c].inviteOff
	}
	holds := func(holder string, onItemItself bool) bool {
		if !table[action][holder] {
			return false
		}
		if (action == "delete" || action == "move") && holder != "owner" && onItemItself {
			return false // footnote a: only below the collaborated item
		}
		if action == "invite" && holder == "editor" && inviteOff {
			return false // footnote b
		}
		return true
	}
	if userID != "" {
		for i, c := range chain {
			if m.items[c].owner == userID && holds("owner", i == 0) {
				return true
			}
		}
		for _, c := range m.collabs {
			if c.status != "accepted" || (!c.expires.IsZero() && !now.Before(c.expires)) {
				continue
			}
			if c.whoType == "user" && c.who != userID || c.whoType == "group" && !m.members[c.who][userID] {
				continue
			}
			for i, ck := range chain {
				if ck == c.itemType+":"+c.item && holds(c.role, i == 0) {
					return true
				}
			}
		}
	}
	if presented != "" {
		l := m.links[presented]
		onChain := false
		for _, c := range chain {
			onChain = onChain || c == presented
		}
		if l == nil || !onChain || (!l.unshared.IsZero() && !now.Before(l.unshared)) {
			return false
		}
		switch l.access {
		case "open":
		case "company":
			owner := m.users[m.items[presented].owner]
			u := m.users[userID]
			if userID == "" || owner == nil || u == nil || owner.enterprise == "" || u.enterprise != owner.enterprise {
				return false
			}
		default:
			return false
		}
		switch action {
		case "list", "preview":
			return true
		case "download":
			return l.download
		case "edit":
			return l.edit && presented == k
		}
	}
	return false
}

// LinksOn lists the shared links on item k and its ancestors.
func (m *Model) LinksOn(k string) []string {
	if m.items[k] == nil {
		return nil
	}
	var out []string
	for _, c := range m.chain(k) {
		if m.links[c] != nil {
			out = append(out, c)
		}
	}
	return out
}

// LookupItems lists, sorted, the ids of the items of type typ on which user
// may do action, presenting no link: what docs/api.md's lookup of items answers.
func (m *Model) LookupItems(userID, action, typ string) []string {
	out := []string{}
	for k, it := range m.items {
		if it.typ == typ && m.Can(userID, action, k, "") {
			out = append(out, strings.TrimPrefix(k, typ+":"))
		}
	}
	slices.Sort(out)
	return out
}

// LookupUsers lists, sorted, the users who may do action on item k
// ("type:id") with no link, group members included: what docs/api.md's lookup of
// users answers. A user counts once anything names them (a user event, an
// ownership, a collaboration, a membership), as a relationship would.
func (m *Model) LookupUsers(k, action string) []string {
	cand := map[string]bool{}
	for u := range m.users {
		cand[u] = true
	}
	for _, it := range m.items {
		cand[it.owner] = true
	}
	for _, c := range m.collabs {
		if c.whoType == "user" {
			cand[c.who] = true
		}
	}
	for _, mem := range m.members {
		for u := range mem {
			cand[u] = true
		}
	}
	delete(cand, "")
	out := []string{}
	for u := range cand {
		if m.Can(u, action, k, "") {
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return out
}

// Dump writes the whole state, one fact a line in a fixed order, so that two
// dumps are equal exactly when the states are: tests compare the dumps from
// before and after a refused event.
func (m *Model) Dump() string {
	var lines []string
	add := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	for id, u := range m.users {
		add("user %s enterprise=%s", id, u.enterprise)
	}
	for id, ent := range m.groups {
		add("group %s enterprise=%s", id, ent)
	}
	for g, mem := range m.members {
		for u := range mem {
			add("member %s %s", g, u)
		}
	}
	for k, it := range m.items {
		add("item %s parent=%s owner=%s inviteOff=%v restricted=%v trashed=%v", k, it.parent, it.owner, it.inviteOff, it.restricted, it.trashed)
	}
	for id, c := range m.collabs {
		add("collab %s %s:%s %s:%s role=%s status=%s expires=%s", id, c.itemType, c.item, c.whoType, c.who, c.role, c.status, c.expires.Format(time.RFC3339))
	}
	for k, l := range m.links {
		add("link %s access=%s download=%v edit=%v unshared=%s", k, l.access, l.download, l.edit, l.unshared.Format(time.RFC3339))
	}
	for id := range m.applied {
		add("applied %s", id)
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}
