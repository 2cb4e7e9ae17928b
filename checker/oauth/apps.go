package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/rel"
)

// App is an application (the seed's Developer Console).
type App struct {
	ID     string  `json:"id"`
	Scopes []Scope `json:"scopes"`
	AsUser bool    `json:"as_user"`
	// Enterprises that authorized the app.
	Enterprises []string `json:"enterprises,omitempty"`

	// ClientID is what the app's client authenticates as (RFC 6749 §2.3.1):
	// the app's id.
	ClientID string `json:"client_id"`
	// ClientSecret is set only in the answers of CreateApp and
	// RotateClientSecret: only its hash is stored, so it is shown once.
	ClientSecret string `json:"client_secret,omitempty"`

	gen string // the graph object id, "<id>|<generation>"
}

const (
	defaultAppObject   = DefaultApp + "|builtin"
	defaultGrantObject = DefaultApp + "|builtin|=any|builtin"
)

// grant id for users without an enterprise: such users authorize an app
// themselves when they take its token, so the app's own flag is enough.
func externalGrant(appObj string) string { return appObj + "|=external|0" }

func enterpriseGrantPrefix(appObj, enterprise string) string {
	return appObj + "|" + schema.EncodeID(enterprise) + "|"
}

// Bootstrap writes the built-in default application. It is idempotent, and
// cheap enough to run on every start (an in-memory SpiceDB starts empty).
// Touching what is already there shows no change on the in-memory store's
// watch (TestReplicaStartKeepsVouching), so a replica starting does not
// make the revocation watch forget the default app's tokens.
func (t *Tokens) Bootstrap(ctx context.Context) error {
	ups := []*v1.RelationshipUpdate{
		rel.Touch(rel.NewRaw(typeApp, defaultAppObject, relLive, flagOnSubject())),
		rel.Touch(rel.NewRaw(typeApp, defaultAppObject, relAsUser, flagOnSubject())),
		rel.Touch(rel.NewRaw(typeAppGrant, defaultGrantObject, relApp, rel.RawSubject(typeApp, defaultAppObject))),
		rel.Touch(rel.NewRaw(typeAppGrant, defaultGrantObject, relAuthorized, flagOnSubject())),
	}
	if _, err := t.write(ctx, &v1.WriteRelationshipsRequest{Updates: ups}); err != nil {
		return fmt.Errorf("writing the built-in application %q: %w", DefaultApp, err)
	}
	return nil
}

func validateAppID(id string) error {
	if err := schema.ValidateID(id); err != nil {
		return &checker.FieldError{Field: "id", Err: err}
	}
	if strings.Contains(id, "|") || strings.HasPrefix(id, "=") {
		return &checker.FieldError{Field: "id", Err: fmt.Errorf("application id %q: '|' and a leading '=' are reserved", id)}
	}
	return nil
}

// App reads an application's current configuration.
func (t *Tokens) App(ctx context.Context, id string) (App, error) {
	if id == DefaultApp {
		return App{ID: DefaultApp, ClientID: DefaultApp, Scopes: AllScopes(), AsUser: true, gen: defaultAppObject}, nil
	}
	if err := validateAppID(id); err != nil {
		return App{}, err
	}
	rels, _, err := spicedb.ReadAll(ctx, t.client, &v1.ReadRelationshipsRequest{
		Consistency:        rel.FullyConsistent(),
		RelationshipFilter: &v1.RelationshipFilter{ResourceType: typeApp, OptionalResourceIdPrefix: schema.EncodeID(id) + "|"},
	})
	if err != nil {
		return App{}, fmt.Errorf("reading application %q: %w", id, err)
	}
	a := App{ID: id, ClientID: id, Scopes: []Scope{}}
	live := false
	for _, r := range rels {
		switch r.GetRelation() {
		case relLive:
			live = true
			a.gen = r.GetResource().GetObjectId()
		case relScope:
			a.Scopes = append(a.Scopes, Scope(r.GetSubject().GetObject().GetObjectId()))
		case relAsUser:
			a.AsUser = true
		}
	}
	if !live {
		return App{}, fmt.Errorf("application %q: %w", id, ErrAppNotFound)
	}
	grants, _, err := spicedb.ReadAll(ctx, t.client, &v1.ReadRelationshipsRequest{
		Consistency: rel.FullyConsistent(),
		RelationshipFilter: &v1.RelationshipFilter{
			ResourceType: typeAppGrant, OptionalResourceIdPrefix: a.gen + "|",
			OptionalRelation: relAuthorized,
		},
	})
	if err != nil {
		return App{}, fmt.Errorf("reading the enterprises that authorized %q: %w", id, err)
	}
	for _, g := range grants {
		parts := strings.Split(g.GetResource().GetObjectId(), "|")
		if len(parts) == 4 && parts[2] != "=external" {
			a.Enterprises = append(a.Enterprises, schema.DecodeID(parts[2]))
		}
	}
	return a, nil
}

