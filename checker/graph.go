package checker

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/boxauthz/boxauthz/schema"
)

// Client is what the checker needs of SpiceDB.
type Client interface {
	CheckPermission(ctx context.Context, in *v1.CheckPermissionRequest, opts ...grpc.CallOption) (*v1.CheckPermissionResponse, error)
	CheckBulkPermissions(ctx context.Context, in *v1.CheckBulkPermissionsRequest, opts ...grpc.CallOption) (*v1.CheckBulkPermissionsResponse, error)
	LookupResources(ctx context.Context, in *v1.LookupResourcesRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[v1.LookupResourcesResponse], error)
	LookupSubjects(ctx context.Context, in *v1.LookupSubjectsRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[v1.LookupSubjectsResponse], error)
	ReadRelationships(ctx context.Context, in *v1.ReadRelationshipsRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[v1.ReadRelationshipsResponse], error)
}

// Checker answers graph questions.
type Checker struct {
	client   Client
	now      func() time.Time
	grantors *schema.GrantorIndex
}

// Option configures a Checker.
type Option func(*Checker)

// WithClock sets the clock whose time checks pass as `now` (tests).
func WithClock(now func() time.Time) Option { return func(c *Checker) { c.now = now } }

// New returns a Checker asking c.
func New(c Client, opts ...Option) (*Checker, error) {
	g, err := schema.NewGrantorIndex()
	if err != nil {
		return nil, err
	}
	ch := &Checker{client: c, now: time.Now, grantors: g}
	for _, o := range opts {
		o(ch)
	}
	return ch, nil
}

// ItemRef names a file or folder.
type ItemRef struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

func (r ItemRef) String() string { return r.Type + ":" + r.ID }

// ParseItemRef reads "folder:123" or "file:abc".
func ParseItemRef(s string) (ItemRef, error) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			r := ItemRef{Type: s[:i], ID: s[i+1:]}
			return r, r.Validate()
		}
	}
	return ItemRef{}, fmt.Errorf("item %q: want type:id, for example folder:123", s)
}

// Validate checks the reference names a file or folder by a valid id.
func (r ItemRef) Validate() error {
	if r.Type != schema.TypeFolder && r.Type != schema.TypeFile {
		return fmt.Errorf("item type %q: want folder or file", r.Type)
	}
	if r.ID == schema.RootID {
		return fmt.Errorf("item id \"0\" is the root, never an item")
	}
	if err := schema.ValidateID(r.ID); err != nil {
		return fmt.Errorf("item id: %w", err)
	}
	return nil
}

// Question is one graph check: may User do Action on Item? User "" is an
// anonymous caller; SharedLink, when set, is the link the request presents.
type Question struct {
	User       string
	Action     schema.Action
	Item       ItemRef
	SharedLink *ItemRef
}

// Validate checks the question's fields and names the first bad one.
func (q Question) Validate() error {
	if q.User != "" {
		if err := schema.ValidateID(q.User); err != nil {
			return &FieldError{Field: "user", Err: err}
		}
	}
	if !q.Action.IsItemAction() {
		return &FieldError{Field: "action", Err: fmt.Errorf("%q is not an item action", q.Action)}
	}
	if _, err := schema.ParseAction(string(q.Action)); err != nil {
		return &FieldError{Field: "action", Err: err}
	}
	if err := q.Item.Validate(); err != nil {
		return &FieldError{Field: "item", Err: err}
	}
	if q.SharedLink != nil {
		if err := q.SharedLink.Validate(); err != nil {
			return &FieldError{Field: "shared_link", Err: err}
		}
	}
	return nil
}

// FieldError names the request field that is wrong.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return fmt.Sprintf("field %q: %v", e.Field, e.Err) }
func (e *FieldError) Unwrap() error { return e.Err }

// Answer is the outcome of one Question.
type Answer struct {
	Allowed bool
}

// Consistency is how fresh an answer must be: at least as fresh as Token
// when set (a token from an event apply), otherwise fully consistent.
type Consistency struct {
	Token string
}

