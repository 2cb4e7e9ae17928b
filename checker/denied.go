package checker

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/rel"
)

// Telling apart the answers "no" for a user the item is not visible to at
// all: the item or the user was never mirrored, an invitation is still
// pending, a collaboration has run out, or the folder refuses collaborators
// from outside its owner's enterprise. Each is something a different person
// fixes, so each has its own reason.

// Statuses of an inactive collaboration (Grant.Status).
const (
	StatusPending = "pending"
	StatusExpired = "expired"
)

// unseen explains an answer for a user with no grant at all on q.Item.
func (c *Checker) unseen(ctx context.Context, q Question, cons Consistency) (Explanation, error) {
	ex := Explanation{Reason: ReasonNoGrant}
	item := schema.ItemRef{Type: q.Item.Type, ID: schema.EncodeID(q.Item.ID)}
	if ok, err := c.flagged(ctx, item.Type, item.ID, schema.RelationExists, cons); err != nil || !ok {
		ex.Reason, ex.Detail = ReasonNotMirrored, fmt.Sprintf("%s is not mirrored: no event has created it", q.Item)
		return ex, err
	}
	user := ""
	if q.User != "" {
		user = schema.EncodeID(q.User)
		if ok, err := c.userKnown(ctx, user, cons); err != nil || !ok {
			ex.Reason, ex.Detail = ReasonNotMirrored, fmt.Sprintf("user %q is not mirrored: no event has created it", q.User)
			return ex, err
		}
	}
	now := c.now()
	inGroup := map[string]bool{}
	var restrictedBy *schema.ItemRef
	node := item
	for depth := 0; node.ID != ""; depth++ {
		if depth > maxChain {
			return Explanation{}, fmt.Errorf("explaining %s: ancestor chain longer than %d", q.Item, maxChain)
		}
		rels, err := c.read(ctx, &v1.RelationshipFilter{ResourceType: node.Type, OptionalResourceId: node.ID}, cons)
		if err != nil {
			return Explanation{}, err
		}
		next := schema.ItemRef{}
		for _, r := range rels {
			switch r.GetRelation() {
			case schema.RelationParent:
				next = schema.ItemRef{Type: schema.TypeFolder, ID: r.GetSubject().GetObject().GetObjectId()}
			case schema.RelationCollaborationRestricted:
				if restrictedBy == nil {
					on := node
					restrictedBy = &on
				}
			}
		}
		if user != "" {
			inactive, err := c.inactiveOn(ctx, node, user, inGroup, now, cons)
			if err != nil {
				return Explanation{}, err
			}
			ex.Inactive = append(ex.Inactive, inactive...)
		}
		node = next
	}
	switch {
	case hasStatus(ex.Inactive, StatusPending):
		ex.Reason = ReasonPending
		ex.Detail = "a collaboration for the user has not been accepted yet"
	case hasStatus(ex.Inactive, StatusExpired):
		ex.Reason = ReasonExpired
		ex.Detail = "the user's collaboration has expired"
	case restrictedBy != nil && user != "":
		outside, err := c.outsideOwnersEnterprise(ctx, *restrictedBy, user, cons)
		if err != nil {
			return Explanation{}, err
		}
		if outside {
			ex.Reason = ReasonCollaborationRestricted
			ex.Detail = fmt.Sprintf("folder %q restricts collaboration to its owner's enterprise, and the user is outside it", schema.DecodeID(restrictedBy.ID))
		}
	}
	return ex, nil
}