// CreateApp adds an application.
func (t *Tokens) CreateApp(ctx context.Context, id string, scopes []string, asUser bool) (App, error) {
	if id == DefaultApp {
		return App{}, fmt.Errorf("creating %q: %w", id, ErrBuiltinApp)
	}
	if err := validateAppID(id); err != nil {
		return App{}, err
	}
	sc, err := ParseScopes(scopes)
	if err != nil {
		return App{}, &checker.FieldError{Field: "scopes", Err: err}
	}
	if _, err := t.App(ctx, id); err == nil {
		return App{}, fmt.Errorf("creating application %q: %w", id, ErrAppExists)
	} else if !errors.Is(err, ErrAppNotFound) {
		return App{}, err
	}
	gen, err := newID()
	if err != nil {
		return App{}, err
	}
	secret, secretHash, err := newSecret(clientSecretPrefix)
	if err != nil {
		return App{}, err
	}
	a := App{ID: id, ClientID: id, ClientSecret: secret, Scopes: sc, AsUser: asUser, gen: schema.EncodeID(id) + "|" + gen}
	ups := t.appUpdates(a)
	ups = append(ups,
		rel.Touch(rel.NewRaw(typeApp, a.gen, relClientSecret, rel.RawSubject(typeClientSecret, secretHash))),
		rel.Touch(rel.NewRaw(typeApp, a.gen, relLive, flagOnSubject())),
		rel.Touch(rel.NewRaw(typeAppGrant, externalGrant(a.gen), relApp, rel.RawSubject(typeApp, a.gen))),
		rel.Touch(rel.NewRaw(typeAppGrant, externalGrant(a.gen), relAuthorized, flagOnSubject())),
	)
	// Two creates racing: the second finds the first's live flag.
	pre := []*v1.Precondition{{
		Operation: v1.Precondition_OPERATION_MUST_NOT_MATCH,
		Filter:    &v1.RelationshipFilter{ResourceType: typeApp, OptionalResourceIdPrefix: schema.EncodeID(id) + "|", OptionalRelation: relLive},
	}}
	if _, err := t.write(ctx, &v1.WriteRelationshipsRequest{Updates: ups, OptionalPreconditions: pre}); err != nil {
		if isPrecondition(err) {
			return App{}, fmt.Errorf("creating application %q: %w", id, ErrAppExists)
		}
		return App{}, fmt.Errorf("writing application %q: %w", id, err)
	}
	if err := t.settle(ctx, fmt.Sprintf("creating application %q", id), ups[len(ups)-1]); err != nil {
		return App{}, err
	}
	t.logger.Info("application created", slog.String("app", id), slog.Any("scopes", sc), slog.Bool("as_user", asUser))
	return a, nil
}

