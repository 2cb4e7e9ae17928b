package checker

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/rel"
)

// maxBulk is SpiceDB's default limit of items in one CheckBulkPermissions.
const maxBulk = 1000

// CheckItems asks SpiceDB items at cons and answers them in order: the one
// way every check of boxauthz reaches SpiceDB, for callers whose questions
// are not Questions too (tokens, enterprises, groups). One item goes as a
// CheckPermission, the cheaper call; more go in as few CheckBulkPermissions
// as the bulk limit allows. It returns the revision SpiceDB answered the
// first request at.
func CheckItems(ctx context.Context, c Client, items []*v1.CheckBulkPermissionsRequestItem, cons Consistency) ([]bool, *v1.ZedToken, error) {
	if len(items) == 1 {
		it := items[0]
		resp, err := c.CheckPermission(ctx, &v1.CheckPermissionRequest{
			Consistency: cons.proto(),
			Resource:    it.GetResource(), Permission: it.GetPermission(), Subject: it.GetSubject(), Context: it.GetContext(),
		})
		if err != nil {
			return nil, nil, fmt.Errorf("checking %s in spicedb: %w", describe(it), err)
		}
		return []bool{resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION}, resp.GetCheckedAt(), nil
	}
	out := make([]bool, 0, len(items))
	var first *v1.ZedToken
	for start := 0; start < len(items); start += maxBulk {
		chunk := items[start:min(start+maxBulk, len(items))]
		resp, err := c.CheckBulkPermissions(ctx, &v1.CheckBulkPermissionsRequest{Consistency: cons.proto(), Items: chunk})
		if err != nil {
			return nil, nil, fmt.Errorf("checking %d permissions in spicedb: %w", len(chunk), err)
		}
		if first == nil {
			first = resp.GetCheckedAt()
		}
		pairs := resp.GetPairs()
		if len(pairs) != len(chunk) {
			// Answers are matched to questions by position: any other count
			// would pair an answer with the wrong question.
			return nil, nil, fmt.Errorf("checking %d permissions in spicedb: %d answers came back", len(chunk), len(pairs))
		}
		for i, asked := range chunk {
			p := pairs[i]
			if e := p.GetError(); e != nil {
				return nil, nil, fmt.Errorf("checking %s: %s", describe(asked), e.GetMessage())
			}
			out = append(out, p.GetItem().GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION)
		}
	}
	return out, first, nil
}

// CheckItems is CheckItems on the Checker's SpiceDB, for questions in
// SpiceDB's own terms alongside graph checks (the authorize decision). With
// a Tree (WithTree), questions of items go as chain checks; one whose chain
// is not confirmed is asked again the recursive way.
func (c *Checker) CheckItems(ctx context.Context, items []*v1.CheckBulkPermissionsRequestItem, cons Consistency) ([]bool, *v1.ZedToken, error) {
	if c.tree == nil {
		return CheckItems(ctx, c.client, items, cons)
	}
	reqs, plan := c.planChain(items)
	got := make([][]bool, len(reqs))
	var first *v1.ZedToken
	for i, r := range reqs {
		g, at, err := CheckItems(ctx, c.client, r.items, cons)
		if err != nil {
			return nil, nil, err
		}
		got[i] = g
		if i == plan[0].req {
			first = at
		}
	}
	out := make([]bool, len(items))
	var again []int
	for i, ci := range plan {
		ok, confirmed := reqs[ci.req].answer(ci, got[ci.req])
		switch {
		case !confirmed:
			c.chains.unconfirmed.Add(1)
			again = append(again, i)
			continue
		case ci.pass < 0:
			c.chains.confirmed.Add(1)
		}
		out[i] = ok
	}
	if len(again) == 0 {
		return out, first, nil
	}
	retry := make([]*v1.CheckBulkPermissionsRequestItem, len(again))
	for j, i := range again {
		retry[j] = items[i]
	}
	g, at, err := CheckItems(ctx, c.client, retry, cons)
	if err != nil {
		return nil, nil, err
	}
	for j, i := range again {
		out[i] = g[j]
	}
	if again[0] == 0 {
		// The revision returned is the one the first answer holds at.
		first = at
	}
	return out, first, nil
}

// describe names an item's question in errors.
func describe(it *v1.CheckBulkPermissionsRequestItem) string {
	r, s := it.GetResource(), it.GetSubject().GetObject()
	return fmt.Sprintf("%s on %s:%s for %s:%s", it.GetPermission(), r.GetObjectType(), r.GetObjectId(), s.GetObjectType(), s.GetObjectId())
}

// checkItem is q as a SpiceDB check item, with the caveat context every check
// passes.
func (c *Checker) checkItem(q Question) *v1.CheckBulkPermissionsRequestItem {
	return &v1.CheckBulkPermissionsRequestItem{Resource: ItemObject(q.Item), Permission: string(q.Action), Subject: UserSubject(q.User), Context: c.CaveatContext(q.SharedLink)}
}

// Now is the time checks pass to the schema's caveats (see WithClock).
func (c *Checker) Now() time.Time { return c.now() }

// UserSubject is user as a SpiceDB subject; "" is the anonymous caller.
func UserSubject(user string) *v1.SubjectReference {
	id := schema.AnonymousUser
	if user != "" {
		id = schema.EncodeID(user)
	}
	return rel.RawSubject(schema.TypeUser, id)
}

// ItemObject is r as a SpiceDB object.
func ItemObject(r schema.ItemRef) *v1.ObjectReference {
	return rel.Object(r.Type, r.ID)
}

// CaveatContext is what every check passes for the schema's caveats: the
// current time and the shared link the request presents, if any.
func (c *Checker) CaveatContext(link *schema.ItemRef) *structpb.Struct {
	presented := ""
	if link != nil {
		presented = link.Type + ":" + schema.EncodeID(link.ID)
	}
	st, _ := structpb.NewStruct(map[string]any{
		"now":            c.now().UTC().Format(time.RFC3339Nano),
		"presented_link": presented,
	})
	return st
}