// inactiveOn lists the collaborations on node for user, directly or through
// a group, that grant nothing now: pending, or past their expiry.
func (c *Checker) inactiveOn(ctx context.Context, node schema.ItemRef, user string, inGroup map[string]bool, now time.Time, cons Consistency) ([]Grant, error) {
	recs, err := c.read(ctx, &v1.RelationshipFilter{
		ResourceType: schema.TypeCollaboration, OptionalRelation: schema.RelationItem,
		OptionalSubjectFilter: &v1.SubjectFilter{SubjectType: node.Type, OptionalSubjectId: node.ID},
	}, cons)
	if err != nil {
		return nil, err
	}
	var out []Grant
	for _, rec := range recs {
		id := rec.GetResource().GetObjectId()
		rels, err := c.read(ctx, &v1.RelationshipFilter{ResourceType: schema.TypeCollaboration, OptionalResourceId: id}, cons)
		if err != nil {
			return nil, err
		}
		g := Grant{Kind: "collaboration", On: schema.ItemRef{Type: node.Type, ID: schema.DecodeID(node.ID)}, Collaboration: schema.DecodeID(id)}
		mine, pending := false, false
		for _, r := range rels {
			o := r.GetSubject().GetObject()
			switch r.GetRelation() {
			case schema.RelationAccessibleBy:
				switch o.GetObjectType() {
				case schema.TypeUser:
					mine = o.GetObjectId() == user
				case schema.TypeGroup:
					member, err := c.inGroup(ctx, inGroup, o.GetObjectId(), user, cons)
					if err != nil {
						return nil, err
					}
					mine, g.Group = member, schema.DecodeID(o.GetObjectId())
				}
			case schema.RelationPending:
				pending = true
			case schema.RelationExpiry:
				g.ExpiresAt = caveatString(r, "expires_at")
			}
		}
		switch {
		case !mine:
		case pending:
			g.Status = StatusPending
			out = append(out, g)
		case g.ExpiresAt != "" && !before(now, g.ExpiresAt):
			g.Status = StatusExpired
			out = append(out, g)
		}
	}
	return out, nil
}

// outsideOwnersEnterprise tells whether user (encoded) is outside the
// enterprise of the owner of folder.
func (c *Checker) outsideOwnersEnterprise(ctx context.Context, folder schema.ItemRef, user string, cons Consistency) (bool, error) {
	owners, err := c.read(ctx, rel.Filter(folder.Type, schema.DecodeID(folder.ID), schema.RelationOwner), cons)
	if err != nil || len(owners) == 0 {
		return false, err
	}
	theirs, err := c.enterpriseOf(ctx, owners[0].GetSubject().GetObject().GetObjectId(), cons)
	if err != nil {
		return false, err
	}
	mine, err := c.enterpriseOf(ctx, user, cons)
	return mine == "" || mine != theirs, err
}

// enterpriseOf returns the encoded enterprise id of user (encoded), or "".
func (c *Checker) enterpriseOf(ctx context.Context, user string, cons Consistency) (string, error) {
	ents, err := c.read(ctx, &v1.RelationshipFilter{ResourceType: schema.TypeUser, OptionalResourceId: user, OptionalRelation: schema.RelationEnterprise}, cons)
	if err != nil || len(ents) == 0 {
		return "", err
	}
	return ents[0].GetSubject().GetObject().GetObjectId(), nil
}

// userKnown tells whether anything mirrored names user (encoded): its own
// created event, or a collaboration or group membership naming it, since
// events may grant to users whose own events never come (external users).
func (c *Checker) userKnown(ctx context.Context, user string, cons Consistency) (bool, error) {
	if ok, err := c.flagged(ctx, schema.TypeUser, user, schema.RelationExists, cons); err != nil || ok {
		return ok, err
	}
	for _, f := range []*v1.RelationshipFilter{
		{ResourceType: schema.TypeCollaboration, OptionalRelation: schema.RelationAccessibleBy},
		{ResourceType: schema.TypeGroup, OptionalRelation: schema.RelationMember},
		{ResourceType: schema.TypeGroup, OptionalRelation: schema.RelationAdmin},
	} {
		f.OptionalSubjectFilter = &v1.SubjectFilter{SubjectType: schema.TypeUser, OptionalSubjectId: user}
		rs, _, err := spicedb.ReadAll(ctx, c.client, &v1.ReadRelationshipsRequest{Consistency: cons.proto(), RelationshipFilter: f, OptionalLimit: 1})
		if err != nil {
			return false, fmt.Errorf("looking for user %q: %w", schema.DecodeID(user), err)
		}
		if len(rs) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// flagged tells whether the object (id encoded) holds the flag relation.
func (c *Checker) flagged(ctx context.Context, typ, id, relation string, cons Consistency) (bool, error) {
	rs, err := c.read(ctx, &v1.RelationshipFilter{ResourceType: typ, OptionalResourceId: id, OptionalRelation: relation}, cons)
	return len(rs) > 0, err
}

func hasStatus(gs []Grant, status string) bool {
	for _, g := range gs {
		if g.Status == status {
			return true
		}
	}
	return false
}
