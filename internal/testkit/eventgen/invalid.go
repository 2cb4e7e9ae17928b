package eventgen

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The kinds of bad input WithInvalid emits, after the rules of docs/events.md.
const (
	UnknownType        = "unknown_type"
	WrongPayload       = "wrong_payload"
	MissingField       = "missing_field"
	MalformedField     = "malformed_field"
	UnknownValue       = "unknown_value" // role, status, access, type of a reference, privilege
	FileRole           = "file_role"     // a folder-only role on a file
	FolderLinkCanEdit  = "folder_link_can_edit"
	RootItem           = "root_item" // "0" as an item
	CyclicalFolder     = "cyclical_folder_structure"
	UnknownParent      = "unknown_parent"
	UnknownItem        = "unknown_item"
	DuplicateCollab    = "duplicate_collaboration"
	RestrictedToEnterp = "restricted_to_enterprise"
)

// InvalidKinds lists the kinds of bad input WithInvalid emits.
func InvalidKinds() []string {
	return []string{
		UnknownType, WrongPayload, MissingField, MalformedField, UnknownValue, FileRole, FolderLinkCanEdit,
		RootItem, CyclicalFolder, UnknownParent, UnknownItem, DuplicateCollab, RestrictedToEnterp,
	}
}

// tryInvalid emits one bad event, of a kind drawn at random, or nil when
// that kind has nothing to work on yet. A bad event changes no state: the
// generator's view stays what sync and the model hold.
func (g *Generator) tryInvalid() ([]byte, string) {
	kinds := InvalidKinds()
	kind := kinds[g.rnd.IntN(len(kinds))]
	return g.invalidOf(kind), kind
}

// envelope emits a hand-built event; fields maps the top-level keys, and
// an "id" of nil leaves the id out.
func (g *Generator) envelope(fields map[string]any) []byte {
	g.seq++
	ev := map[string]any{"id": fmt.Sprintf("evt-%06d", g.seq)}
	for k, v := range fields {
		if v == nil {
			delete(ev, k)
			continue
		}
		ev[k] = v
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err) // maps of strings, numbers and bools always marshal
	}
	return b
}

// ownerFor names an owner for item in a bad event without adopting one for
// an ownerless item (which a valid event would).
func (g *Generator) ownerFor(item string) string {
	if o := g.owner[item]; o != "" {
		return o
	}
	return g.pick(g.users)
}

func (g *Generator) anyFolder() string {
	if fs := keys(g.folders); len(fs) > 0 {
		return g.pick(fs)
	}
	return "0"
}

func item(typ, id string) map[string]any { return map[string]any{"type": typ, "id": id} }

// validCollab is a well-formed collaboration payload on an existing item,
// for kinds that then break one field of it; nil when there is no item.
func (g *Generator) validCollab() map[string]any {
	folders, files := keys(g.folders), keys(g.files)
	if len(folders) == 0 {
		return nil
	}
	typ, id, role := "folder", g.pick(folders), g.pick(folderRoles)
	if len(files) > 0 && g.rnd.IntN(2) == 0 {
		typ, id, role = "file", g.pick(files), []string{"editor", "viewer"}[g.rnd.IntN(2)]
	}
	return map[string]any{"id": g.id("c"), "item": item(typ, id), "accessible_by": item("user", g.pick(g.users)), "role": role}
}

// missing is an item that does not exist: a deleted one when there is one.
func (g *Generator) missing() (typ, id string) {
	if len(g.gone) > 0 && g.rnd.IntN(4) > 0 {
		typ, id, _ = strings.Cut(g.gone[g.rnd.IntN(len(g.gone))], ":")
		return typ, id
	}
	if g.rnd.IntN(2) == 0 {
		return "file", g.id("fi-never")
	}
	return "folder", g.id("fo-never")
}

// invalidOf emits one bad event of kind, or nil when the state offers that
// kind nothing to break yet.
func (g *Generator) invalidOf(kind string) []byte {
	switch kind {
	case UnknownType:
		return g.badUnknownType()
	case WrongPayload:
		return g.badWrongPayload()
	case MissingField:
		return g.badMissingField()
	case MalformedField:
		return g.badMalformedField()
	case UnknownValue:
		return g.badUnknownValue()
	case FileRole:
		return g.badFileRole()
	case FolderLinkCanEdit:
		return g.badFolderLinkCanEdit()
	case RootItem:
		return g.badRootItem()
	case CyclicalFolder:
		return g.badCyclicalFolder()
	case UnknownParent:
		return g.badUnknownParent()
	case UnknownItem:
		return g.badUnknownItem()
	case DuplicateCollab:
		return g.badDuplicateCollab()
	case RestrictedToEnterp:
		return g.restrictedViolation()
	}
	return nil
}