func (t *Tokens) appUpdates(a App) []*v1.RelationshipUpdate {
	var ups []*v1.RelationshipUpdate
	for _, s := range a.Scopes {
		ups = append(ups, rel.Touch(rel.NewRaw(typeApp, a.gen, relScope, rel.RawSubject(typeScope, string(s)))))
	}
	if a.AsUser {
		ups = append(ups, rel.Touch(rel.NewRaw(typeApp, a.gen, relAsUser, flagOnSubject())))
	}
	return ups
}

// UpdateApp changes an application's scopes and As-User permission; nil
// leaves one as it is. New scopes apply to tokens issued afterwards; tokens
// already out keep theirs (docs/model.md §6), while As-User is asked of the app
// at every request.
func (t *Tokens) UpdateApp(ctx context.Context, id string, scopes []string, asUser *bool) (App, error) {
	if id == DefaultApp {
		return App{}, fmt.Errorf("changing %q: %w", id, ErrBuiltinApp)
	}
	a, err := t.App(ctx, id)
	if err != nil {
		return App{}, err
	}
	if scopes != nil {
		if a.Scopes, err = ParseScopes(scopes); err != nil {
			return App{}, &checker.FieldError{Field: "scopes", Err: err}
		}
	}
	if asUser != nil {
		a.AsUser = *asUser
	}
	ups := []*v1.RelationshipUpdate{}
	// Deletes and touches of the same relationship may not share a write,
	// so drop only what is gone.
	keep := map[string]bool{}
	for _, s := range a.Scopes {
		keep[string(s)] = true
	}
	old, err := t.readObject(ctx, typeApp, a.gen)
	if err != nil {
		return App{}, err
	}
	for _, r := range old {
		switch {
		case r.GetRelation() == relScope && !keep[r.GetSubject().GetObject().GetObjectId()]:
			ups = append(ups, rel.Delete(r))
		case r.GetRelation() == relAsUser && !a.AsUser:
			ups = append(ups, rel.Delete(r))
		}
	}
	ups = append(ups, t.appUpdates(a)...)
	pre := []*v1.Precondition{rel.MustMatch(rel.RawFilter(typeApp, a.gen, relLive))}
	if _, err := t.write(ctx, &v1.WriteRelationshipsRequest{Updates: ups, OptionalPreconditions: pre}); err != nil {
		if isPrecondition(err) {
			return App{}, fmt.Errorf("changing application %q: %w", id, ErrAppNotFound)
		}
		return App{}, fmt.Errorf("writing application %q: %w", id, err)
	}
	if err := t.settle(ctx, fmt.Sprintf("changing application %q", id), ups...); err != nil {
		return App{}, err
	}
	t.logger.Info("application changed", slog.String("app", id), slog.Any("scopes", a.Scopes), slog.Bool("as_user", a.AsUser))
	return a, nil
}

// DeleteApp removes an application; every token of it stops working at once
// (its flag is off) and SpiceDB drops the tokens as they expire.
func (t *Tokens) DeleteApp(ctx context.Context, id string) error {
	if id == DefaultApp {
		return fmt.Errorf("deleting %q: %w", id, ErrBuiltinApp)
	}
	a, err := t.App(ctx, id)
	if err != nil {
		return err
	}
	for _, typ := range []string{typeApp, typeAppGrant} {
		if _, err := t.client.DeleteRelationships(ctx, &v1.DeleteRelationshipsRequest{
			RelationshipFilter: &v1.RelationshipFilter{ResourceType: typ, OptionalResourceIdPrefix: a.gen},
		}); err != nil {
			return fmt.Errorf("deleting application %q: %w", id, err)
		}
	}
	// The generation's external grant is always there until this delete.
	if err := t.settleGone(ctx, fmt.Sprintf("deleting application %q", id), &v1.RelationshipFilter{ResourceType: typeAppGrant, OptionalResourceId: externalGrant(a.gen)}); err != nil {
		return err
	}
	t.logger.Info("application deleted", slog.String("app", id))
	return nil
}

