package checker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/boxauthz/boxauthz/schema"
)

// MaxLookupLimit is the largest page a lookup returns.
const MaxLookupLimit = 10000

// DefaultLookupLimit is the page size when none is asked for.
const DefaultLookupLimit = 1000

// ItemPage is one page of LookupItems.
type ItemPage struct {
	Items  []string
	Cursor string // empty on the last page
}

// UserPage is one page of LookupUsers.
type UserPage struct {
	Users  []string
	Cursor string // empty on the last page
}

// pageLimit checks a requested page size, 0 meaning the default.
func pageLimit(limit int) (int, error) {
	if limit == 0 {
		return DefaultLookupLimit, nil
	}
	if limit < 0 || limit > MaxLookupLimit {
		return 0, &FieldError{Field: "limit", Err: fmt.Errorf("%d: want 1 to %d", limit, MaxLookupLimit)}
	}
	return limit, nil
}

// startPage reads a lookup's cursor for question: the first page (no
// cursor) answers now at cons; later ones at the first page's time and
// exact snapshot.
func (c *Checker) startPage(cursor, question string, cons Consistency) (pageCursor, *v1.Consistency, error) {
	if err := cons.Validate(); err != nil {
		return pageCursor{}, nil, err
	}
	if cursor == "" {
		return pageCursor{Now: c.now().UTC()}, cons.proto(), nil
	}
	cur, err := c.decodeCursor(cursor, question)
	if err != nil {
		return pageCursor{}, nil, &FieldError{Field: "cursor", Err: err}
	}
	return cur, &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: &v1.ZedToken{Token: cur.Snapshot}}}, nil
}

// page keeps the ids after the cursor's, sorted, and cuts them to limit,
// with the cursor of the next page when more remain.
func (c *Checker) page(ids []string, cur pageCursor, limit int, question string) ([]string, string) {
	sort.Strings(ids)
	if len(ids) <= limit {
		if ids == nil {
			ids = []string{}
		}
		return ids, ""
	}
	cur.After = ids[limit-1]
	return ids[:limit], c.encodeCursor(cur, question)
}

// LookupItems lists the items of type typ on which user may do action, a
// page at a time, in id order. Every page answers as of the first page: the
// same time and the same SpiceDB snapshot.
//
// With a folder tree index (WithTree) a lookup reads the index and asks
// SpiceDB only about grants on items themselves (lookup_tree.go). Without
// one, or when the index cannot vouch for the revision: SpiceDB yields an
// item once per path that reaches it, and its cursors cannot tell a repeat
// on a later page; so each page reads the whole lookup and keeps the ids
// after the cursor's. That costs a full lookup per page: ask for large
// pages.
func (c *Checker) LookupItems(ctx context.Context, user string, action schema.Action, typ string, limit int, cursor string, cons Consistency) (ItemPage, error) {
	if user != "" {
		if err := schema.ValidateID(user); err != nil {
			return ItemPage{}, &FieldError{Field: "user", Err: err}
		}
	}
	if !action.IsItemAction() {
		return ItemPage{}, &FieldError{Field: "action", Err: fmt.Errorf("%q is not an item action", action)}
	}
	if typ != schema.TypeFolder && typ != schema.TypeFile {
		return ItemPage{}, &FieldError{Field: "type", Err: fmt.Errorf("%q: want folder or file", typ)}
	}
	limit, err := pageLimit(limit)
	if err != nil {
		return ItemPage{}, err
	}
	question := fmt.Sprintf("items|%s|%s|%s", user, action, typ)
	cur, consistency, err := c.startPage(cursor, question, cons)
	if err != nil {
		return ItemPage{}, err
	}
	if cur.Snapshot != "" {
		if ids, ok := c.lookups.after(lookupKey(question, cur.Snapshot, cur.Now), cur.After); ok {
			c.chains.lookupsByTree.Add(1)
			var page ItemPage
			page.Items, page.Cursor = c.page(ids, cur, limit, question)
			return page, nil
		}
	}
	if ids, snapshot, ok, err := c.itemsByTree(ctx, user, action, typ, cur, cons); err != nil {
		return ItemPage{}, err
	} else if ok {
		c.chains.lookupsByTree.Add(1)
		cur.Snapshot = snapshot
		if cur.After == "" && len(ids) > limit {
			c.lookups.put(lookupKey(question, snapshot, cur.Now), ids)
		}
		var page ItemPage
		page.Items, page.Cursor = c.page(ids, cur, limit, question)
		return page, nil
	}
	c.chains.lookupsSlow.Add(1)
	ids, err := c.lookupResources(ctx, consistency, &cur, typ, string(action), user)
	if err != nil {
		return ItemPage{}, err
	}
	var page ItemPage
	page.Items, page.Cursor = c.page(ids, cur, limit, question)
	return page, nil
}