// badUnknownType is an event of a type docs/events.md does not list.
func (g *Generator) badUnknownType() []byte {
	switch g.rnd.IntN(4) {
	case 0:
		return g.emit("folder.copied", "folder", map[string]any{"id": g.id("fo"), "parent": g.anyFolder(), "owner": g.pick(g.users)})
	case 1:
		return g.emit("widget.created", "widget", map[string]any{"id": "w1"})
	case 2:
		return g.envelope(map[string]any{"type": "", "user": map[string]any{"id": g.pick(g.users)}})
	default:
		return g.emit("Folder.created", "folder", map[string]any{"id": g.id("fo"), "parent": "0", "owner": g.pick(g.users)})
	}
}

// badWrongPayload carries the payload of another type, two payloads, or
// one that is not an object.
func (g *Generator) badWrongPayload() []byte {
	f := map[string]any{"id": g.id("fo"), "parent": g.anyFolder(), "owner": g.pick(g.users)}
	switch g.rnd.IntN(4) {
	case 0:
		return g.envelope(map[string]any{"type": "folder.created", "file": f})
	case 1:
		return g.envelope(map[string]any{"type": "folder.created", "folder": f, "file": f})
	case 2:
		return g.envelope(map[string]any{"type": "folder.created", "folder": "fo1"})
	default:
		return g.envelope(map[string]any{"type": "user.created", "group": map[string]any{"id": g.pick(g.groups), "enterprise": g.pick(g.ents)}})
	}
}

// badMissingField lacks a field its type requires.
func (g *Generator) badMissingField() []byte {
	c := g.validCollab()
	switch n := g.rnd.IntN(10); {
	case n == 0:
		return g.emit("folder.created", "folder", map[string]any{"id": g.id("fo"), "parent": g.anyFolder()})
	case n == 1 && len(g.folders) > 0:
		return g.emit("file.created", "file", map[string]any{"id": g.id("fi"), "owner": g.pick(g.users)})
	case n == 2 && c != nil:
		delete(c, "role")
		return g.emit("collaboration.created", "collaboration", c)
	case n == 3 && c != nil:
		delete(c, "accessible_by")
		return g.emit("collaboration.created", "collaboration", c)
	case n == 4 && c != nil:
		delete(c["item"].(map[string]any), "id")
		return g.emit("collaboration.created", "collaboration", c)
	case n == 5:
		return g.emit("group.created", "group", map[string]any{"id": g.pick(g.groups)})
	case n == 6 && len(g.folders) > 0:
		return g.emit("shared_link.created", "shared_link", map[string]any{"item": item("folder", g.anyFolder())})
	case n == 7:
		return g.emit("group_membership.created", "group_membership", map[string]any{"id": g.id("m"), "group": g.pick(g.groups)})
	case n == 8:
		return g.envelope(map[string]any{"id": nil, "type": "user.created", "user": map[string]any{"id": g.pick(g.users)}})
	default:
		return g.envelope(map[string]any{"folder": map[string]any{"id": g.anyFolder()}})
	}
}

// badMalformedField has a field of the wrong JSON type or form.
func (g *Generator) badMalformedField() []byte {
	c := g.validCollab()
	switch n := g.rnd.IntN(10); {
	case n == 0:
		return g.emit("folder.created", "folder", map[string]any{"id": g.id("fo"), "parent": 5, "owner": g.pick(g.users)})
	case n == 1 && len(g.folders) > 0:
		return g.emit("file.created", "file", map[string]any{"id": g.id("fi"), "parent": g.anyFolder(), "owner": "not valid!"})
	case n == 2:
		return g.emit("folder.created", "folder", map[string]any{"id": strings.Repeat("x", 129), "parent": "0", "owner": g.pick(g.users)})
	case n == 3 && c != nil:
		c["expires_at"] = "next week"
		return g.emit("collaboration.created", "collaboration", c)
	case n == 4 && len(g.folders) > 0:
		return g.emit("shared_link.created", "shared_link", map[string]any{"item": item("folder", g.anyFolder()), "access": "open", "unshared_at": "2026-13-45T00:00:00Z"})
	case n == 5:
		return g.emit("folder.created", "folder", map[string]any{"id": g.id("fo"), "parent": "0", "owner": g.pick(g.users), "can_non_owners_invite": "no"})
	case n == 6 && len(g.folders) > 0:
		return g.emit("shared_link.created", "shared_link", map[string]any{"item": item("folder", g.anyFolder()), "access": "open", "permissions": map[string]any{"can_download": "yes"}})
	case n == 7:
		return g.emit("user.created", "user", map[string]any{"id": ""})
	case n == 8 && c != nil:
		c["accessible_by"] = g.pick(g.users)
		return g.emit("collaboration.created", "collaboration", c)
	default:
		return g.envelope(map[string]any{
			"type": "group_membership.created", "created_at": "yesterday",
			"group_membership": map[string]any{"id": g.id("m"), "group": g.pick(g.groups), "user": g.pick(g.users)},
		})
	}
}

