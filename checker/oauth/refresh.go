package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/rel"
)

// refreshMeta is a refresh token as stored.
type refreshMeta struct {
	user    string
	scopes  []Scope
	family  string
	grant   string
	session string
	access  string
	expires time.Time
	alive   bool
	unspent bool
	// successor is the pair it was spent for, sealed, until
	// successorExpires (the reuse leeway's end); "" when none.
	successor        string
	successorExpires time.Time
}

func (t *Tokens) readRefresh(ctx context.Context, hash string) (refreshMeta, bool, error) {
	rels, err := t.readObject(ctx, typeRefreshToken, hash)
	if err != nil {
		return refreshMeta{}, false, err
	}
	var m refreshMeta
	for _, r := range rels {
		s := r.GetSubject().GetObject().GetObjectId()
		switch r.GetRelation() {
		case relAlive:
			m.alive = true
		case relUnspent:
			m.unspent = true
		case relFamily:
			m.family = s
		case relGrant:
			m.grant = s
		case relSession:
			m.session = s
		case relUser:
			m.user = schema.DecodeID(s)
			m.expires = r.GetOptionalExpiresAt().AsTime()
		case relScope:
			m.scopes = append(m.scopes, Scope(s))
		case relAccess:
			m.access = s
		case relSuccessor:
			m.successor = s
			m.successorExpires = r.GetOptionalExpiresAt().AsTime()
		}
	}
	return m, m.user != "", nil
}

// Refresh spends a refresh token for a new pair. A refresh token is good
// once: the spend is a write whose precondition is that the token is still
// unspent, so of any number of concurrent refreshes exactly one wins.
// Presenting a spent token again within the reuse leeway is a retry after
// a lost response and gets the pair the winner wrote; after it, the token
// was copied: the whole refresh family is turned off, the new pair
// included (docs/model.md §6).
//
// Refresh presents no client credentials: only the default application's
// tokens refresh so; RefreshAs presents an application's.
func (t *Tokens) Refresh(ctx context.Context, refreshToken string) (Issued, error) {
	return t.RefreshAs(ctx, ClientCredentials{}, refreshToken)
}

// RefreshAs is Refresh by the client that presented c, which must be the
// client of the application the token was issued to (docs/model.md §6, as Box
// requires client_id and client_secret on refresh).
func (t *Tokens) RefreshAs(ctx context.Context, c ClientCredentials, refreshToken string) (Issued, error) {
	clientApp, err := t.authenticate(ctx, c)
	if err != nil {
		return Issued{}, err
	}
	if refreshToken == "" {
		return Issued{}, oauthErr("invalid_request", "refresh_token is required")
	}
	h := hashToken(refreshToken)
	m, ok, err := t.readRefresh(ctx, h)
	if err != nil {
		return Issued{}, err
	}
	if !ok {
		return Issued{}, oauthErr("invalid_grant", "the refresh token is not known")
	}
	if err := issuedTo(c, clientApp, m.grant); err != nil {
		return Issued{}, err
	}
	switch {
	case !m.alive:
		return Issued{}, oauthErr("invalid_grant", "the refresh token was revoked")
	case !t.now().Before(m.expires):
		return Issued{}, oauthErr("invalid_grant", "the refresh token has expired")
	case !m.unspent:
		return t.spentAgain(ctx, refreshToken, h, m)
	}
	scopes, appObj, err := t.refreshScopes(ctx, m)
	if err != nil {
		return Issued{}, err
	}
	familyExp, err := t.familyExpires(ctx, m.family)
	if err != nil {
		return Issued{}, err
	}
	if m.session == "" {
		// Issued before token sessions existed: its validity needs a
		// session it does not name, so it holds no longer.
		return Issued{}, oauthErr("invalid_grant", "the refresh token was revoked")
	}
	secrets, err := newPairSecrets()
	if err != nil {
		return Issued{}, err
	}
	now := t.now()
	out, ups := t.newPairOf(secrets, now, m.user, m.session, scopes, m.family, m.grant)
	ups = append(ups,
		rel.Delete(rel.NewRaw(typeRefreshToken, h, relUnspent, flagOnSubject())),
		rel.Touch(rel.WithExpiry(rel.NewRaw(typeFamily, m.family, relAlive, flagOnSubject()), t.familyExpiry(familyExp))))
	if t.reuseLeeway > 0 {
		// Written with the spend, so whoever sees the token spent sees
		// the pair it was spent for.
		sealed, err := sealPair(refreshToken, h, secrets, now.Add(t.accessTTL))
		if err != nil {
			return Issued{}, err
		}
		ups = append(ups, rel.Touch(rel.WithExpiry(rel.NewRaw(typeRefreshToken, h, relSuccessor, rel.RawSubject(typeSealedPair, sealed)), now.Add(t.reuseLeeway))))
	}
	pre := []*v1.Precondition{
		rel.MustMatch(rel.RawFilter(typeRefreshToken, h, relUnspent)),
		rel.MustMatch(rel.RawFilter(typeRefreshToken, h, relAlive)),
		rel.MustMatch(rel.RawFilter(typeFamily, m.family, relAlive)),
		rel.MustMatch(rel.RawFilter(typeAppGrant, m.grant, relAuthorized)),
		rel.MustMatch(rel.RawFilter(typeApp, appObj, relLive)),
		rel.MustMatch(rel.RawFilter(typeSession, m.session, relLive)),
	}
	_, err = t.write(ctx, &v1.WriteRelationshipsRequest{Updates: ups, OptionalPreconditions: pre})
	if err == nil {
		// ups[0] is the new access token's flag.
		if err := t.settle(ctx, fmt.Sprintf("spending refresh token %s", short(h)), ups[0]); err != nil {
			return Issued{}, err
		}
		t.logger.Info("token refreshed", slog.String("user", m.user), slog.String("refresh_token", short(h)), slog.String("token", short(hashToken(out.AccessToken))))
		return out, nil
	}
	t.meta.drop(hashToken(out.AccessToken))
	if !isPrecondition(err) {
		return Issued{}, fmt.Errorf("spending refresh token %s: %w", short(h), err)
	}
	return t.lostSpend(ctx, refreshToken, h)
}

