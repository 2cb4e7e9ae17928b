package integration_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
	"google.golang.org/grpc/status"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/checker/oauth"
	"github.com/boxauthz/boxauthz/integration"
	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/testkit/eventgen"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/internal/tools/images"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/event"
)

// The tests here take SpiceDB's parts away under load and require boxauthz
// to carry on once they are back, with nothing lost and no wrong answer:
// SpiceDB restarted in the middle of an event stream, PostgreSQL restarted
// under checks, and one of two SpiceDB nodes killed under checks.

// TestSpiceDBRestartMidStream stops the SpiceDB container (on PostgreSQL) in
// the middle of a stream of event batches and starts it again. The applier
// sees errors while it is down and goes on, retrying the failed batch, once
// it is back, through the same client; the result must equal the same
// stream applied without interruption to a fresh in-memory SpiceDB, and
// every event must be recorded as applied.
func TestSpiceDBRestartMidStream(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	needDocker(t)
	started := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// The host network keeps SpiceDB's port across the restart, so the
	// client dialed before it reaches it after.
	c := run(t, integration.WithPostgres(freshDatabase(t, dsn)), integration.WithHostNetwork(), integration.WithPresharedKey("restart-key"))
	if _, err := c.WriteSchema(ctx); err != nil {
		t.Fatalf("writing schema: %v", err)
	}
	client, err := c.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}

	const seed, n, batchSize = 20261129, 3000, 50
	evs, err := event.DecodeEvents(bytes.Join(eventgen.New(seed).Stream(n), []byte("\n")), true)
	if err != nil {
		t.Fatal(err)
	}
	var batches [][]event.Event
	for i := 0; i < len(evs); i += batchSize {
		batches = append(batches, evs[i:min(i+batchSize, len(evs))])
	}
	// One clock for both runs, so that an expiry decision cannot fall
	// between them.
	now := time.Now()
	clock := func() time.Time { return now }

	var (
		done     atomic.Int64 // batches applied
		failures atomic.Int64 // failed attempts
		firstErr atomic.Value
	)
	streamDone := make(chan error, 1)
	go func() {
		applier := sync.NewApplier(client, sync.WithClock(clock), sync.WithLogger(discardLogger()))
		for i, b := range batches {
			wait := 50 * time.Millisecond
			for {
				_, err := applier.Apply(ctx, b)
				if err == nil {
					break
				}
				var evErr *event.Error
				if errors.As(err, &evErr) || ctx.Err() != nil {
					streamDone <- fmt.Errorf("batch %d: %w", i, err)
					return
				}
				failures.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
				select {
				case <-ctx.Done():
					streamDone <- fmt.Errorf("batch %d: %w (last: %w)", i, ctx.Err(), err)
					return
				case <-time.After(wait):
				}
				wait = min(2*wait, time.Second)
			}
			done.Add(1)
		}
		streamDone <- nil
	}()

	// Stop SpiceDB a third of the way in, while batches are being written.
	if err := waitFor(ctx, func() bool { return done.Load() >= int64(len(batches)/3) }); err != nil {
		t.Fatalf("waiting for a third of the stream: %v", err)
	}
	stopTimeout := 5 * time.Second
	if err := c.Stop(ctx, &stopTimeout); err != nil {
		t.Fatalf("stopping spicedb: %v", err)
	}
	// Counted once SpiceDB is down: while it shuts down gracefully it may
	// still answer the batches in flight.
	stopAt := done.Load()
	t.Logf("spicedb stopped after %d of %d batches", stopAt, len(batches))
	if err := waitFor(ctx, func() bool { return failures.Load() > 0 }); err != nil {
		t.Fatalf("the applier saw no error while spicedb was stopped: %v", err)
	}
	// One batch may have been answered just before SpiceDB went down and
	// counted just after.
	if got := done.Load(); got > stopAt+1 {
		t.Fatalf("%d batches applied while spicedb was stopped", got-stopAt)
	}
	restart := time.Now()
	if err := c.Start(ctx); err != nil { // waits for the gRPC health check
		t.Fatalf("starting spicedb again: %v", err)
	}
	t.Logf("spicedb healthy again in %s; the applier had failed %d times (first: %v)", time.Since(restart).Round(time.Millisecond), failures.Load(), firstErr.Load())
	if err := <-streamDone; err != nil {
		t.Fatalf("event stream: %v", err)
	}
	if done.Load() != int64(len(batches)) {
		t.Fatalf("%d of %d batches applied", done.Load(), len(batches))
	}

	// The same stream, in the same batches, uninterrupted.
	ref := testenv.SpiceDB(t, testenv.Memory)
	refApplier := sync.NewApplier(ref, sync.WithClock(clock), sync.WithLogger(discardLogger()))
	for i, b := range batches {
		if _, err := refApplier.Apply(ctx, b); err != nil {
			t.Fatalf("reference batch %d: %v", i, err)
		}
	}
	got, want := exportModel(ctx, t, client), exportModel(ctx, t, ref)
	if len(want) == 0 {
		t.Fatal("the reference run holds no relationships: the comparison proves nothing")
	}
	if d := firstDifference(got, want); d != "" {
		t.Fatalf("after a restart mid-stream spicedb holds %d model relationships, an uninterrupted run %d; first difference: %s", len(got), len(want), d)
	}
	// Every event is recorded as applied: the whole stream again is all
	// duplicates.
	res, err := sync.NewApplier(client, sync.WithClock(clock), sync.WithLogger(discardLogger())).Apply(ctx, evs)
	if err != nil {
		t.Fatalf("applying the stream again: %v", err)
	}
	if res.Applied != 0 || res.Duplicates != len(evs) {
		t.Fatalf("the stream again: %d applied, %d duplicates; want 0 and %d", res.Applied, res.Duplicates, len(evs))
	}
	t.Logf("%d events, %d relationships equal to an uninterrupted run, in %s", len(evs), len(got), time.Since(started).Round(time.Millisecond))
}

