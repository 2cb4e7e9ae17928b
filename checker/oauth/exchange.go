package oauth

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/rel"
)

// ExchangeRequest asks to downscope an access token (RFC 8693 token
// exchange, as Box does it).
type ExchangeRequest struct {
	// Client is what the request presented to authenticate its client;
	// the zero value presents none.
	Client       ClientCredentials
	SubjectToken string
	// Scopes is the space-separated scope list.
	Scopes string
	// Resource is optional: "folder:123", "file:abc", or a Box-style URL
	// ending /2.0/folders/123 or /2.0/files/abc.
	Resource string
}

// ParseResource reads a token exchange's resource: "folder:<id>",
// "file:<id>", or a Box URL of the item (see schema.ParseItemURL). Its
// errors name the resource and the forms allowed.
func ParseResource(s string) (schema.ItemRef, error) {
	r, err := schema.ParseItemURL(s)
	if err != nil {
		return schema.ItemRef{}, fmt.Errorf("resource %q: %w; want %s", s, err, schema.ItemForms)
	}
	return r, nil
}

// splitScopeParam reads a token request's scope parameter, a list of scopes
// separated by single spaces (RFC 6749 §3.3: scope = scope-token *( SP
// scope-token )). A tab, a newline, two spaces in a row or a space at either
// end is malformed rather than guessed at; the error names the parameter.
func splitScopeParam(s string) ([]string, error) {
	fields := strings.Split(s, " ")
	for i, f := range fields {
		if f == "" {
			return nil, fmt.Errorf("scope %q: entry %d of %d is empty; separate scopes by one space (RFC 6749 §3.3)", s, i+1, len(fields))
		}
		for _, c := range []byte(f) {
			// scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
			if c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
				return nil, fmt.Errorf("scope %q: entry %d has character %q, not allowed in a scope; separate scopes by one space (RFC 6749 §3.3)", s, i+1, c)
			}
		}
	}
	return fields, nil
}

// Exchange downscopes an access token: a new access token with scopes the
// subject holds or covers (docs/model.md §6) and, optionally, one resource, no
// refresh token, expiring with its parent and ending when it does.
//
// The request's client must be the subject token's application's (docs/model.md
// §6); the default application's tokens need none.
func (t *Tokens) Exchange(ctx context.Context, req ExchangeRequest) (Issued, error) {
	clientApp, err := t.authenticate(ctx, req.Client)
	if err != nil {
		return Issued{}, err
	}
	scopes, resource, err := parseExchange(req)
	if err != nil {
		return Issued{}, err
	}
	parent, ok, err := t.access(ctx, req.SubjectToken)
	if err != nil {
		return Issued{}, err
	}
	if ok {
		if err := issuedTo(req.Client, clientApp, parent.grant); err != nil {
			return Issued{}, err
		}
	}
	now := t.now()
	if !ok || !now.Before(parent.expires) {
		return Issued{}, oauthErr("invalid_grant", "the subject token is not a valid access token")
	}
	for _, s := range scopes {
		if !MayDownscopeTo(parent.scopes, s) {
			return Issued{}, oauthErr("invalid_scope", "scope %q is neither held nor covered by the subject token's scopes", s)
		}
	}
	if resource, err = t.downscopeInside(ctx, parent, resource); err != nil {
		return Issued{}, err
	}
	return t.writeDownscoped(ctx, parent, scopes, resource, now)
}

// parseExchange reads an exchange request's subject token, scopes and
// resource, before anything is asked of SpiceDB.
func parseExchange(req ExchangeRequest) ([]Scope, *schema.ItemRef, error) {
	if req.SubjectToken == "" {
		return nil, nil, oauthErr("invalid_request", "subject_token is required")
	}
	if strings.TrimSpace(req.Scopes) == "" {
		return nil, nil, oauthErr("invalid_request", "scope is required: the space-separated scopes the new token holds")
	}
	fields, err := splitScopeParam(req.Scopes)
	if err != nil {
		return nil, nil, oauthErr("invalid_scope", "%v", err)
	}
	scopes, err := ParseScopes(fields)
	if err != nil {
		return nil, nil, oauthErr("invalid_scope", "scope %q: %v", req.Scopes, err)
	}
	if req.Resource == "" {
		return scopes, nil, nil
	}
	r, err := ParseResource(req.Resource)
	if err != nil {
		return nil, nil, oauthErr("invalid_request", "%v", err)
	}
	return scopes, &r, nil
}

