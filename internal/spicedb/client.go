package spicedb

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// Client is a connection to one SpiceDB. It holds only the v1 service clients
// boxauthz uses; it is safe for concurrent use.
type Client struct {
	v1.PermissionsServiceClient
	v1.SchemaServiceClient
	v1.WatchServiceClient

	conn  *grpc.ClientConn
	close func() error
	// nodes are the connections to each node of a client dialed with
	// several endpoints (see DialExternal), empty otherwise.
	nodes []node
}

// NewClient wraps a connection to SpiceDB; closeFn, when set, runs on
// Close after the connection is closed (an embedded server's stop).
func NewClient(conn *grpc.ClientConn, closeFn func() error) *Client {
	return &Client{
		PermissionsServiceClient: v1.NewPermissionsServiceClient(conn),
		SchemaServiceClient:      v1.NewSchemaServiceClient(conn),
		WatchServiceClient:       v1.NewWatchServiceClient(conn),
		conn:                     conn,
		close:                    closeFn,
	}
}

// Close releases the connection and, for an embedded SpiceDB, stops it.
func (c *Client) Close() error {
	err := c.conn.Close()
	for _, n := range c.nodes {
		err = errors.Join(err, n.conn.Close())
	}
	if c.close != nil {
		err = errors.Join(err, c.close())
	}
	return err
}

// DialOption configures DialExternal.
type DialOption func(*dialSettings)

type dialSettings struct {
	token    string
	insecure bool
	tls      *tls.Config
	grpcOpts []grpc.DialOption
}

// WithToken presents SpiceDB's preshared key on every call.
func WithToken(key string) DialOption { return func(s *dialSettings) { s.token = key } }

// WithInsecure sends the token over plaintext gRPC (loopback, a private
// network or a sidecar). Without it the connection uses TLS.
func WithInsecure(on bool) DialOption { return func(s *dialSettings) { s.insecure = on } }

// WithTLS configures the TLS connection (CA, server name); without it the
// system roots and at least TLS 1.2.
func WithTLS(c *tls.Config) DialOption { return func(s *dialSettings) { s.tls = c } }

// WithDialOptions adds gRPC dial options to every connection: the call
// metrics' interceptors (CallMetrics.DialOptions), tracing's stats handler.
func WithDialOptions(opts ...grpc.DialOption) DialOption {
	return func(s *dialSettings) { s.grpcOpts = append(s.grpcOpts, opts...) }
}

// DialExternal connects to an external SpiceDB at endpoint: host:port of
// its gRPC API, or a comma-separated list of them naming the nodes of one
// SpiceDB cluster (one datastore). With several, calls go to the first node
// that answers, in the order given, and move to the next when it fails;
// reads that fail as Unavailable are tried again; and Settle reads a write
// back through every node (see Nodes). It does not wait for SpiceDB to
// answer; callers probe readiness with Ready.
func DialExternal(endpoint string, opts ...DialOption) (*Client, error) {
	var cfg dialSettings
	for _, o := range opts {
		o(&cfg)
	}
	endpoints, err := splitEndpoints(endpoint)
	if err != nil {
		return nil, err
	}
	var dial []grpc.DialOption
	if cfg.insecure {
		dial = append(dial, grpc.WithTransportCredentials(insecure.NewCredentials()))
	} else {
		tc := cfg.tls
		if tc == nil {
			tc = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		dial = append(dial, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
	}
	if cfg.token != "" {
		dial = append(dial, grpc.WithPerRPCCredentials(bearer{token: cfg.token, requireTLS: !cfg.insecure}))
	}
	dial = append(dial, cfg.grpcOpts...)
	if len(endpoints) > 1 {
		return dialNodes(endpoints, dial)
	}
	conn, err := grpc.NewClient(endpoint, dial...)
	if err != nil {
		return nil, fmt.Errorf("connecting to spicedb at %s: %w", endpoint, err)
	}
	return NewClient(conn, nil), nil
}

// PresharedKey is SpiceDB's preshared key as per-call credentials;
// requireTLS refuses to send it over plaintext.
func PresharedKey(key string, requireTLS bool) credentials.PerRPCCredentials {
	return bearer{token: key, requireTLS: requireTLS}
}

var _ credentials.PerRPCCredentials = bearer{}

// bearer attaches SpiceDB's preshared key to every call.
type bearer struct {
	token      string
	requireTLS bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

func (b bearer) RequireTransportSecurity() bool { return b.requireTLS }

// MaxUpdatesPerWrite is how many relationship updates one WriteRelationships
// call may carry (--write-relationships-max-updates-per-call) in every
// SpiceDB boxauthz starts: the embedded one, docker-compose.yml's and the
// integration containers'. SpiceDB's default of 1000 splits an HTTP batch
// of a few hundred events into several transactions. The ceiling is
// PostgreSQL's: SpiceDB writes a write's touches as one INSERT of 9
// parameters each, and a statement takes at most 65,535 (7,281 touches);
// past that the write is refused as too large for the datastore. A batch of
// 7,000 updates applies in about 1.2 s in memory and 1.5 s on PostgreSQL
// (TestBatchUpToTheLimitIsOneWrite, on 2 busy cores).
const MaxUpdatesPerWrite = 7_000
