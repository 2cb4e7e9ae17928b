package oauth_test

import (
	"context"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/checker/oauth"
	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/schema"
)

// replicaOf is a second boxauthz replica in front of e's SpiceDB: its own
// token storage and caches, and no revocation watch yet.
func replicaOf(t testing.TB, e *tokenEnv) *tokenEnv {
	t.Helper()
	ch, err := checker.New(e.client)
	if err != nil {
		t.Fatal(err)
	}
	r := &tokenEnv{client: e.client, tokens: oauth.NewTokens(e.client, oauth.WithLogger(quietLogger())), now: e.now}
	r.authz = oauth.NewAuthorizer(ch, r.tokens)
	return r
}

// watchWith runs r's revocation watch through w until the returned stop is
// called, once the watch is following SpiceDB.
func watchWith(t testing.TB, r *tokenEnv, w oauth.RevocationWatcher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.tokens.WatchRevocations(ctx, w, spicedb.MemoryRevision) }()
	for deadline := time.Now().Add(10 * time.Second); !oauth.Watching(r.tokens); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("the revocation watch did not start in 10 s")
		}
	}
	return func() { cancel(); <-done }
}

// rel is the relationship resType:resID#relation@subType:subID.
func rel(resType, resID, relation, subType, subID string) *v1.Relationship {
	return &v1.Relationship{
		Resource: &v1.ObjectReference{ObjectType: resType, ObjectId: resID}, Relation: relation,
		Subject: &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: subType, ObjectId: subID}},
	}
}

// writeRels writes rels straight to SpiceDB, as something other than
// boxauthz would.
func writeRels(t *testing.T, c *spicedb.Client, op v1.RelationshipUpdate_Operation, rels ...*v1.Relationship) {
	t.Helper()
	var ups []*v1.RelationshipUpdate
	for _, r := range rels {
		ups = append(ups, &v1.RelationshipUpdate{Operation: op, Relationship: r})
	}
	if _, err := c.WriteRelationships(context.Background(), &v1.WriteRelationshipsRequest{Updates: ups}); err != nil {
		t.Fatal(err)
	}
}

