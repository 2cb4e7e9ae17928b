package checker

import (
	"context"
	"fmt"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/rel"
)

// Grant is one thing that gives a user capabilities on an item.
type Grant struct {
	// Kind is "ownership", "collaboration" or "shared_link".
	Kind string `json:"kind"`
	// On is the item the grant sits on: the item itself or an ancestor.
	On schema.ItemRef `json:"on"`
	// Collaboration and Role name a collaboration grant.
	Collaboration string `json:"collaboration,omitempty"`
	Role          string `json:"role,omitempty"`
	// Group is set when the collaboration is the group's.
	Group string `json:"group,omitempty"`
	// ExpiresAt is when the collaboration stops granting, if it does.
	ExpiresAt string `json:"expires_at,omitempty"`
	// Access is the shared link's access (open or company).
	Access string `json:"access,omitempty"`
	// Status is set on an inactive collaboration: pending or expired.
	Status string `json:"status,omitempty"`
}

// Reasons an answer is "no". The first five are for a user to whom the item
// does not exist; the last three for one who sees it.
const (
	ReasonNotMirrored             = "not_mirrored"             // no event has created the item or the user
	ReasonPending                 = "pending"                  // the user's collaboration is not accepted yet
	ReasonExpired                 = "expired"                  // the user's collaboration has run out
	ReasonCollaborationRestricted = "collaboration_restricted" // a folder above refuses collaborators from outside its owner's enterprise
	ReasonNoGrant                 = "no_grant"                 // nothing gives the user the item at all
	ReasonTrashed                 = "trashed"                  // the item or an ancestor is in the trash
	ReasonActionNotInRole         = "action_not_in_role"       // the user's grants do not include the action
	ReasonInviteRestricted        = "invite_restricted"        // only owners and co-owners invite here
)

// Reasons lists every reason code, in the order they are documented.
func Reasons() []string {
	return []string{
		ReasonNotMirrored, ReasonPending, ReasonExpired, ReasonCollaborationRestricted,
		ReasonNoGrant, ReasonTrashed, ReasonActionNotInRole, ReasonInviteRestricted,
	}
}

// Explanation says what allowed an answer, or why not.
type Explanation struct {
	Allowed bool `json:"allowed"`
	// Grants that allow the action (when allowed), or the grants the user
	// holds on the item without the action (when denied).
	Grants []Grant `json:"grants,omitempty"`
	// Reason is set when denied: one of the Reason constants.
	Reason string `json:"reason,omitempty"`
	// Detail says in words what the reason found, where it found more than
	// the code says (which object is not mirrored, which folder restricts).
	Detail string `json:"detail,omitempty"`
	// Inactive lists the user's collaborations on the item or above it that
	// grant nothing now (pending or expired), when the item is not visible.
	Inactive []Grant `json:"inactive,omitempty"`
}

// held is a grant the user holds, with the relation that carries it and how
// far above the item it sits.
type held struct {
	Grant
	relation string
	depth    int
}

// Explain answers q and says why. It reads the grants on the item and its
// ancestors from SpiceDB and keeps those the schema says confer the action.
// It costs several SpiceDB calls; answer questions with Check.
func (c *Checker) Explain(ctx context.Context, q Question, cons Consistency) (Explanation, error) {
	if err := q.Validate(); err != nil {
		return Explanation{}, err
	}
	if err := cons.Validate(); err != nil {
		return Explanation{}, err
	}
	perms := []string{string(q.Action), schema.PermissionVisible, schema.PermissionTrashed, schema.PermissionInviteRestricted}
	got, err := c.checkPermissions(ctx, q, perms, cons)
	if err != nil {
		return Explanation{}, err
	}
	allowed, visible, trashed, restricted := got[0], got[1], got[2], got[3]
	ex := Explanation{Allowed: allowed}
	if !visible && !allowed {
		return c.unseen(ctx, q, cons)
	}
	hs, err := c.heldGrants(ctx, q, cons)
	if err != nil {
		return Explanation{}, err
	}
	want := string(q.Action)
	if !allowed {
		want = schema.PermissionVisible
		switch {
		case trashed:
			ex.Reason = ReasonTrashed
		case q.Action == schema.ActionInvite && restricted && c.confers(q.Item.Type, "g_editor", hs):
			ex.Reason = ReasonInviteRestricted
		default:
			ex.Reason = ReasonActionNotInRole
		}
	}
	g, ok := c.grantors.For(q.Item.Type, want)
	if !ok {
		return Explanation{}, fmt.Errorf("explaining %s: the schema has no permission %q on %s", q.Action, want, q.Item.Type)
	}
	for _, h := range hs {
		if (h.depth == 0 && g.Here[h.relation]) || (h.depth > 0 && g.Above[h.relation]) {
			ex.Grants = append(ex.Grants, h.Grant)
		}
	}
	return ex, nil
}

