package checker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	gosync "sync"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/schema"
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

// resourceForms is what a token exchange's resource may be, for errors.
const resourceForms = `"folder:<id>", "file:<id>", or a URL ending /2.0/folders/<id> or /2.0/files/<id>`

// ParseResource reads a token exchange's resource: "folder:<id>",
// "file:<id>", or an http(s) URL whose path ends /2.0/folders/<id> or
// /2.0/files/<id>, with no query or fragment. Its errors name the resource
// and the forms allowed.
func ParseResource(s string) (schema.ItemRef, error) {
	bad := func(why string) error { return fmt.Errorf("resource %q: %s; want %s", s, why, resourceForms) }
	if !strings.Contains(s, "/") {
		typ, id, ok := strings.Cut(s, ":")
		if !ok {
			return schema.ItemRef{}, bad("no type")
		}
		r := schema.ItemRef{Type: typ, ID: id}
		if err := r.Validate(); err != nil {
			return schema.ItemRef{}, bad(err.Error())
		}
		return r, nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "#") {
		return schema.ItemRef{}, bad("not an http(s) URL without query or fragment")
	}
	parts := strings.Split(u.EscapedPath(), "/")
	if len(parts) < 4 || parts[len(parts)-3] != "2.0" {
		return schema.ItemRef{}, bad("the URL's path does not end /2.0/folders/<id> or /2.0/files/<id>")
	}
	r := schema.ItemRef{ID: parts[len(parts)-1]}
	switch parts[len(parts)-2] {
	case "folders":
		r.Type = schema.TypeFolder
	case "files":
		r.Type = schema.TypeFile
	default:
		return schema.ItemRef{}, bad(fmt.Sprintf("the URL names %q, not folders or files", parts[len(parts)-2]))
	}
	if err := r.Validate(); err != nil {
		return schema.ItemRef{}, bad(err.Error())
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
// subject holds or covers (MODEL.md §6) and, optionally, one resource, no
// refresh token, expiring with its parent and ending when it does.
//
// The request's client must be the subject token's application's (MODEL.md
// §6); the default application's tokens need none.
func (t *Tokens) Exchange(ctx context.Context, req ExchangeRequest) (Issued, error) {
	clientApp, err := t.authenticate(ctx, req.Client)
	if err != nil {
		return Issued{}, err
	}
	if req.SubjectToken == "" {
		return Issued{}, oauthErr("invalid_request", "subject_token is required")
	}
	if strings.TrimSpace(req.Scopes) == "" {
		return Issued{}, oauthErr("invalid_request", "scope is required: the space-separated scopes the new token holds")
	}
	fields, err := splitScopeParam(req.Scopes)
	if err != nil {
		return Issued{}, oauthErr("invalid_scope", "%v", err)
	}
	scopes, err := ParseScopes(fields)
	if err != nil {
		return Issued{}, oauthErr("invalid_scope", "scope %q: %v", req.Scopes, err)
	}
	var resource *schema.ItemRef
	if req.Resource != "" {
		r, err := ParseResource(req.Resource)
		if err != nil {
			return Issued{}, oauthErr("invalid_request", "%v", err)
		}
		resource = &r
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
	// One round trip: the parent still valid, and the resource inside the
	// parent's own resource.
	items := []*v1.CheckBulkPermissionsRequestItem{{Resource: obj(typeAccessToken, parent.hash), Permission: permValid, Subject: flagSubject()}}
	inside := true
	switch {
	case parent.resource == nil:
	case resource == nil:
		resource = parent.resource
	case *resource == *parent.resource:
	case parent.resource.Type == schema.TypeFolder:
		items = append(items, &v1.CheckBulkPermissionsRequestItem{Resource: itemObject(*resource), Permission: permWithin,
			Subject: sub(schema.TypeFolder, schema.EncodeID(parent.resource.ID))})
	default:
		inside = false
	}
	got, err := t.checkBulk(ctx, items)
	if err != nil {
		return Issued{}, err
	}
	if !got[0] {
		return Issued{}, oauthErr("invalid_grant", "the subject token is not a valid access token")
	}
	if len(got) > 1 {
		inside = got[1]
	}
	if !inside {
		return Issued{}, oauthErr("invalid_scope", "resource %s is outside the subject token's resource %s", resource, parent.resource)
	}

	access, h, err := newSecret(accessPrefix)
	if err != nil {
		return Issued{}, err
	}
	exp := parent.expires
	ups := []*v1.RelationshipUpdate{
		touch(relationship(typeAccessToken, h, relAlive, flagSubject(), exp)),
		touch(relationship(typeAccessToken, h, relParent, sub(typeAccessToken, parent.hash), exp)),
		touch(relationship(typeAccessToken, h, relFamily, sub(typeFamily, parent.family), exp)),
		touch(relationship(typeAccessToken, h, relGrant, sub(typeAppGrant, parent.grant), exp)),
		touch(relationship(typeAccessToken, h, relSession, sub(typeSession, parent.session), exp)),
		touch(relationship(typeAccessToken, h, relUser, sub(schema.TypeUser, schema.EncodeID(parent.user)), exp)),
	}
	for _, s := range scopes {
		ups = append(ups, touch(relationship(typeAccessToken, h, relScope, sub(typeScope, string(s)), exp)))
	}
	restricted := []Restriction{}
	if resource != nil {
		ups = append(ups, touch(relationship(typeAccessToken, h, relResource, sub(resource.Type, schema.EncodeID(resource.ID)), exp)))
		for _, s := range scopes {
			restricted = append(restricted, Restriction{Scope: s, Object: *resource})
		}
	}
	pre := []*v1.Precondition{mustMatch(typeAccessToken, parent.hash, relAlive)}
	if _, err := t.write(ctx, &v1.WriteRelationshipsRequest{Updates: ups, OptionalPreconditions: pre}); err != nil {
		if isPrecondition(err) {
			return Issued{}, oauthErr("invalid_grant", "the subject token was revoked")
		}
		return Issued{}, fmt.Errorf("writing a downscoped token of %s: %w", short(parent.hash), err)
	}
	if err := t.settle(ctx, fmt.Sprintf("downscoping token %s", short(parent.hash)), ups[0]); err != nil {
		return Issued{}, err
	}
	t.meta.put(h, &tokenMeta{hash: h, user: parent.user, scopes: scopes, resource: resource, expires: exp,
		parent: parent.hash, family: parent.family, grant: parent.grant, session: parent.session})
	t.logger.Info("token downscoped", slog.String("user", parent.user), slog.String("parent", short(parent.hash)),
		slog.String("token", short(h)), slog.Any("scopes", scopes))
	return Issued{AccessToken: access, ExpiresIn: exp.Sub(now).Round(time.Second), RestrictedTo: restricted, Downscoped: true}, nil
}

// checkBulk asks SpiceDB several questions fully consistently, in order.
func (t *Tokens) checkBulk(ctx context.Context, items []*v1.CheckBulkPermissionsRequestItem) ([]bool, error) {
	out, _, err := t.checkBulkAt(ctx, items)
	return out, err
}

// checkBulkAt is checkBulk, also returning the revision SpiceDB answered at.
func (t *Tokens) checkBulkAt(ctx context.Context, items []*v1.CheckBulkPermissionsRequestItem) ([]bool, *v1.ZedToken, error) {
	resp, err := t.client.CheckBulkPermissions(ctx, &v1.CheckBulkPermissionsRequest{Consistency: fullyConsistent(), Items: items})
	if err != nil {
		return nil, nil, fmt.Errorf("checking %d permissions in spicedb: %w", len(items), err)
	}
	out := make([]bool, len(items))
	for i, p := range resp.GetPairs() {
		if e := p.GetError(); e != nil {
			it := items[i]
			return nil, nil, fmt.Errorf("checking %s on %s:%s: %s", it.GetPermission(), it.GetResource().GetObjectType(), it.GetResource().GetObjectId(), e.GetMessage())
		}
		out[i] = p.GetItem().GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION
	}
	return out, resp.GetCheckedAt(), nil
}

// checkOne asks one item as a CheckPermission, fully consistent, and
// returns the revision SpiceDB answered at.
func (t *Tokens) checkOne(ctx context.Context, it *v1.CheckBulkPermissionsRequestItem) (bool, *v1.ZedToken, error) {
	resp, err := t.client.CheckPermission(ctx, &v1.CheckPermissionRequest{Consistency: fullyConsistent(),
		Resource: it.GetResource(), Permission: it.GetPermission(), Subject: it.GetSubject(), Context: it.GetContext()})
	if err != nil {
		return false, nil, fmt.Errorf("checking %s on %s:%s in spicedb: %w", it.GetPermission(), it.GetResource().GetObjectType(), it.GetResource().GetObjectId(), err)
	}
	return resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION, resp.GetCheckedAt(), nil
}

// checkAlongside asks items fully consistent, the last one as its own
// CheckPermission at the same time as the others: two requests in flight
// together take one round trip of wall time, and a CheckBulkPermissions
// costs more per request than a CheckPermission of the same question
// (BenchmarkRequestShapes: 1.2x on PostgreSQL, 1.5x in memory). The two
// requests may be answered at different revisions, each taken after the
// call began: every answer held at some moment during the call. It returns
// the revisions, the first request's (all items but the last) first.
func (t *Tokens) checkAlongside(ctx context.Context, items []*v1.CheckBulkPermissionsRequestItem) ([]bool, []*v1.ZedToken, error) {
	n := len(items) - 1
	if n == 0 {
		out, at, err := t.checkSome(ctx, items)
		return out, []*v1.ZedToken{at}, err
	}
	var (
		last    bool
		lastAt  *v1.ZedToken
		lastErr error
		wg      gosync.WaitGroup
	)
	wg.Go(func() { last, lastAt, lastErr = t.checkOne(ctx, items[n]) })
	rest, at, err := t.checkSome(ctx, items[:n])
	wg.Wait()
	if err := errors.Join(err, lastErr); err != nil {
		return nil, nil, err
	}
	return append(rest, last), []*v1.ZedToken{at, lastAt}, nil
}

// checkSome asks items in one request: a CheckPermission for one item (the
// cheaper call), a CheckBulkPermissions for more.
func (t *Tokens) checkSome(ctx context.Context, items []*v1.CheckBulkPermissionsRequestItem) ([]bool, *v1.ZedToken, error) {
	if len(items) == 1 {
		ok, at, err := t.checkOne(ctx, items[0])
		return []bool{ok}, at, err
	}
	return t.checkBulkAt(ctx, items)
}
