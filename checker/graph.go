package checker

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
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
	client    Client
	now       func() time.Time
	grantors  *schema.GrantorIndex
	cursorKey []byte
	cursorTTL time.Duration
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
	ch := &Checker{client: c, now: time.Now, grantors: g, cursorTTL: DefaultCursorTTL}
	for _, o := range opts {
		o(ch)
	}
	if len(ch.cursorKey) == 0 {
		ch.cursorKey = make([]byte, 32)
		if _, err := rand.Read(ch.cursorKey); err != nil {
			return nil, fmt.Errorf("making a lookup cursor key: %w", err)
		}
	}
	if ch.cursorTTL <= 0 {
		return nil, fmt.Errorf("cursor lifetime %s: want a positive duration", ch.cursorTTL)
	}
	return ch, nil
}

// Question is one graph check: may User do Action on Item? User "" is an
// anonymous caller; SharedLink, when set, is the link the request presents.
type Question struct {
	User       string
	Action     schema.Action
	Item       schema.ItemRef
	SharedLink *schema.ItemRef
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

// Answer is the outcome of one Question.
type Answer struct {
	Allowed bool
}

func userSubject(user string) *v1.SubjectReference {
	id := schema.AnonymousUser
	if user != "" {
		id = schema.EncodeID(user)
	}
	return &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: schema.TypeUser, ObjectId: id}}
}

func itemObject(r schema.ItemRef) *v1.ObjectReference {
	return &v1.ObjectReference{ObjectType: r.Type, ObjectId: schema.EncodeID(r.ID)}
}

// caveatContext is what every check passes for the schema's caveats.
func (c *Checker) caveatContext(link *schema.ItemRef) *structpb.Struct {
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
	if err := cons.Validate(); err != nil {
		return nil, err
	}
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

// ParseSharedLink reads a presented shared link: "folder:123" or a Box-style
// URL ending /folders/123 or /files/123.
func ParseSharedLink(s string) (schema.ItemRef, error) {
	if i := strings.LastIndex(s, "/"); i >= 0 && strings.Contains(s, "://") {
		rest := strings.TrimSuffix(s[:i], "/")
		id := s[i+1:]
		switch {
		case strings.HasSuffix(rest, "/folders"):
			r := schema.ItemRef{Type: schema.TypeFolder, ID: id}
			return r, r.Validate()
		case strings.HasSuffix(rest, "/files"):
			r := schema.ItemRef{Type: schema.TypeFile, ID: id}
			return r, r.Validate()
		}
		return schema.ItemRef{}, errors.New("a link URL must end /folders/<id> or /files/<id>")
	}
	return schema.ParseItemRef(s)
}