// TestPostgresRestart stops and starts the PostgreSQL under SpiceDB (a
// container of its own, so nothing else notices) while boxauthz checks:
// checks fail while it is down and succeed again once it is back, through
// the same SpiceDB process and the same client, with no operator action;
// writes (events, tokens) work again too.
func TestPostgresRestart(t *testing.T) {
	needDocker(t)
	started := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	nw := newNetwork(ctx, t)
	pg, uri := runPostgres(ctx, t, nw)
	c := run(t, integration.WithPostgres(uri), network.WithNetwork([]string{"spicedb"}, nw), integration.WithPresharedKey("pg-restart-key"))
	if _, err := c.WriteSchema(ctx); err != nil {
		t.Fatalf("writing schema: %v", err)
	}
	client, err := spicedb.DialExternal(grpcEndpoint(ctx, t, c), spicedb.WithToken("pg-restart-key"), spicedb.WithInsecure(true))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	box := newReplica(ctx, t, client)
	box.apply(ctx, t, events...)
	spicedbStart := startedAt(ctx, t, c)

	bob := checker.Question{User: "bob", Action: schema.ActionPreview, Item: schema.ItemRef{Type: schema.TypeFile, ID: "q3"}}
	eve := checker.Question{User: "eve", Action: schema.ActionPreview, Item: schema.ItemRef{Type: schema.TypeFile, ID: "q3"}}
	box.wantCheck(ctx, t, "before the restart", bob, true)
	box.wantCheck(ctx, t, "before the restart", eve, false)
	token := box.issue(ctx, t, "bob")
	box.wantAuthorized(ctx, t, "before the restart", token, true)

	stopTimeout := 10 * time.Second
	if err := pg.Stop(ctx, &stopTimeout); err != nil {
		t.Fatalf("stopping postgres: %v", err)
	}
	stopped := time.Now()
	// Fully consistent checks need the datastore's head revision: with
	// PostgreSQL down they must fail, never answer from memory.
	var downErr error
	if err := waitFor(ctx, func() bool {
		_, downErr = box.checker.Check(ctx, bob, checker.Consistency{})
		return downErr != nil
	}); err != nil {
		t.Fatalf("checks still answered after postgres stopped: %v", err)
	}
	t.Logf("with postgres down a check fails (%s after the stop): %s: %v", time.Since(stopped).Round(time.Millisecond), grpcCode(downErr), downErr)
	// The first failures are SpiceDB's pooled connections, which
	// PostgreSQL closed on its way down (SQLSTATE 57P01); check on until
	// SpiceDB fails to open a new one, so that recovery below needs real
	// reconnection. Every check meanwhile must fail.
	answered := false
	if err := waitFor(ctx, func() bool {
		_, downErr = box.checker.Check(ctx, bob, checker.Consistency{})
		answered = answered || downErr == nil
		return answered || !strings.Contains(downErr.Error(), "57P01")
	}); err != nil {
		t.Fatalf("waiting for spicedb to fail to reach postgres: %v (last: %v)", err, downErr)
	}
	if answered {
		t.Fatal("a check answered with postgres down")
	}
	t.Logf("then fails to reconnect: %s: %v", grpcCode(downErr), downErr)
	if _, err := box.authorizer.Authorize(ctx, onFile(token, "q3")); err == nil {
		t.Fatal("authorize answered with postgres down")
	}

	if err := pg.Start(ctx); err != nil { // waits for pg_isready
		t.Fatalf("starting postgres again: %v", err)
	}
	back := time.Now()
	var lastErr error
	if err := waitFor(ctx, func() bool {
		_, lastErr = box.checker.Check(ctx, bob, checker.Consistency{})
		return lastErr == nil
	}); err != nil {
		t.Fatalf("checks did not recover after postgres came back: %v (last: %v)", err, lastErr)
	}
	t.Logf("checks answer again %s after postgres was ready (down %s in all)", time.Since(back).Round(time.Millisecond), time.Since(stopped).Round(time.Millisecond))
	box.wantCheck(ctx, t, "after the restart", bob, true)
	box.wantCheck(ctx, t, "after the restart", eve, false)
	box.wantAuthorized(ctx, t, "after the restart", token, true)
	// Writes work again: a new grant, and a revocation.
	box.apply(ctx, t, `{"id":"e7","type":"collaboration.created","collaboration":{"id":"k2","item":{"type":"file","id":"q3"},"accessible_by":{"type":"user","id":"eve"},"role":"viewer"}}`)
	box.wantCheck(ctx, t, "after a grant written after the restart", eve, true)
	if err := box.tokens.Revoke(ctx, token); err != nil {
		t.Fatalf("revoking after the restart: %v", err)
	}
	box.wantAuthorized(ctx, t, "after a revocation written after the restart", token, false)

	if got := startedAt(ctx, t, c); got != spicedbStart {
		t.Fatalf("spicedb's container was restarted (started %s, now %s): recovery must not need it", spicedbStart, got)
	}
	t.Logf("done in %s", time.Since(started).Round(time.Millisecond))
}

