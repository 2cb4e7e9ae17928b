package oauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/checker/oauth"
	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/schema"
)

// tokenWorld is an enterprise with every kind of user, a small tree and a
// trashed folder, on real SpiceDB.
var tokenWorld = []string{
	`{"id":"u1","type":"user.created","user":{"id":"alice","enterprise":"acme","role":"admin"}}`,
	`{"id":"u2","type":"user.created","user":{"id":"carol","enterprise":"acme","role":"coadmin","coadmin_privileges":["manage_users","view_content"]}}`,
	`{"id":"u3","type":"user.created","user":{"id":"dave","enterprise":"acme","role":"coadmin"}}`,
	`{"id":"u4","type":"user.created","user":{"id":"bob","enterprise":"acme"}}`,
	`{"id":"u5","type":"user.created","user":{"id":"eve","enterprise":"acme","is_service_account":true}}`,
	`{"id":"u6","type":"user.created","user":{"id":"xavier"}}`,
	`{"id":"u7","type":"user.created","user":{"id":"zoe","enterprise":"other"}}`,
	`{"id":"g1","type":"group.created","group":{"id":"eng","enterprise":"acme"}}`,
	`{"id":"m1","type":"group_membership.created","group_membership":{"id":"m1","group":"eng","user":"bob","role":"admin"}}`,
	`{"id":"f1","type":"folder.created","folder":{"id":"docs","parent":"0","owner":"bob"}}`,
	`{"id":"f2","type":"folder.created","folder":{"id":"sub","parent":"docs","owner":"bob"}}`,
	`{"id":"f3","type":"file.created","file":{"id":"a","parent":"sub","owner":"bob"}}`,
	`{"id":"f4","type":"file.created","file":{"id":"b","parent":"docs","owner":"bob"}}`,
	`{"id":"f5","type":"folder.created","folder":{"id":"bin","parent":"0","owner":"bob"}}`,
	`{"id":"f6","type":"file.created","file":{"id":"junk","parent":"bin","owner":"bob"}}`,
	`{"id":"f7","type":"folder.trashed","folder":{"id":"bin"}}`,
	`{"id":"f8","type":"file.created","file":{"id":"x","parent":"0","owner":"xavier"}}`,
	`{"id":"c1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"docs"},"accessible_by":{"type":"user","id":"xavier"},"role":"previewer"}}`,
}

type tokenEnv struct {
	client *spicedb.Client
	tokens *oauth.Tokens
	authz  *oauth.Authorizer
	now    *atomic.Int64 // unix nanos; 0 = the real clock
}

