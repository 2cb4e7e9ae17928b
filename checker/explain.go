package checker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/schema"
)

// Grant is one thing that gives a user capabilities on an item.
type Grant struct {
	// Kind is "ownership", "collaboration" or "shared_link".
	Kind string `json:"kind"`
	// On is the item the grant sits on: the item itself or an ancestor.
	On ItemRef `json:"on"`
	// Collaboration and Role name a collaboration grant.
	Collaboration string `json:"collaboration,omitempty"`
	Role          string `json:"role,omitempty"`
	// Group is set when the collaboration is the group's.
	Group string `json:"group,omitempty"`
	// Access is the shared link's access (open or company).
	Access string `json:"access,omitempty"`
}

// Explanation says what allowed an answer, or why not.
type Explanation struct {
	Allowed bool `json:"allowed"`
	// Grants that allow the action (when allowed), or that the user holds
	// without the action (when denied for lack of it).
	Grants []Grant `json:"grants,omitempty"`
	// Reason is set when denied: "trashed" (the item or an ancestor is in
	// the trash), "no_grant" (nothing gives the user the item at all), or
	// "action_not_in_role" (the user's grants do not include the action).
	Reason string `json:"reason,omitempty"`
}

// Explain answers q and says why, from SpiceDB's own trace of the check.
// It costs several SpiceDB calls; answer questions with Check.
func (c *Checker) Explain(ctx context.Context, q Question, cons Consistency) (Explanation, error) {
	if err := q.Validate(); err != nil {
		return Explanation{}, err
	}
	allowed, grants, err := c.traceGrants(ctx, q, string(q.Action), cons)
	if err != nil {
		return Explanation{}, err
	}
	if allowed {
		return Explanation{Allowed: true, Grants: grants}, nil
	}
	visible, held, err := c.traceGrants(ctx, q, schema.PermissionVisible, cons)
	if err != nil {
		return Explanation{}, err
	}
	trashed, err := c.CheckBulk(ctx, []Question{{User: q.User, Action: schema.ActionList, Item: q.Item, SharedLink: q.SharedLink}}, cons)
	if err != nil {
		return Explanation{}, err
	}
	ex := Explanation{Grants: held}
	switch {
	case !visible:
		ex.Reason = "no_grant"
	case !trashed[0].Allowed:
		ex.Reason = "trashed"
	default:
		ex.Reason = "action_not_in_role"
	}
	return ex, nil
}

// traceGrants checks one permission with tracing and reads the grants that
// made it hold out of the trace.
func (c *Checker) traceGrants(ctx context.Context, q Question, permission string, cons Consistency) (bool, []Grant, error) {
	resp, err := c.client.CheckPermission(ctx, &v1.CheckPermissionRequest{
		Consistency: cons.proto(),
		Resource:    itemObject(q.Item),
		Permission:  permission,
		Subject:     userSubject(q.User),
		Context:     c.caveatContext(q.SharedLink),
		WithTracing: true,
	})
	if err != nil {
		return false, nil, fmt.Errorf("tracing %s on %s for %q: %w", permission, q.Item, q.User, err)
	}
	allowed := resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION
	var grants []Grant
	seen := map[string]bool{}
	var walk func(t *v1.CheckDebugTrace, excluded bool)
	walk = func(t *v1.CheckDebugTrace, excluded bool) {
		if t == nil || !holds(t) {
			return
		}
		res := t.GetResource()
		if t.GetPermissionType() == v1.CheckDebugTrace_PERMISSION_TYPE_RELATION && (res.GetObjectType() == schema.TypeFolder || res.GetObjectType() == schema.TypeFile) {
			if g, ok := grantOf(t); ok {
				k := fmt.Sprintf("%s/%s/%s", g.Kind, g.On, g.Role+g.Access)
				if !seen[k] {
					seen[k] = true
					grants = append(grants, g)
				}
				return
			}
		}
		// trashed_any holding is what denies, never a grant.
		if t.GetPermission() == schema.PermissionTrashed {
			return
		}
		for _, sub := range t.GetSubProblems().GetTraces() {
			walk(sub, excluded)
		}
	}
	walk(resp.GetDebugTrace().GetCheck(), false)
	if err := c.nameCollaborations(ctx, q.User, grants, cons); err != nil {
		return false, nil, err
	}
	return allowed, grants, nil
}

// holds tells whether a trace node held: outright, or through a caveat that
// evaluated true with the request's context.
func holds(t *v1.CheckDebugTrace) bool {
	switch t.GetResult() {
	case v1.CheckDebugTrace_PERMISSIONSHIP_HAS_PERMISSION:
		return true
	case v1.CheckDebugTrace_PERMISSIONSHIP_CONDITIONAL_PERMISSION:
		return t.GetCaveatEvaluationInfo().GetResult() == v1.CaveatEvalInfo_RESULT_TRUE
	}
	return false
}

func grantOf(t *v1.CheckDebugTrace) (Grant, bool) {
	on := ItemRef{Type: t.GetResource().GetObjectType(), ID: schema.DecodeID(t.GetResource().GetObjectId())}
	rel := t.GetPermission()
	switch {
	case rel == "owner":
		return Grant{Kind: "ownership", On: on}, true
	case strings.HasPrefix(rel, "company_link_"):
		return Grant{Kind: "shared_link", On: on, Access: "company"}, true
	case strings.HasPrefix(rel, "link_"):
		return Grant{Kind: "shared_link", On: on, Access: "open"}, true
	}
	for _, r := range schema.Roles() {
		if r.Relation() == rel {
			g := Grant{Kind: "collaboration", On: on, Role: string(r)}
			for _, sub := range t.GetSubProblems().GetTraces() {
				if holds(sub) && sub.GetResource().GetObjectType() == schema.TypeGroup {
					g.Group = schema.DecodeID(sub.GetResource().GetObjectId())
				}
			}
			return g, true
		}
	}
	return Grant{}, false
}

// nameCollaborations fills in the collaboration id of each collaboration
// grant from sync's bookkeeping records.
func (c *Checker) nameCollaborations(ctx context.Context, user string, grants []Grant, cons Consistency) error {
	for i := range grants {
		g := &grants[i]
		if g.Kind != "collaboration" {
			continue
		}
		want := &v1.ObjectReference{ObjectType: schema.TypeUser, ObjectId: schema.EncodeID(user)}
		if g.Group != "" {
			want = &v1.ObjectReference{ObjectType: schema.TypeGroup, ObjectId: schema.EncodeID(g.Group)}
		}
		recs, err := c.read(ctx, &v1.RelationshipFilter{ResourceType: schema.TypeCollaboration, OptionalRelation: "item",
			OptionalSubjectFilter: &v1.SubjectFilter{SubjectType: g.On.Type, OptionalSubjectId: schema.EncodeID(g.On.ID)}}, cons)
		if err != nil {
			return err
		}
		for _, r := range recs {
			id := r.GetResource().GetObjectId()
			who, err := c.read(ctx, &v1.RelationshipFilter{ResourceType: schema.TypeCollaboration, OptionalResourceId: id, OptionalRelation: "accessible_by"}, cons)
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
	stream, err := c.client.ReadRelationships(ctx, &v1.ReadRelationshipsRequest{Consistency: cons.proto(), RelationshipFilter: f})
	if err != nil {
		return nil, fmt.Errorf("reading %s relationships: %w", f.GetResourceType(), err)
	}
	var out []*v1.Relationship
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s relationships: %w", f.GetResourceType(), err)
		}
		out = append(out, resp.GetRelationship())
	}
}
