package spicedb_test

import (
	"context"
	"io"
	"strings"
	gosync "sync"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/upgrade"
)

func TestDialExternalEndpoints(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		nodes    []string // nil: a client of one endpoint
		err      string
	}{
		{endpoint: "spicedb.internal:50051"},
		{endpoint: "dns:///spicedb.internal:50051"}, // one endpoint is any gRPC target, as before
		{endpoint: "a:50051,b:50051", nodes: []string{"a:50051", "b:50051"}},
		{endpoint: "b:50051, a:50051 ,c:1", nodes: []string{"b:50051", "a:50051", "c:1"}},
		{endpoint: "", err: "empty"},
		{endpoint: "a:50051,", err: "empty entry"},
		{endpoint: "a:50051,a:50051", err: "given twice"},
		{endpoint: "a:50051,b", err: `"b" is not host:port`},
	} {
		t.Run(tc.endpoint, func(t *testing.T) {
			c, err := spicedb.DialExternal(tc.endpoint, spicedb.WithInsecure(true))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("DialExternal(%q): %v, want an error containing %q", tc.endpoint, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var got []string
			for _, n := range c.Nodes() {
				got = append(got, n.Endpoint)
			}
			if strings.Join(got, " ") != strings.Join(tc.nodes, " ") || (got == nil) != (tc.nodes == nil) {
				t.Fatalf("nodes of %q: %q, want %q", tc.endpoint, got, tc.nodes)
			}
		})
	}
}

// fakeNode answers ReadRelationships of one object: with err, or with
// nothing until it has been read showAfter times, then with rel.
type fakeNode struct {
	rel       *v1.Relationship
	showAfter int // -1: never
	err       error

	mu    gosync.Mutex
	reads int
}

func (f *fakeNode) ReadRelationships(_ context.Context, in *v1.ReadRelationshipsRequest, _ ...grpc.CallOption) (grpc.ServerStreamingClient[v1.ReadRelationshipsResponse], error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if in.GetConsistency().GetFullyConsistent() != true {
		return nil, status.Error(codes.InvalidArgument, "settling must read fully consistent")
	}
	if f.err != nil {
		return nil, f.err
	}
	s := &fakeStream{}
	if f.showAfter >= 0 && f.reads > f.showAfter {
		s.rels = []*v1.Relationship{f.rel}
	}
	return s, nil
}

func (f *fakeNode) readCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

type fakeStream struct {
	grpc.ClientStream // unused methods; nil
	rels              []*v1.Relationship
}

func (s *fakeStream) Recv() (*v1.ReadRelationshipsResponse, error) {
	if len(s.rels) == 0 {
		return nil, io.EOF
	}
	r := s.rels[0]
	s.rels = s.rels[1:]
	return &v1.ReadRelationshipsResponse{Relationship: r}, nil
}

// fakeCluster is a reader of several nodes; reading through it directly (not
// through a node) is a failure of the test.
type fakeCluster struct {
	nodes map[string]*fakeNode
	order []string
}

func (c *fakeCluster) ReadRelationships(context.Context, *v1.ReadRelationshipsRequest, ...grpc.CallOption) (grpc.ServerStreamingClient[v1.ReadRelationshipsResponse], error) {
	return nil, status.Error(codes.Internal, "read through the cluster's own connection instead of each node")
}

func (c *fakeCluster) Nodes() []spicedb.NodeReader {
	var out []spicedb.NodeReader
	for _, ep := range c.order {
		out = append(out, spicedb.NodeReader{Endpoint: ep, RelationshipReader: c.nodes[ep]})
	}
	return out
}