// TestRevocationWatchAcrossReplicas: replica b vouches for tokens through
// its revocation watch, so its decisions leave the validity question out;
// every way of ending a token on replica a is still refused by b's very next
// decision, while other writes keep SpiceDB's revisions moving.
func TestRevocationWatchAcrossReplicas(t *testing.T) {
	// No reuse leeway: a spent refresh token presented again at once ends
	// its family rather than being taken for a retry.
	a := newTokenEnv(t, testenv.Memory, oauth.WithLogger(quietLogger()), oauth.WithRefreshReuseLeeway(0))
	b := replicaOf(t, a)
	defer watchWith(t, b, a.client)()
	ctx, cancel := context.WithCancel(context.Background())
	var wg gosync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	wg.Go(func() { churnTokens(ctx, a, b) })
	crm, err := a.tokens.CreateApp(ctx, "crm", []string{"root_readwrite"}, false)
	if err != nil {
		t.Fatal(err)
	}
	ends := []struct {
		name string
		app  bool
		end  func(p, r oauth.Issued) error
	}{
		{"revoke the access token", false, func(_, r oauth.Issued) error { return a.tokens.Revoke(ctx, r.AccessToken) }},
		{"revoke the refresh token", false, func(_, r oauth.Issued) error { return a.tokens.Revoke(ctx, r.RefreshToken) }},
		{"present a spent refresh token", false, func(p, _ oauth.Issued) error {
			if _, err := a.tokens.Refresh(ctx, p.RefreshToken); err == nil {
				t.Error("a spent refresh token refreshed")
			}
			return nil
		}},
		{"withdraw the app", true, func(_, _ oauth.Issued) error { return a.tokens.WithdrawApp(ctx, "crm", "acme") }},
		{"delete the app", true, func(_, _ oauth.Issued) error {
			if err := a.tokens.DeleteApp(ctx, "crm"); err != nil {
				return err
			}
			crm, err = a.tokens.CreateApp(ctx, "crm", []string{"root_readwrite"}, false)
			return err
		}},
	}
	rounds := 8
	if testing.Short() {
		rounds = 2
	}
	for i := range rounds {
		for _, k := range ends {
			app := ""
			if k.app {
				app = "crm"
				if err := a.tokens.AuthorizeApp(ctx, "crm", "acme"); err != nil {
					t.Fatal(err)
				}
			}
			p := a.issue(t, "bob", app, "root_readwrite")
			var client oauth.ClientCredentials
			if k.app {
				client = oauth.ClientCredentials{ID: "crm", Secret: crm.ClientSecret}
			}
			r, err := a.tokens.RefreshAs(ctx, client, p.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			down, err := a.tokens.Exchange(ctx, oauth.ExchangeRequest{Client: client, SubjectToken: r.AccessToken, Scopes: "item_preview"})
			if err != nil {
				t.Fatal(err)
			}
			for _, tok := range []string{r.AccessToken, down.AccessToken} {
				wantDecision(t, k.name+": first use", b.decide(t, onItem(tok, "preview", "file:a")), 200, "")
				if !oauth.Vouched(b.tokens, tok) {
					t.Fatalf("round %d, %s: b's watch does not vouch for a token it found valid", i, k.name)
				}
				wantDecision(t, k.name+": vouched for", b.decide(t, onItem(tok, "preview", "file:a")), 200, "")
			}
			if err := k.end(p, r); err != nil {
				t.Fatalf("round %d, %s: %v", i, k.name, err)
			}
			for _, tok := range []string{r.AccessToken, down.AccessToken} {
				wantDecision(t, k.name+": after", b.decide(t, onItem(tok, "preview", "file:a")), 401, "invalid_token")
			}
		}
	}
	// Every first use was asked; the watch confirmed the second uses, but
	// for any whose wait for the watch ran out on a loaded machine.
	seconds := uint64(rounds * len(ends) * 2)
	if s := b.tokens.ValidityStats(); s.Watched < seconds/2 || s.Asked < seconds {
		t.Errorf("validity stats %+v: want at least %d confirmed by the watch and %d asked", s, seconds/2, seconds)
	}
}

// TestRevocationWatchDown: while the watch is down nothing is vouched for
// and decisions ask SpiceDB, revocations included; back up, it vouches again.
func TestRevocationWatchDown(t *testing.T) {
	a := newTokenEnv(t, testenv.Memory)
	b := replicaOf(t, a)
	stop := watchWith(t, b, a.client)
	p := a.issue(t, "bob", "", "root_readwrite")
	wantDecision(t, "watched", b.decide(t, onItem(p.AccessToken, "preview", "file:a")), 200, "")
	if !oauth.Vouched(b.tokens, p.AccessToken) {
		t.Fatal("not vouched for after a use")
	}
	stop()
	if oauth.Vouched(b.tokens, p.AccessToken) || oauth.Watching(b.tokens) {
		t.Fatal("vouched for with the watch down")
	}
	wantDecision(t, "watch down", b.decide(t, onItem(p.AccessToken, "preview", "file:a")), 200, "")
	if oauth.Vouched(b.tokens, p.AccessToken) {
		t.Fatal("remembered with the watch down")
	}
	if err := a.tokens.Revoke(context.Background(), p.RefreshToken); err != nil {
		t.Fatal(err)
	}
	wantDecision(t, "revoked, watch down", b.decide(t, onItem(p.AccessToken, "preview", "file:a")), 401, "invalid_token")
	defer watchWith(t, b, a.client)()
	q := a.issue(t, "bob", "", "root_readwrite")
	wantDecision(t, "watched again", b.decide(t, onItem(q.AccessToken, "preview", "file:a")), 200, "")
	if !oauth.Vouched(b.tokens, q.AccessToken) {
		t.Fatal("not vouched for once the watch is back")
	}
	wantDecision(t, "revoked, watch back", b.decide(t, onItem(p.AccessToken, "preview", "file:a")), 401, "invalid_token")
}

// slowWatcher delivers SpiceDB's watch messages late, as a loaded replica
// would see them.
type slowWatcher struct {
	oauth.RevocationWatcher
	delay time.Duration
}

func (w slowWatcher) Watch(ctx context.Context, in *v1.WatchRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[v1.WatchResponse], error) {
	s, err := w.RevocationWatcher.Watch(ctx, in, opts...)
	return slowStream{s, w.delay}, err
}

type slowStream struct {
	grpc.ServerStreamingClient[v1.WatchResponse]
	delay time.Duration
}

func (s slowStream) Recv() (*v1.WatchResponse, error) {
	m, err := s.ServerStreamingClient.Recv()
	time.Sleep(s.delay)
	return m, err
}

// TestRevocationWatchLagging: a decision trusts the watch only once it has
// caught up with the decision's revision. With the watch's messages late
// (shorter than a decision waits for it, and longer), a token revoked on
// another replica is refused by the next decision all the same.
func TestRevocationWatchLagging(t *testing.T) {
	for _, delay := range []time.Duration{5 * time.Millisecond, 60 * time.Millisecond} {
		t.Run(delay.String(), func(t *testing.T) {
			a := newTokenEnv(t, testenv.Memory)
			b := replicaOf(t, a)
			defer watchWith(t, b, slowWatcher{a.client, delay})()
			for i := range 5 {
				p := a.issue(t, "bob", "", "root_readwrite")
				wantDecision(t, "fresh", b.decide(t, onItem(p.AccessToken, "preview", "file:a")), 200, "")
				time.Sleep(3 * delay) // let the watch catch up with the issue
				if !oauth.Vouched(b.tokens, p.AccessToken) {
					t.Fatalf("round %d: not vouched for", i)
				}
				if err := a.tokens.Revoke(context.Background(), p.AccessToken); err != nil {
					t.Fatal(err)
				}
				wantDecision(t, "revoked", b.decide(t, onItem(p.AccessToken, "preview", "file:a")), 401, "invalid_token")
			}
		})
	}
}

// frozenWatcher's first watches start and then deliver nothing, as a stuck
// stream would; later ones are SpiceDB's own.
type frozenWatcher struct {
	oauth.RevocationWatcher
	frozen int32
	calls  *atomic.Int32
}

func (w frozenWatcher) Watch(ctx context.Context, in *v1.WatchRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[v1.WatchResponse], error) {
	s, err := w.RevocationWatcher.Watch(ctx, in, opts...)
	if w.calls.Add(1) > w.frozen || err != nil {
		return s, err
	}
	return frozenStream{s, ctx}, nil
}

type frozenStream struct {
	grpc.ServerStreamingClient[v1.WatchResponse]
	ctx context.Context
}

func (s frozenStream) Recv() (*v1.WatchResponse, error) {
	<-s.ctx.Done()
	return nil, s.ctx.Err()
}

// TestRevocationWatchStalled: a watch that neither delivers nor fails. The
// first decision that waits for it in vain asks SpiceDB; the next ones do
// not wait at all; and the watch is restarted, after which tokens are
// vouched for again.
func TestRevocationWatchStalled(t *testing.T) {
	a := newTokenEnv(t, testenv.Memory)
	b := replicaOf(t, a)
	oauth.SetWatchStallLimit(b.tokens, 300*time.Millisecond)
	calls := &atomic.Int32{}
	defer watchWith(t, b, frozenWatcher{a.client, 1, calls})()
	p := a.issue(t, "bob", "", "root_readwrite")
	// Found valid at a revision the watch began before: remembered.
	wantDecision(t, "fresh", b.decide(t, onItem(p.AccessToken, "preview", "file:a")), 200, "")
	if !oauth.Vouched(b.tokens, p.AccessToken) {
		t.Fatal("not vouched for after SpiceDB found it valid")
	}
	a.issue(t, "alice", "", "root_readwrite") // moves SpiceDB past what the frozen watch shows
	wantDecision(t, "with the watch stuck", b.decide(t, onItem(p.AccessToken, "preview", "file:a")), 200, "")
	if s := b.tokens.ValidityStats(); s.Late != 1 {
		t.Fatalf("stats %+v, want one decision late", s)
	}
	if err := a.tokens.Revoke(context.Background(), p.AccessToken); err != nil {
		t.Fatal(err)
	}
	// Still remembered (the stuck watch never showed the revocation), but
	// the watch is behind: the decision asks SpiceDB at once, no wait.
	wantDecision(t, "revoked with the watch stuck", b.decide(t, onItem(p.AccessToken, "preview", "file:a")), 401, "invalid_token")
	if s := b.tokens.ValidityStats(); s.Late != 1 {
		t.Errorf("stats %+v: a decision waited for a watch known to be behind", s)
	}
	q := a.issue(t, "bob", "", "root_readwrite")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		wantDecision(t, "after the restart", b.decide(t, onItem(q.AccessToken, "preview", "file:a")), 200, "")
		if calls.Load() >= 2 && oauth.Vouched(b.tokens, q.AccessToken) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stalled watch was not restarted and vouching again in 10 s (%d watches)", calls.Load())
		}
	}
}

