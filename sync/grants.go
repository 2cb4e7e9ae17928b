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

// Collaborations and shared links: the grants of items.

func roleRelations(itemType string) []string {
	var out []string
	for _, r := range schema.Roles() {
		if r.AllowedOn(itemType) {
			out = append(out, r.Relation())
		}
	}
	return out
}

func collabSubject(s event.SubjectRef) *v1.SubjectReference {
	if s.Type == schema.TypeGroup {
		return rel.Subject(schema.TypeGroup, s.ID, relMembership)
	}
	return rel.Subject(schema.TypeUser, s.ID, "")
}

// record reads a collaboration's bookkeeping: its item and grantee.
func (t *translator) record(ctx context.Context, id string) (item schema.ItemRef, who event.SubjectRef, ok bool, err error) {
	rs, err := t.ov.read(ctx, rel.Filter(schema.TypeCollaboration, id, ""))
	if err != nil {
		return item, who, false, err
	}
	for _, r := range rs {
		o := r.GetSubject().GetObject()
		switch r.GetRelation() {
		case relItem:
			item = schema.ItemRef{Type: o.GetObjectType(), ID: schema.DecodeID(o.GetObjectId())}
		case relAccessibleBy:
			who = event.SubjectRef{Type: o.GetObjectType(), ID: schema.DecodeID(o.GetObjectId())}
		}
	}
	return item, who, item.ID != "" && who.ID != "", nil
}

// clearGrant removes every role relationship of who on item.
func (t *translator) clearGrant(ctx context.Context, item schema.ItemRef, who event.SubjectRef) error {
	s := collabSubject(who)
	for _, relation := range roleRelations(item.Type) {
		t.ov.delete(rel.New(item.Type, item.ID, relation, s))
	}
	_ = ctx
	return nil
}

func (t *translator) putCollaboration(ctx context.Context, c *event.Collaboration) error {
	ok, err := t.exists(ctx, c.Item.Type, c.Item.ID)
	if err != nil {
		return err
	}
	if !ok {
		return badField("collaboration.item", "%s %q does not exist", c.Item.Type, c.Item.ID)
	}
	oldItem, oldWho, existed, err := t.record(ctx, c.ID)
	if err != nil {
		return err
	}
	if !existed {
		if err := t.refuseRestricted(ctx, c); err != nil {
			return err
		}
	}
	// One collaboration per item and grantee, as in Box
	// (user_already_collaborator): the role relationship is that
	// collaboration's alone.
	others, err := t.ov.read(ctx, rel.BySubject(schema.TypeCollaboration, relItem, c.Item.Type, c.Item.ID))
	if err != nil {
		return err
	}
	for _, o := range others {
		oid := schema.DecodeID(o.GetResource().GetObjectId())
		if oid == c.ID {
			continue
		}
		_, w, _, err := t.record(ctx, oid)
		if err != nil {
			return err
		}
		if w == c.AccessibleBy {
			return badField("collaboration.accessible_by", "user_already_collaborator: %s %q already collaborates on %s %q through collaboration %q", w.Type, w.ID, c.Item.Type, c.Item.ID, oid)
		}
	}
	if existed {
		if err := t.clearGrant(ctx, oldItem, oldWho); err != nil {
			return err
		}
	}
	if err := t.clearGrant(ctx, c.Item, c.AccessibleBy); err != nil {
		return err
	}
	record := []*v1.Relationship{
		rel.New(schema.TypeCollaboration, c.ID, relItem, rel.Subject(c.Item.Type, c.Item.ID, "")),
		rel.New(schema.TypeCollaboration, c.ID, relAccessibleBy, rel.Subject(c.AccessibleBy.Type, c.AccessibleBy.ID, "")),
	}
	if c.Status == "pending" {
		record = append(record, rel.Flag(schema.TypeCollaboration, c.ID, relPending))
	}
	if !c.ExpiresAt.IsZero() {
		record = append(record, rel.WithCaveat(rel.Flag(schema.TypeCollaboration, c.ID, relExpiry), caveatNotExpired,
			map[string]any{"expires_at": c.ExpiresAt.UTC().Format(time.RFC3339Nano)}))
	}
	if err := t.replace(ctx, rel.Filter(schema.TypeCollaboration, c.ID, ""), record...); err != nil {
		return err
	}
	if c.Status != "accepted" {
		return nil // pending and rejected grant nothing
	}
	grant := rel.New(c.Item.Type, c.Item.ID, c.Role.Relation(), collabSubject(c.AccessibleBy))
	if !c.ExpiresAt.IsZero() {
		if !c.ExpiresAt.After(t.now) {
			return nil // already over: it grants nothing
		}
		grant = rel.WithCaveat(grant, caveatNotExpired, map[string]any{"expires_at": c.ExpiresAt.UTC().Format(time.RFC3339Nano)})
		grant = rel.WithExpiry(grant, c.ExpiresAt)
	}
	t.ov.touch(grant)
	return nil
}