// cluster is two SpiceDB nodes on one PostgreSQL (a container of its own),
// dispatching to each other, and two boxauthz replicas (separate clients,
// checkers, token stores, appliers, as separate processes would have), each
// configured with both nodes: A with node 1 first, B with node 2 first. It
// holds the events of spicedb_test.go.
type cluster struct {
	node1, node2 *integration.Container
	ep1, ep2     string
	a, b         *replica
}

const clusterKey = "cluster-key"

func startCluster(ctx context.Context, t *testing.T) *cluster {
	t.Helper()
	nw := newNetwork(ctx, t)
	_, uri := runPostgres(ctx, t, nw)
	// Every node serves dispatch on :50053 and dispatches to every node
	// that the name spicedb-dispatch resolves to on the network: Docker's
	// DNS answers a network alias shared by several containers with all of
	// their addresses, which is SpiceDB's static list of nodes outside
	// Kubernetes (--dispatch-upstream-addr takes one gRPC target).
	nodeOpts := func(migrate bool) []testcontainers.ContainerCustomizer {
		opts := []testcontainers.ContainerCustomizer{
			integration.WithPostgres(uri),
			integration.WithPresharedKey(clusterKey),
			integration.WithFlags(
				"--dispatch-cluster-enabled=true",
				"--dispatch-cluster-addr=:50053",
				"--dispatch-upstream-addr=dns:///spicedb-dispatch:50053",
				"--metrics-enabled=true", "--metrics-addr=:9090",
			),
			network.WithNetwork([]string{"spicedb-dispatch"}, nw),
			testcontainers.WithExposedPorts("9090/tcp"),
		}
		if !migrate {
			opts = append(opts, integration.WithoutMigration())
		}
		return opts
	}
	c := &cluster{node1: run(t, nodeOpts(true)...), node2: run(t, nodeOpts(false)...)}
	c.ep1, c.ep2 = grpcEndpoint(ctx, t, c.node1), grpcEndpoint(ctx, t, c.node2)
	if _, err := c.node1.WriteSchema(ctx); err != nil {
		t.Fatalf("writing schema: %v", err)
	}
	c.a = newReplica(ctx, t, c.dial(t, c.ep1, c.ep2))
	c.b = newReplica(ctx, t, c.dial(t, c.ep2, c.ep1))
	c.a.apply(ctx, t, events...)
	return c
}