// TestSettleReadsEveryNode: with several nodes, a write is settled only once
// every node that answers shows it; a node that is down is passed over.
func TestSettleReadsEveryNode(t *testing.T) {
	rel := &v1.Relationship{
		Resource: &v1.ObjectReference{ObjectType: "user", ObjectId: "ann"},
		Relation: "exists",
		Subject:  &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: "user", ObjectId: "*"}},
	}
	touch := &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: rel}
	down := status.Error(codes.Unavailable, "connection refused")
	for _, tc := range []struct {
		name      string
		nodes     map[string]*fakeNode
		err       string         // "" for success
		minReads  map[string]int // reads each node must have answered
		filterErr string         // SettleFilter(present) on fresh nodes of the same shape
	}{
		{
			name: "every node shows it at once",
			nodes: map[string]*fakeNode{
				"n1:50051": {rel: rel, showAfter: 0},
				"n2:50051": {rel: rel, showAfter: 0},
			},
			minReads: map[string]int{"n1:50051": 1, "n2:50051": 1},
		},
		{
			name: "the second node lags behind",
			nodes: map[string]*fakeNode{
				"n1:50051": {rel: rel, showAfter: 0},
				"n2:50051": {rel: rel, showAfter: 3},
			},
			minReads: map[string]int{"n1:50051": 1, "n2:50051": 4},
		},
		{
			name: "a node never shows it",
			nodes: map[string]*fakeNode{
				"n1:50051": {rel: rel, showAfter: 0},
				"n2:50051": {rel: rel, showAfter: -1},
			},
			err:       "spicedb node n2:50051",
			filterErr: "spicedb node n2:50051",
		},
		{
			name: "a node is down",
			nodes: map[string]*fakeNode{
				"n1:50051": {err: down},
				"n2:50051": {rel: rel, showAfter: 1},
			},
			minReads: map[string]int{"n1:50051": 1, "n2:50051": 2},
		},
		{
			name: "every node is down",
			nodes: map[string]*fakeNode{
				"n1:50051": {err: down},
				"n2:50051": {err: down},
			},
			err:       "no spicedb node answers",
			filterErr: "no spicedb node answers",
		},
		{
			name: "a node fails otherwise",
			nodes: map[string]*fakeNode{
				"n1:50051": {rel: rel, showAfter: 0},
				"n2:50051": {err: status.Error(codes.PermissionDenied, "wrong key")},
			},
			err:       "wrong key",
			filterErr: "wrong key",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cluster := func() *fakeCluster {
				c := &fakeCluster{nodes: map[string]*fakeNode{}, order: []string{"n1:50051", "n2:50051"}}
				for ep, n := range tc.nodes {
					c.nodes[ep] = &fakeNode{rel: n.rel, showAfter: n.showAfter, err: n.err}
				}
				return c
			}
			ctx := context.Background()
			c := cluster()
			err := spicedb.Settle(ctx, c, touch)
			if tc.err == "" && err != nil {
				t.Fatalf("Settle: %v", err)
			}
			if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("Settle: %v, want an error containing %q", err, tc.err)
			}
			for ep, want := range tc.minReads {
				if got := c.nodes[ep].readCount(); got < want {
					t.Errorf("node %s answered %d reads, want at least %d: it was not settled", ep, got, want)
				}
			}
			c = cluster()
			err = spicedb.SettleFilter(ctx, c, &v1.RelationshipFilter{ResourceType: "user", OptionalResourceId: "ann"}, true)
			if (err != nil) != (tc.filterErr != "") || (err != nil && !strings.Contains(err.Error(), tc.filterErr)) {
				t.Fatalf("SettleFilter: %v, want error containing %q", err, tc.filterErr)
			}
		})
	}
}

// TestNodesFailOverAndSettleEach runs two embedded SpiceDBs on separate
// in-memory datastores, so that which one answers is visible: calls go to the
// first endpoint given, then to the second once the first stops; and Settle
// reads through both (a write to the first alone never shows on the second).
func TestNodesFailOverAndSettleEach(t *testing.T) {
	ctx := context.Background()
	const key = "nodes-test-key"
	// stop stops an embedded SpiceDB once (a second Close would wait for a
	// server that has already stopped).
	start := func(name string) (c *spicedb.Client, addr string, stop func() error) {
		addr = testenv.FreeAddr(t)
		c, err := embedded.Start(ctx, embedded.WithGRPCAddr(addr, key))
		if err != nil {
			t.Fatalf("starting spicedb %s: %v", name, err)
		}
		stop = gosync.OnceValue(c.Close)
		t.Cleanup(func() { _ = stop() })
		if _, err := upgrade.Ensure(ctx, c); err != nil {
			t.Fatal(err)
		}
		return c, addr, stop
	}
	first, addr1, stopFirst := start("first")
	second, addr2, _ := start("second")
	mark := func(c *spicedb.Client, user string) *v1.RelationshipUpdate {
		t.Helper()
		u := &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: &v1.Relationship{
			Resource: &v1.ObjectReference{ObjectType: schema.TypeUser, ObjectId: user},
			Relation: "exists",
			Subject:  &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: schema.TypeUser, ObjectId: "*"}},
		}}
		if _, err := c.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{u}}); err != nil {
			t.Fatal(err)
		}
		return u
	}
	mark(first, "on-first")
	mark(second, "on-second")

	c, err := spicedb.DialExternal(addr1+","+addr2, spicedb.WithToken(key), spicedb.WithInsecure(true))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	answeredBy := func() string {
		t.Helper()
		rels, _, err := spicedb.ReadAll(ctx, c, &v1.ReadRelationshipsRequest{
			Consistency:        &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
			RelationshipFilter: &v1.RelationshipFilter{ResourceType: schema.TypeUser},
		})
		if err != nil {
			t.Fatalf("reading through both nodes: %v", err)
		}
		if len(rels) != 1 {
			t.Fatalf("read %d relationships, want the one mark of the node that answered", len(rels))
		}
		return rels[0].GetResource().GetObjectId()
	}
	if got := answeredBy(); got != "on-first" {
		t.Fatalf("answered by %s, want the first endpoint given", got)
	}

	// A write through the client lands on the first node only: settling it
	// must fail, naming the second.
	ups := []*v1.RelationshipUpdate{mark(c, "written")}
	if err := spicedb.Settle(ctx, c, ups...); err == nil || !strings.Contains(err.Error(), addr2) {
		t.Fatalf("settling a write the second node never sees: %v, want an error naming %s", err, addr2)
	}
	if err := spicedb.Settle(ctx, first, ups...); err != nil {
		t.Fatalf("settling on the first node alone: %v", err)
	}

	if err := stopFirst(); err != nil {
		t.Fatal(err)
	}
	if got := answeredBy(); got != "on-second" {
		t.Fatalf("after the first node stopped, answered by %s, want the second", got)
	}
	// The first node is down: settling passes over it and reads the second.
	u := mark(c, "after-failover")
	if err := spicedb.Settle(ctx, c, u); err != nil {
		t.Fatalf("settling with the first node down: %v", err)
	}
}