// badUnknownValue names a role, status, access, reference type or
// privilege docs/events.md does not list.
func (g *Generator) badUnknownValue() []byte {
	c := g.validCollab()
	switch n := g.rnd.IntN(8); {
	case n == 0 && c != nil:
		c["role"] = []string{"owner", "Editor", "admin", ""}[g.rnd.IntN(4)]
		return g.emit("collaboration.created", "collaboration", c)
	case n == 1 && c != nil:
		c["status"] = "maybe"
		return g.emit("collaboration.created", "collaboration", c)
	case n == 2 && len(g.folders) > 0:
		return g.emit("shared_link.created", "shared_link", map[string]any{"item": item("folder", g.anyFolder()), "access": "public"})
	case n == 3 && c != nil:
		c["item"].(map[string]any)["type"] = "folders"
		return g.emit("collaboration.created", "collaboration", c)
	case n == 4 && c != nil:
		c["accessible_by"] = item("enterprise", g.pick(g.ents))
		return g.emit("collaboration.created", "collaboration", c)
	case n == 5:
		return g.emit("group_membership.updated", "group_membership", map[string]any{"id": g.id("m"), "group": g.pick(g.groups), "user": g.pick(g.users), "role": "boss"})
	case n == 6:
		return g.emit("user.updated", "user", map[string]any{"id": g.users[adminCount], "enterprise": g.ents[0], "role": "superuser"})
	default:
		return g.emit("user.updated", "user", map[string]any{"id": g.users[adminCount], "enterprise": g.ents[0], "role": "coadmin", "coadmin_privileges": []string{"view_content", "everything"}})
	}
}

// badFileRole gives a file a role only folders have.
func (g *Generator) badFileRole() []byte {
	files := keys(g.files)
	if len(files) == 0 {
		return nil
	}
	role := []string{"co-owner", "viewer uploader", "previewer uploader", "previewer", "uploader"}[g.rnd.IntN(5)]
	return g.emit("collaboration.created", "collaboration", map[string]any{"id": g.id("c"), "item": item("file", g.pick(files)), "accessible_by": item("user", g.pick(g.users)), "role": role})
}

// badFolderLinkCanEdit is a folder's shared link that allows editing.
func (g *Generator) badFolderLinkCanEdit() []byte {
	if len(g.folders) == 0 {
		return nil
	}
	return g.emit("shared_link.created", "shared_link", map[string]any{"item": item("folder", g.anyFolder()), "access": "open", "permissions": map[string]any{"can_download": true, "can_edit": true}})
}

// badRootItem names the root folder "0" as an item.
func (g *Generator) badRootItem() []byte {
	switch g.rnd.IntN(5) {
	case 0:
		return g.emit("collaboration.created", "collaboration", map[string]any{"id": g.id("c"), "item": item("folder", "0"), "accessible_by": item("user", g.pick(g.users)), "role": "editor"})
	case 1:
		return g.emit("shared_link.created", "shared_link", map[string]any{"item": item("folder", "0"), "access": "open"})
	case 2:
		return g.emit("folder.created", "folder", map[string]any{"id": "0", "parent": "0", "owner": g.pick(g.users)})
	case 3:
		return g.emit("folder.trashed", "folder", map[string]any{"id": "0"})
	default:
		return g.emit("file.created", "file", map[string]any{"id": "0", "parent": g.anyFolder(), "owner": g.pick(g.users)})
	}
}