// refreshScopes are the scopes a refresh of m carries into the new pair:
// the ones the app has lost since are not. It also returns the grant's app
// object.
func (t *Tokens) refreshScopes(ctx context.Context, m refreshMeta) ([]Scope, string, error) {
	appObj, ok := grantApp(m.grant)
	if !ok {
		return nil, "", fmt.Errorf("refreshing a token: its grant %q is not one boxauthz wrote", m.grant)
	}
	if appObj == defaultAppObject {
		return m.scopes, appObj, nil
	}
	appID := schema.DecodeID(strings.SplitN(m.grant, "|", 2)[0])
	app, err := t.App(ctx, appID)
	if errors.Is(err, ErrAppNotFound) || (err == nil && app.gen != appObj) {
		return nil, "", oauthErr("invalid_grant", "the refresh token's application was deleted")
	}
	if err != nil {
		return nil, "", err
	}
	return intersectScopes(m.scopes, app.Scopes), appObj, nil
}

// familyExpires is when a refresh family's flag expires (zero: never).
func (t *Tokens) familyExpires(ctx context.Context, family string) (time.Time, error) {
	rels, err := t.readObject(ctx, typeFamily, family)
	if err != nil {
		return time.Time{}, err
	}
	var exp time.Time
	for _, r := range rels {
		if r.GetRelation() == relAlive && r.GetOptionalExpiresAt() != nil {
			exp = r.GetOptionalExpiresAt().AsTime()
		}
	}
	return exp, nil
}

// lostSpend answers a refresh whose spend failed its preconditions: it lost
// a race, or something was turned off meanwhile; which one? A read just
// after losing can still be answered from before the winner's write (see
// spicedb.Settle), so a token that still reads unspent is read again a few
// times, briefly.
func (t *Tokens) lostSpend(ctx context.Context, refreshToken, h string) (Issued, error) {
	var m refreshMeta
	var err error
	for attempt, wait := 1, time.Millisecond; ; attempt, wait = attempt+1, wait*2 {
		if m, _, err = t.readRefresh(ctx, h); err != nil {
			return Issued{}, err
		}
		if !m.alive || !m.unspent || attempt == 4 {
			break
		}
		select {
		case <-ctx.Done():
			return Issued{}, ctx.Err()
		case <-time.After(wait):
		}
	}
	if m.alive && !m.unspent {
		return t.spentAgain(ctx, refreshToken, h, m)
	}
	return Issued{}, oauthErr("invalid_grant", "the refresh token was revoked")
}

// spentAgain answers a spent refresh token presented again (by its own
// client: RefreshAs checked that first). Within the reuse leeway it is a
// retry after a lost response and gets the pair it was spent for, if that
// pair is still valid; after it, the token was copied and its family is
// revoked (docs/model.md §6).
func (t *Tokens) spentAgain(ctx context.Context, refreshToken, h string, m refreshMeta) (Issued, error) {
	now := t.now()
	if m.successor == "" || !now.Before(m.successorExpires) {
		return Issued{}, t.reuse(ctx, h, m)
	}
	secrets, accessExp, err := openPair(refreshToken, h, m.successor)
	if err != nil {
		// Not what boxauthz wrote: treat as reuse, the safe side.
		t.logger.Warn("spent refresh token's sealed pair does not open", slog.String("refresh_token", short(h)), slog.Any("error", err))
		return Issued{}, t.reuse(ctx, h, m)
	}
	access, refresh := secrets.strings()
	ah := hashToken(access)
	valid, _, err := t.check(ctx, validItem(ah))
	if err != nil {
		return Issued{}, fmt.Errorf("retrying the refresh of %s: %w", short(h), err)
	}
	if !valid[0] || !now.Before(accessExp) {
		return Issued{}, oauthErr("invalid_grant", "the refresh token was already used, and the pair it gave has ended since")
	}
	t.logger.Info("refresh retried within the reuse leeway: the same pair again", slog.String("user", m.user),
		slog.String("refresh_token", short(h)), slog.String("token", short(ah)))
	return Issued{AccessToken: access, ExpiresIn: accessExp.Sub(now), RefreshToken: refresh, RestrictedTo: []Restriction{}}, nil
}

// reuse flags off the family of a refresh token presented again.
func (t *Tokens) reuse(ctx context.Context, h string, m refreshMeta) error {
	f := &v1.RelationshipFilter{ResourceType: typeFamily, OptionalResourceId: m.family, OptionalRelation: relAlive}
	if _, err := t.client.DeleteRelationships(ctx, &v1.DeleteRelationshipsRequest{RelationshipFilter: f}); err != nil {
		return fmt.Errorf("revoking the family of reused refresh token %s: %w", short(h), err)
	}
	if err := t.settleGone(ctx, fmt.Sprintf("revoking the family of reused refresh token %s", short(h)), f); err != nil {
		return err
	}
	t.logger.Warn("spent refresh token presented again: its family is revoked", slog.String("user", m.user), slog.String("refresh_token", short(h)))
	return oauthErr("invalid_grant", "the refresh token was already used; every token descended from it is revoked")
}

func intersectScopes(a, b []Scope) []Scope {
	out := []Scope{}
	for _, s := range a {
		if slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}