func newTokenEnv(t testing.TB, ds testenv.Datastore, opts ...oauth.Option) *tokenEnv {
	t.Helper()
	env := &tokenEnv{now: &atomic.Int64{}}
	clock := func() time.Time {
		if n := env.now.Load(); n != 0 {
			return time.Unix(0, n)
		}
		return time.Now()
	}
	c := world(t, ds, tokenWorld...)
	env.client = c
	ch, err := checker.New(c, checker.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	env.tokens = oauth.NewTokens(c, append([]oauth.Option{oauth.WithClock(clock)}, opts...)...)
	if err := env.tokens.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	env.authz = oauth.NewAuthorizer(ch, env.tokens)
	if ds == testenv.Memory {
		// As boxauthz serve does on the embedded store.
		t.Cleanup(watchWith(t, env, c))
	}
	return env
}

func (e *tokenEnv) issue(t testing.TB, user, app string, scopes ...string) oauth.Issued {
	t.Helper()
	is, err := e.tokens.Issue(context.Background(), oauth.IssueRequest{User: user, Scopes: scopes, App: app})
	if err != nil {
		t.Fatalf("issuing %v to %s of %q: %v", scopes, user, app, err)
	}
	return is
}

func (e *tokenEnv) decide(t *testing.T, r oauth.AuthorizeRequest) oauth.Decision {
	t.Helper()
	d, err := e.authz.Authorize(context.Background(), r)
	if err != nil {
		t.Fatalf("authorize %+v: %v", r, err)
	}
	return d
}

func onItem(token, action, ref string) oauth.AuthorizeRequest {
	it := item(ref)
	return oauth.AuthorizeRequest{Token: token, Action: schema.Action(action), Item: &it}
}

func wantDecision(t *testing.T, name string, d oauth.Decision, status int, code string) {
	t.Helper()
	if d.Status != status || d.Code != code || d.Allowed != (status == http.StatusOK) {
		t.Errorf("%s: got %d %q allowed=%v, want %d %q", name, d.Status, d.Code, d.Allowed, status, code)
	}
}

// TestDecisionTable walks docs/model.md §7 row by row, each row where it is the
// first that applies.
func TestDecisionTable(t *testing.T) {
	for _, ds := range testenv.Datastores() {
		t.Run(string(ds), func(t *testing.T) {
			e := newTokenEnv(t, ds)
			ctx := context.Background()
			bob := e.issue(t, "bob", "", "root_readwrite")
			alice := e.issue(t, "alice", "", "root_readwrite")
			carol := e.issue(t, "carol", "", "root_readonly")
			readonly := e.issue(t, "bob", "", "root_readonly")
			revoked := e.issue(t, "bob", "", "root_readwrite")
			if err := e.tokens.Revoke(ctx, revoked.AccessToken); err != nil {
				t.Fatal(err)
			}
			xav := e.issue(t, "xavier", "", "root_readwrite")
			down, err := e.tokens.Exchange(ctx, oauth.ExchangeRequest{SubjectToken: bob.AccessToken, Scopes: "item_preview item_download", Resource: "folder:sub"})
			if err != nil {
				t.Fatal(err)
			}
			asUser := func(r oauth.AuthorizeRequest, u string) oauth.AuthorizeRequest { r.AsUser = u; return r }
			rows := []struct {
				name   string
				req    oauth.AuthorizeRequest
				status int
				code   string
				user   string
			}{
				{"1 missing token", onItem("", "preview", "file:a"), 401, "invalid_token", ""},
				{"1 unknown token", onItem("bxat_nope", "preview", "file:a"), 401, "invalid_token", ""},
				{"1 refresh token is no access token", onItem(bob.RefreshToken, "preview", "file:a"), 401, "invalid_token", ""},
				{"1 revoked token", onItem(revoked.AccessToken, "preview", "file:a"), 401, "invalid_token", ""},
				{"2 As-User by a plain user", asUser(onItem(bob.AccessToken, "preview", "file:a"), "alice"), 403, "access_denied_insufficient_permissions", "bob"},
				{"2 As-User before scope", asUser(onItem(readonly.AccessToken, "delete", "file:a"), "alice"), 403, "access_denied_insufficient_permissions", "bob"},
				{"2 co-admin As-User for a co-admin", asUser(onItem(carol.AccessToken, "preview", "file:a"), "dave"), 403, "access_denied_insufficient_permissions", "carol"},
				{"2 co-admin As-User for the admin", asUser(onItem(carol.AccessToken, "preview", "file:a"), "alice"), 403, "access_denied_insufficient_permissions", "carol"},
				{"2 As-User for a service account", asUser(onItem(alice.AccessToken, "preview", "file:a"), "eve"), 403, "access_denied_insufficient_permissions", "alice"},
				{"2 As-User for another enterprise's user", asUser(onItem(alice.AccessToken, "preview", "file:a"), "zoe"), 403, "access_denied_insufficient_permissions", "alice"},
				{"3 scope before graph", onItem(readonly.AccessToken, "delete", "file:nothere"), 403, "insufficient_scope", "bob"},
				{"3 downscoped scope", onItem(down.AccessToken, "rename", "file:a"), 403, "insufficient_scope", "bob"},
				{"4 outside the resource", onItem(down.AccessToken, "preview", "file:b"), 404, "not_found", "bob"},
				{"4 the resource's parent", onItem(down.AccessToken, "preview", "folder:docs"), 404, "not_found", "bob"},
				{"5 no grant", onItem(alice.AccessToken, "preview", "file:a"), 404, "not_found", "alice"},
				{"5 no such item", onItem(bob.AccessToken, "preview", "file:nothere"), 404, "not_found", "bob"},
				{"6 trashed folder", onItem(bob.AccessToken, "preview", "folder:bin"), 404, "trashed", "bob"},
				{"6 below a trashed folder", onItem(bob.AccessToken, "download", "file:junk"), 404, "trashed", "bob"},
				{"7 previewer downloads", onItem(xav.AccessToken, "download", "file:a"), 403, "access_denied_insufficient_permissions", "xavier"},
				{"8 owner", onItem(bob.AccessToken, "delete", "file:a"), 200, "", "bob"},
				{"8 previewer previews", onItem(xav.AccessToken, "preview", "file:a"), 200, "", "xavier"},
				{"8 downscoped inside", onItem(down.AccessToken, "download", "file:a"), 200, "", "bob"},
				{"8 downscoped on the resource", onItem(down.AccessToken, "preview", "folder:sub"), 200, "", "bob"},
				{"8 admin As-User", asUser(onItem(alice.AccessToken, "delete", "file:a"), "bob"), 200, "", "bob"},
				{"8 co-admin with manage_users As-User for a user", asUser(onItem(carol.AccessToken, "preview", "file:a"), "bob"), 200, "", "bob"},
				{"8 As-User oneself", asUser(onItem(bob.AccessToken, "preview", "file:a"), "bob"), 200, "", "bob"},
			}
			for _, one := range []bool{false, true} {
				oauth.SetOneRequest(e.authz, one)
				for _, r := range rows {
					name := fmt.Sprintf("%s (one request: %v)", r.name, one)
					d := e.decide(t, r.req)
					wantDecision(t, name, d, r.status, r.code)
					if d.User != r.user {
						t.Errorf("%s: acting user %q, want %q", name, d.User, r.user)
					}
				}
			}
		})
	}
}

// TestScopeTable asks every action with a token holding exactly one scope,
// for every scope: allowed exactly where docs/model.md §6's table lists it, else
// insufficient_scope. The user may do everything in the graph.
func TestScopeTable(t *testing.T) {
	table := map[string][]string{
		"list":               {"root_readonly", "root_readwrite", "base_explorer", "base_picker", "item_preview"},
		"preview":            {"root_readonly", "root_readwrite", "item_preview", "base_preview"},
		"download":           {"root_readonly", "root_readwrite", "item_download"},
		"comment":            {"root_readwrite", "item_comment"},
		"upload":             {"root_readwrite", "item_upload", "base_upload"},
		"edit":               {"root_readwrite", "item_upload"},
		"rename":             {"root_readwrite", "item_rename"},
		"delete":             {"root_readwrite", "item_delete"},
		"move":               {"root_readwrite", "item_delete"},
		"share":              {"root_readwrite", "item_share"},
		"set_share_access":   {"root_readwrite", "item_share"},
		"invite":             {"root_readwrite", "item_share"},
		"change_settings":    {"root_readwrite"},
		"transfer_ownership": {"root_readwrite"},
		"manage_users":       {"manage_managed_users"},
		"manage_groups":      {"manage_groups"},
	}
	e := newTokenEnv(t, testenv.Memory)
	for _, sc := range oauth.AllScopes() {
		// alice is the admin: every enterprise action; sub is bob's, so
		// alice acts as bob for items.
		tok := e.issue(t, "alice", "", string(sc)).AccessToken
		for action, scopes := range table {
			var req oauth.AuthorizeRequest
			switch action {
			case "manage_users":
				req = oauth.AuthorizeRequest{Token: tok, Action: schema.Action(action), Enterprise: "acme"}
			case "manage_groups":
				req = oauth.AuthorizeRequest{Token: tok, Action: schema.Action(action), Group: "eng"}
			default:
				req = onItem(tok, action, "folder:sub")
				req.AsUser = "bob"
			}
			d := e.decide(t, req)
			if slices.Contains(scopes, string(sc)) {
				wantDecision(t, fmt.Sprintf("%s with %s", action, sc), d, 200, "")
			} else {
				wantDecision(t, fmt.Sprintf("%s with %s", action, sc), d, 403, "insufficient_scope")
			}
		}
	}
	if len(table) != len(schema.ItemActions())+2 {
		t.Fatalf("the table covers %d actions, the model has %d", len(table), len(schema.ItemActions())+2)
	}
}

// TestEnterpriseActions: manage_users and manage_groups (docs/model.md §5) through
// tokens, and enterprise_content reach.
func TestEnterpriseActions(t *testing.T) {
	e := newTokenEnv(t, testenv.Memory)
	all := []string{"root_readonly", "manage_managed_users", "manage_groups"}
	tok := func(u string, extra ...string) string {
		return e.issue(t, u, "", append(slices.Clone(all), extra...)...).AccessToken
	}
	alice, carol, dave, bob := tok("alice"), tok("carol", "enterprise_content"), tok("dave"), tok("bob")
	aliceGCM := tok("alice", "enterprise_content")
	for _, c := range []struct {
		name   string
		req    oauth.AuthorizeRequest
		status int
		code   string
	}{
		{"admin manages users", oauth.AuthorizeRequest{Token: alice, Action: "manage_users", Enterprise: "acme"}, 200, ""},
		{"co-admin with manage_users", oauth.AuthorizeRequest{Token: carol, Action: "manage_users", Enterprise: "acme"}, 200, ""},
		{"co-admin without", oauth.AuthorizeRequest{Token: dave, Action: "manage_users", Enterprise: "acme"}, 403, "access_denied_insufficient_permissions"},
		{"admin of another enterprise", oauth.AuthorizeRequest{Token: alice, Action: "manage_users", Enterprise: "other"}, 403, "access_denied_insufficient_permissions"},
		{"group admin manages the group", oauth.AuthorizeRequest{Token: bob, Action: "manage_groups", Group: "eng"}, 200, ""},
		{"group admin is no enterprise group manager", oauth.AuthorizeRequest{Token: bob, Action: "manage_groups", Enterprise: "acme"}, 403, "access_denied_insufficient_permissions"},
		{"admin manages groups", oauth.AuthorizeRequest{Token: alice, Action: "manage_groups", Enterprise: "acme"}, 200, ""},
		{"admin without enterprise_content sees nothing", onItem(alice, "preview", "file:a"), 404, "not_found"},
		{"admin with enterprise_content previews", onItem(aliceGCM, "download", "file:a"), 200, ""},
		{"enterprise_content does not edit", onItem(aliceGCM, "edit", "file:a"), 403, "insufficient_scope"},
		{"enterprise_content, trashed", onItem(aliceGCM, "preview", "file:junk"), 404, "trashed"},
		{"enterprise_content, another enterprise's owner", onItem(aliceGCM, "preview", "file:x"), 404, "not_found"},
		{"co-admin with view_content", onItem(carol, "list", "folder:docs"), 200, ""},
	} {
		wantDecision(t, c.name, e.decide(t, c.req), c.status, c.code)
	}
}

// familyTokens counts the access and refresh tokens of token's refresh
// family, as stored.
func familyTokens(t *testing.T, c *spicedb.Client, token string) (access, refresh int) {
	t.Helper()
	read := func(f *v1.RelationshipFilter) []*v1.Relationship {
		rels, _, err := spicedb.ReadAll(context.Background(), c, &v1.ReadRelationshipsRequest{
			Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}, RelationshipFilter: f,
		})
		if err != nil {
			t.Fatal(err)
		}
		return rels
	}
	own := read(&v1.RelationshipFilter{ResourceType: "boxauthz_access_token", OptionalResourceId: oauth.TokenID(token), OptionalRelation: "family"})
	if len(own) != 1 {
		t.Fatalf("token %s has %d families", oauth.TokenID(token)[:8], len(own))
	}
	family := &v1.SubjectFilter{SubjectType: "boxauthz_token_family", OptionalSubjectId: own[0].GetSubject().GetObject().GetObjectId()}
	access = len(read(&v1.RelationshipFilter{ResourceType: "boxauthz_access_token", OptionalRelation: "family", OptionalSubjectFilter: family}))
	refresh = len(read(&v1.RelationshipFilter{ResourceType: "boxauthz_refresh_token", OptionalRelation: "family", OptionalSubjectFilter: family}))
	return access, refresh
}