// badCyclicalFolder moves a folder into itself or below itself.
func (g *Generator) badCyclicalFolder() []byte {
	folders := keys(g.folders)
	if len(folders) == 0 {
		return nil
	}
	id := g.pick(folders)
	var below []string // the folder itself and every folder under it
	for _, f := range folders {
		if g.below(f, id) {
			below = append(below, f)
		}
	}
	return g.emit("folder.moved", "folder", map[string]any{"id": id, "parent": g.pick(below), "owner": g.ownerFor(id)})
}

// badUnknownParent creates or moves an item into a folder that does not
// exist.
func (g *Generator) badUnknownParent() []byte {
	_, parent := g.missing()
	if !strings.HasPrefix(parent, "fo") {
		parent = g.id("fo-never")
	}
	folders, files := keys(g.folders), keys(g.files)
	switch n := g.rnd.IntN(4); {
	case n == 0:
		return g.emit("folder.created", "folder", map[string]any{"id": g.id("fo"), "parent": parent, "owner": g.pick(g.users)})
	case n == 1:
		return g.emit("file.created", "file", map[string]any{"id": g.id("fi"), "parent": parent, "owner": g.pick(g.users)})
	case n == 2 && len(files) > 0:
		id := g.pick(files)
		return g.emit("file.moved", "file", map[string]any{"id": id, "parent": parent, "owner": g.ownerFor(id)})
	case len(folders) > 0:
		id := g.pick(folders)
		return g.emit("folder.moved", "folder", map[string]any{"id": id, "parent": parent, "owner": g.ownerFor(id)})
	}
	return nil
}

// badUnknownItem refers to an item that does not exist.
func (g *Generator) badUnknownItem() []byte {
	typ, id := g.missing()
	switch g.rnd.IntN(4) {
	case 0:
		role := "viewer"
		if typ == "folder" {
			role = g.pick(folderRoles)
		}
		return g.emit("collaboration.created", "collaboration", map[string]any{"id": g.id("c"), "item": item(typ, id), "accessible_by": item("user", g.pick(g.users)), "role": role})
	case 1:
		return g.emit("shared_link.created", "shared_link", map[string]any{"item": item(typ, id), "access": "open"})
	case 2:
		return g.emit(typ+".trashed", typ, map[string]any{"id": id})
	default:
		return g.emit(typ+".restored", typ, map[string]any{"id": id})
	}
}

// badDuplicateCollab is a second collaboration for an item and grantee.
func (g *Generator) badDuplicateCollab() []byte {
	if len(g.collabs) == 0 {
		return nil
	}
	c := g.collabs[g.pick(keys(g.collabs))]
	role := "viewer"
	if c.itemType == "folder" {
		role = g.pick(folderRoles)
	}
	return g.emit("collaboration.created", "collaboration", map[string]any{"id": g.id("c"), "item": item(c.itemType, c.item), "accessible_by": item(c.whoType, c.who), "role": role})
}

// restrictedViolation is a new collaboration, otherwise valid, that
// is_collaboration_restricted_to_enterprise refuses; nil when no item is
// restricted or every outsider already collaborates on the one drawn.
func (g *Generator) restrictedViolation() []byte {
	type it struct{ typ, id string }
	var items []it
	for _, f := range keys(g.folders) {
		if g.restrictedAt("folder", f) {
			items = append(items, it{"folder", f})
		}
	}
	for _, f := range keys(g.files) {
		if g.restrictedAt("file", f) {
			items = append(items, it{"file", f})
		}
	}
	if len(items) == 0 {
		return nil
	}
	target := items[g.rnd.IntN(len(items))]
	type who struct{ typ, id string }
	var outsiders []who
	for _, u := range g.users {
		outsiders = append(outsiders, who{"user", u})
	}
	for _, gr := range g.groups {
		outsiders = append(outsiders, who{"group", gr})
	}
	outsiders = filter(outsiders, func(w who) bool {
		if !g.violates(target.typ, target.id, w.typ, w.id) {
			return false
		}
		for _, c := range g.collabs {
			if c.item == target.id && c.whoType == w.typ && c.who == w.id {
				return false // that would be an update, which the restriction lets through
			}
		}
		return true
	})
	if len(outsiders) == 0 {
		return nil
	}
	w := outsiders[g.rnd.IntN(len(outsiders))]
	role := "editor"
	if target.typ == "folder" {
		role = g.pick(folderRoles)
	}
	return g.emit("collaboration.created", "collaboration", map[string]any{"id": g.id("c"), "item": item(target.typ, target.id), "accessible_by": item(w.typ, w.id), "role": role})
}

func filter[T any](xs []T, keep func(T) bool) []T {
	var out []T
	for _, x := range xs {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}
