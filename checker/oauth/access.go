package oauth

import (
	"context"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/schema"
)

// AccessToken is what an access token is: fixed at issue, so cached after
// its first use on a replica. Whether it is still valid is SpiceDB's to say
// (see ValidItem and SettleValid).
type AccessToken struct {
	// ID is the token's SpiceDB object id, the SHA-256 of its string.
	ID       string
	User     string
	Scopes   []Scope
	Resource *schema.ItemRef // set for a downscoped token limited to it
	Expires  time.Time
}

// Lookup describes an access token; ok is false for a string never issued.
// It says nothing of validity.
func (t *Tokens) Lookup(ctx context.Context, token string) (tok AccessToken, ok bool, err error) {
	m, ok, err := t.access(ctx, token)
	if err != nil || !ok {
		return AccessToken{}, ok, err
	}
	return AccessToken{ID: m.hash, User: m.user, Scopes: m.scopes, Resource: m.resource, Expires: m.expires}, true, nil
}

// VouchesFor reports whether the revocation watch remembers the access
// token id as valid at now, so that a decision may leave its validity
// question out and settle it with SettleValid.
func (t *Tokens) VouchesFor(id string, now time.Time) bool { return t.validity.known(id, now) }

// SettleValid settles whether the access token id was valid for a decision
// whose answers came at the revisions at. If the decision asked (vouched
// false), asked is the answer, and with the revocation watch running a yes
// is remembered (see WatchRevocations). If it left the question out, the
// watch must confirm the token still valid through those revisions; when
// it cannot in time, SpiceDB is asked after all.
func (t *Tokens) SettleValid(ctx context.Context, id string, vouched, asked bool, at []*v1.ZedToken, now time.Time) (bool, error) {
	if !vouched {
		t.validity.asked.Add(1)
		if asked {
			t.rememberValidID(ctx, id, now, at[0])
		}
		return asked, nil
	}
	if t.validity.confirm(ctx, id, now, at...) {
		t.validity.watched.Add(1)
		return true, nil
	}
	t.validity.asked.Add(1)
	got, zt, err := t.check(ctx, validItem(id))
	if err != nil {
		return false, err
	}
	if got[0] {
		t.rememberValidID(ctx, id, now, zt)
	}
	return got[0], nil
}

// rememberValidID is rememberValid for a token known by its id.
func (t *Tokens) rememberValidID(ctx context.Context, id string, now time.Time, at *v1.ZedToken) {
	if m, ok, err := t.accessByHash(ctx, id); err == nil && ok {
		t.rememberValid(ctx, m, now, at)
	}
}

// User is the user id as boxauthz mirrors it: enterprise and role.
func (t *Tokens) User(ctx context.Context, id string) (UserInfo, error) {
	u, err := t.readUser(ctx, id)
	if err != nil {
		return UserInfo{}, err
	}
	return UserInfo{Type: "user", ID: id, Enterprise: u.enterprise, Role: u.role}, nil
}
