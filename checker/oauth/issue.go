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

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/rel"
)

// userRecord is what the graph says of a user.
type userRecord struct {
	exists     bool
	enterprise string
	role       string // user, admin or coadmin
	// session is the user's token session, "" for a user mirrored before
	// sessions existed (see schema.LegacyUserSessionID).
	session string
}

func (t *Tokens) readUser(ctx context.Context, id string) (userRecord, error) {
	var u userRecord
	rels, err := t.readObject(ctx, schema.TypeUser, schema.EncodeID(id))
	if err != nil {
		return u, err
	}
	for _, r := range rels {
		u.exists = true
		switch r.GetRelation() {
		case schema.RelationEnterprise:
			u.enterprise = schema.DecodeID(r.GetSubject().GetObject().GetObjectId())
		case schema.RelationTokenSession:
			u.session = r.GetSubject().GetObject().GetObjectId()
		}
	}
	u.role = "user"
	if u.enterprise == "" {
		return u, nil
	}
	roles, _, err := spicedb.ReadAll(ctx, t.client, &v1.ReadRelationshipsRequest{
		Consistency: rel.FullyConsistent(),
		RelationshipFilter: &v1.RelationshipFilter{
			ResourceType: schema.TypeEnterprise, OptionalResourceId: schema.EncodeID(u.enterprise),
			OptionalSubjectFilter: &v1.SubjectFilter{SubjectType: schema.TypeUser, OptionalSubjectId: schema.EncodeID(id)},
		},
	})
	if err != nil {
		return u, fmt.Errorf("reading user %q's enterprise role: %w", id, err)
	}
	for _, r := range roles {
		switch r.GetRelation() {
		case schema.RelationAdmin:
			u.role = "admin"
		case schema.RelationCoadmin:
			if u.role != "admin" {
				u.role = "coadmin"
			}
		}
	}
	return u, nil
}

// IssueRequest asks for a token pair (POST /v1/tokens).
type IssueRequest struct {
	User   string
	Scopes []string
	App    string // default: DefaultApp
}

// Issue hands out an access and refresh token for a user of an app.
func (t *Tokens) Issue(ctx context.Context, req IssueRequest) (Issued, error) {
	if req.App == "" {
		req.App = DefaultApp
	}
	if err := schema.ValidateID(req.User); err != nil {
		return Issued{}, &checker.FieldError{Field: "user", Err: err}
	}
	if len(req.Scopes) == 0 {
		return Issued{}, &checker.FieldError{Field: "scopes", Err: errors.New("at least one scope is required")}
	}
	scopes, err := ParseScopes(req.Scopes)
	if err != nil {
		return Issued{}, &checker.FieldError{Field: "scopes", Err: err}
	}
	app, err := t.App(ctx, req.App)
	if errors.Is(err, ErrAppNotFound) {
		return Issued{}, &checker.FieldError{Field: "app", Err: err}
	}
	if err != nil {
		return Issued{}, err
	}
	for _, s := range scopes {
		if !slices.Contains(app.Scopes, s) {
			return Issued{}, &checker.FieldError{Field: "scopes", Err: fmt.Errorf("application %q does not have scope %q", app.ID, s)}
		}
	}
	u, err := t.readUser(ctx, req.User)
	if err != nil {
		return Issued{}, err
	}
	if !u.exists {
		return Issued{}, &checker.FieldError{Field: "user", Err: fmt.Errorf("no user %q", req.User)}
	}
	grant := defaultGrantObject
	if app.ID != DefaultApp {
		grant = externalGrant(app.gen)
		if u.enterprise != "" {
			g, ok := t.currentGrant(ctx, app.gen, u.enterprise)
			if !ok {
				return Issued{}, fmt.Errorf("application %q for user %q of enterprise %q: %w", app.ID, req.User, u.enterprise, ErrAppNotAuthorized)
			}
			grant = g
		}
	}
	family, err := newID()
	if err != nil {
		return Issued{}, err
	}
	session, sessionUps, sessionPre := userSession(req.User, u.session)
	out, ups, err := t.newPair(req.User, session, scopes, family, grant)
	if err != nil {
		return Issued{}, err
	}
	ups = append(ups, rel.Touch(rel.WithExpiry(rel.NewRaw(typeFamily, family, relAlive, flagOnSubject()), t.familyExpiry(time.Time{}))))
	ups = append(ups, sessionUps...)
	// The grant must still be on when the pair is written: a withdrawal
	// racing this issue either ends the pair or makes the issue fail. So
	// must the user's session: a deletion or move racing it likewise.
	pre := []*v1.Precondition{rel.MustMatch(rel.RawFilter(typeAppGrant, grant, relAuthorized)), rel.MustMatch(rel.RawFilter(typeApp, app.gen, relLive))}
	pre = append(pre, sessionPre...)
	if _, err := t.write(ctx, &v1.WriteRelationshipsRequest{Updates: ups, OptionalPreconditions: pre}); err != nil {
		if isPrecondition(err) {
			return Issued{}, fmt.Errorf("application %q for user %q (or the user changed meanwhile): %w", app.ID, req.User, ErrAppNotAuthorized)
		}
		return Issued{}, fmt.Errorf("writing a token pair for %q: %w", req.User, err)
	}
	if err := t.settle(ctx, fmt.Sprintf("issuing a token pair for %q", req.User), ups[0]); err != nil {
		return Issued{}, err
	}
	t.logger.Info("token issued", slog.String("user", req.User), slog.String("app", app.ID), slog.String("token", short(hashToken(out.AccessToken))), slog.Any("scopes", scopes))
	return out, nil
}

