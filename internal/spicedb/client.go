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
}

func newClient(conn *grpc.ClientConn, closeFn func() error) *Client {
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
	if c.close != nil {
		err = errors.Join(err, c.close())
	}
	return err
}

// ExternalConfig selects an external SpiceDB.
type ExternalConfig struct {
	// Endpoint is host:port of SpiceDB's gRPC API.
	Endpoint string
	// Token is SpiceDB's preshared key.
	Token string
	// Insecure sends the token over plaintext gRPC (loopback, a private
	// network or a sidecar). Without it the connection uses TLS.
	Insecure bool
	// TLS optionally configures the TLS connection (CA, server name).
	TLS *tls.Config
}

// DialExternal connects to an external SpiceDB. It does not wait for SpiceDB
// to answer; callers probe readiness with Ready.
func DialExternal(cfg ExternalConfig) (*Client, error) {
	if cfg.Endpoint == "" {
		return nil, errors.New("spicedb endpoint is empty")
	}
	var opts []grpc.DialOption
	if cfg.Insecure {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if cfg.Token != "" {
			opts = append(opts, grpc.WithPerRPCCredentials(bearer{token: cfg.Token, requireTLS: false}))
		}
	} else {
		tc := cfg.TLS
		if tc == nil {
			tc = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
		if cfg.Token != "" {
			opts = append(opts, grpc.WithPerRPCCredentials(bearer{token: cfg.Token, requireTLS: true}))
		}
	}
	conn, err := grpc.NewClient(cfg.Endpoint, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to spicedb at %s: %w", cfg.Endpoint, err)
	}
	return newClient(conn, nil), nil
}

// bearer attaches SpiceDB's preshared key to every call.
type bearer struct {
	token      string
	requireTLS bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

func (b bearer) RequireTransportSecurity() bool { return b.requireTLS }