func (c *Checker) confers(typ, permission string, hs []held) bool {
	g, ok := c.grantors.For(typ, permission)
	if !ok {
		return false
	}
	for _, h := range hs {
		if (h.depth == 0 && g.Here[h.relation]) || (h.depth > 0 && g.Above[h.relation]) {
			return true
		}
	}
	return false
}

// checkPermissions checks several permissions of one item in one call.
func (c *Checker) checkPermissions(ctx context.Context, q Question, perms []string, cons Consistency) ([]bool, error) {
	items := make([]*v1.CheckBulkPermissionsRequestItem, len(perms))
	for i, p := range perms {
		items[i] = c.checkItem(Question{User: q.User, Action: schema.Action(p), Item: q.Item, SharedLink: q.SharedLink})
	}
	got, _, err := CheckItems(ctx, c.client, items, cons)
	if err != nil {
		return nil, fmt.Errorf("checking %s on %s: %w", strings.Join(perms, ", "), q.Item, err)
	}
	return got, nil
}

// maxChain bounds the walk up the folder tree.
const maxChain = 10000

// heldGrants reads every grant the user holds on the item and its ancestors.
func (c *Checker) heldGrants(ctx context.Context, q Question, cons Consistency) ([]held, error) {
	now := c.now()
	user := schema.AnonymousUser
	if q.User != "" {
		user = schema.EncodeID(q.User)
	}
	presented := ""
	if q.SharedLink != nil {
		presented = q.SharedLink.Type + ":" + schema.EncodeID(q.SharedLink.ID)
	}
	inGroup := map[string]bool{}
	var out []held
	node := schema.ItemRef{Type: q.Item.Type, ID: schema.EncodeID(q.Item.ID)}
	for depth := 0; node.ID != ""; depth++ {
		if depth > maxChain {
			return nil, fmt.Errorf("explaining %s: ancestor chain longer than %d", q.Item, maxChain)
		}
		rels, err := c.read(ctx, &v1.RelationshipFilter{ResourceType: node.Type, OptionalResourceId: node.ID}, cons)
		if err != nil {
			return nil, err
		}
		on := schema.ItemRef{Type: node.Type, ID: schema.DecodeID(node.ID)}
		next := schema.ItemRef{}
		var owner string
		for _, r := range rels {
			if r.GetRelation() == schema.RelationOwner {
				owner = r.GetSubject().GetObject().GetObjectId()
			}
		}
		for _, r := range rels {
			s := r.GetSubject()
			sid := s.GetObject().GetObjectId()
			switch rel := r.GetRelation(); {
			case rel == "parent":
				next = schema.ItemRef{Type: schema.TypeFolder, ID: sid}
			case rel == "owner" && sid == user:
				out = append(out, held{Grant: Grant{Kind: "ownership", On: on}, relation: rel, depth: depth})
			case strings.Contains(rel, "link_"):
				ok, err := c.linkAdmits(ctx, r, presented, owner, user, now, cons)
				if err != nil {
					return nil, err
				}
				if ok {
					access := "open"
					if strings.HasPrefix(rel, "company_") {
						access = "company"
					}
					out = append(out, held{Grant: Grant{Kind: "shared_link", On: on, Access: access}, relation: rel, depth: depth})
				}
			default:
				role := roleOf(rel)
				if role == "" || !notExpired(r, now) {
					continue
				}
				g := Grant{Kind: "collaboration", On: on, Role: role, ExpiresAt: expiresAt(r)}
				switch {
				case s.GetObject().GetObjectType() == schema.TypeUser && sid == user:
				case s.GetObject().GetObjectType() == schema.TypeGroup:
					member, err := c.inGroup(ctx, inGroup, sid, user, cons)
					if err != nil {
						return nil, err
					}
					if !member {
						continue
					}
					g.Group = schema.DecodeID(sid)
				default:
					continue
				}
				out = append(out, held{Grant: g, relation: rel, depth: depth})
			}
		}
		node = next
	}
	return out, c.nameCollaborations(ctx, q.User, out, cons)
}