// userSession is the token session a pair for user is issued in, with the
// updates and preconditions that bind the issue to it. A user sync gave a
// session (current) must still have it live. A user mirrored before
// sessions existed gets the legacy session, started here: only while the
// user exists and still has no session of sync's making, and touching the
// user's exists flag so that a deletion racing the issue conflicts with it
// rather than slipping past its preconditions.
func userSession(user, current string) (string, []*v1.RelationshipUpdate, []*v1.Precondition) {
	if current != "" {
		return current, nil, []*v1.Precondition{rel.MustMatch(rel.RawFilter(typeSession, current, relLive))}
	}
	id := schema.LegacyUserSessionID(user)
	u := schema.EncodeID(user)
	ups := []*v1.RelationshipUpdate{
		rel.Touch(rel.NewRaw(typeSession, id, relLive, flagOnSubject())),
		rel.Touch(rel.NewRaw(schema.TypeUser, u, schema.RelationExists, rel.RawSubject(schema.TypeUser, "*"))),
	}
	pre := []*v1.Precondition{
		rel.MustMatch(rel.RawFilter(schema.TypeUser, u, schema.RelationExists)),
		{Operation: v1.Precondition_OPERATION_MUST_NOT_MATCH, Filter: &v1.RelationshipFilter{
			ResourceType:       schema.TypeUser,
			OptionalResourceId: u, OptionalRelation: schema.RelationTokenSession,
		}},
	}
	return id, ups, pre
}

// grantApp is the app object a grant object belongs to: a grant's id is
// "<app>|<generation>|<enterprise>|<nonce>" and the app's "<app>|<generation>".
// A grant id of another shape (not written by boxauthz) has none.
func grantApp(grant string) (string, bool) {
	parts := strings.SplitN(grant, "|", 3)
	if len(parts) < 3 || parts[0] == "" || parts[1] == "" {
		return "", false
	}
	return parts[0] + "|" + parts[1], true
}

// familyExpiry is when a refresh family's flag expires once a pair is
// issued now into it: no sooner than either token of the pair, nor than
// the flag already does (an access token issued earlier, by a replica
// with a longer access lifetime, may outlive this pair's refresh token).
// So a token's own expiry is always the first on its validity path, and
// the checker, which enforces that one itself, needs no other: the
// in-memory datastore goes on counting an expired relationship until its
// next write, and replicas may be configured with different lifetimes.
func (t *Tokens) familyExpiry(current time.Time) time.Time {
	now := t.now()
	return slices.MaxFunc([]time.Time{current, now.Add(t.refreshTTL), now.Add(t.accessTTL)}, time.Time.Compare)
}

