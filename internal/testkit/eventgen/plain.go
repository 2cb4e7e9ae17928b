package eventgen

import (
	"slices"
	"time"
)

var folderRoles = []string{"co-owner", "editor", "viewer uploader", "previewer uploader", "viewer", "previewer", "uploader"}

// try emits one event of a plain stream, or nil when the one drawn does
// not apply now.
func (g *Generator) try() []byte {
	folders := keys(g.folders)
	files := keys(g.files)
	switch r := g.rnd.IntN(100); {
	case r < 20 || len(folders) == 0:
		return g.createFolder(folders)
	case r < 38:
		return g.createFile(folders)
	case r < 62:
		return g.putCollab(folders, files)
	case r < 67 && len(g.collabs) > 0:
		return g.deleteCollab()
	case r < 75:
		return g.move(folders, files)
	case r < 82:
		return g.trashOrRestore(folders, files)
	case r < 86:
		return g.deleteItem(folders, files)
	case r < 93:
		return g.putLink(folders, files)
	default:
		return g.changeMembership()
	}
}

// createFolder creates a folder, mostly below an existing one.
func (g *Generator) createFolder(folders []string) []byte {
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
}

// createFile creates a file, owned by its folder's owner.
func (g *Generator) createFile(folders []string) []byte {
	id := g.id("fi")
	parent := g.pick(folders)
	owner := g.owner[parent]
	if owner == "" { // the folder's owner was deleted: the file gets its own
		owner = g.pick(g.users)
	}
	g.files[id], g.owner[id] = parent, owner
	return g.emit("file.created", "file", map[string]any{"id": id, "parent": parent, "owner": owner})
}

// putCollab creates a collaboration or changes the one the item and
// grantee drawn already have; nil when a restriction would refuse it.
func (g *Generator) putCollab(folders, files []string) []byte {
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
}

// deleteCollab deletes a collaboration.
func (g *Generator) deleteCollab() []byte {
	ids := make([]string, 0, len(g.collabs))
	for id := range g.collabs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	id := g.pick(ids)
	delete(g.collabs, id)
	return g.emit("collaboration.deleted", "collaboration", map[string]any{"id": id})
}

// move moves a file, or a folder where that makes no cycle.
func (g *Generator) move(folders, files []string) []byte {
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
}

// trashOrRestore trashes or restores a folder or file.
func (g *Generator) trashOrRestore(folders, files []string) []byte {
	typ, id := "folder", g.pick(folders)
	if len(files) > 0 && g.rnd.IntN(2) == 0 {
		typ, id = "file", g.pick(files)
	}
	verb := []string{"trashed", "restored"}[g.rnd.IntN(2)]
	return g.emit(typ+"."+verb, typ, map[string]any{"id": id})
}

// deleteItem deletes a file, or a folder with all below it while enough
// folders remain.
func (g *Generator) deleteItem(folders, files []string) []byte {
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
}

// putLink creates or changes an item's shared link, or deletes it.
func (g *Generator) putLink(folders, files []string) []byte {
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
}

// changeMembership adds, changes or removes a group membership.
func (g *Generator) changeMembership() []byte {
	gr := g.pick(g.groups)
	u := g.pick(g.users)
	if g.groupGone[gr] || g.rnd.IntN(3) == 0 {
		// A deleted group takes no memberships (only their deletion).
		return g.emit("group_membership.deleted", "group_membership", map[string]any{"id": g.id("m"), "group": gr, "user": u})
	}
	return g.emit("group_membership.updated", "group_membership", map[string]any{"id": g.id("m"), "group": gr, "user": u, "role": []string{"member", "admin"}[g.rnd.IntN(2)]})
}
