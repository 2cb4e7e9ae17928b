package eventgen

import "time"

// adminCount is how many of the first users Setup makes enterprise admins;
// tryExtra leaves them alone, since an admin without an enterprise is bad
// input and an enterprise without its admin is a state docs/model.md excludes.
const adminCount = 2

// tryExtra emits one of the valid kinds only WithAllKinds adds, or nil when
// the one drawn does not apply now.
func (g *Generator) tryExtra() []byte {
	folders := keys(g.folders)
	files := keys(g.files)
	switch r := g.rnd.IntN(100); {
	case r < 22 && len(folders) > 0: // change a folder's settings, sometimes its owner
		id := g.pick(folders)
		g.inviteOff[id] = g.rnd.IntN(3) == 0
		g.restricted[id] = g.rnd.IntN(4) == 0
		if g.rnd.IntN(4) == 0 {
			g.owner[id] = g.pick(g.users)
		}
		return g.emit("folder.updated", "folder", g.folderState(id))
	case r < 32 && len(files) > 0: // give a file to someone else
		id := g.pick(files)
		g.owner[id] = g.pick(g.users)
		return g.emit("file.updated", "file", map[string]any{"id": id, "parent": g.files[id], "owner": g.owner[id]})
	case r < 46: // a user joins another enterprise, or leaves for none
		u := g.users[adminCount+g.rnd.IntN(len(g.users)-adminCount)]
		if g.userGone[u] {
			return nil
		}
		g.userEnt[u] = append([]string{""}, g.ents...)[g.rnd.IntN(len(g.ents)+1)]
		return g.emit("user.updated", "user", g.userState(u))
	case r < 56: // a user is deleted, or one deleted comes back
		return g.toggleUser()
	case r < 64: // a group moves to the other enterprise
		gr := g.pick(g.groups)
		if g.groupGone[gr] {
			return nil
		}
		g.groupEnt[gr] = g.pick(g.ents)
		return g.emit("group.updated", "group", map[string]any{"id": gr, "enterprise": g.groupEnt[gr]})
	case r < 70: // a group is deleted, or one deleted comes back (empty)
		return g.toggleGroup()
	case r < 82 && len(g.collabs) > 0: // a collaboration that lapsed or was turned down
		ids := keys(g.collabs)
		id := g.pick(ids)
		c := g.collabs[id]
		role := g.pick(folderRoles)
		if c.itemType == "file" {
			role = []string{"editor", "viewer"}[g.rnd.IntN(2)]
		}
		p := map[string]any{"id": id, "item": map[string]any{"type": c.itemType, "id": c.item}, "accessible_by": map[string]any{"type": c.whoType, "id": c.who}, "role": role}
		if g.rnd.IntN(2) == 0 {
			p["status"] = "rejected"
		} else {
			p["expires_at"] = g.now.Add(-time.Duration(1+g.rnd.IntN(1000)) * time.Hour).Format(time.RFC3339)
		}
		return g.emit("collaboration.updated", "collaboration", p)
	case r < 88 && len(g.collabs) > 0 && len(folders) > 0: // a collaboration re-pointed
		// The whole state of the collaboration changes item and grantee:
		// the old grant must go. An update, so no restriction applies.
		id := g.pick(keys(g.collabs))
		itemType, item, role := "folder", g.pick(folders), g.pick(folderRoles)
		if len(files) > 0 && g.rnd.IntN(2) == 0 {
			itemType, item, role = "file", g.pick(files), []string{"editor", "viewer"}[g.rnd.IntN(2)]
		}
		whoType, who := "user", g.pick(g.users)
		for cid, c := range g.collabs {
			if cid != id && c.item == item && c.whoType == whoType && c.who == who {
				return nil // that grantee has one there already
			}
		}
		g.collabs[id] = collab{itemType: itemType, item: item, whoType: whoType, who: who}
		return g.emit("collaboration.updated", "collaboration", map[string]any{"id": id, "item": map[string]any{"type": itemType, "id": item}, "accessible_by": map[string]any{"type": whoType, "id": who}, "role": role})
	default: // an earlier event delivered again: docs/events.md has it skipped
		return g.sent[g.rnd.IntN(len(g.sent))]
	}
}

// toggleUser deletes a user, or creates one deleted again, never an admin.
func (g *Generator) toggleUser() []byte {
	u := g.users[adminCount+g.rnd.IntN(len(g.users)-adminCount)]
	if g.userGone[u] {
		g.userGone[u] = false
		return g.emit("user.created", "user", g.userState(u))
	}
	g.userGone[u] = true
	for id, c := range g.collabs {
		if c.whoType == "user" && c.who == u {
			delete(g.collabs, id)
		}
	}
	// Sync and the model both forget a deleted owner; the items stay,
	// ownerless until an event names an owner again.
	for item, o := range g.owner {
		if o == u {
			g.owner[item] = ""
		}
	}
	return g.emit("user.deleted", "user", map[string]any{"id": u})
}

// toggleGroup deletes a group, or creates one deleted again, empty.
func (g *Generator) toggleGroup() []byte {
	gr := g.pick(g.groups)
	if g.groupGone[gr] {
		g.groupGone[gr] = false
		return g.emit("group.created", "group", map[string]any{"id": gr, "enterprise": g.groupEnt[gr]})
	}
	g.groupGone[gr] = true
	for id, c := range g.collabs {
		if c.whoType == "group" && c.who == gr {
			delete(g.collabs, id)
		}
	}
	return g.emit("group.deleted", "group", map[string]any{"id": gr})
}

func (g *Generator) userState(u string) map[string]any {
	p := map[string]any{"id": u}
	if e := g.userEnt[u]; e != "" {
		p["enterprise"] = e
	}
	return p
}