// downscopeInside asks, in one round trip, that the parent is still valid
// and that the resource asked for is inside the parent's own resource. It
// returns the new token's resource: the one asked for, else the parent's.
func (t *Tokens) downscopeInside(ctx context.Context, parent *tokenMeta, resource *schema.ItemRef) (*schema.ItemRef, error) {
	items := []*v1.CheckBulkPermissionsRequestItem{validItem(parent.hash)}
	inside := true
	switch {
	case parent.resource == nil:
	case resource == nil:
		resource = parent.resource
	case *resource == *parent.resource:
	case parent.resource.Type == schema.TypeFolder:
		items = append(items, &v1.CheckBulkPermissionsRequestItem{
			Resource: checker.ItemObject(*resource), Permission: permWithin,
			Subject: rel.Subject(schema.TypeFolder, parent.resource.ID, ""),
		})
	default:
		inside = false
	}
	got, _, err := t.check(ctx, items...)
	if err != nil {
		return nil, err
	}
	if !got[0] {
		return nil, oauthErr("invalid_grant", "the subject token is not a valid access token")
	}
	if len(got) > 1 {
		inside = got[1]
	}
	if !inside {
		return nil, oauthErr("invalid_scope", "resource %s is outside the subject token's resource %s", resource, parent.resource)
	}
	return resource, nil
}

// writeDownscoped writes the downscoped token of parent, provided parent
// is still alive.
func (t *Tokens) writeDownscoped(ctx context.Context, parent *tokenMeta, scopes []Scope, resource *schema.ItemRef, now time.Time) (Issued, error) {
	access, h, err := newSecret(accessPrefix)
	if err != nil {
		return Issued{}, err
	}
	exp := parent.expires
	ups := []*v1.RelationshipUpdate{
		rel.Touch(rel.WithExpiry(rel.NewRaw(typeAccessToken, h, relAlive, flagOnSubject()), exp)),
		rel.Touch(rel.WithExpiry(rel.NewRaw(typeAccessToken, h, relParent, rel.RawSubject(typeAccessToken, parent.hash)), exp)),
		rel.Touch(rel.WithExpiry(rel.NewRaw(typeAccessToken, h, relFamily, rel.RawSubject(typeFamily, parent.family)), exp)),
		rel.Touch(rel.WithExpiry(rel.NewRaw(typeAccessToken, h, relGrant, rel.RawSubject(typeAppGrant, parent.grant)), exp)),
		rel.Touch(rel.WithExpiry(rel.NewRaw(typeAccessToken, h, relSession, rel.RawSubject(typeSession, parent.session)), exp)),
		rel.Touch(rel.WithExpiry(rel.NewRaw(typeAccessToken, h, relUser, rel.Subject(schema.TypeUser, parent.user, "")), exp)),
	}
	for _, s := range scopes {
		ups = append(ups, rel.Touch(rel.WithExpiry(rel.NewRaw(typeAccessToken, h, relScope, rel.RawSubject(typeScope, string(s))), exp)))
	}
	restricted := []Restriction{}
	if resource != nil {
		ups = append(ups, rel.Touch(rel.WithExpiry(rel.NewRaw(typeAccessToken, h, relResource, rel.Subject(resource.Type, resource.ID, "")), exp)))
		for _, s := range scopes {
			restricted = append(restricted, Restriction{Scope: s, Object: *resource})
		}
	}
	pre := []*v1.Precondition{rel.MustMatch(rel.RawFilter(typeAccessToken, parent.hash, relAlive))}
	if _, err := t.write(ctx, &v1.WriteRelationshipsRequest{Updates: ups, OptionalPreconditions: pre}); err != nil {
		if isPrecondition(err) {
			return Issued{}, oauthErr("invalid_grant", "the subject token was revoked")
		}
		return Issued{}, fmt.Errorf("writing a downscoped token of %s: %w", short(parent.hash), err)
	}
	if err := t.settle(ctx, fmt.Sprintf("downscoping token %s", short(parent.hash)), ups[0]); err != nil {
		return Issued{}, err
	}
	t.meta.put(h, &tokenMeta{
		hash: h, user: parent.user, scopes: scopes, resource: resource, expires: exp,
		parent: parent.hash, family: parent.family, grant: parent.grant, session: parent.session,
	})
	t.logger.Info("token downscoped", slog.String("user", parent.user), slog.String("parent", short(parent.hash)),
		slog.String("token", short(h)), slog.Any("scopes", scopes))
	return Issued{AccessToken: access, ExpiresIn: exp.Sub(now).Round(time.Second), RestrictedTo: restricted, Downscoped: true}, nil
}