func (t *translator) deleteCollaboration(ctx context.Context, id string) error {
	item, who, ok, err := t.record(ctx, id)
	if err != nil || !ok {
		return err
	}
	if err := t.clearGrant(ctx, item, who); err != nil {
		return err
	}
	return t.deleteAll(ctx, rel.Filter(schema.TypeCollaboration, id, ""))
}

// refuseRestricted enforces is_collaboration_restricted_to_enterprise for a
// new collaboration: the grantee must belong to the enterprise of the owner
// of the item the collaboration is on.
func (t *translator) refuseRestricted(ctx context.Context, c *event.Collaboration) error {
	restricted := false
	typ, cur := c.Item.Type, c.Item.ID
	for depth := 0; cur != "" && !restricted; depth++ {
		if typ == schema.TypeFolder {
			rs, err := t.ov.read(ctx, rel.Filter(schema.TypeFolder, cur, relCollabRestr))
			if err != nil {
				return err
			}
			restricted = len(rs) > 0
		}
		next, err := t.parentOf(ctx, typ, cur)
		if err != nil {
			return err
		}
		typ, cur = schema.TypeFolder, next
		if depth > maxDepth {
			return fmt.Errorf("%s %q: ancestor chain longer than %d", c.Item.Type, c.Item.ID, maxDepth)
		}
	}
	if !restricted {
		return nil
	}
	owners, err := t.ov.read(ctx, rel.Filter(c.Item.Type, c.Item.ID, relOwner))
	if err != nil {
		return err
	}
	var ownerEnt []string
	for _, o := range owners {
		e, err := t.enterpriseOf(ctx, schema.TypeUser, schema.DecodeID(o.GetSubject().GetObject().GetObjectId()))
		if err != nil {
			return err
		}
		ownerEnt = append(ownerEnt, e)
	}
	theirs, err := t.enterpriseOf(ctx, c.AccessibleBy.Type, c.AccessibleBy.ID)
	if err != nil {
		return err
	}
	if theirs == "" || !slices.Contains(ownerEnt, theirs) {
		return badField("collaboration.accessible_by", "%s %q is outside the enterprise of the owner of %s %q, which restricts collaboration to its enterprise", c.AccessibleBy.Type, c.AccessibleBy.ID, c.Item.Type, c.Item.ID)
	}
	return nil
}

func (t *translator) enterpriseOf(ctx context.Context, typ, id string) (string, error) {
	rs, err := t.ov.read(ctx, rel.Filter(typ, id, relEnterprise))
	if err != nil || len(rs) == 0 {
		return "", err
	}
	return schema.DecodeID(rs[0].GetSubject().GetObject().GetObjectId()), nil
}

// --- shared links ---

func (t *translator) putLink(ctx context.Context, l *event.SharedLink, deleted bool) error {
	var want []*v1.Relationship
	if !deleted {
		ok, err := t.exists(ctx, l.Item.Type, l.Item.ID)
		if err != nil {
			return err
		}
		if !ok {
			return badField("shared_link.item", "%s %q does not exist", l.Item.Type, l.Item.ID)
		}
		view, download, edit := schema.RelationLinkView, schema.RelationLinkDownload, schema.RelationLinkEdit
		if l.Access == "company" {
			view, download, edit = schema.RelationCompanyLinkView, schema.RelationCompanyLinkDownload, schema.RelationCompanyLinkEdit
		}
		// A "collaborators" link grants nothing beyond the caller's own
		// grants, so it writes no flags.
		if l.Access == "open" || l.Access == "company" {
			unshared := neverUnshared
			if !l.UnsharedAt.IsZero() {
				unshared = l.UnsharedAt
			}
			ctxVals := map[string]any{
				"link":        l.Item.Type + ":" + schema.EncodeID(l.Item.ID),
				"unshared_at": unshared.UTC().Format(time.RFC3339Nano),
			}
			mk := func(relation string) *v1.Relationship {
				return rel.WithCaveat(rel.Flag(l.Item.Type, l.Item.ID, relation), caveatLink, ctxVals)
			}
			want = append(want, mk(view))
			if l.CanDownload {
				want = append(want, mk(download))
			}
			if l.CanEdit && l.Item.Type == schema.TypeFile {
				want = append(want, mk(edit))
			}
		}
	}
	return t.replaceRelations(ctx, rel.Filter(l.Item.Type, l.Item.ID, ""), linkRelations, want)
}