// TestRefreshIsSingleUse: 20 concurrent refreshes of one refresh token, a
// client retrying after lost responses. Exactly one new pair is issued and
// every caller gets it (or a clean invalid_grant); the family lives. Once
// the reuse leeway is over, presenting the spent token again revokes the
// whole family, the new pair included (docs/model.md §6).
func TestRefreshIsSingleUse(t *testing.T) {
	for _, ds := range testenv.Datastores() {
		t.Run(string(ds), func(t *testing.T) {
			e := newTokenEnv(t, ds)
			ctx := context.Background()
			first := e.issue(t, "bob", "", "root_readwrite")
			var (
				wg   gosync.WaitGroup
				mu   gosync.Mutex
				wins []oauth.Issued
				errs []error
			)
			start := make(chan struct{})
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					is, err := e.tokens.Refresh(ctx, first.RefreshToken)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						errs = append(errs, err)
					} else {
						wins = append(wins, is)
					}
				}()
			}
			close(start)
			wg.Wait()
			for _, err := range errs {
				wantOAuth(t, "a concurrent refresh", err, "invalid_grant")
			}
			if len(wins) == 0 {
				t.Fatalf("no refresh of 20 succeeded: %v", errs)
			}
			w := wins[0]
			for i, is := range wins {
				if is.AccessToken != w.AccessToken || is.RefreshToken != w.RefreshToken || is.ExpiresIn <= 0 || is.ExpiresIn > time.Hour {
					t.Fatalf("refresh %d answered another pair (or expiry %s) than the first: %d pairs handed out", i, is.ExpiresIn, len(wins))
				}
			}
			t.Logf("%d of 20 concurrent refreshes got the pair, %d a clean error", len(wins), len(errs))
			if a, r := familyTokens(t, e.client, first.AccessToken); a != 2 || r != 2 {
				t.Fatalf("the family holds %d access and %d refresh tokens, want 2 and 2: exactly one pair issued", a, r)
			}
			wantDecision(t, "the new pair", e.decide(t, onItem(w.AccessToken, "preview", "file:a")), 200, "")
			wantDecision(t, "the first access token", e.decide(t, onItem(first.AccessToken, "preview", "file:a")), 200, "")
			// What lets the retry answer the pair is stored sealed, expiring
			// with the leeway: no token string is in SpiceDB.
			rels, _, err := spicedb.ReadAll(ctx, e.client, &v1.ReadRelationshipsRequest{
				Consistency:        &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
				RelationshipFilter: &v1.RelationshipFilter{ResourceType: "boxauthz_refresh_token"},
			})
			if err != nil {
				t.Fatal(err)
			}
			successors := 0
			for _, r := range rels {
				for _, tok := range []string{first.AccessToken, first.RefreshToken, w.AccessToken, w.RefreshToken} {
					if strings.Contains(r.String(), tok[5:25]) {
						t.Errorf("a token string is stored in SpiceDB: %s#%s", r.GetResource().GetObjectType(), r.GetRelation())
					}
				}
				if r.GetRelation() == "successor" {
					successors++
					if left := time.Until(r.GetOptionalExpiresAt().AsTime()); left <= 0 || left > oauth.DefaultRefreshReuseLeeway {
						t.Errorf("the sealed pair expires in %s, want within the leeway", left)
					}
				}
			}
			if successors != 1 {
				t.Errorf("%d sealed pairs stored, want 1", successors)
			}

			// After the leeway: a copy of the spent token revokes the family.
			e.now.Store(time.Now().Add(oauth.DefaultRefreshReuseLeeway + time.Second).UnixNano())
			_, err = e.tokens.Refresh(ctx, first.RefreshToken)
			wantOAuth(t, "the spent token after the leeway", err, "invalid_grant")
			wantDecision(t, "the new pair after the family is revoked", e.decide(t, onItem(w.AccessToken, "preview", "file:a")), 401, "invalid_token")
			wantDecision(t, "the first access token", e.decide(t, onItem(first.AccessToken, "preview", "file:a")), 401, "invalid_token")
			if _, err := e.tokens.Refresh(ctx, w.RefreshToken); err == nil {
				t.Error("the new refresh token still refreshes after the family was revoked")
			}
			// Another family is untouched.
			other := e.issue(t, "bob", "", "root_readwrite")
			wantDecision(t, "another family", e.decide(t, onItem(other.AccessToken, "preview", "file:a")), 200, "")
		})
	}
}