func (c Consistency) proto() *v1.Consistency {
	if c.Token != "" {
		return &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: &v1.ZedToken{Token: c.Token}}}
	}
	return &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}
}

func userSubject(user string) *v1.SubjectReference {
	id := schema.AnonymousUser
	if user != "" {
		id = schema.EncodeID(user)
	}
	return &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: schema.TypeUser, ObjectId: id}}
}

func itemObject(r ItemRef) *v1.ObjectReference {
	return &v1.ObjectReference{ObjectType: r.Type, ObjectId: schema.EncodeID(r.ID)}
}

// caveatContext is what every check passes for the schema's caveats.
func (c *Checker) caveatContext(link *ItemRef) *structpb.Struct {
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

// Check answers one question.
func (c *Checker) Check(ctx context.Context, q Question, cons Consistency) (Answer, error) {
	as, err := c.CheckBulk(ctx, []Question{q}, cons)
	if err != nil {
		return Answer{}, err
	}
	return as[0], nil
}

// maxBulk is SpiceDB's default limit of items in one CheckBulkPermissions.
const maxBulk = 1000

// CheckBulk answers many questions, in order, in as few SpiceDB calls as
// the bulk limit allows.
func (c *Checker) CheckBulk(ctx context.Context, qs []Question, cons Consistency) ([]Answer, error) {
	for i, q := range qs {
		if err := q.Validate(); err != nil {
			if len(qs) > 1 {
				var fe *FieldError
				if errors.As(err, &fe) {
					fe.Field = fmt.Sprintf("checks[%d].%s", i, fe.Field)
				}
			}
			return nil, err
		}
	}
	out := make([]Answer, 0, len(qs))
	for start := 0; start < len(qs); start += maxBulk {
		end := min(start+maxBulk, len(qs))
		items := make([]*v1.CheckBulkPermissionsRequestItem, 0, end-start)
		for _, q := range qs[start:end] {
			items = append(items, &v1.CheckBulkPermissionsRequestItem{
				Resource:   itemObject(q.Item),
				Permission: string(q.Action),
				Subject:    userSubject(q.User),
				Context:    c.caveatContext(q.SharedLink),
			})
		}
		resp, err := c.client.CheckBulkPermissions(ctx, &v1.CheckBulkPermissionsRequest{Consistency: cons.proto(), Items: items})
		if err != nil {
			return nil, fmt.Errorf("checking %d permissions in spicedb: %w", len(items), err)
		}
		for i, p := range resp.GetPairs() {
			if e := p.GetError(); e != nil {
				return nil, fmt.Errorf("checking %s on %s for %q: %s", qs[start+i].Action, qs[start+i].Item, qs[start+i].User, e.GetMessage())
			}
			out = append(out, Answer{Allowed: p.GetItem().GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION})
		}
	}
	return out, nil
}

// MaxLookupLimit is the largest page LookupItems returns.
const MaxLookupLimit = 10000

// DefaultLookupLimit is the page size when none is asked for.
const DefaultLookupLimit = 1000

// ItemPage is one page of LookupItems.
type ItemPage struct {
	Items  []string
	Cursor string // empty on the last page
}

// LookupItems lists the items of type typ on which user may do action, a
// page at a time, in id order. Every page answers as of the first page: the
// same time and the same SpiceDB snapshot.
//
// SpiceDB yields an item once per path that reaches it, and its cursors
// cannot tell a repeat on a later page; so each page reads the whole lookup
// and keeps the ids after the cursor's. That costs a full lookup per page:
// ask for large pages.
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
	if limit == 0 {
		limit = DefaultLookupLimit
	}
	if limit < 0 || limit > MaxLookupLimit {
		return ItemPage{}, &FieldError{Field: "limit", Err: fmt.Errorf("%d: want 1 to %d", limit, MaxLookupLimit)}
	}
	cur := pageCursor{Now: c.now().UTC()}
	consistency := cons.proto()
	if cursor != "" {
		var err error
		if cur, err = decodeCursor(cursor); err != nil {
			return ItemPage{}, &FieldError{Field: "cursor", Err: err}
		}
		consistency = &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: &v1.ZedToken{Token: cur.Snapshot}}}
	}
	st, _ := structpb.NewStruct(map[string]any{"now": cur.Now.Format(time.RFC3339Nano), "presented_link": ""})
	stream, err := c.client.LookupResources(ctx, &v1.LookupResourcesRequest{
		Consistency:        consistency,
		ResourceObjectType: typ,
		Permission:         string(action),
		Subject:            userSubject(user),
		Context:            st,
	})
	if err != nil {
		return ItemPage{}, fmt.Errorf("looking up %s items %q may %s: %w", typ, user, action, err)
	}
	seen := map[string]bool{}
	var ids []string
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return ItemPage{}, fmt.Errorf("looking up %s items %q may %s: %w", typ, user, action, err)
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
	sort.Strings(ids)
	page := ItemPage{Items: ids}
	if len(ids) > limit {
		page.Items = ids[:limit]
		cur.After = ids[limit-1]
		page.Cursor = cur.encode()
	}
	if page.Items == nil {
		page.Items = []string{}
	}
	return page, nil
}