// LookupUsers lists the users who may do action on item, group members
// included, a page at a time in id order, every page as of the first.
// Callers presenting a link are not users of the item, so links do not
// count here.
func (c *Checker) LookupUsers(ctx context.Context, item schema.ItemRef, action schema.Action, limit int, cursor string, cons Consistency) (UserPage, error) {
	if err := item.Validate(); err != nil {
		return UserPage{}, &FieldError{Field: "item", Err: err}
	}
	if !action.IsItemAction() {
		return UserPage{}, &FieldError{Field: "action", Err: fmt.Errorf("%q is not an item action", action)}
	}
	limit, err := pageLimit(limit)
	if err != nil {
		return UserPage{}, err
	}
	question := fmt.Sprintf("users|%s|%s|%s", item.Type, item.ID, action)
	cur, consistency, err := c.startPage(cursor, question, cons)
	if err != nil {
		return UserPage{}, err
	}
	users, err := c.lookupSubjects(ctx, consistency, &cur, ItemObject(item), string(action))
	if err != nil {
		return UserPage{}, err
	}
	var page UserPage
	page.Users, page.Cursor = c.page(users, cur, limit, question)
	return page, nil
}

// lookupResources streams SpiceDB's LookupResources of permission on typ
// for user to its end and returns each id once, decoded, after cur.After;
// the first answer's revision becomes cur's snapshot when it has none.
func (c *Checker) lookupResources(ctx context.Context, consistency *v1.Consistency, cur *pageCursor, typ, permission, user string) ([]string, error) {
	st, _ := structpb.NewStruct(map[string]any{"now": cur.Now.Format(time.RFC3339Nano), "presented_link": ""})
	stream, err := c.client.LookupResources(ctx, &v1.LookupResourcesRequest{
		Consistency:        consistency,
		ResourceObjectType: typ,
		Permission:         permission,
		Subject:            UserSubject(user),
		Context:            st,
	})
	if err != nil {
		return nil, fmt.Errorf("looking up %s items %q may %s: %w", typ, user, permission, err)
	}
	seen := map[string]bool{}
	var ids []string
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return ids, nil
		}
		if err != nil {
			return nil, fmt.Errorf("looking up %s items %q may %s: %w", typ, user, permission, err)
		}
		if cur.Snapshot == "" {
			cur.Snapshot = resp.GetLookedUpAt().GetToken()
		}
		if resp.GetPermissionship() != v1.LookupPermissionship_LOOKUP_PERMISSIONSHIP_HAS_PERMISSION {
			continue
		}
		id := schema.DecodeID(resp.GetResourceObjectId())
		if !seen[id] && id > cur.After {
			seen[id] = true
			ids = append(ids, id)
		}
	}
}

// lookupSubjects streams SpiceDB's LookupSubjects of the users holding
// permission on obj to its end and returns their ids, decoded, after
// cur.After; the first answer's revision becomes cur's snapshot when it has
// none. Wildcards and the anonymous user are no users of an item.
func (c *Checker) lookupSubjects(ctx context.Context, consistency *v1.Consistency, cur *pageCursor, obj *v1.ObjectReference, permission string) ([]string, error) {
	what := obj.GetObjectType() + ":" + schema.DecodeID(obj.GetObjectId())
	st, _ := structpb.NewStruct(map[string]any{"now": cur.Now.Format(time.RFC3339Nano), "presented_link": ""})
	stream, err := c.client.LookupSubjects(ctx, &v1.LookupSubjectsRequest{
		Consistency:       consistency,
		Resource:          obj,
		Permission:        permission,
		SubjectObjectType: schema.TypeUser,
		Context:           st,
		WildcardOption:    v1.LookupSubjectsRequest_WILDCARD_OPTION_EXCLUDE_WILDCARDS,
	})
	if err != nil {
		return nil, fmt.Errorf("looking up users who may %s %s: %w", permission, what, err)
	}
	var users []string
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return users, nil
		}
		if err != nil {
			return nil, fmt.Errorf("looking up users who may %s %s: %w", permission, what, err)
		}
		if cur.Snapshot == "" {
			cur.Snapshot = resp.GetLookedUpAt().GetToken()
		}
		s := resp.GetSubject()
		if s.GetPermissionship() != v1.LookupPermissionship_LOOKUP_PERMISSIONSHIP_HAS_PERMISSION || s.GetSubjectObjectId() == "*" || s.GetSubjectObjectId() == schema.AnonymousUser {
			continue
		}
		if id := schema.DecodeID(s.GetSubjectObjectId()); id > cur.After {
			users = append(users, id)
		}
	}
}
