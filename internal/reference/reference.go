// Package reference is MODEL.md implemented directly in plain Go over
// in-memory objects, for differential tests: it shares no code with schema
// or sync and reads events with its own decoder. Where it and the SpiceDB
// pipeline disagree, one of them is wrong.
package reference

import (
	"encoding/json"
	"fmt"
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
	Now     func() time.Time
}

// New returns an empty model.
func New() *Model {
	return &Model{users: map[string]*user{}, groups: map[string]string{}, members: map[string]map[string]bool{},
		items: map[string]*item{}, collabs: map[string]*collab{}, links: map[string]*link{}, Now: time.Now}
}

type ref struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

type event struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	User *struct {
		ID         string `json:"id"`
		Enterprise string `json:"enterprise"`
	} `json:"user"`
	Group *struct {
		ID         string `json:"id"`
		Enterprise string `json:"enterprise"`
	} `json:"group"`
	GroupMembership *struct {
		Group string `json:"group"`
		User  string `json:"user"`
	} `json:"group_membership"`
	Folder *struct {
		ID                                    string `json:"id"`
		Parent                                string `json:"parent"`
		Owner                                 string `json:"owner"`
		CanNonOwnersInvite                    *bool  `json:"can_non_owners_invite"`
		IsCollaborationRestrictedToEnterprise bool   `json:"is_collaboration_restricted_to_enterprise"`
	} `json:"folder"`
	File *struct {
		ID     string `json:"id"`
		Parent string `json:"parent"`
		Owner  string `json:"owner"`
	} `json:"file"`
	Collaboration *struct {
		ID           string `json:"id"`
		Item         ref    `json:"item"`
		AccessibleBy ref    `json:"accessible_by"`
		Role         string `json:"role"`
		Status       string `json:"status"`
		ExpiresAt    string `json:"expires_at"`
	} `json:"collaboration"`
	SharedLink *struct {
		Item        ref    `json:"item"`
		Access      string `json:"access"`
		Permissions struct {
			CanDownload bool `json:"can_download"`
			CanEdit     bool `json:"can_edit"`
		} `json:"permissions"`
		UnsharedAt string `json:"unshared_at"`
	} `json:"shared_link"`
}

// Apply applies one event (a JSON line). It refuses, changing nothing, an
// event the stateful rules of EVENTS.md refuse; it assumes the event is
// otherwise well formed.
func (m *Model) Apply(line []byte) error {
	var e event
	if err := json.Unmarshal(line, &e); err != nil {
		return err
	}
	switch e.Type {
	case "user.created", "user.updated":
		m.users[e.User.ID] = &user{enterprise: e.User.Enterprise}
	case "user.deleted":
		id := e.User.ID
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
	case "group.created", "group.updated":
		m.groups[e.Group.ID] = e.Group.Enterprise
	case "group.deleted":
		id := e.Group.ID
		delete(m.groups, id)
		delete(m.members, id)
		for cid, c := range m.collabs {
			if c.whoType == "group" && c.who == id {
				delete(m.collabs, cid)
			}
		}
	case "group_membership.created", "group_membership.updated":
		gm := e.GroupMembership
		if m.members[gm.Group] == nil {
			m.members[gm.Group] = map[string]bool{}
		}
		m.members[gm.Group][gm.User] = true
	case "group_membership.deleted":
		delete(m.members[e.GroupMembership.Group], e.GroupMembership.User)
	case "folder.created", "folder.updated", "folder.moved":
		f := e.Folder
		return m.putItem("folder", f.ID, f.Parent, f.Owner, f.CanNonOwnersInvite != nil && !*f.CanNonOwnersInvite, f.IsCollaborationRestrictedToEnterprise)
	case "file.created", "file.updated", "file.moved":
		return m.putItem("file", e.File.ID, e.File.Parent, e.File.Owner, false, false)
	case "folder.trashed", "folder.restored", "file.trashed", "file.restored", "folder.deleted", "file.deleted":
		typ, id := "folder", ""
		if e.Folder != nil {
			id = e.Folder.ID
		} else {
			typ, id = "file", e.File.ID
		}
		it := m.items[typ+":"+id]
		switch e.Type[len(typ)+1:] {
		case "trashed", "restored":
			if it == nil {
				return fmt.Errorf("%s %s does not exist", typ, id)
			}
			it.trashed = e.Type[len(typ)+1:] == "trashed"
		case "deleted":
			m.deleteItem(typ + ":" + id)
		}
	case "collaboration.created", "collaboration.updated":
		c := e.Collaboration
		k := c.Item.Type + ":" + c.Item.ID
		it := m.items[k]
		if it == nil {
			return fmt.Errorf("collaboration item %s does not exist", k)
		}
		for id, o := range m.collabs {
			if id != c.ID && o.itemType == c.Item.Type && o.item == c.Item.ID && o.whoType == c.AccessibleBy.Type && o.who == c.AccessibleBy.ID {
				return fmt.Errorf("already a collaborator through %s", id)
			}
		}
		if _, existed := m.collabs[c.ID]; !existed && m.restricted(k) {
			ownerEnt := ""
			if u := m.users[it.owner]; u != nil {
				ownerEnt = u.enterprise
			}
			theirs := ""
			if c.AccessibleBy.Type == "user" {
				if u := m.users[c.AccessibleBy.ID]; u != nil {
					theirs = u.enterprise
				}
			} else {
				theirs = m.groups[c.AccessibleBy.ID]
			}
			if theirs == "" || theirs != ownerEnt {
				return fmt.Errorf("restricted to the enterprise")
			}
		}
		nc := &collab{itemType: c.Item.Type, item: c.Item.ID, whoType: c.AccessibleBy.Type, who: c.AccessibleBy.ID, role: c.Role, status: c.Status}
		if nc.status == "" {
			nc.status = "accepted"
		}
		if c.ExpiresAt != "" {
			t, err := time.Parse(time.RFC3339, c.ExpiresAt)
			if err != nil {
				return err
			}
			nc.expires = t
		}
		m.collabs[c.ID] = nc
	case "collaboration.deleted":
		delete(m.collabs, e.Collaboration.ID)
	case "shared_link.created", "shared_link.updated":
		l := e.SharedLink
		k := l.Item.Type + ":" + l.Item.ID
		if m.items[k] == nil {
			return fmt.Errorf("link item %s does not exist", k)
		}
		nl := &link{access: l.Access, download: l.Permissions.CanDownload, edit: l.Permissions.CanEdit && l.Item.Type == "file"}
		if l.UnsharedAt != "" {
			t, err := time.Parse(time.RFC3339, l.UnsharedAt)
			if err != nil {
				return err
			}
			nl.unshared = t
		}
		m.links[k] = nl
	case "shared_link.deleted":
		delete(m.links, e.SharedLink.Item.Type+":"+e.SharedLink.Item.ID)
	default:
		return fmt.Errorf("unknown type %q", e.Type)
	}
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
