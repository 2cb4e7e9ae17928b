package oauth_test

import (
	"context"
	"errors"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/checker/oauth"
	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/event"
)

// applyEvents mirrors events through sync, as a deployment does.
func applyEvents(t *testing.T, c *spicedb.Client, lines ...string) {
	t.Helper()
	var body []byte
	for _, l := range lines {
		body = append(append(body, l...), '\n')
	}
	evs, err := event.DecodeEvents(body, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sync.NewApplier(c, sync.WithLogger(quietLogger())).Apply(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
}

func wantInvalidGrant(t *testing.T, step string, err error) {
	t.Helper()
	var oe *oauth.Error
	if !errors.As(err, &oe) || oe.Code != "invalid_grant" {
		t.Errorf("%s: refresh gave %v, want invalid_grant", step, err)
	}
}

// TestUserChangesEndTokens is the attack of docs/model.md §6: a user deleted, or
// moved to another enterprise, keeps no token (access, refresh or
// downscoped), and a re-created id inherits none.
func TestUserChangesEndTokens(t *testing.T) {
	for _, ds := range testenv.Datastores() {
		t.Run(string(ds), func(t *testing.T) {
			ctx := context.Background()
			e := newTokenEnv(t, ds)
			p := e.issue(t, "bob", "", "root_readwrite")
			down, err := e.tokens.Exchange(ctx, oauth.ExchangeRequest{SubjectToken: p.AccessToken, Scopes: "item_preview"})
			if err != nil {
				t.Fatal(err)
			}
			wantDecision(t, "before", e.decide(t, onItem(p.AccessToken, "preview", "file:a")), 200, "")
			applyEvents(t, e.client, `{"id":"del-bob","type":"user.deleted","user":{"id":"bob"}}`)
			wantDecision(t, "access token after user.deleted", e.decide(t, onItem(p.AccessToken, "preview", "file:a")), 401, "invalid_token")
			wantDecision(t, "downscoped token after user.deleted", e.decide(t, onItem(down.AccessToken, "preview", "file:a")), 401, "invalid_token")
			if _, d, _ := e.authz.Me(ctx, p.AccessToken, ""); d.Status != 401 {
				t.Errorf("users/me after user.deleted: %+v, want 401", d)
			}
			_, err = e.tokens.Refresh(ctx, p.RefreshToken)
			wantInvalidGrant(t, "after user.deleted", err)

			applyEvents(t, e.client, `{"id":"recreate-bob","type":"user.created","user":{"id":"bob","enterprise":"acme"}}`,
				`{"id":"regrant-bob","type":"folder.updated","folder":{"id":"docs","parent":"0","owner":"bob"}}`)
			wantDecision(t, "old access token after the id is re-created", e.decide(t, onItem(p.AccessToken, "preview", "file:a")), 401, "invalid_token")
			_, err = e.tokens.Refresh(ctx, p.RefreshToken)
			wantInvalidGrant(t, "old refresh token after the id is re-created", err)
			fresh := e.issue(t, "bob", "", "root_readwrite")
			wantDecision(t, "a token of the re-created user", e.decide(t, onItem(fresh.AccessToken, "preview", "file:a")), 200, "")

			// An update that keeps the enterprise keeps the tokens.
			applyEvents(t, e.client, `{"id":"bob-role","type":"user.updated","user":{"id":"bob","enterprise":"acme","role":"coadmin"}}`)
			wantDecision(t, "after an update within the enterprise", e.decide(t, onItem(fresh.AccessToken, "preview", "file:a")), 200, "")
			// A move to another enterprise ends them.
			applyEvents(t, e.client, `{"id":"bob-moves","type":"user.updated","user":{"id":"bob","enterprise":"other"}}`)
			wantDecision(t, "after a move to another enterprise", e.decide(t, onItem(fresh.AccessToken, "preview", "file:a")), 401, "invalid_token")
			_, err = e.tokens.Refresh(ctx, fresh.RefreshToken)
			wantInvalidGrant(t, "after a move to another enterprise", err)
			// Replaying the stream changes nothing: the same session ids.
			applyEvents(t, e.client, `{"id":"bob-moves","type":"user.updated","user":{"id":"bob","enterprise":"other"}}`)
			moved := e.issue(t, "bob", "", "root_readonly")
			applyEvents(t, e.client, `{"id":"bob-moves","type":"user.updated","user":{"id":"bob","enterprise":"other"}}`)
			if _, d, _ := e.authz.Me(ctx, moved.AccessToken, ""); d.Status != 200 {
				t.Errorf("a token issued after the move, once the move event is replayed: %+v, want 200", d)
			}
		})
	}
}

// TestLegacyUserTokens: a user mirrored before token sessions existed (no
// session relationship) gets tokens, and loses them when deleted.
func TestLegacyUserTokens(t *testing.T) {
	ctx := context.Background()
	e := newTokenEnv(t, testenv.Memory)
	u := schema.EncodeID("olduser")
	writeRels(t, e.client, v1.RelationshipUpdate_OPERATION_TOUCH, rel(schema.TypeUser, u, "exists", schema.TypeUser, "*"))
	p := e.issue(t, "olduser", "", "root_readonly")
	if _, d, _ := e.authz.Me(ctx, p.AccessToken, ""); d.Status != 200 {
		t.Fatalf("a legacy user's token: %+v, want 200", d)
	}
	applyEvents(t, e.client, `{"id":"del-old","type":"user.deleted","user":{"id":"olduser"}}`)
	if _, d, _ := e.authz.Me(ctx, p.AccessToken, ""); d.Status != 401 {
		t.Errorf("a legacy user's token after user.deleted: %+v, want 401", d)
	}
	applyEvents(t, e.client, `{"id":"new-old","type":"user.created","user":{"id":"olduser"}}`)
	if _, d, _ := e.authz.Me(ctx, p.AccessToken, ""); d.Status != 401 {
		t.Errorf("a legacy user's token after the id is re-created: %+v, want 401", d)
	}
	if _, err := e.tokens.Issue(ctx, oauth.IssueRequest{User: "gone", Scopes: []string{"root_readonly"}}); err == nil {
		t.Error("a token issued to a user that does not exist")
	}
}