// TestRefreshChain: a refresh gives a new working pair and spends the old
// refresh token; presenting it again within the leeway gives that pair
// again, later it ends the family. With no leeway, at once.
func TestRefreshChain(t *testing.T) {
	for _, leeway := range []time.Duration{oauth.DefaultRefreshReuseLeeway, 0} {
		t.Run(fmt.Sprintf("leeway %s", leeway), func(t *testing.T) {
			e := newTokenEnv(t, testenv.Memory, oauth.WithRefreshReuseLeeway(leeway))
			ctx := context.Background()
			p1 := e.issue(t, "bob", "", "root_readonly")
			p2, err := e.tokens.Refresh(ctx, p1.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			p3, err := e.tokens.Refresh(ctx, p2.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			if p3.RefreshToken == "" || p3.AccessToken == p2.AccessToken || p3.ExpiresIn != time.Hour {
				t.Fatalf("refresh answer %+v", p3)
			}
			wantDecision(t, "old access token still lives", e.decide(t, onItem(p1.AccessToken, "preview", "file:a")), 200, "")
			wantDecision(t, "new access token, same scopes", e.decide(t, onItem(p3.AccessToken, "edit", "file:a")), 403, "insufficient_scope")
			if leeway > 0 {
				again, err := e.tokens.Refresh(ctx, p1.RefreshToken)
				if err != nil || again.AccessToken != p2.AccessToken || again.RefreshToken != p2.RefreshToken {
					t.Fatalf("p1's refresh token again within the leeway: %v, want p2 again", err)
				}
				for i, p := range []oauth.Issued{p1, p2, p3} {
					wantDecision(t, fmt.Sprintf("pair %d after a retry", i+1), e.decide(t, onItem(p.AccessToken, "preview", "file:a")), 200, "")
				}
				// A retry hands out no pair revoked meanwhile.
				if err := e.tokens.Revoke(ctx, p3.AccessToken); err != nil {
					t.Fatal(err)
				}
				_, err = e.tokens.Refresh(ctx, p2.RefreshToken)
				wantOAuth(t, "a retry whose pair was revoked", err, "invalid_grant")
				wantDecision(t, "the family after that retry", e.decide(t, onItem(p2.AccessToken, "preview", "file:a")), 200, "")
				e.now.Store(time.Now().Add(leeway + time.Second).UnixNano())
			}
			_, err = e.tokens.Refresh(ctx, p1.RefreshToken)
			wantOAuth(t, "reusing a spent refresh token", err, "invalid_grant")
			for i, p := range []oauth.Issued{p1, p2, p3} {
				wantDecision(t, fmt.Sprintf("pair %d after reuse", i+1), e.decide(t, onItem(p.AccessToken, "preview", "file:a")), 401, "invalid_token")
			}
			if _, err := e.tokens.Refresh(ctx, "bxrt_unknown"); err == nil {
				t.Error("an unknown refresh token refreshed")
			}
		})
	}
}

// TestRefreshRetryByClient: within the leeway an application's token is
// handed back only to its own client; another client is refused and ends
// nothing.
func TestRefreshRetryByClient(t *testing.T) {
	e := newTokenEnv(t, testenv.Memory)
	ctx := context.Background()
	crm, err := e.tokens.CreateApp(ctx, "crm", []string{"root_readonly"}, false)
	if err != nil {
		t.Fatal(err)
	}
	hr, err := e.tokens.CreateApp(ctx, "hr", []string{"root_readonly"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.tokens.AuthorizeApp(ctx, "crm", "acme"); err != nil {
		t.Fatal(err)
	}
	client := oauth.ClientCredentials{ID: "crm", Secret: crm.ClientSecret}
	p := e.issue(t, "bob", "crm", "root_readonly")
	p2, err := e.tokens.RefreshAs(ctx, client, p.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]oauth.ClientCredentials{"no client": {}, "another app": {ID: "hr", Secret: hr.ClientSecret}} {
		_, err := e.tokens.RefreshAs(ctx, c, p.RefreshToken)
		wantOAuth(t, "a retry by "+name, err, "invalid_client")
	}
	again, err := e.tokens.RefreshAs(ctx, client, p.RefreshToken)
	if err != nil || again.AccessToken != p2.AccessToken {
		t.Fatalf("a retry by the token's client: %v, want the same pair", err)
	}
	wantDecision(t, "the pair after refused retries", e.decide(t, onItem(p2.AccessToken, "preview", "file:a")), 200, "")
}

// TestRevokeEndsPairAndChildren: revoking either token of a pair ends both
// and every downscoped descendant; other pairs keep working.
func TestRevokeEndsPairAndChildren(t *testing.T) {
	for _, which := range []string{"access", "refresh"} {
		t.Run(which, func(t *testing.T) {
			e := newTokenEnv(t, testenv.Memory)
			ctx := context.Background()
			p := e.issue(t, "bob", "", "root_readwrite")
			other := e.issue(t, "bob", "", "root_readwrite")
			child, err := e.tokens.Exchange(ctx, oauth.ExchangeRequest{SubjectToken: p.AccessToken, Scopes: "item_preview"})
			if err != nil {
				t.Fatal(err)
			}
			grandchild, err := e.tokens.Exchange(ctx, oauth.ExchangeRequest{SubjectToken: child.AccessToken, Scopes: "item_preview", Resource: "folder:sub"})
			if err != nil {
				t.Fatal(err)
			}
			wantDecision(t, "grandchild before", e.decide(t, onItem(grandchild.AccessToken, "preview", "file:a")), 200, "")
			tok := p.AccessToken
			if which == "refresh" {
				tok = p.RefreshToken
			}
			if err := e.tokens.Revoke(ctx, tok); err != nil {
				t.Fatal(err)
			}
			for name, tk := range map[string]string{"access": p.AccessToken, "child": child.AccessToken, "grandchild": grandchild.AccessToken} {
				wantDecision(t, name+" after revoke", e.decide(t, onItem(tk, "preview", "file:a")), 401, "invalid_token")
			}
			if _, err := e.tokens.Refresh(ctx, p.RefreshToken); err == nil {
				t.Error("the revoked pair's refresh token still refreshes")
			}
			wantDecision(t, "another pair", e.decide(t, onItem(other.AccessToken, "preview", "file:a")), 200, "")
			if err := e.tokens.Revoke(ctx, "bxat_never_issued"); err != nil {
				t.Errorf("revoking an unknown token: %v, want no error (RFC 7009)", err)
			}
		})
	}
}

// TestRevokeRacesAuthorizations: authorizations run continuously while the
// token is revoked; none that starts after Revoke returns is allowed.
func TestRevokeRacesAuthorizations(t *testing.T) {
	for _, ds := range testenv.Datastores() {
		t.Run(string(ds), func(t *testing.T) {
			e := newTokenEnv(t, ds)
			ctx := context.Background()
			p := e.issue(t, "bob", "", "root_readwrite")
			var revokedAt atomic.Int64 // nanos since start; 0 until Revoke returned
			start := time.Now()
			var wg gosync.WaitGroup
			var allowedAfter, checks atomic.Int64
			stop := make(chan struct{})
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						begun := revokedAt.Load()
						d, err := e.authz.Authorize(ctx, onItem(p.AccessToken, "download", "file:a"))
						if err != nil {
							t.Error(err)
							return
						}
						checks.Add(1)
						if begun != 0 && d.Allowed {
							allowedAfter.Add(1)
						}
					}
				}()
			}
			time.Sleep(200 * time.Millisecond) // let authorizations run before the revoke
			if err := e.tokens.Revoke(ctx, p.AccessToken); err != nil {
				t.Fatal(err)
			}
			revokedAt.Store(int64(time.Since(start)))
			time.Sleep(300 * time.Millisecond)
			close(stop)
			wg.Wait()
			if n := allowedAfter.Load(); n != 0 {
				t.Fatalf("%d authorizations begun after Revoke returned were allowed", n)
			}
			t.Logf("%d authorizations in all", checks.Load())
		})
	}
}

// churnTokens issues tokens to xavier on issuer, uses each on user and
// revokes it on issuer, until ctx ends: writes and revocations elsewhere.
func churnTokens(ctx context.Context, issuer, user *tokenEnv) {
	for ctx.Err() == nil {
		p, err := issuer.tokens.Issue(ctx, oauth.IssueRequest{User: "xavier", Scopes: []string{"root_readonly"}})
		if err != nil {
			return // cancelled
		}
		_, _ = user.authz.Authorize(ctx, onItem(p.AccessToken, "preview", "file:x"))
		_ = issuer.tokens.Revoke(ctx, p.RefreshToken)
	}
}

// TestTokenWritesSeenUnderConcurrentWrites: while other goroutines issue,
// use and revoke tokens, a token just issued, refreshed or downscoped works
// on its first use and one just revoked fails on the next. SpiceDB alone
// does not give this: it shares a head-revision lookup among concurrent
// fully consistent requests, so one can be answered from before a write that
// returned before it began (about 1 step in 75 here before the token writes
// settled; see spicedb.Settle).
func TestTokenWritesSeenUnderConcurrentWrites(t *testing.T) {
	for _, ds := range testenv.Datastores() {
		t.Run(string(ds), func(t *testing.T) {
			steps := 120
			if ds == testenv.Postgres || testing.Short() {
				steps = 30 // writes on PostgreSQL are slower; the race is the same
			}
			e := newTokenEnv(t, ds)
			ctx, cancel := context.WithCancel(context.Background())
			var wg gosync.WaitGroup
			for range 3 {
				wg.Go(func() { churnTokens(ctx, e, e) })
			}
			defer func() { cancel(); wg.Wait() }()
			want := func(step int, what, token string, allowed bool) {
				t.Helper()
				d, err := e.authz.Authorize(ctx, onItem(token, "preview", "file:a"))
				if err != nil {
					t.Fatalf("step %d, %s: %v", step, what, err)
				}
				if d.Allowed != allowed {
					t.Errorf("step %d: %s: got %d %s, want allowed=%v", step, what, d.Status, d.Code, allowed)
				}
			}
			for i := range steps {
				p := e.issue(t, "bob", "", "root_readwrite")
				want(i, "a token just issued", p.AccessToken, true)
				r, err := e.tokens.Refresh(ctx, p.RefreshToken)
				if err != nil {
					t.Fatalf("step %d: refresh: %v", i, err)
				}
				want(i, "a token just refreshed", r.AccessToken, true)
				down, err := e.tokens.Exchange(ctx, oauth.ExchangeRequest{SubjectToken: r.AccessToken, Scopes: "item_preview"})
				if err != nil {
					t.Fatalf("step %d: exchange: %v", i, err)
				}
				want(i, "a token just downscoped", down.AccessToken, true)
				if err := e.tokens.Revoke(ctx, r.RefreshToken); err != nil {
					t.Fatal(err)
				}
				want(i, "a token whose pair was just revoked", r.AccessToken, false)
				want(i, "the child of a token just revoked", down.AccessToken, false)
			}
		})
	}
}

// TestShortTTLExpiry: tokens stop working at their expiry with nothing else
// written meanwhile, on both datastores (checked by the checker as well as
// by SpiceDB's expiring relationships).
func TestShortTTLExpiry(t *testing.T) {
	for _, ds := range testenv.Datastores() {
		t.Run(string(ds), func(t *testing.T) {
			e := newTokenEnv(t, ds, oauth.WithAccessTTL(1500*time.Millisecond), oauth.WithRefreshTTL(2500*time.Millisecond))
			ctx := context.Background()
			p := e.issue(t, "bob", "", "root_readwrite")
			if p.ExpiresIn != 1500*time.Millisecond {
				t.Errorf("expires_in %s", p.ExpiresIn)
			}
			wantDecision(t, "fresh", e.decide(t, onItem(p.AccessToken, "preview", "file:a")), 200, "")
			time.Sleep(1600 * time.Millisecond)
			wantDecision(t, "expired", e.decide(t, onItem(p.AccessToken, "preview", "file:a")), 401, "invalid_token")
			time.Sleep(1000 * time.Millisecond)
			if _, err := e.tokens.Refresh(ctx, p.RefreshToken); err == nil {
				t.Error("an expired refresh token refreshed")
			}
		})
	}
}

// TestExchange: docs/model.md §6's downscoping rules.
func TestExchange(t *testing.T) {
	e := newTokenEnv(t, testenv.Memory)
	ctx := context.Background()
	rw := e.issue(t, "bob", "", "root_readwrite").AccessToken
	ro := e.issue(t, "bob", "", "root_readonly").AccessToken
	for _, c := range []struct {
		name, subject, scopes, resource string
		code                            string // "" = allowed
	}{
		{"readwrite to every downscope scope", rw, "item_preview item_download item_upload item_rename item_delete item_share item_comment base_explorer base_preview base_upload base_picker", "", ""},
		{"readonly to item_preview and item_download", ro, "item_preview item_download base_explorer base_preview base_picker", "", ""},
		{"readonly to item_upload", ro, "item_upload", "", "invalid_scope"},
		{"readonly to base_upload", ro, "base_upload", "", "invalid_scope"},
		{"readonly to item_comment", ro, "item_comment", "", "invalid_scope"},
		{"readonly to readwrite", ro, "root_readwrite", "", "invalid_scope"},
		{"readwrite to manage_groups it lacks", rw, "manage_groups", "", "invalid_scope"},
		{"held scope", ro, "root_readonly", "", ""},
		{"unknown scope", rw, "item_fly", "", "invalid_scope"},
		{"no scope", rw, " ", "", "invalid_request"},
		{"folder resource", rw, "item_preview", "folder:sub", ""},
		{"Box URL resource", rw, "item_preview", "https://api.box.com/2.0/files/a", ""},
		{"bad resource", rw, "item_preview", "https://api.box.com/2.0/users/1", "invalid_request"},
		{"bad resource type", rw, "item_preview", "group:1", "invalid_request"},
		{"unknown subject", "bxat_nope", "item_preview", "", "invalid_grant"},
	} {
		is, err := e.tokens.Exchange(ctx, oauth.ExchangeRequest{SubjectToken: c.subject, Scopes: c.scopes, Resource: c.resource})
		var oe *oauth.Error
		switch {
		case c.code == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.code != "" && (!errors.As(err, &oe) || oe.Code != c.code):
			t.Errorf("%s: got %v, want %s", c.name, err, c.code)
		case c.code == "" && (is.RefreshToken != "" || !is.Downscoped || is.ExpiresIn > time.Hour):
			t.Errorf("%s: answer %+v: want no refresh token, downscoped, expiring with its parent", c.name, is)
		}
	}
	// restricted_to, a child's resource inside its parent's, never outside.
	sub, err := e.tokens.Exchange(ctx, oauth.ExchangeRequest{SubjectToken: rw, Scopes: "item_preview item_download", Resource: "folder:sub"})
	if err != nil {
		t.Fatal(err)
	}
	want := []oauth.Restriction{{Scope: "item_download", Object: item("folder:sub")}, {Scope: "item_preview", Object: item("folder:sub")}}
	if !slices.Equal(sub.RestrictedTo, want) {
		t.Errorf("restricted_to %+v, want %+v", sub.RestrictedTo, want)
	}
	if _, err := e.tokens.Exchange(ctx, oauth.ExchangeRequest{SubjectToken: sub.AccessToken, Scopes: "item_preview", Resource: "file:a"}); err != nil {
		t.Errorf("narrowing folder:sub to file:a inside it: %v", err)
	}
	for _, outside := range []string{"folder:docs", "file:b"} {
		if _, err := e.tokens.Exchange(ctx, oauth.ExchangeRequest{SubjectToken: sub.AccessToken, Scopes: "item_preview", Resource: outside}); err == nil {
			t.Errorf("widening folder:sub to %s was allowed", outside)
		}
	}
	inherit, err := e.tokens.Exchange(ctx, oauth.ExchangeRequest{SubjectToken: sub.AccessToken, Scopes: "item_preview"})
	if err != nil {
		t.Fatal(err)
	}
	wantDecision(t, "a child without a resource keeps its parent's", e.decide(t, onItem(inherit.AccessToken, "preview", "file:b")), 404, "not_found")
	wantDecision(t, "and works inside it", e.decide(t, onItem(inherit.AccessToken, "preview", "file:a")), 200, "")
	if _, err := e.tokens.Exchange(ctx, oauth.ExchangeRequest{SubjectToken: sub.AccessToken, Scopes: "item_upload"}); err == nil {
		t.Error("a downscoped token was exchanged for a scope beyond its own")
	}
}

// TestApplications: scopes cap tokens, enterprise authorization gates them,
// deleting or withdrawing ends them for good, As-User needs the app's
// permission.
func TestApplications(t *testing.T) {
	e := newTokenEnv(t, testenv.Memory)
	ctx := context.Background()
	tk := e.tokens
	if _, err := tk.CreateApp(ctx, "crm", []string{"root_readonly"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := tk.CreateApp(ctx, "crm", []string{"root_readonly"}, false); !errors.Is(err, oauth.ErrAppExists) {
		t.Errorf("creating crm twice: %v", err)
	}
	if _, err := tk.CreateApp(ctx, "bad", []string{"root_everything"}, false); err == nil {
		t.Error("an unknown scope was accepted for an app")
	}
	if _, err := tk.Issue(ctx, oauth.IssueRequest{User: "bob", Scopes: []string{"root_readonly"}, App: "crm"}); !errors.Is(err, oauth.ErrAppNotAuthorized) {
		t.Fatalf("issue before acme authorized crm: %v, want not authorized", err)
	}
	// An external user needs no enterprise's authorization.
	e.issue(t, "xavier", "crm", "root_readonly")
	if err := tk.AuthorizeApp(ctx, "crm", "acme"); err != nil {
		t.Fatal(err)
	}
	bob := e.issue(t, "bob", "crm", "root_readonly")
	var fe *checker.FieldError
	if _, err := tk.Issue(ctx, oauth.IssueRequest{User: "bob", Scopes: []string{"root_readwrite"}, App: "crm"}); !errors.As(err, &fe) || fe.Field != "scopes" {
		t.Errorf("a scope the app lacks: %v", err)
	}
	for _, bad := range []oauth.IssueRequest{
		{User: "nobody", Scopes: []string{"root_readonly"}},
		{User: "bob", Scopes: []string{"root_readonly"}, App: "nope"},
		{User: "bob", Scopes: []string{"rooot"}},
		{User: "bob"},
		{User: "", Scopes: []string{"root_readonly"}},
	} {
		if _, err := tk.Issue(ctx, bad); !errors.As(err, &fe) {
			t.Errorf("issue %+v: %v, want a field error", bad, err)
		}
	}
	wantDecision(t, "crm token", e.decide(t, onItem(bob.AccessToken, "preview", "file:a")), 200, "")

	// Changing scopes changes only later tokens.
	if _, err := tk.UpdateApp(ctx, "crm", []string{"root_readwrite"}, nil); err != nil {
		t.Fatal(err)
	}
	wantDecision(t, "old token keeps its scope", e.decide(t, onItem(bob.AccessToken, "edit", "file:a")), 403, "insufficient_scope")
	bob2 := e.issue(t, "bob", "crm", "root_readwrite")
	wantDecision(t, "new token", e.decide(t, onItem(bob2.AccessToken, "edit", "file:a")), 200, "")

	// As-User only for apps allowed to.
	alice := e.issue(t, "alice", "crm", "root_readwrite")
	asBob := onItem(alice.AccessToken, "preview", "file:a")
	asBob.AsUser = "bob"
	wantDecision(t, "As-User through an app without it", e.decide(t, asBob), 403, "access_denied_insufficient_permissions")
	yes := true
	if _, err := tk.UpdateApp(ctx, "crm", nil, &yes); err != nil {
		t.Fatal(err)
	}
	wantDecision(t, "As-User once the app may", e.decide(t, asBob), 200, "")

	// Withdrawing ends acme's tokens, not the external user's; authorizing
	// again does not bring them back.
	xav := e.issue(t, "xavier", "crm", "root_readwrite")
	if err := tk.WithdrawApp(ctx, "crm", "acme"); err != nil {
		t.Fatal(err)
	}
	wantDecision(t, "after withdrawal", e.decide(t, onItem(bob2.AccessToken, "preview", "file:a")), 401, "invalid_token")
	if _, err := tk.Refresh(ctx, bob2.RefreshToken); err == nil {
		t.Error("a refresh token of a withdrawn app refreshed")
	}
	wantDecision(t, "external user unaffected", e.decide(t, onItem(xav.AccessToken, "preview", "file:a")), 200, "")
	if err := tk.AuthorizeApp(ctx, "crm", "acme"); err != nil {
		t.Fatal(err)
	}
	wantDecision(t, "re-authorized: old token stays ended", e.decide(t, onItem(bob2.AccessToken, "preview", "file:a")), 401, "invalid_token")
	bob3 := e.issue(t, "bob", "crm", "root_readwrite")
	wantDecision(t, "re-authorized: new token", e.decide(t, onItem(bob3.AccessToken, "preview", "file:a")), 200, "")

	// Deleting ends every token; a new app with the same id starts afresh.
	if err := tk.DeleteApp(ctx, "crm"); err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"acme user": bob3.AccessToken, "external user": xav.AccessToken} {
		wantDecision(t, name+" after delete", e.decide(t, onItem(tok, "preview", "file:a")), 401, "invalid_token")
	}
	if _, err := tk.CreateApp(ctx, "crm", []string{"root_readonly"}, false); err != nil {
		t.Fatal(err)
	}
	if err := tk.AuthorizeApp(ctx, "crm", "acme"); err != nil {
		t.Fatal(err)
	}
	wantDecision(t, "recreated app: old token stays ended", e.decide(t, onItem(bob3.AccessToken, "preview", "file:a")), 401, "invalid_token")

	// The built-in app cannot be changed.
	if err := tk.DeleteApp(ctx, oauth.DefaultApp); !errors.Is(err, oauth.ErrBuiltinApp) {
		t.Errorf("deleting the default app: %v", err)
	}
}

// TestMe: GET /2.0/users/me's answer, with As-User.
func TestMe(t *testing.T) {
	e := newTokenEnv(t, testenv.Memory)
	ctx := context.Background()
	alice := e.issue(t, "alice", "", "root_readonly")
	u, d, err := e.authz.Me(ctx, alice.AccessToken, "")
	if err != nil || !d.Allowed || u != (oauth.UserInfo{Type: "user", ID: "alice", Enterprise: "acme", Role: "admin"}) {
		t.Errorf("me: %+v %+v %v", u, d, err)
	}
	u, d, err = e.authz.Me(ctx, alice.AccessToken, "bob")
	if err != nil || !d.Allowed || u != (oauth.UserInfo{Type: "user", ID: "bob", Enterprise: "acme", Role: "user"}) {
		t.Errorf("me as bob: %+v %+v %v", u, d, err)
	}
	if _, d, _ := e.authz.Me(ctx, alice.AccessToken, "eve"); d.Status != 403 {
		t.Errorf("me as a service account: %+v", d)
	}
	if _, d, _ := e.authz.Me(ctx, "bxat_x", ""); d.Status != 401 {
		t.Errorf("me with an unknown token: %+v", d)
	}
	xav := e.issue(t, "xavier", "", "root_readonly")
	if u, _, _ := e.authz.Me(ctx, xav.AccessToken, ""); u.Enterprise != "" || u.Role != "user" {
		t.Errorf("external user: %+v", u)
	}
}

// TestAuthorizeExplain: the answer names what allowed it or why not.
func TestAuthorizeExplain(t *testing.T) {
	e := newTokenEnv(t, testenv.Memory)
	ctx := context.Background()
	bob := e.issue(t, "bob", "", "root_readonly")
	xav := e.issue(t, "xavier", "", "root_readwrite")
	alice := e.issue(t, "alice", "", "root_readwrite", "enterprise_content")
	down, err := e.tokens.Exchange(ctx, oauth.ExchangeRequest{SubjectToken: bob.AccessToken, Scopes: "item_preview", Resource: "file:a"})
	if err != nil {
		t.Fatal(err)
	}
	explain := func(r oauth.AuthorizeRequest) *checker.Explanation {
		r.Explain = true
		d := e.decide(t, r)
		if d.Explanation == nil {
			t.Fatalf("no explanation for %+v", r)
		}
		return d.Explanation
	}
	for _, c := range []struct {
		name   string
		req    oauth.AuthorizeRequest
		reason string
		kind   string
	}{
		{"unknown token", onItem("bxat_x", "preview", "file:a"), oauth.ReasonInvalidToken, ""},
		{"missing scope", onItem(bob.AccessToken, "edit", "file:a"), oauth.ReasonMissingScope, ""},
		{"outside resource", onItem(down.AccessToken, "preview", "file:b"), oauth.ReasonOutsideResource, ""},
		{"no grant", onItem(xav.AccessToken, "preview", "file:junk"), checker.ReasonNoGrant, ""},
		{"trashed", onItem(bob.AccessToken, "preview", "file:junk"), checker.ReasonTrashed, ""},
		{"action not in role", onItem(xav.AccessToken, "download", "file:a"), checker.ReasonActionNotInRole, ""},
		{"collaboration", onItem(xav.AccessToken, "preview", "file:a"), "", "collaboration"},
		{"ownership", onItem(bob.AccessToken, "download", "file:a"), "", "ownership"},
		{"enterprise content", onItem(alice.AccessToken, "download", "file:a"), "", "enterprise_content"},
	} {
		ex := explain(c.req)
		if ex.Reason != c.reason {
			t.Errorf("%s: reason %q, want %q", c.name, ex.Reason, c.reason)
		}
		if c.kind != "" && (len(ex.Grants) == 0 || ex.Grants[0].Kind != c.kind) {
			t.Errorf("%s: grants %+v, want a %s first", c.name, ex.Grants, c.kind)
		}
	}
	asBob := onItem(alice.AccessToken, "download", "file:a")
	asBob.AsUser = "bob"
	ex := explain(asBob)
	if len(ex.Grants) < 2 || ex.Grants[0].Kind != "as_user" || ex.Grants[1].Kind != "ownership" {
		t.Errorf("As-User: grants %+v, want as_user then ownership", ex.Grants)
	}
	if col := explain(onItem(xav.AccessToken, "preview", "file:a")).Grants[0]; col.Collaboration != "c1" || col.Role != "previewer" || col.On != item("folder:docs") {
		t.Errorf("collaboration grant %+v, want c1 previewer on folder:docs", col)
	}
}

func TestMayDownscopeTo(t *testing.T) {
	ro := []oauth.Scope{oauth.ScopeRootReadonly}
	rw := []oauth.Scope{oauth.ScopeRootReadwrite}
	for _, s := range oauth.AllScopes() {
		wantRW := s.IsDownscope() || s == oauth.ScopeRootReadwrite
		if got := oauth.MayDownscopeTo(rw, s); got != wantRW {
			t.Errorf("root_readwrite to %s: %v, want %v", s, got, wantRW)
		}
		wantRO := slices.Contains([]oauth.Scope{"root_readonly", "item_preview", "item_download", "base_explorer", "base_preview", "base_picker"}, s)
		if got := oauth.MayDownscopeTo(ro, s); got != wantRO {
			t.Errorf("root_readonly to %s: %v, want %v", s, got, wantRO)
		}
	}
}

// TestExchangeInputStrict: a token exchange's scope and resource strings are
// read as strictly as events: a malformed one is refused naming it and what
// is allowed, and nothing is issued.
func TestExchangeInputStrict(t *testing.T) {
	e := newTokenEnv(t, testenv.Memory)
	ctx := context.Background()
	rw := e.issue(t, "bob", "", "root_readwrite").AccessToken
	for _, c := range []struct {
		name, scopes, resource string
		code                   string
		names                  []string // each in the error's description
	}{
		{"two spaces", "item_preview  item_download", "", "invalid_scope", []string{`"item_preview  item_download"`, "empty", "one space"}},
		{"leading space", " item_preview", "", "invalid_scope", []string{`" item_preview"`, "empty"}},
		{"trailing space", "item_preview ", "", "invalid_scope", []string{`"item_preview "`, "empty"}},
		{"tab", "item_preview\titem_download", "", "invalid_scope", []string{`"item_preview\titem_download"`, "one space"}},
		{"newline", "item_preview\nitem_download", "", "invalid_scope", []string{`"item_preview\nitem_download"`}},
		{"comma", "item_preview,item_download", "", "invalid_scope", []string{`"item_preview,item_download"`}},
		{"no scope", "", "", "invalid_request", []string{"scope", "required"}},
		{"empty id", "item_preview", "folder:", "invalid_request", []string{"resource", `"folder:"`, "empty id"}},
		{"bad id", "item_preview", "folder:a b", "invalid_request", []string{"resource", `"folder:a b"`}},
		{"root", "item_preview", "folder:0", "invalid_request", []string{"resource", "root"}},
		{"type case", "item_preview", "FOLDER:sub", "invalid_request", []string{"resource", `"FOLDER:sub"`, "folder", "file"}},
		{"no type", "item_preview", "sub", "invalid_request", []string{"resource", `"sub"`, "folder:<id>"}},
		{"URL with a query", "item_preview", "https://api.box.com/2.0/folders/sub?x=1", "invalid_request", []string{"resource", "/2.0/folders/<id>"}},
		{"URL without a scheme", "item_preview", "api.box.com/2.0/folders/sub", "invalid_request", []string{"resource", "/2.0/folders/<id>"}},
		{"URL without an id", "item_preview", "https://api.box.com/2.0/folders/", "invalid_request", []string{"resource"}},
		{"URL of a user", "item_preview", "https://api.box.com/2.0/users/1", "invalid_request", []string{"resource", "/2.0/files/<id>"}},
		{"path inside an id", "item_preview", "folder:x/2.0/files/a", "invalid_request", []string{"resource"}},
	} {
		_, err := e.tokens.Exchange(ctx, oauth.ExchangeRequest{SubjectToken: rw, Scopes: c.scopes, Resource: c.resource})
		var oe *oauth.Error
		if !errors.As(err, &oe) || oe.Code != c.code {
			t.Errorf("%s: got %v, want %s", c.name, err, c.code)
			continue
		}
		for _, n := range c.names {
			if !strings.Contains(oe.Description, n) {
				t.Errorf("%s: %q does not name %s", c.name, oe.Description, n)
			}
		}
	}
	for _, ok := range []struct{ scopes, resource string }{
		{"item_preview item_download", "folder:sub"},
		{"item_preview", "https://api.box.com/2.0/folders/sub"},
		{"item_preview", "https://api.box.com/2.0/files/a"},
	} {
		if _, err := e.tokens.Exchange(ctx, oauth.ExchangeRequest{SubjectToken: rw, Scopes: ok.scopes, Resource: ok.resource}); err != nil {
			t.Errorf("scope %q resource %q: %v", ok.scopes, ok.resource, err)
		}
	}
}

func wantOAuth(t *testing.T, what string, err error, code string) {
	t.Helper()
	var oe *oauth.Error
	if !errors.As(err, &oe) || oe.Code != code {
		t.Errorf("%s: %v, want %s", what, err, code)
	}
}

// clientSecrets reads an app's stored client secrets (subject ids).
func clientSecrets(t *testing.T, c *spicedb.Client, app string) []string {
	t.Helper()
	rels, _, err := spicedb.ReadAll(context.Background(), c, &v1.ReadRelationshipsRequest{
		Consistency:        &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
		RelationshipFilter: &v1.RelationshipFilter{ResourceType: "boxauthz_app", OptionalResourceIdPrefix: app + "|", OptionalRelation: "client_secret"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rels {
		out = append(out, r.GetSubject().GetObject().GetObjectId())
	}
	return out
}

// TestClientAuthentication: an application's client secret is shown once
// and stored hashed; refresh, exchange and revoke of its tokens need its
// client's credentials (docs/model.md §6), a token works for no other client,
// failing ends nothing, and rotation replaces the secret. The default
// application needs no client authentication.
func TestClientAuthentication(t *testing.T) {
	for _, ds := range testenv.Datastores() {
		t.Run(string(ds), func(t *testing.T) {
			e := newTokenEnv(t, ds)
			ctx := context.Background()
			tk := e.tokens
			crm, err := tk.CreateApp(ctx, "crm", []string{"root_readwrite"}, false)
			if err != nil {
				t.Fatal(err)
			}
			if crm.ClientID != "crm" || !strings.HasPrefix(crm.ClientSecret, "bxcs_") || len(crm.ClientSecret) < 5+43 {
				t.Fatalf("created app %+v: want client_id crm and a bxcs_ secret of 256 bits", crm)
			}
			sum := sha256.Sum256([]byte(crm.ClientSecret))
			if got := clientSecrets(t, e.client, "crm"); len(got) != 1 || got[0] != hex.EncodeToString(sum[:]) {
				t.Fatalf("stored client secrets %v, want only the SHA-256 of the secret", got)
			}
			if a, err := tk.App(ctx, "crm"); err != nil || a.ClientSecret != "" || a.ClientID != "crm" {
				t.Errorf("reading the app back: %+v %v, want its client id and no secret", a, err)
			}
			hr, err := tk.CreateApp(ctx, "hr", []string{"root_readwrite"}, false)
			if err != nil {
				t.Fatal(err)
			}
			for _, app := range []string{"crm", "hr"} {
				if err := tk.AuthorizeApp(ctx, app, "acme"); err != nil {
					t.Fatal(err)
				}
			}
			crmClient := oauth.ClientCredentials{ID: "crm", Secret: crm.ClientSecret}
			hrClient := oauth.ClientCredentials{ID: "hr", Secret: hr.ClientSecret}
			p := e.issue(t, "bob", "crm", "root_readwrite")
			bad := map[string]oauth.ClientCredentials{
				"no client":          {},
				"no secret":          {ID: "crm"},
				"wrong secret":       {ID: "crm", Secret: hr.ClientSecret},
				"unknown client":     {ID: "nope", Secret: crm.ClientSecret},
				"the default client": {ID: oauth.DefaultApp},
				"another app":        hrClient,
			}
			for name, c := range bad {
				_, err := tk.RefreshAs(ctx, c, p.RefreshToken)
				wantOAuth(t, "refresh, "+name, err, "invalid_client")
				_, err = tk.Exchange(ctx, oauth.ExchangeRequest{Client: c, SubjectToken: p.AccessToken, Scopes: "item_preview"})
				wantOAuth(t, "exchange, "+name, err, "invalid_client")
				wantOAuth(t, "revoke, "+name, tk.RevokeAs(ctx, c, p.AccessToken), "invalid_client")
			}
			// Nothing above ended the pair: the refresh token is unspent,
			// its family alive.
			wantDecision(t, "the pair after refused clients", e.decide(t, onItem(p.AccessToken, "preview", "file:a")), 200, "")
			p2, err := tk.RefreshAs(ctx, crmClient, p.RefreshToken)
			if err != nil {
				t.Fatalf("refresh by the token's own client: %v", err)
			}
			if _, err := tk.Exchange(ctx, oauth.ExchangeRequest{Client: crmClient, SubjectToken: p2.AccessToken, Scopes: "item_preview"}); err != nil {
				t.Errorf("exchange by the token's own client: %v", err)
			}
			// Authentication comes first: bad credentials fail even with a
			// token that does not exist.
			wantOAuth(t, "revoking an unknown token with a wrong secret", tk.RevokeAs(ctx, bad["wrong secret"], "bxat_unknown"), "invalid_client")
			if err := tk.RevokeAs(ctx, crmClient, "bxat_unknown"); err != nil {
				t.Errorf("revoking an unknown token as a valid client: %v, want none (RFC 7009)", err)
			}

			// Default-app tokens: no client authentication, and no app's
			// client may use them.
			d := e.issue(t, "bob", "", "root_readwrite")
			_, err = tk.RefreshAs(ctx, crmClient, d.RefreshToken)
			wantOAuth(t, "a default token refreshed by crm's client", err, "invalid_client")
			d2, err := tk.RefreshAs(ctx, oauth.ClientCredentials{ID: oauth.DefaultApp}, d.RefreshToken)
			if err != nil {
				t.Fatalf("a default token refreshed as client default: %v", err)
			}
			if _, err := tk.Refresh(ctx, d2.RefreshToken); err != nil {
				t.Errorf("a default token refreshed with no client: %v", err)
			}
			_, err = tk.RefreshAs(ctx, oauth.ClientCredentials{ID: oauth.DefaultApp, Secret: "x"}, d2.RefreshToken)
			wantOAuth(t, "the default client with a secret", err, "invalid_client")

			// Rotation: the old secret fails, the new one works, one is stored.
			if _, err := tk.RotateClientSecret(ctx, oauth.DefaultApp); !errors.Is(err, oauth.ErrBuiltinApp) {
				t.Errorf("rotating the default app's secret: %v", err)
			}
			if _, err := tk.RotateClientSecret(ctx, "nope"); !errors.Is(err, oauth.ErrAppNotFound) {
				t.Errorf("rotating an unknown app's secret: %v", err)
			}
			var (
				wg      gosync.WaitGroup
				mu      gosync.Mutex
				rotated = map[string]bool{}
			)
			for range 4 {
				wg.Go(func() {
					a, err := tk.RotateClientSecret(ctx, "crm")
					if err != nil {
						t.Errorf("rotating crm's secret: %v", err)
						return
					}
					mu.Lock()
					defer mu.Unlock()
					rotated[a.ClientSecret] = true
				})
			}
			wg.Wait()
			stored := clientSecrets(t, e.client, "crm")
			if len(stored) != 1 {
				t.Fatalf("after 4 concurrent rotations %d secrets are stored, want 1", len(stored))
			}
			var current string
			for s := range rotated {
				if sum := sha256.Sum256([]byte(s)); hex.EncodeToString(sum[:]) == stored[0] {
					current = s
				}
			}
			if current == "" || len(rotated) != 4 {
				t.Fatalf("the stored secret is none of the %d rotated ones", len(rotated))
			}
			_, err = tk.RefreshAs(ctx, crmClient, p2.RefreshToken)
			wantOAuth(t, "refresh with the secret rotated away", err, "invalid_client")
			if _, err := tk.RefreshAs(ctx, oauth.ClientCredentials{ID: "crm", Secret: current}, p2.RefreshToken); err != nil {
				t.Errorf("refresh with the new secret: %v", err)
			}
		})
	}
}
