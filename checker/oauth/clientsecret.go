package oauth

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/rel"
)

// ClientCredentials is what a request to the token endpoints presented to
// authenticate its client (RFC 6749 §2.3.1): an application's client id
// (the application's id) and client secret. The zero value presents none,
// which is all the built-in default application's tokens need.
type ClientCredentials struct {
	ID     string
	Secret string
}

// RotateClientSecret gives an application a new client secret, shown once
// in the answer, and ends the old one in the same write (docs/model.md §6). An
// application created before client secrets existed gets its first one.
// Of concurrent rotations each replaces the secret it read, so exactly one
// secret is left: the last one written.
func (t *Tokens) RotateClientSecret(ctx context.Context, id string) (App, error) {
	if id == DefaultApp {
		return App{}, fmt.Errorf("rotating the client secret of %q: %w", id, ErrBuiltinApp)
	}
	for attempt := 1; ; attempt++ {
		a, err := t.App(ctx, id)
		if err != nil {
			return App{}, err
		}
		old, err := t.readObject(ctx, typeApp, a.gen)
		if err != nil {
			return App{}, err
		}
		secret, secretHash, err := newSecret(clientSecretPrefix)
		if err != nil {
			return App{}, err
		}
		neu := rel.Touch(rel.NewRaw(typeApp, a.gen, relClientSecret, rel.RawSubject(typeClientSecret, secretHash)))
		ups := []*v1.RelationshipUpdate{neu}
		pre := []*v1.Precondition{rel.MustMatch(rel.RawFilter(typeApp, a.gen, relLive))}
		replaced := 0
		for _, r := range old {
			if r.GetRelation() != relClientSecret {
				continue
			}
			replaced++
			ups = append(ups, rel.Delete(r))
			// A rotation racing this one removes what this one read, and
			// one of the two fails here rather than both leaving a secret.
			pre = append(pre, &v1.Precondition{Operation: v1.Precondition_OPERATION_MUST_MATCH, Filter: &v1.RelationshipFilter{
				ResourceType: typeApp, OptionalResourceId: a.gen, OptionalRelation: relClientSecret,
				OptionalSubjectFilter: &v1.SubjectFilter{SubjectType: typeClientSecret, OptionalSubjectId: r.GetSubject().GetObject().GetObjectId()},
			}})
		}
		if replaced == 0 {
			pre = append(pre, &v1.Precondition{Operation: v1.Precondition_OPERATION_MUST_NOT_MATCH, Filter: &v1.RelationshipFilter{
				ResourceType: typeApp, OptionalResourceId: a.gen, OptionalRelation: relClientSecret,
			}})
		}
		_, err = t.write(ctx, &v1.WriteRelationshipsRequest{Updates: ups, OptionalPreconditions: pre})
		if isPrecondition(err) && attempt < writeAttempts {
			continue // the app was deleted, or another rotation won: read again
		}
		if isPrecondition(err) {
			return App{}, fmt.Errorf("rotating the client secret of %q: changed by others %d times in a row; try again", id, attempt)
		}
		if err != nil {
			return App{}, fmt.Errorf("rotating the client secret of %q: %w", id, err)
		}
		// Settle the old secret's end (the new one may already have been
		// replaced in turn by a racing rotation); with none, the new one.
		settled := ups[1:]
		if replaced == 0 {
			settled = ups
		}
		if err := t.settle(ctx, fmt.Sprintf("rotating the client secret of %q", id), settled...); err != nil {
			return App{}, err
		}
		t.logger.Info("client secret rotated", slog.String("app", id))
		a.ClientSecret = secret
		return a, nil
	}
}

// authenticate checks the client credentials a token endpoint request
// presented (RFC 6749 §2.3.1) and returns the graph object of the
// application they authenticate: the default app's for none at all. Every
// failure reads the same, so a caller learns nothing of which applications
// exist. The secret's hash is compared in constant time.
func (t *Tokens) authenticate(ctx context.Context, c ClientCredentials) (string, error) {
	switch {
	case c.ID == "" && c.Secret == "":
		return defaultAppObject, nil
	case c.ID == "":
		return "", oauthErr("invalid_request", "client_secret without client_id")
	case c.ID == DefaultApp && c.Secret == "":
		return defaultAppObject, nil
	}
	failed := oauthErr("invalid_client", "client authentication failed for client_id %q", c.ID)
	if c.ID == DefaultApp || c.Secret == "" || validateAppID(c.ID) != nil {
		return "", failed
	}
	rels, _, err := spicedb.ReadAll(ctx, t.client, &v1.ReadRelationshipsRequest{
		Consistency:        rel.FullyConsistent(),
		RelationshipFilter: &v1.RelationshipFilter{ResourceType: typeApp, OptionalResourceIdPrefix: schema.EncodeID(c.ID) + "|"},
	})
	if err != nil {
		return "", fmt.Errorf("authenticating client %q: %w", c.ID, err)
	}
	gen := ""
	for _, r := range rels {
		if r.GetRelation() == relLive {
			gen = r.GetResource().GetObjectId()
		}
	}
	presented := []byte(hashToken(c.Secret))
	match := 0
	for _, r := range rels {
		if r.GetRelation() == relClientSecret && r.GetResource().GetObjectId() == gen {
			match |= subtle.ConstantTimeCompare(presented, []byte(r.GetSubject().GetObject().GetObjectId()))
		}
	}
	if gen == "" || match != 1 {
		return "", failed
	}
	return gen, nil
}

// issuedTo checks that a token, by its app grant, belongs to the client
// that authenticated as clientApp. A token of another application fails
// as client authentication does (docs/api.md: 401 invalid_client), and ends
// nothing: a client cannot spend, revoke or trip the reuse detection of
// another's tokens.
func issuedTo(c ClientCredentials, clientApp, grant string) error {
	if app, ok := grantApp(grant); ok && app == clientApp {
		return nil
	}
	if clientApp == defaultAppObject {
		return oauthErr("invalid_client", "the token belongs to an application whose client must authenticate: present its client_id and client_secret (HTTP Basic or form parameters)")
	}
	return oauthErr("invalid_client", "the token was not issued to client %q", c.ID)
}
