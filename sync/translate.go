package sync

import (
	"context"
	"fmt"
	"slices"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/rel"
	"github.com/boxauthz/boxauthz/sync/event"
)

// translator turns one event into changes on the overlay, checking the
// stateful rules of docs/events.md against it.
type translator struct {
	ov  *overlay
	now time.Time
	// event is the key of the event being applied (its id, in its
	// namespace): what a user's new token session is named after, so
	// applying a stream again writes the same relationships.
	event string
}

// maxDepth bounds walks up a folder chain: deeper means a corrupt cycle.
const maxDepth = 10000

func (t *translator) apply(ctx context.Context, ev event.Event) error {
	t.event = eventKey(ev.DedupKey())
	switch ev.Type.Object() {
	case "user":
		if ev.Type.Verb() == "deleted" {
			return t.deleteUser(ctx, ev.User.ID)
		}
		return t.putUser(ctx, ev.User)
	case "group":
		if ev.Type.Verb() == "deleted" {
			return t.deleteGroup(ctx, ev.Group.ID)
		}
		return t.replace(ctx, rel.Filter(schema.TypeGroup, ev.Group.ID, relEnterprise), rel.New(schema.TypeGroup, ev.Group.ID, relEnterprise, rel.Subject(schema.TypeEnterprise, ev.Group.Enterprise, "")))
	case "group_membership":
		return t.putMembership(ctx, ev.GroupMembership, ev.Type.Verb() == "deleted")
	case "folder", "file":
		return t.item(ctx, ev)
	case "collaboration":
		if ev.Type.Verb() == "deleted" {
			return t.deleteCollaboration(ctx, ev.Collaboration.ID)
		}
		return t.putCollaboration(ctx, ev.Collaboration)
	case "shared_link":
		return t.putLink(ctx, ev.SharedLink, ev.Type.Verb() == "deleted")
	}
	return badField("type", "unknown type %q", ev.Type)
}

// replace makes the relationships matching f exactly want.
func (t *translator) replace(ctx context.Context, f *v1.RelationshipFilter, want ...*v1.Relationship) error {
	return t.replaceRelations(ctx, f, nil, want)
}

// replaceRelations makes the relationships f reads exactly want, for the
// given relations only (nil: all), with one read.
func (t *translator) replaceRelations(ctx context.Context, f *v1.RelationshipFilter, relations []string, want []*v1.Relationship) error {
	have, err := t.ov.read(ctx, f)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, w := range want {
		keep[rel.Key(w)] = true
	}
	for _, h := range have {
		if (relations == nil || slices.Contains(relations, h.GetRelation())) && !keep[rel.Key(h)] {
			t.ov.delete(h)
		}
	}
	for _, w := range want {
		t.ov.touch(w)
	}
	return nil
}

func (t *translator) deleteAll(ctx context.Context, f *v1.RelationshipFilter) error {
	return t.replace(ctx, f)
}

// --- users, groups, memberships ---

var privilegeRelations = map[string]string{
	"manage_users":  "coadmin_manage_users",
	"manage_groups": "coadmin_manage_groups",
	"view_content":  "coadmin_view_content",
	"edit_content":  "coadmin_edit_content",
}

func (t *translator) putUser(ctx context.Context, u *event.User) error {
	// exists: an external user has no other relationship of its own.
	own := []*v1.Relationship{rel.Flag(schema.TypeUser, u.ID, relExists)}
	var ent []*v1.Relationship
	if u.Role != "user" && u.Role != "" && u.Enterprise == "" {
		return badField("user.role", "role %q needs an enterprise: an external user has none", u.Role)
	}
	if u.Enterprise != "" {
		own = append(own, rel.New(schema.TypeUser, u.ID, relEnterprise, rel.Subject(schema.TypeEnterprise, u.Enterprise, "")))
		ent = append(ent, rel.New(schema.TypeEnterprise, u.Enterprise, relMember, rel.Subject(schema.TypeUser, u.ID, "")))
		switch u.Role {
		case "admin":
			ent = append(ent, rel.New(schema.TypeEnterprise, u.Enterprise, relAdmin, rel.Subject(schema.TypeUser, u.ID, "")))
		case "coadmin":
			ent = append(ent, rel.New(schema.TypeEnterprise, u.Enterprise, relCoadmin, rel.Subject(schema.TypeUser, u.ID, "")))
			for _, p := range u.CoadminPrivileges {
				r, ok := privilegeRelations[p]
				if !ok {
					return badField("user.coadmin_privileges", "unknown privilege %q", p)
				}
				ent = append(ent, rel.New(schema.TypeEnterprise, u.Enterprise, r, rel.Subject(schema.TypeUser, u.ID, "")))
			}
		}
		if u.Role == "admin" || u.Role == "coadmin" {
			own = append(own, rel.Flag(schema.TypeUser, u.ID, relPrivileged))
		}
	}
	if u.IsServiceAccount {
		own = append(own, rel.Flag(schema.TypeUser, u.ID, relServiceAcct))
	}
	session, err := t.tokenSession(ctx, u)
	if err != nil {
		return err
	}
	own = append(own, session)
	if err := t.replace(ctx, rel.Filter(schema.TypeUser, u.ID, ""), own...); err != nil {
		return err
	}
	return t.replace(ctx, rel.BySubject(schema.TypeEnterprise, "", schema.TypeUser, u.ID), ent...)
}