// newPair builds the relationships of a fresh access and refresh token.
func (t *Tokens) newPair(user, session string, scopes []Scope, family, grant string) (Issued, []*v1.RelationshipUpdate, error) {
	p, err := newPairSecrets()
	if err != nil {
		return Issued{}, nil, err
	}
	out, ups := t.newPairOf(p, t.now(), user, session, scopes, family, grant)
	return out, ups, nil
}

// newPairOf builds the relationships of the pair with secrets p, issued now.
func (t *Tokens) newPairOf(p pairSecrets, now time.Time, user, session string, scopes []Scope, family, grant string) (Issued, []*v1.RelationshipUpdate) {
	access, refresh := p.strings()
	ah, rh := hashToken(access), hashToken(refresh)
	aExp, rExp := now.Add(t.accessTTL), now.Add(t.refreshTTL)
	userSub := rel.Subject(schema.TypeUser, user, "")
	ups := []*v1.RelationshipUpdate{
		rel.Touch(rel.WithExpiry(rel.NewRaw(typeAccessToken, ah, relAlive, flagOnSubject()), aExp)),
		rel.Touch(rel.WithExpiry(rel.NewRaw(typeAccessToken, ah, relRoot, flagOnSubject()), aExp)),
		rel.Touch(rel.WithExpiry(rel.NewRaw(typeAccessToken, ah, relFamily, rel.RawSubject(typeFamily, family)), aExp)),
		rel.Touch(rel.WithExpiry(rel.NewRaw(typeAccessToken, ah, relGrant, rel.RawSubject(typeAppGrant, grant)), aExp)),
		rel.Touch(rel.WithExpiry(rel.NewRaw(typeAccessToken, ah, relSession, rel.RawSubject(typeSession, session)), aExp)),
		rel.Touch(rel.WithExpiry(rel.NewRaw(typeAccessToken, ah, relUser, userSub), aExp)),
		rel.Touch(rel.WithExpiry(rel.NewRaw(typeAccessToken, ah, relRefresh, rel.RawSubject(typeRefreshToken, rh)), aExp)),
		rel.Touch(rel.WithExpiry(rel.NewRaw(typeRefreshToken, rh, relAlive, flagOnSubject()), rExp)),
		rel.Touch(rel.WithExpiry(rel.NewRaw(typeRefreshToken, rh, relUnspent, flagOnSubject()), rExp)),
		rel.Touch(rel.WithExpiry(rel.NewRaw(typeRefreshToken, rh, relFamily, rel.RawSubject(typeFamily, family)), rExp)),
		rel.Touch(rel.WithExpiry(rel.NewRaw(typeRefreshToken, rh, relGrant, rel.RawSubject(typeAppGrant, grant)), rExp)),
		rel.Touch(rel.WithExpiry(rel.NewRaw(typeRefreshToken, rh, relSession, rel.RawSubject(typeSession, session)), rExp)),
		rel.Touch(rel.WithExpiry(rel.NewRaw(typeRefreshToken, rh, relUser, userSub), rExp)),
		rel.Touch(rel.WithExpiry(rel.NewRaw(typeRefreshToken, rh, relAccess, rel.RawSubject(typeAccessToken, ah)), rExp)),
	}
	for _, s := range scopes {
		ups = append(ups,
			rel.Touch(rel.WithExpiry(rel.NewRaw(typeAccessToken, ah, relScope, rel.RawSubject(typeScope, string(s))), aExp)),
			rel.Touch(rel.WithExpiry(rel.NewRaw(typeRefreshToken, rh, relScope, rel.RawSubject(typeScope, string(s))), rExp)))
	}
	t.meta.put(ah, &tokenMeta{hash: ah, user: user, scopes: scopes, expires: aExp, refresh: rh, family: family, grant: grant, session: session})
	return Issued{AccessToken: access, ExpiresIn: aExp.Sub(now), RefreshToken: refresh, RestrictedTo: []Restriction{}}, ups
}
