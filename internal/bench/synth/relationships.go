package synth

import (
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/tuple"

	"github.com/boxauthz/boxauthz/schema"
	boxrel "github.com/boxauthz/boxauthz/schema/rel"
)

func rel(resType, resID, relation, subType, subID, subRel string) tuple.Relationship {
	return tuple.Relationship{RelationshipReference: tuple.RelationshipReference{
		Resource: tuple.ObjectAndRelation{ObjectType: resType, ObjectID: resID, Relation: relation},
		Subject:  tuple.ObjectAndRelation{ObjectType: subType, ObjectID: subID, Relation: subRel},
	}}
}

const ellipsis = tuple.Ellipsis

// emitter hands relationships to EachRelationship's fn, stopping at its
// first error: later calls do nothing and err keeps that error.
type emitter struct {
	fn  func(*v1.Relationship) error
	err error
}

func (e *emitter) emit(t tuple.Relationship) {
	if e.err == nil {
		e.err = e.fn(tuple.ToV1Relationship(t))
	}
}

// EachRelationship calls fn with every relationship of the data set, with
// the ancestor relationships too when ancestors is set, and with every
// item's placement (as sync writes it beside the parent) when placements is
// set. It stops at fn's first error.
func (d *Dataset) EachRelationship(ancestors, placements bool, fn func(*v1.Relationship) error) error {
	e := &emitter{fn: fn}
	d.principalRelationships(e)
	for i := range d.Items {
		if e.err != nil {
			break
		}
		d.itemRelationships(e, i, ancestors)
		if placements && e.err == nil {
			it := &d.Items[i]
			parent := ""
			if it.Parent >= 0 {
				parent = d.Items[it.Parent].ID
			}
			e.err = fn(boxrel.Placement(it.Type, it.ID, parent))
		}
	}
	return e.err
}

// principalRelationships emits users' enterprises, enterprises' admins and
// groups' enterprises and members.
func (d *Dataset) principalRelationships(e *emitter) {
	for u, ent := range d.UserEnt {
		if ent < 0 {
			continue
		}
		e.emit(rel(schema.TypeUser, d.Users[u], "enterprise", schema.TypeEnterprise, d.Enterprises[ent].ID, ellipsis))
		e.emit(rel(schema.TypeEnterprise, d.Enterprises[ent].ID, "member", schema.TypeUser, d.Users[u], ellipsis))
	}
	for _, ent := range d.Enterprises {
		if ent.Admin >= 0 {
			e.emit(rel(schema.TypeEnterprise, ent.ID, "admin", schema.TypeUser, d.Users[ent.Admin], ellipsis))
		}
		for _, u := range ent.CoAdmins {
			e.emit(rel(schema.TypeEnterprise, ent.ID, "coadmin", schema.TypeUser, d.Users[u], ellipsis))
		}
		for _, u := range ent.ViewContent {
			e.emit(rel(schema.TypeEnterprise, ent.ID, "coadmin_view_content", schema.TypeUser, d.Users[u], ellipsis))
		}
	}
	for _, g := range d.Groups {
		if g.Enterprise >= 0 {
			e.emit(rel(schema.TypeGroup, g.ID, "enterprise", schema.TypeEnterprise, d.Enterprises[g.Enterprise].ID, ellipsis))
		}
		for _, u := range g.Members {
			e.emit(rel(schema.TypeGroup, g.ID, "member", schema.TypeUser, d.Users[u], ellipsis))
		}
		for _, u := range g.Admins {
			e.emit(rel(schema.TypeGroup, g.ID, "admin", schema.TypeUser, d.Users[u], ellipsis))
		}
	}
}

// itemRelationships emits item i's parent, owner, flags, shared link,
// collaborations and, when ancestors is set, its ancestors.
func (d *Dataset) itemRelationships(e *emitter, i int, ancestors bool) {
	it := &d.Items[i]
	if it.Parent >= 0 {
		e.emit(rel(it.Type, it.ID, "parent", schema.TypeFolder, d.Items[it.Parent].ID, ellipsis))
	}
	e.emit(rel(it.Type, it.ID, "owner", schema.TypeUser, d.Users[it.Owner], ellipsis))
	if it.Trashed {
		e.emit(rel(it.Type, it.ID, "trashed", schema.TypeUser, tuple.PublicWildcard, ellipsis))
	}
	if it.InviteOff {
		e.emit(rel(it.Type, it.ID, "non_owners_invite_off", schema.TypeUser, tuple.PublicWildcard, ellipsis))
	}
	if l := it.Link; l != nil {
		prefix := "link_"
		if l.Company {
			prefix = "company_link_"
		}
		rels := []string{"view"}
		if l.Download {
			rels = append(rels, "download")
		}
		if l.Edit {
			rels = append(rels, "edit")
		}
		for _, r := range rels {
			t := rel(it.Type, it.ID, prefix+r, schema.TypeUser, tuple.PublicWildcard, ellipsis)
			e.emit(tuple.MustWithCaveat(t, "shared_link", map[string]any{
				"unshared_at": l.UnsharedAt.Format(time.RFC3339),
				"link":        l.ID,
			}))
		}
	}
	for _, ci := range it.Collabs {
		d.collabRelationships(e, it, d.Collabs[ci])
	}
	if ancestors {
		for _, a := range d.Ancestors(i) {
			e.emit(rel(it.Type, it.ID, "ancestor", schema.TypeFolder, d.Items[a].ID, ellipsis))
		}
	}
}

// collabRelationships emits collaboration c on it: the grant itself and the
// collaboration object's item and grantee.
func (d *Dataset) collabRelationships(e *emitter, it *Item, c Collab) {
	var t tuple.Relationship
	var book tuple.Relationship
	if c.Group >= 0 {
		t = rel(it.Type, it.ID, c.Role.Relation(), schema.TypeGroup, d.Groups[c.Group].ID, "membership")
		book = rel(schema.TypeCollaboration, c.ID, "accessible_by", schema.TypeGroup, d.Groups[c.Group].ID, ellipsis)
	} else {
		t = rel(it.Type, it.ID, c.Role.Relation(), schema.TypeUser, d.Users[c.User], ellipsis)
		book = rel(schema.TypeCollaboration, c.ID, "accessible_by", schema.TypeUser, d.Users[c.User], ellipsis)
	}
	if !c.ExpiresAt.IsZero() {
		t = tuple.MustWithCaveat(t, "not_expired", map[string]any{"expires_at": c.ExpiresAt.Format(time.RFC3339)})
		// SpiceDB's own expiration as well, well after the caveat's
		// instant (lapsing is the caveat's job; see Now).
		t = tuple.MustWithExpiration(t, c.ExpiresAt.AddDate(1, 0, 0))
	}
	e.emit(t)
	e.emit(rel(schema.TypeCollaboration, c.ID, "item", it.Type, it.ID, ellipsis))
	e.emit(book)
}