func (t *translator) deleteUser(ctx context.Context, id string) error {
	// Collaborations for the user go whole, bookkeeping included.
	collabs, err := t.ov.read(ctx, rel.BySubject(schema.TypeCollaboration, relAccessibleBy, schema.TypeUser, id))
	if err != nil {
		return err
	}
	for _, c := range collabs {
		if err := t.deleteCollaboration(ctx, schema.DecodeID(c.GetResource().GetObjectId())); err != nil {
			return err
		}
	}
	for _, typ := range []string{schema.TypeEnterprise, schema.TypeGroup, schema.TypeFolder, schema.TypeFile} {
		if err := t.deleteAll(ctx, rel.BySubject(typ, "", schema.TypeUser, id)); err != nil {
			return err
		}
	}
	if err := t.endTokenSessions(ctx, id); err != nil {
		return err
	}
	return t.deleteAll(ctx, rel.Filter(schema.TypeUser, id, ""))
}

func (t *translator) deleteGroup(ctx context.Context, id string) error {
	collabs, err := t.ov.read(ctx, rel.BySubject(schema.TypeCollaboration, relAccessibleBy, schema.TypeGroup, id))
	if err != nil {
		return err
	}
	for _, c := range collabs {
		if err := t.deleteCollaboration(ctx, schema.DecodeID(c.GetResource().GetObjectId())); err != nil {
			return err
		}
	}
	for _, typ := range []string{schema.TypeFolder, schema.TypeFile} {
		if err := t.deleteAll(ctx, rel.BySubject(typ, "", schema.TypeGroup, id)); err != nil {
			return err
		}
	}
	return t.deleteAll(ctx, rel.Filter(schema.TypeGroup, id, ""))
}

func (t *translator) putMembership(ctx context.Context, m *event.GroupMembership, deleted bool) error {
	var want []*v1.Relationship
	if !deleted {
		// A membership's group is its parent (docs/events.md, Rules: an event
		// for an object whose parent does not exist yet is bad input). A
		// group exists while it has its enterprise. Deleting a membership
		// of a group already gone is not refused: nothing of it is left.
		rs, err := t.ov.read(ctx, rel.Filter(schema.TypeGroup, m.Group, relEnterprise))
		if err != nil {
			return err
		}
		if len(rs) == 0 {
			return badField("group_membership.group", "group %q does not exist", m.Group)
		}
		relation := relMember
		if m.Role == "admin" {
			relation = relAdmin
		}
		want = append(want, rel.New(schema.TypeGroup, m.Group, relation, rel.Subject(schema.TypeUser, m.User, "")))
	}
	for _, relation := range []string{relMember, relAdmin} {
		// The one relationship exactly (the user with no relation of its
		// own): read with one lookup however large the group.
		f := rel.Filter(schema.TypeGroup, m.Group, relation)
		f.OptionalSubjectFilter = &v1.SubjectFilter{
			SubjectType: schema.TypeUser, OptionalSubjectId: schema.EncodeID(m.User),
			OptionalRelation: &v1.SubjectFilter_RelationFilter{},
		}
		var w []*v1.Relationship
		for _, r := range want {
			if r.Relation == relation {
				w = append(w, r)
			}
		}
		if err := t.replace(ctx, f, w...); err != nil {
			return err
		}
	}
	return nil
}

// --- folders and files ---

func (t *translator) exists(ctx context.Context, typ, id string) (bool, error) {
	rs, err := t.ov.read(ctx, rel.Filter(typ, id, relExists))
	return len(rs) > 0, err
}

// parentOf returns the parent folder id of an item, "" at the top level.
func (t *translator) parentOf(ctx context.Context, typ, id string) (string, error) {
	rs, err := t.ov.read(ctx, rel.Filter(typ, id, relParent))
	if err != nil || len(rs) == 0 {
		return "", err
	}
	return schema.DecodeID(rs[0].GetSubject().GetObject().GetObjectId()), nil
}

