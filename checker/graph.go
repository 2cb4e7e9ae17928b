package checker

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/schema"
)

// Checker answers graph questions.
type Checker struct {
	client    Client
	now       func() time.Time
	grantors  *schema.GrantorIndex
	tree      Tree
	chains    chainCounts
	cursorKey []byte
	cursorTTL time.Duration
	lookups   *lookupCache
}

// chainCounts count chain checks by how they were answered, and lookups
// of items by the way they went.
type chainCounts struct {
	confirmed, unconfirmed     atomic.Uint64
	lookupsByTree, lookupsSlow atomic.Uint64
}

// LookupCounts reports how many pages of item lookups were read from the
// folder tree index, and how many went SpiceDB's slower way (no index, or
// one that could not vouch for the revision).
func (c *Checker) LookupCounts() (byTree, bySpiceDB uint64) {
	return c.chains.lookupsByTree.Load(), c.chains.lookupsSlow.Load()
}

// ChainCounts reports how many questions went as chain checks and were
// answered from the chain (confirmed), and how many found the chain moved
// and were asked again the recursive way (unconfirmed): a tree that keeps
// up gives almost no unconfirmed ones.
func (c *Checker) ChainCounts() (confirmed, unconfirmed uint64) {
	return c.chains.confirmed.Load(), c.chains.unconfirmed.Load()
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
	ch := &Checker{client: c, now: time.Now, grantors: g, cursorTTL: DefaultCursorTTL, lookups: newLookupCache()}
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
	// ConsistencyToken is the revision SpiceDB answered at (a zedtoken),
	// so a caller can read again no older than this answer. A bulk check
	// larger than one SpiceDB call carries the first call's revision.
	ConsistencyToken string
}

// Check answers one question.
func (c *Checker) Check(ctx context.Context, q Question, cons Consistency) (Answer, error) {
	as, err := c.CheckBulk(ctx, []Question{q}, cons)
	if err != nil {
		return Answer{}, err
	}
	return as[0], nil
}

// CheckBulk answers many questions, in order, in as few SpiceDB calls as
// the bulk limit allows.
func (c *Checker) CheckBulk(ctx context.Context, qs []Question, cons Consistency) ([]Answer, error) {
	if err := cons.Validate(); err != nil {
		return nil, err
	}
	items := make([]*v1.CheckBulkPermissionsRequestItem, 0, len(qs))
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
		items = append(items, c.checkItem(q))
	}
	got, at, err := c.CheckItems(ctx, items, cons)
	if err != nil {
		return nil, err
	}
	out := make([]Answer, len(got))
	for i, ok := range got {
		out[i] = Answer{Allowed: ok, ConsistencyToken: at.GetToken()}
	}
	return out, nil
}

// ParseSharedLink reads a presented shared link: "folder:123" or a Box URL
// of the item (see schema.ParseItemURL).
func ParseSharedLink(s string) (schema.ItemRef, error) {
	r, err := schema.ParseItemURL(s)
	if err != nil {
		return schema.ItemRef{}, fmt.Errorf("shared link: %w; want %s", err, schema.ItemForms)
	}
	return r, nil
}