// inGroup tells whether user (encoded) is a member of group (encoded),
// remembering answers in known for the rest of one explanation.
func (c *Checker) inGroup(ctx context.Context, known map[string]bool, group, user string, cons Consistency) (bool, error) {
	if member, ok := known[group]; ok {
		return member, nil
	}
	ms, err := c.read(ctx, &v1.RelationshipFilter{
		ResourceType: schema.TypeGroup, OptionalResourceId: group,
		OptionalSubjectFilter: &v1.SubjectFilter{SubjectType: schema.TypeUser, OptionalSubjectId: user},
	}, cons)
	if err != nil {
		return false, err
	}
	known[group] = len(ms) > 0
	return known[group], nil
}

func roleOf(relation string) string {
	for _, r := range schema.Roles() {
		if r.Relation() == relation {
			return string(r)
		}
	}
	return ""
}

func caveatString(r *v1.Relationship, field string) string {
	return r.GetOptionalCaveat().GetContext().GetFields()[field].GetStringValue()
}

func expiresAt(r *v1.Relationship) string {
	if r.GetOptionalCaveat().GetCaveatName() != "not_expired" {
		return ""
	}
	return caveatString(r, "expires_at")
}

func notExpired(r *v1.Relationship, now time.Time) bool {
	e := expiresAt(r)
	return e == "" || before(now, e)
}

// before reports whether now is before the RFC 3339 time t; a time that
// does not parse is never ahead.
func before(now time.Time, t string) bool {
	u, err := time.Parse(time.RFC3339Nano, t)
	return err == nil && now.Before(u)
}

// linkAdmits tells whether a shared-link relationship admits this request:
// the link is the one presented, not unshared, and for a company link the
// user is in the enterprise of the item's owner.
func (c *Checker) linkAdmits(ctx context.Context, r *v1.Relationship, presented, owner, user string, now time.Time, cons Consistency) (bool, error) {
	if presented == "" || caveatString(r, "link") != presented {
		return false, nil
	}
	if !before(now, caveatString(r, "unshared_at")) {
		return false, nil
	}
	if !strings.HasPrefix(r.GetRelation(), "company_") {
		return true, nil
	}
	if owner == "" || user == schema.AnonymousUser {
		return false, nil
	}
	ents, err := c.read(ctx, &v1.RelationshipFilter{ResourceType: schema.TypeUser, OptionalResourceId: owner, OptionalRelation: schema.RelationEnterprise}, cons)
	if err != nil || len(ents) == 0 {
		return false, err
	}
	ms, err := c.read(ctx, &v1.RelationshipFilter{
		ResourceType: schema.TypeEnterprise, OptionalResourceId: ents[0].GetSubject().GetObject().GetObjectId(), OptionalRelation: schema.RelationMember,
		OptionalSubjectFilter: &v1.SubjectFilter{SubjectType: schema.TypeUser, OptionalSubjectId: user},
	}, cons)
	return len(ms) > 0, err
}

// nameCollaborations fills in the collaboration id of each collaboration
// grant from sync's bookkeeping records.
func (c *Checker) nameCollaborations(ctx context.Context, user string, hs []held, cons Consistency) error {
	for i := range hs {
		g := &hs[i].Grant
		if g.Kind != "collaboration" {
			continue
		}
		want := rel.Object(schema.TypeUser, user)
		if g.Group != "" {
			want = rel.Object(schema.TypeGroup, g.Group)
		}
		recs, err := c.read(ctx, &v1.RelationshipFilter{
			ResourceType: schema.TypeCollaboration, OptionalRelation: schema.RelationItem,
			OptionalSubjectFilter: &v1.SubjectFilter{SubjectType: g.On.Type, OptionalSubjectId: schema.EncodeID(g.On.ID)},
		}, cons)
		if err != nil {
			return err
		}
		for _, r := range recs {
			id := r.GetResource().GetObjectId()
			who, err := c.read(ctx, &v1.RelationshipFilter{ResourceType: schema.TypeCollaboration, OptionalResourceId: id, OptionalRelation: schema.RelationAccessibleBy}, cons)
			if err != nil {
				return err
			}
			if len(who) == 1 && who[0].GetSubject().GetObject().GetObjectType() == want.GetObjectType() && who[0].GetSubject().GetObject().GetObjectId() == want.GetObjectId() {
				g.Collaboration = schema.DecodeID(id)
				break
			}
		}
	}
	return nil
}

func (c *Checker) read(ctx context.Context, f *v1.RelationshipFilter, cons Consistency) ([]*v1.Relationship, error) {
	rs, _, err := spicedb.ReadAll(ctx, c.client, &v1.ReadRelationshipsRequest{Consistency: cons.proto(), RelationshipFilter: f})
	if err != nil {
		return nil, fmt.Errorf("reading %s relationships: %w", f.GetResourceType(), err)
	}
	return rs, nil
}
