package spicedb

import (
	"errors"
	"fmt"
	"net"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

// Several SpiceDB nodes on one datastore are one SpiceDB: any node answers
// any request the same way. A client given all of them keeps working when
// one dies, and can settle a write on each (see Settle), which is what makes
// "a write, once returned, is seen by every later request" hold whichever
// node a later request reaches.

// NodeReader reads relationships through one node of a SpiceDB cluster.
type NodeReader struct {
	// Endpoint is the node's host:port, as given to DialExternal.
	Endpoint string
	RelationshipReader
}

// Nodes is implemented by a RelationshipReader that reaches several SpiceDB
// nodes (a Client dialed with several endpoints). Settle and SettleFilter
// read through each of them.
type Nodes interface {
	Nodes() []NodeReader
}

type node struct {
	endpoint string
	conn     *grpc.ClientConn
	reader   v1.PermissionsServiceClient
}

// Nodes returns a reader for each node of a client dialed with several
// endpoints, in the order given, and nil for a client of one SpiceDB
// endpoint (which may still be a load balancer in front of several nodes:
// boxauthz cannot see behind it).
func (c *Client) Nodes() []NodeReader {
	if len(c.nodes) == 0 {
		return nil
	}
	out := make([]NodeReader, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = NodeReader{Endpoint: n.endpoint, RelationshipReader: n.reader}
	}
	return out
}

// splitEndpoints parses DialExternal's endpoint: one host:port or several,
// comma-separated.
func splitEndpoints(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("spicedb endpoint is empty")
	}
	parts := strings.Split(s, ",")
	if len(parts) == 1 {
		// One endpoint is passed to gRPC as given (any target form it
		// accepts, dns:///, unix:, ...), as before several were possible.
		return parts, nil
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			return nil, fmt.Errorf("spicedb endpoints %q: an empty entry", s)
		}
		if _, _, err := net.SplitHostPort(p); err != nil {
			return nil, fmt.Errorf("spicedb endpoints %q: %q is not host:port: %w", s, p, err)
		}
		if seen[p] {
			return nil, fmt.Errorf("spicedb endpoints %q: %s given twice", s, p)
		}
		seen[p] = true
		out = append(out, p)
	}
	return out, nil
}

// nodesScheme is the scheme of the manual resolver that hands a client its
// list of nodes; it is registered per connection (grpc.WithResolvers), not
// globally.
const nodesScheme = "boxauthz-spicedb-nodes"

// nodesServiceConfig: pick_first tries the nodes in the order given and stays
// on the one that answered until its connection fails, then moves on (so a
// replica's traffic goes to one node, as with a single endpoint, and fails
// over). Reads are safe to send again, so a read that fails as Unavailable
// (its node died under it) is retried, by then on the next node; writes are
// not retried, since one that failed as Unavailable may have committed.
const nodesServiceConfig = `{
  "loadBalancingConfig": [{"pick_first": {}}],
  "methodConfig": [{
    "name": [
      {"service": "authzed.api.v1.PermissionsService", "method": "CheckPermission"},
      {"service": "authzed.api.v1.PermissionsService", "method": "CheckBulkPermissions"},
      {"service": "authzed.api.v1.PermissionsService", "method": "ReadRelationships"},
      {"service": "authzed.api.v1.PermissionsService", "method": "LookupResources"},
      {"service": "authzed.api.v1.PermissionsService", "method": "LookupSubjects"},
      {"service": "authzed.api.v1.PermissionsService", "method": "ExpandPermissionTree"},
      {"service": "authzed.api.v1.SchemaService", "method": "ReadSchema"}
    ],
    "retryPolicy": {
      "maxAttempts": 5,
      "initialBackoff": "0.05s",
      "maxBackoff": "1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
}`

// dialNodes connects to several nodes of one SpiceDB: one connection that
// fails over between them for every call, and one per node for settling.
func dialNodes(endpoints []string, opts []grpc.DialOption) (*Client, error) {
	addrs := make([]resolver.Address, len(endpoints))
	for i, ep := range endpoints {
		// ServerName: each node's TLS certificate is checked against its own
		// host, as a connection to it alone would.
		addrs[i] = resolver.Address{Addr: ep, ServerName: ep}
	}
	r := manual.NewBuilderWithScheme(nodesScheme)
	r.InitialState(resolver.State{Addresses: addrs})
	mainOpts := append([]grpc.DialOption{grpc.WithResolvers(r), grpc.WithDefaultServiceConfig(nodesServiceConfig)}, opts...)
	conn, err := grpc.NewClient(nodesScheme+":///spicedb", mainOpts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to spicedb nodes %s: %w", strings.Join(endpoints, ","), err)
	}
	c := NewClient(conn, nil)
	for _, ep := range endpoints {
		nc, err := grpc.NewClient(ep, opts...)
		if err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("connecting to spicedb node %s: %w", ep, err)
		}
		c.nodes = append(c.nodes, node{endpoint: ep, conn: nc, reader: v1.NewPermissionsServiceClient(nc)})
	}
	return c, nil
}