// pageCursor is LookupItems' cursor, opaque to callers: the first page's
// time and snapshot, and the last id given out.
type pageCursor struct {
	Now      time.Time `json:"n"`
	Snapshot string    `json:"s"`
	After    string    `json:"a"`
}

func (p pageCursor) encode() string {
	b, _ := json.Marshal(p)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (pageCursor, error) {
	var p pageCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &p)
	}
	if err != nil || p.After == "" || p.Snapshot == "" || p.Now.IsZero() {
		return p, fmt.Errorf("not a cursor this server gave out")
	}
	return p, nil
}

// LookupUsers lists the users who may do action on item, group members
// included, sorted. Callers presenting a link are not users of the item, so links
// do not count here.
func (c *Checker) LookupUsers(ctx context.Context, item ItemRef, action schema.Action, cons Consistency) ([]string, error) {
	if err := item.Validate(); err != nil {
		return nil, &FieldError{Field: "item", Err: err}
	}
	if !action.IsItemAction() {
		return nil, &FieldError{Field: "action", Err: fmt.Errorf("%q is not an item action", action)}
	}
	stream, err := c.client.LookupSubjects(ctx, &v1.LookupSubjectsRequest{
		Consistency:       cons.proto(),
		Resource:          itemObject(item),
		Permission:        string(action),
		SubjectObjectType: schema.TypeUser,
		Context:           c.caveatContext(nil),
		WildcardOption:    v1.LookupSubjectsRequest_WILDCARD_OPTION_EXCLUDE_WILDCARDS,
	})
	if err != nil {
		return nil, fmt.Errorf("looking up users who may %s %s: %w", action, item, err)
	}
	users := []string{}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("looking up users who may %s %s: %w", action, item, err)
		}
		s := resp.GetSubject()
		if s.GetPermissionship() != v1.LookupPermissionship_LOOKUP_PERMISSIONSHIP_HAS_PERMISSION || s.GetSubjectObjectId() == "*" || s.GetSubjectObjectId() == schema.AnonymousUser {
			continue
		}
		users = append(users, schema.DecodeID(s.GetSubjectObjectId()))
	}
	sort.Strings(users)
	return users, nil
}

// ParseSharedLink reads a presented shared link: "folder:123" or a Box-style
// URL ending /folders/123 or /files/123.
func ParseSharedLink(s string) (ItemRef, error) {
	if i := strings.LastIndex(s, "/"); i >= 0 && strings.Contains(s, "://") {
		rest := strings.TrimSuffix(s[:i], "/")
		id := s[i+1:]
		switch {
		case strings.HasSuffix(rest, "/folders"):
			r := ItemRef{Type: schema.TypeFolder, ID: id}
			return r, r.Validate()
		case strings.HasSuffix(rest, "/files"):
			r := ItemRef{Type: schema.TypeFile, ID: id}
			return r, r.Validate()
		}
		return ItemRef{}, errors.New("a link URL must end /folders/<id> or /files/<id>")
	}
	return ParseItemRef(s)
}