// dial connects to the given nodes, in that order, until t ends.
func (c *cluster) dial(t *testing.T, endpoints ...string) *spicedb.Client {
	t.Helper()
	cl, err := spicedb.DialExternal(strings.Join(endpoints, ","), spicedb.WithToken(clusterKey), spicedb.WithInsecure(true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// tokenTraffic issues, uses and revokes tokens through both replicas until
// ctx ends: writes that move the revision (so checks meanwhile must be
// computed afresh) and fully consistent reads on both nodes (which share
// head-revision lookups). Errors are counted, not failed: a write in
// flight when its node dies fails and is not retried, since it may have
// committed.
func (c *cluster) tokenTraffic(ctx context.Context, rounds, errs *atomic.Int64) (wait func()) {
	var wg gosync.WaitGroup
	for _, r := range []*replica{c.a, c.b} {
		wg.Go(func() {
			for ctx.Err() == nil {
				p, err := r.tokens.Issue(ctx, oauth.IssueRequest{User: "alice", Scopes: []string{"root_readonly"}})
				if err == nil {
					_, err = r.authorizer.Authorize(ctx, onFile(p.AccessToken, "q3"))
				}
				if err == nil {
					err = r.tokens.Revoke(ctx, p.AccessToken)
				}
				if err != nil && ctx.Err() == nil {
					errs.Add(1)
					time.Sleep(20 * time.Millisecond) // keeps a failing loop from spinning; not a readiness wait
				}
				rounds.Add(1)
			}
		})
	}
	return wg.Wait
}

// crossReplicaRound issues a token through one replica, has the other
// authorize it, revokes it through the first and has the other authorize it
// again, both ways round.
func (c *cluster) crossReplicaRound(ctx context.Context, t *testing.T, round string) {
	t.Helper()
	for _, dir := range []struct {
		name          string
		writer, other *replica
	}{{"A then B", c.a, c.b}, {"B then A", c.b, c.a}} {
		tok := dir.writer.issue(ctx, t, "bob")
		dir.other.wantAuthorized(ctx, t, round+", "+dir.name+": a token just issued", tok, true)
		if err := dir.writer.tokens.Revoke(ctx, tok); err != nil {
			t.Fatalf("%s, %s: revoke: %v", round, dir.name, err)
		}
		dir.other.wantAuthorized(ctx, t, round+", "+dir.name+": a token just revoked", tok, false)
	}
}

// TestTokensAcrossSpiceDBNodes: a token issued or revoked through one
// replica is accepted or refused by the other on its very next call, though
// the two replicas talk to different SpiceDB nodes, under load on both
// (token traffic, and checks keeping head-revision lookups in flight on
// each node). Settling every write on every node (spicedb.Settle through
// Client.Nodes) is what makes that hold: with each replica dialed with its
// own node only, so settling there alone, this test answered wrongly 5 and
// 6 times in two runs when it was written (fresh tokens refused, revoked
// ones accepted); with both nodes, never, in three.
func TestTokensAcrossSpiceDBNodes(t *testing.T) {
	needDocker(t)
	started := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := startCluster(ctx, t)

	loadCtx, stopLoad := context.WithCancel(ctx)
	var bgRounds, bgErrs atomic.Int64
	waitTraffic := c.tokenTraffic(loadCtx, &bgRounds, &bgErrs)
	var checks gosync.WaitGroup
	for _, r := range []*replica{c.a, c.b} {
		for range 8 {
			checks.Go(func() {
				q := checker.Question{User: "bob", Action: schema.ActionPreview, Item: schema.ItemRef{Type: schema.TypeFile, ID: "q3"}}
				for loadCtx.Err() == nil {
					_, _ = r.checker.Check(loadCtx, q, checker.Consistency{})
				}
			})
		}
	}
	const rounds = 60
	roundsStart := time.Now()
	for i := range rounds {
		c.crossReplicaRound(ctx, t, fmt.Sprintf("round %d", i))
	}
	stopLoad()
	waitTraffic()
	checks.Wait()
	if bgErrs.Load() > 0 {
		t.Errorf("token traffic with every node up: %d of %d rounds failed", bgErrs.Load(), bgRounds.Load())
	}
	t.Logf("%d rounds in %s (with %d rounds of other token traffic), done in %s", rounds, time.Since(roundsStart).Round(time.Millisecond), bgRounds.Load(), time.Since(started).Round(time.Millisecond))
}

// TestSpiceDBNodeKilled kills SpiceDB node 1 (SIGKILL) under a stream of
// checks through both replicas: the checks go on through node 2 with no
// wrong answer, and a token revoked through one replica is still refused by
// the other at once.
func TestSpiceDBNodeKilled(t *testing.T) {
	needDocker(t)
	started := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := startCluster(ctx, t)

	// Dispatch crosses nodes: checks sent to node 1 alone make node 2 serve
	// dispatched sub-problems.
	before := dispatchedChecks(ctx, t, c.node2, c.ep2)
	only1, err := checker.New(c.dial(t, c.ep1))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob", "eve", "mallory"} {
		for _, act := range []schema.Action{schema.ActionPreview, schema.ActionEdit, schema.ActionDelete, schema.ActionShare} {
			if _, err := only1.Check(ctx, checker.Question{User: u, Action: act, Item: schema.ItemRef{Type: schema.TypeFile, ID: "q3"}}, checker.Consistency{}); err != nil {
				t.Fatalf("check through node 1: %v", err)
			}
		}
	}
	after := dispatchedChecks(ctx, t, c.node2, c.ep2)
	if after <= before {
		t.Fatalf("node 2 served %v dispatched checks before and %v after 16 checks sent to node 1: no dispatch between the nodes", before, after)
	}
	t.Logf("node 2 served %v dispatched checks for 16 checks sent to node 1", after-before)
	c.crossReplicaRound(ctx, t, "both nodes up")

	type question struct {
		checker.Question
		want bool
	}
	var questions []question
	for _, q := range []struct {
		user string
		want map[schema.Action]bool
	}{
		{"alice", map[schema.Action]bool{schema.ActionPreview: true, schema.ActionEdit: true, schema.ActionDelete: true}},
		{"bob", map[schema.Action]bool{schema.ActionPreview: true, schema.ActionEdit: false, schema.ActionDelete: false}},
		{"eve", map[schema.Action]bool{schema.ActionPreview: false, schema.ActionEdit: false, schema.ActionDelete: false}},
	} {
		for act, want := range q.want {
			for _, it := range []schema.ItemRef{{Type: schema.TypeFile, ID: "q3"}, {Type: schema.TypeFolder, ID: "reports"}} {
				questions = append(questions, question{checker.Question{User: q.user, Action: act, Item: it}, want})
			}
		}
	}
	type result struct {
		began, ended time.Time
		err          error
		wrong        bool
	}
	var (
		mu         gosync.Mutex
		results    []result
		unanswered int       // questions that failed every time asked
		killed     time.Time // when node 1 was dead; zero before
	)
	// Token traffic moves the revision all along, so the checks cannot be
	// answered from caches: they are dispatched afresh, across the nodes.
	loadCtx, stopLoad := context.WithCancel(ctx)
	var bgRounds, bgErrs atomic.Int64
	waitTraffic := c.tokenTraffic(loadCtx, &bgRounds, &bgErrs)
	defer func() { stopLoad(); waitTraffic() }()
	var stream gosync.WaitGroup
	for _, r := range []*replica{c.a, c.b} {
		stream.Go(func() {
			// A check that fails is asked again, as a caller would: a
			// sub-problem in flight on a node that dies fails inside
			// SpiceDB (a per-item error of a successful CheckBulk, which
			// no gRPC retry sees).
			for i, failed := 0, 0; loadCtx.Err() == nil; {
				q := questions[i%len(questions)]
				began := time.Now()
				got, err := r.checker.Check(loadCtx, q.Question, checker.Consistency{})
				if loadCtx.Err() != nil {
					return
				}
				mu.Lock()
				results = append(results, result{began: began, ended: time.Now(), err: err, wrong: err == nil && got.Allowed != q.want})
				if err != nil && failed == 3 {
					unanswered++
				}
				mu.Unlock()
				if err != nil && failed < 3 {
					failed++
					time.Sleep(50 * time.Millisecond) // backoff before asking again; not a readiness wait
					continue
				}
				i, failed = i+1, 0
			}
		})
	}
	rightAfterKill := func() (n int) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range results {
			if !killed.IsZero() && r.began.After(killed) && r.err == nil && !r.wrong {
				n++
			}
		}
		return n
	}
	// Let the stream run through both nodes first.
	if err := waitFor(ctx, func() bool { mu.Lock(); defer mu.Unlock(); return len(results) >= 100 }); err != nil {
		t.Fatalf("the stream of checks did not start: %v", err)
	}
	killStart := time.Now()
	killContainer(ctx, t, c.node1)
	mu.Lock()
	killed = time.Now()
	mu.Unlock()
	// The stream goes on: 200 right answers to checks begun once node 1 was
	// dead.
	if err := waitFor(ctx, func() bool { return rightAfterKill() >= 200 }); err != nil {
		t.Errorf("checks did not go on through node 2: %v", err)
	}
	stopLoad()
	stream.Wait()
	waitTraffic()

	var (
		errs, wrong, slow int
		slowest           time.Duration
		lastErr           error
	)
	for _, r := range results {
		if r.wrong {
			wrong++
		}
		if r.err != nil {
			errs++
			lastErr = r.err
			// Only checks in flight when node 1 died may fail (a second
			// of slack for node 2 to see its connections to node 1 reset).
			if r.began.After(killed.Add(time.Second)) {
				t.Errorf("a check begun %s after node 1 was dead failed: %v", r.began.Sub(killed).Round(time.Millisecond), r.err)
			}
		}
		if took := r.ended.Sub(r.began); r.ended.After(killStart) {
			slowest = max(slowest, took)
			if took > time.Second {
				slow++
			}
		}
	}
	t.Logf("stream: %d checks (%d right ones begun after node 1 was dead), %d failed and asked again, %d wrong; around and after the kill %d took over 1s, the slowest %s; token traffic meanwhile: %d rounds, %d failed",
		len(results), rightAfterKill(), errs, wrong, slow, slowest.Round(time.Millisecond), bgRounds.Load(), bgErrs.Load())
	if errs > 0 {
		t.Logf("last failed check: %v", lastErr)
	}
	if wrong > 0 {
		t.Errorf("%d checks answered wrongly", wrong)
	}
	if unanswered > 0 {
		t.Errorf("%d checks failed 4 times in a row", unanswered)
	}
	// Node 2 goes on dispatching part of the work to node 1 until it
	// resolves the dispatch name again, which grpc-go's DNS resolver does
	// at most every 30 s: checks may wait that long, not longer.
	if slowest > 45*time.Second {
		t.Errorf("a check around the kill took %s; node 2 should drop node 1 from its dispatch ring within 30 s", slowest)
	}
	for _, r := range results[len(results)-100:] {
		if took := r.ended.Sub(r.began); took > 2*time.Second {
			t.Errorf("a check near the end took %s: node 2 alone should answer promptly", took)
			break
		}
	}

	// With node 1 dead, a revocation through one replica is still refused
	// by the other at once: settling passes over the dead node.
	c.crossReplicaRound(ctx, t, "node 1 dead")
	t.Logf("done in %s", time.Since(started).Round(time.Millisecond))
}

// killContainer sends c's process SIGKILL (as docker kill): a crash, with no
// graceful shutdown. Terminate removes it later.
func killContainer(ctx context.Context, t *testing.T, c *integration.Container) {
	t.Helper()
	if err := kill(ctx, c.GetContainerID()); err != nil {
		t.Fatalf("killing the container: %v", err)
	}
	if err := waitFor(ctx, func() bool { st, err := c.State(ctx); return err == nil && !st.Running }); err != nil {
		t.Fatalf("the killed container still runs: %v", err)
	}
}

// replica is one boxauthz: its own client, checker, token store and
// authorizer, as a separate process would have.
type replica struct {
	client     *spicedb.Client
	checker    *checker.Checker
	tokens     *oauth.Tokens
	authorizer *oauth.Authorizer
	applier    *sync.Applier
}

func newReplica(ctx context.Context, t *testing.T, c *spicedb.Client) *replica {
	t.Helper()
	ch, err := checker.New(c)
	if err != nil {
		t.Fatal(err)
	}
	tokens := oauth.NewTokens(c, oauth.WithLogger(discardLogger()))
	if err := tokens.Bootstrap(ctx); err != nil {
		t.Fatalf("token bootstrap: %v", err)
	}
	return &replica{
		client: c, checker: ch, tokens: tokens, authorizer: oauth.NewAuthorizer(ch, tokens),
		applier: sync.NewApplier(c, sync.WithLogger(discardLogger())),
	}
}

func (r *replica) apply(ctx context.Context, t *testing.T, lines ...string) {
	t.Helper()
	evs, err := event.DecodeEvents([]byte(strings.Join(lines, "\n")), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.applier.Apply(ctx, evs); err != nil {
		t.Fatalf("applying events: %v", err)
	}
}

func (r *replica) wantCheck(ctx context.Context, t *testing.T, when string, q checker.Question, want bool) {
	t.Helper()
	a, err := r.checker.Check(ctx, q, checker.Consistency{})
	if err != nil {
		t.Fatalf("%s: check %s %s %s: %v", when, q.User, q.Action, q.Item, err)
	}
	if a.Allowed != want {
		t.Errorf("%s: %s %s %s = %v, want %v", when, q.User, q.Action, q.Item, a.Allowed, want)
	}
}

func (r *replica) issue(ctx context.Context, t *testing.T, user string) string {
	t.Helper()
	p, err := r.tokens.Issue(ctx, oauth.IssueRequest{User: user, Scopes: []string{"root_readonly"}})
	if err != nil {
		t.Fatalf("issuing a token to %s: %v", user, err)
	}
	return p.AccessToken
}

// wantAuthorized asks for a preview of file q3 with token.
func (r *replica) wantAuthorized(ctx context.Context, t *testing.T, when, token string, want bool) {
	t.Helper()
	d, err := r.authorizer.Authorize(ctx, onFile(token, "q3"))
	if err != nil {
		t.Fatalf("%s: authorize: %v", when, err)
	}
	if d.Allowed != want {
		t.Errorf("%s: authorize answered %d %q, want allowed=%v", when, d.Status, d.Code, want)
	}
}

func onFile(token, id string) oauth.AuthorizeRequest {
	return oauth.AuthorizeRequest{Token: token, Action: schema.ActionPreview, Item: &schema.ItemRef{Type: schema.TypeFile, ID: id}}
}

// newNetwork creates a Docker network removed when t ends (after the
// containers on it, which are cleaned up first).
func newNetwork(ctx context.Context, t *testing.T) *testcontainers.DockerNetwork {
	t.Helper()
	nw, err := network.New(ctx)
	if err != nil {
		t.Fatalf("creating a docker network: %v", err)
	}
	testcontainers.CleanupNetwork(t, nw)
	return nw
}

// runPostgres runs PostgreSQL 17 (images.ResolvePostgresImage's image)
// on nw as "pg", ready once pg_isready answers over TCP, and returns the
// container and the URI SpiceDB containers on nw reach it by. Its data lives
// in the container's volume, so it survives a stop and start.
func runPostgres(ctx context.Context, t *testing.T, nw *testcontainers.DockerNetwork) (testcontainers.Container, string) {
	t.Helper()
	img, err := images.ResolvePostgresImage(ctx, discardLogger())
	if err != nil {
		t.Fatalf("postgres image: %v", err)
	}
	password := randomHex(t, 12)
	start := time.Now()
	ctr, err := testcontainers.Run(ctx, img.Ref,
		testcontainers.WithEnv(map[string]string{"POSTGRES_USER": "spicedb", "POSTGRES_PASSWORD": password, "POSTGRES_DB": "spicedb"}),
		// SpiceDB's PostgreSQL datastore needs commit timestamps.
		testcontainers.WithCmd("postgres", "-c", "track_commit_timestamp=on"),
		network.WithNetwork([]string{"pg"}, nw),
		testcontainers.WithWaitStrategy(wait.ForExec([]string{"pg_isready", "-q", "-h", "127.0.0.1", "-U", "spicedb", "-d", "spicedb"}).
			WithPollInterval(200*time.Millisecond).WithStartupTimeout(2*time.Minute)),
	)
	if ctr != nil {
		testcontainers.CleanupContainer(t, ctr)
	}
	if err != nil {
		t.Fatalf("running postgres (%s): %v", img.Ref, err)
	}
	t.Logf("postgres container ready in %s", time.Since(start).Round(time.Millisecond))
	return ctr, "postgres://spicedb:" + password + "@pg:5432/spicedb?sslmode=disable"
}

func grpcEndpoint(ctx context.Context, t *testing.T, c *integration.Container) string {
	t.Helper()
	ep, err := c.GRPCEndpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// startedAt is when Docker last started c's process.
func startedAt(ctx context.Context, t *testing.T, c *integration.Container) string {
	t.Helper()
	st, err := c.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Running {
		t.Fatalf("spicedb's container is %s", st.Status)
	}
	return st.StartedAt
}

// dispatchedChecks is how many DispatchCheck calls node has served from
// other nodes (or itself) over its dispatch port, from its Prometheus
// metrics; grpcEP tells which host reaches its published ports.
func dispatchedChecks(ctx context.Context, t *testing.T, node *integration.Container, grpcEP string) float64 {
	t.Helper()
	port, err := node.MappedPort(ctx, "9090/tcp")
	if err != nil {
		t.Fatal(err)
	}
	host := grpcEP[:strings.LastIndexByte(grpcEP, ':')]
	body := httpGet(ctx, t, "http://"+host+":"+port.Port()+"/metrics")
	var n float64
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "grpc_server_handled_total{") &&
			strings.Contains(line, `grpc_method="DispatchCheck"`) && strings.Contains(line, `grpc_service="dispatch.v1.DispatchService"`) {
			var v float64
			if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err != nil {
				t.Fatalf("metrics line %q: %v", line, err)
			}
			n += v
		}
	}
	return n
}

func httpGet(ctx context.Context, t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// exportModel lists the model relationships c holds (users, enterprises,
// groups, folders, files, collaborations; not boxauthz's bookkeeping),
// sorted, caveat contexts and expiry included.
func exportModel(ctx context.Context, t *testing.T, c spicedb.RelationshipReader) []string {
	t.Helper()
	var out []string
	for _, typ := range []string{schema.TypeUser, schema.TypeEnterprise, schema.TypeGroup, schema.TypeFolder, schema.TypeFile, schema.TypeCollaboration} {
		rels, _, err := spicedb.ReadAll(ctx, c, &v1.ReadRelationshipsRequest{
			Consistency:        &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
			RelationshipFilter: &v1.RelationshipFilter{ResourceType: typ},
		})
		if err != nil {
			t.Fatalf("reading %s relationships: %v", typ, err)
		}
		for _, r := range rels {
			out = append(out, r.String())
		}
	}
	sort.Strings(out)
	return out
}

func firstDifference(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("got %s, want %s", got[i], want[i])
		}
	}
	switch {
	case len(got) > len(want):
		return "extra " + got[len(want)]
	case len(want) > len(got):
		return "missing " + want[len(got)]
	}
	return ""
}

// waitFor polls cond, with growing pauses, until it holds or ctx ends.
func waitFor(ctx context.Context, cond func() bool) error {
	pause := 10 * time.Millisecond
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, 500*time.Millisecond)
	}
	return nil
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// grpcCode names err's gRPC status code, for logs.
func grpcCode(err error) string { return status.Code(err).String() }