// TestReplicaStartKeepsVouching: a replica starting touches the built-in
// application, which SpiceDB's in-memory store does not show as a change,
// so the start does not make the watch of a running replica forget every
// token of that application.
func TestReplicaStartKeepsVouching(t *testing.T) {
	a := newTokenEnv(t, testenv.Memory)
	oauth.SetFenceWait(a.tokens, 10*time.Second) // the watch confirms, however loaded the machine
	p := a.issue(t, "bob", "", "root_readwrite")
	wantDecision(t, "first", a.decide(t, onItem(p.AccessToken, "preview", "file:a")), 200, "")
	before := a.tokens.ValidityStats()
	if err := replicaOf(t, a).tokens.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.issue(t, "alice", "", "root_readwrite") // the watch must show what came before
	wantDecision(t, "after another replica started", a.decide(t, onItem(p.AccessToken, "preview", "file:a")), 200, "")
	if s := a.tokens.ValidityStats(); s.Watched != before.Watched+1 || s.Asked != before.Asked {
		t.Errorf("stats %+v after %+v: want the decision vouched for by the watch", s, before)
	}
}

// TestIrregularTokenNotVouched: a token whose relationships boxauthz did
// not write as it does (here a second grant, written straight to SpiceDB)
// may be valid through objects its description does not name, so the watch
// does not vouch for it; it is asked of SpiceDB on every use.
func TestIrregularTokenNotVouched(t *testing.T) {
	a := newTokenEnv(t, testenv.Memory)
	b := replicaOf(t, a) // reads the token from SpiceDB, not from its issue
	defer watchWith(t, b, a.client)()
	p := a.issue(t, "bob", "", "root_readwrite")
	extra := rel("boxauthz_access_token", oauth.TokenID(p.AccessToken), "grant", "boxauthz_app_grant", "other|g|e|n")
	extra.OptionalExpiresAt = timestamppb.New(time.Now().Add(time.Hour))
	writeRels(t, a.client, v1.RelationshipUpdate_OPERATION_TOUCH, extra)
	q := a.issue(t, "bob", "", "root_readwrite")
	for _, step := range []string{"first use", "second use"} {
		wantDecision(t, step, b.decide(t, onItem(p.AccessToken, "preview", "file:a")), 200, "")
		wantDecision(t, step, b.decide(t, onItem(q.AccessToken, "preview", "file:a")), 200, "")
	}
	if oauth.Vouched(b.tokens, p.AccessToken) {
		t.Error("a token with two grants is vouched for")
	}
	if !oauth.Vouched(b.tokens, q.AccessToken) {
		t.Error("a regular token used twice is not vouched for")
	}
}