// AuthorizeApp records that an enterprise's admin authorized an app for its
// users. Authorizing again after a withdrawal starts afresh: tokens ended by
// the withdrawal stay ended.
func (t *Tokens) AuthorizeApp(ctx context.Context, id, enterprise string) error {
	if id == DefaultApp {
		return fmt.Errorf("authorizing %q: %w", id, ErrBuiltinApp)
	}
	if err := schema.ValidateID(enterprise); err != nil {
		return &checker.FieldError{Field: "enterprise", Err: err}
	}
	a, err := t.App(ctx, id)
	if err != nil {
		return err
	}
	if _, ok := t.currentGrant(ctx, a.gen, enterprise); ok {
		return nil
	}
	nonce, err := newID()
	if err != nil {
		return err
	}
	g := enterpriseGrantPrefix(a.gen, enterprise) + nonce
	ups := []*v1.RelationshipUpdate{
		rel.Touch(rel.NewRaw(typeAppGrant, g, relApp, rel.RawSubject(typeApp, a.gen))),
		rel.Touch(rel.NewRaw(typeAppGrant, g, relAuthorized, flagOnSubject())),
	}
	if _, err := t.write(ctx, &v1.WriteRelationshipsRequest{
		Updates:               ups,
		OptionalPreconditions: []*v1.Precondition{rel.MustMatch(rel.RawFilter(typeApp, a.gen, relLive))},
	}); err != nil {
		if isPrecondition(err) {
			return fmt.Errorf("authorizing application %q: %w", id, ErrAppNotFound)
		}
		return fmt.Errorf("authorizing application %q for enterprise %q: %w", id, enterprise, err)
	}
	if err := t.settle(ctx, fmt.Sprintf("authorizing application %q for enterprise %q", id, enterprise), ups[len(ups)-1]); err != nil {
		return err
	}
	t.logger.Info("application authorized", slog.String("app", id), slog.String("enterprise", enterprise))
	return nil
}

// WithdrawApp ends an enterprise's authorization of an app, and with it
// every token of that app held by the enterprise's users.
func (t *Tokens) WithdrawApp(ctx context.Context, id, enterprise string) error {
	if id == DefaultApp {
		return fmt.Errorf("withdrawing %q: %w", id, ErrBuiltinApp)
	}
	if err := schema.ValidateID(enterprise); err != nil {
		return &checker.FieldError{Field: "enterprise", Err: err}
	}
	a, err := t.App(ctx, id)
	if err != nil {
		return err
	}
	f := &v1.RelationshipFilter{ResourceType: typeAppGrant, OptionalResourceIdPrefix: enterpriseGrantPrefix(a.gen, enterprise), OptionalRelation: relAuthorized}
	if _, err := t.client.DeleteRelationships(ctx, &v1.DeleteRelationshipsRequest{RelationshipFilter: f}); err != nil {
		return fmt.Errorf("withdrawing application %q from enterprise %q: %w", id, enterprise, err)
	}
	if err := t.settleGone(ctx, fmt.Sprintf("withdrawing application %q from enterprise %q", id, enterprise), f); err != nil {
		return err
	}
	t.logger.Info("application withdrawn", slog.String("app", id), slog.String("enterprise", enterprise))
	return nil
}

// currentGrant finds the live authorization of app generation gen by
// enterprise.
func (t *Tokens) currentGrant(ctx context.Context, gen, enterprise string) (string, bool) {
	rels, _, err := spicedb.ReadAll(ctx, t.client, &v1.ReadRelationshipsRequest{
		Consistency: rel.FullyConsistent(),
		RelationshipFilter: &v1.RelationshipFilter{
			ResourceType:             typeAppGrant,
			OptionalResourceIdPrefix: enterpriseGrantPrefix(gen, enterprise), OptionalRelation: relAuthorized,
		},
	})
	if err != nil || len(rels) == 0 {
		return "", false
	}
	return rels[0].GetResource().GetObjectId(), true
}