func (t *translator) item(ctx context.Context, ev event.Event) error {
	if err := t.resolveKept(ctx, &ev); err != nil {
		return err
	}
	typ := ev.Type.Object()
	var id, parent, owner string
	var settings []*v1.Relationship
	if typ == schema.TypeFolder {
		f := ev.Folder
		id, parent, owner = f.ID, f.Parent, f.Owner
		if !f.CanNonOwnersInvite {
			settings = append(settings, rel.Flag(typ, id, relInviteOff))
		}
		if f.IsCollaborationRestrictedToEnterprise {
			settings = append(settings, rel.Flag(typ, id, relCollabRestr))
		}
	} else {
		id, parent, owner = ev.File.ID, ev.File.Parent, ev.File.Owner
	}
	switch ev.Type.Verb() {
	case "trashed", "restored":
		ok, err := t.exists(ctx, typ, id)
		if err != nil {
			return err
		}
		if !ok {
			return badField(typ+".id", "%s %q does not exist", typ, id)
		}
		if ev.Type.Verb() == "trashed" {
			t.ov.touch(rel.Flag(typ, id, relTrashed))
		} else {
			t.ov.delete(rel.Flag(typ, id, relTrashed))
		}
		return nil
	case "deleted":
		return t.deleteItem(ctx, typ, id)
	}

	want := []*v1.Relationship{rel.Flag(typ, id, relExists), rel.New(typ, id, relOwner, rel.Subject(schema.TypeUser, owner, ""))}
	placedUnder := ""
	if parent != schema.RootID {
		placedUnder = parent
		ok, err := t.exists(ctx, schema.TypeFolder, parent)
		if err != nil {
			return err
		}
		if !ok {
			return badField(typ+".parent", "parent folder %q does not exist", parent)
		}
		if typ == schema.TypeFolder {
			if err := t.refuseCycle(ctx, id, parent); err != nil {
				return err
			}
		}
		want = append(want, rel.New(typ, id, relParent, rel.Subject(schema.TypeFolder, parent, "")))
	}
	// The placement goes in the same write as the parent: a chain check
	// trusts it to say what the parent relationship says.
	want = append(want, rel.Placement(typ, id, placedUnder))
	managed := []string{relExists, relOwner, relParent, relPlacement}
	if typ == schema.TypeFolder {
		managed = append(managed, relInviteOff, relCollabRestr)
	}
	return t.replaceRelations(ctx, rel.Filter(typ, id, ""), managed, append(want, settings...))
}

// refuseCycle fails when putting folder id under parent would put it inside
// itself.
func (t *translator) refuseCycle(ctx context.Context, id, parent string) error {
	for cur, depth := parent, 0; cur != ""; depth++ {
		if cur == id {
			return badField("folder.parent", "cyclical_folder_structure: folder %q cannot be moved into itself or below itself (into %q)", id, parent)
		}
		if depth > maxDepth {
			return fmt.Errorf("folder %q: ancestor chain longer than %d", parent, maxDepth)
		}
		next, err := t.parentOf(ctx, schema.TypeFolder, cur)
		if err != nil {
			return err
		}
		cur = next
	}
	return nil
}

// deleteItem removes an item, its whole subtree, their collaborations and
// shared links: nothing refers to them afterwards.
//
// The order makes every prefix of the changes safe and resumable, for a
// delete too large for one write: the item goes to the trash first, so the
// subtree grants nothing meanwhile; the deepest items go first; and an item's
// parent relationship goes last, so an item is reachable from the deleted one
// for as long as anything of it is left.
func (t *translator) deleteItem(ctx context.Context, typ, id string) error {
	// Not exists(): what an interrupted delete left of the item has no
	// exists marker any more, and must go all the same.
	root, err := t.ov.readFresh(ctx, rel.Filter(typ, id, ""))
	if err != nil || len(root) == 0 {
		return err
	}
	t.ov.touch(rel.Flag(typ, id, relTrashed))
	subtree := [][2]string{{typ, id}}
	bulk := false
	for i := 0; i < len(subtree); i++ {
		if !bulk && typ == schema.TypeFolder && t.ov.base.wantsBulk(len(subtree)) {
			// A large subtree: read it whole, and the reads below are
			// answered from what that kept.
			if err := t.ov.base.bulkLoad(ctx, schema.EncodeID(id)); err != nil {
				return fmt.Errorf("deleting %s %q: %w", typ, id, err)
			}
			bulk = true
		}
		cur := subtree[i]
		if cur[0] != schema.TypeFolder {
			continue
		}
		for _, childType := range []string{schema.TypeFolder, schema.TypeFile} {
			children, err := t.ov.readFresh(ctx, rel.BySubject(childType, relParent, schema.TypeFolder, cur[1]))
			if err != nil {
				return err
			}
			for _, c := range children {
				subtree = append(subtree, [2]string{childType, schema.DecodeID(c.GetResource().GetObjectId())})
			}
		}
	}
	for i := len(subtree) - 1; i >= 0; i-- {
		cur := subtree[i]
		collabs, err := t.ov.readFresh(ctx, rel.BySubject(schema.TypeCollaboration, relItem, cur[0], cur[1]))
		if err != nil {
			return err
		}
		for _, c := range collabs {
			if err := t.deleteAll(ctx, rel.Filter(schema.TypeCollaboration, schema.DecodeID(c.GetResource().GetObjectId()), "")); err != nil {
				return err
			}
		}
		rels, err := t.ov.readFresh(ctx, rel.Filter(cur[0], cur[1], ""))
		if err != nil {
			return err
		}
		var parent []*v1.Relationship
		for _, r := range rels {
			if r.GetRelation() == relParent {
				parent = append(parent, r)
				continue
			}
			t.ov.delete(r)
		}
		for _, r := range parent {
			t.ov.delete(r)
		}
	}
	return nil
}

// --- collaborations ---