// TestFamilyFlagOutlivesItsTokens: a token also ends when its refresh
// family's flag expires, and replicas may set that flag with different
// lifetimes (at issue, and again at every refresh). The flag is kept at
// or past every token of the family, so each token lives exactly to its own
// expiry, on a replica with the revocation watch and on one without, on
// both datastores. (SpiceDB's own expiry of the flag is not exact on
// either, so the test also reads the stored expiries.)
func TestFamilyFlagOutlivesItsTokens(t *testing.T) {
	for _, ds := range testenv.Datastores() {
		t.Run(string(ds), func(t *testing.T) { familyFlagOutlivesItsTokens(t, ds) })
	}
}

func familyFlagOutlivesItsTokens(t *testing.T, ds testenv.Datastore) {
	a := newTokenEnv(t, ds)
	b := replicaOf(t, a)
	if ds == testenv.Memory {
		defer watchWith(t, b, a.client)()
	}
	c := replicaOf(t, a) // no watch
	ctx := context.Background()
	short := oauth.NewTokens(a.client, oauth.WithAccessTTL(2*time.Second), oauth.WithRefreshTTL(500*time.Millisecond), oauth.WithLogger(quietLogger()))
	use := func(name, token string, status int) {
		t.Helper()
		for _, r := range []*tokenEnv{b, c, b} { // b twice: the second use is vouched for
			wantDecision(t, name, r.decide(t, onItem(token, "preview", "file:a")), status, map[int]string{200: "", 401: "invalid_token"}[status])
		}
	}
	// Issued where refresh tokens live 0.5 s and access tokens 2 s.
	issued, err := short.Issue(ctx, oauth.IssueRequest{User: "bob", Scopes: []string{"root_readwrite"}})
	if err != nil {
		t.Fatal(err)
	}
	// Issued with the defaults (60 minutes), then refreshed where refresh
	// tokens live 0.5 s.
	p := a.issue(t, "bob", "", "root_readwrite")
	use("default token", p.AccessToken, 200)
	refreshed, err := short.Refresh(ctx, p.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{issued.AccessToken, refreshed.AccessToken, p.AccessToken} {
		use("fresh", tok, 200)
		// SpiceDB's own expiry of the flag is not exact (nor is it of any
		// relationship: boxauthz enforces expiry itself), so look at it.
		if tokenExp, familyExp := expiries(t, a.client, tok); familyExp.Before(tokenExp) {
			t.Errorf("the family flag expires at %s, before its token (%s)", familyExp, tokenExp)
		}
	}
	time.Sleep(time.Second) // past the refresh lifetime, not the access one
	for _, tok := range []string{issued.AccessToken, refreshed.AccessToken, p.AccessToken} {
		use("past the refresh lifetime", tok, 200)
	}
	time.Sleep(1300 * time.Millisecond) // past the 2 s access lifetime
	for _, tok := range []string{issued.AccessToken, refreshed.AccessToken} {
		use("expired", tok, 401)
	}
	use("the default token, still within its 60 minutes", p.AccessToken, 200)
}

// expiries reads when an access token's flag and its family's expire.
func expiries(t *testing.T, c *spicedb.Client, token string) (tokenExp, familyExp time.Time) {
	t.Helper()
	read := func(typ, id string) []*v1.Relationship {
		rels, _, err := spicedb.ReadAll(context.Background(), c, &v1.ReadRelationshipsRequest{
			Consistency:        &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
			RelationshipFilter: &v1.RelationshipFilter{ResourceType: typ, OptionalResourceId: id},
		})
		if err != nil {
			t.Fatal(err)
		}
		return rels
	}
	family := ""
	for _, r := range read("boxauthz_access_token", oauth.TokenID(token)) {
		switch r.GetRelation() {
		case "alive":
			tokenExp = r.GetOptionalExpiresAt().AsTime()
		case "family":
			family = r.GetSubject().GetObject().GetObjectId()
		}
	}
	for _, r := range read("boxauthz_token_family", family) {
		if r.GetRelation() == "alive" {
			familyExp = r.GetOptionalExpiresAt().AsTime()
		}
	}
	if tokenExp.IsZero() || familyExp.IsZero() {
		t.Fatalf("no expiry read: token %s, family %s", tokenExp, familyExp)
	}
	return tokenExp, familyExp
}

// TestTokenValidityIsMonotone: the revocation watch forgets a token on a
// change to what it depends on, and otherwise trusts that nothing written
// elsewhere ends it: the token permissions must use no exclusion.
func TestTokenValidityIsMonotone(t *testing.T) {
	for _, def := range strings.Split(schema.Text(), "\ndefinition ")[1:] {
		name, _, _ := strings.Cut(def, " ")
		if !strings.HasPrefix(name, "boxauthz_") {
			continue
		}
		for _, line := range strings.Split(def, "\n") {
			if l := strings.TrimSpace(line); strings.HasPrefix(l, "permission ") && strings.Contains(l, " - ") {
				t.Errorf("%s: %q excludes: a write could end a token the watch vouches for", name, l)
			}
		}
	}
}

// TestRevocationWatchSchemaChange: writing the schema forgets every token
// and the watch starts again from the new one. A schema that changes
// boxauthz's token definitions can make validity depend on objects the
// watch does not follow (here an exclusion through a kill switch): under
// it nothing is vouched for, so turning the flag on ends the token at
// once; with boxauthz's definitions back, tokens are vouched for again.
func TestRevocationWatchSchemaChange(t *testing.T) {
	ctx := context.Background()
	a := newTokenEnv(t, testenv.Memory)
	p := a.issue(t, "bob", "", "root_readwrite")
	use := func(step string, status int, code string) {
		t.Helper()
		wantDecision(t, step, a.decide(t, onItem(p.AccessToken, "preview", "file:a")), status, code)
	}
	writeSchema := func(text string) {
		t.Helper()
		if _, err := a.client.WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: text}); err != nil {
			t.Fatal(err)
		}
	}
	eventually := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("not %s within 5 s", what)
			}
		}
	}
	vouchedAfterUse := func() bool {
		use("use", 200, "")
		return oauth.Vouched(a.tokens, p.AccessToken)
	}
	use("first use", 200, "")
	if !oauth.Vouched(a.tokens, p.AccessToken) {
		t.Fatal("not vouched for after a use")
	}
	restarted := func(what string) {
		t.Helper()
		n := oauth.WatchesStarted(a.tokens)
		eventually(what, func() bool { return oauth.WatchesStarted(a.tokens) > n })
	}
	writeSchema(schema.Text())
	restarted("watch restarted after a schema write")
	if oauth.Vouched(a.tokens, p.AccessToken) {
		t.Fatal("still vouched for after a schema write")
	}
	eventually("vouched for again under the same schema", vouchedAfterUse)

	killable := strings.Replace(strings.Replace(schema.Text(),
		"\trelation refresh: boxauthz_refresh_token with expiration\n",
		"\trelation refresh: boxauthz_refresh_token with expiration\n\trelation kill: boxauthz_killswitch\n", 1),
		"permission valid = alive & family->alive & grant->live & session->live & (root + parent->valid)",
		"permission valid = (alive & family->alive & grant->live & session->live & (root + parent->valid)) - kill->engaged", 1) +
		"\ndefinition boxauthz_killswitch {\n\trelation engaged: boxauthz_flag\n}\n"
	if killable == schema.Text()+"\ndefinition boxauthz_killswitch {\n\trelation engaged: boxauthz_flag\n}\n" {
		t.Fatal("the token definition to change was not found in the schema")
	}
	writeSchema(killable)
	restarted("watch restarted under a changed token definition")
	kill := rel("boxauthz_access_token", oauth.TokenID(p.AccessToken), "kill", "boxauthz_killswitch", "k")
	on := rel("boxauthz_killswitch", "k", "engaged", "boxauthz_flag", "on")
	writeRels(t, a.client, v1.RelationshipUpdate_OPERATION_TOUCH, kill)
	use("with its kill switch off", 200, "")
	if oauth.Vouched(a.tokens, p.AccessToken) {
		t.Fatal("vouched for under a schema that changes boxauthz's token definitions")
	}
	writeRels(t, a.client, v1.RelationshipUpdate_OPERATION_TOUCH, on) // a change on an object the watch does not follow
	use("with its kill switch on", 401, "invalid_token")

	writeRels(t, a.client, v1.RelationshipUpdate_OPERATION_DELETE, kill, on)
	writeSchema(schema.Text())
	restarted("watch restarted with boxauthz's definitions back")
	eventually("vouching again with boxauthz's definitions back", vouchedAfterUse)
}
