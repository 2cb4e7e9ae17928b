package embedded

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/authzed/spicedb/pkg/cmd/datastore"
	"github.com/authzed/spicedb/pkg/cmd/server"
	"github.com/authzed/spicedb/pkg/cmd/util"
	dsapi "github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/migration"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/store"
)

// MaxDepth is the embedded SpiceDB's dispatch depth limit, enough for
// folder trees about 190 levels deep.
const MaxDepth = 200

// stopTimeout bounds how long closing the client waits for the server to
// finish its in-flight calls.
const stopTimeout = 10 * time.Second

// Start starts SpiceDB in this process, by default on its in-memory
// datastore, and returns a client connected to it. The server stops when ctx
// ends or the client is closed; an in-memory one loses everything it held.
func Start(ctx context.Context, opts ...Option) (*spicedb.Client, error) {
	var cfg settings
	for _, o := range opts {
		o(&cfg)
	}
	grpcCfg, key, err := listenerOf(cfg)
	if err != nil {
		return nil, err
	}
	ds, err := openDatastore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	srvCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	rs, err := server.NewConfigWithOptionsAndDefaults(serverOptions(cfg, ds, key, grpcCfg)...).Complete(srvCtx)
	if err != nil {
		cancel()
		_ = ds.Close()
		return nil, fmt.Errorf("configuring embedded spicedb: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- rs.Run(srvCtx) }()

	stop := func() error {
		cancel()
		select {
		case err := <-done:
			// SpiceDB does not close a datastore it was given; the durable
			// store must be, to release its file for the next start.
			closeErr := ds.Close()
			if err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("stopping embedded spicedb: %w", errors.Join(err, closeErr))
			}
			if closeErr != nil {
				return fmt.Errorf("closing embedded spicedb's datastore: %w", closeErr)
			}
		case <-time.After(stopTimeout):
			return fmt.Errorf("stopping embedded spicedb: timed out after %s", stopTimeout)
		}
		return nil
	}
	conn, err := rs.NewClient(append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(spicedb.PresharedKey(key, false)),
	}, cfg.dialOpts...)...)
	if err != nil {
		// How the server stopped says nothing the connect error does not.
		_ = stop()
		return nil, fmt.Errorf("connecting to embedded spicedb: %w", err)
	}
	go func() {
		<-ctx.Done()
		cancel()
	}()
	return spicedb.NewClient(conn, stop), nil
}

// listenerOf is where the server listens, in process unless cfg.grpcAddr
// exposes it, and the preshared key its clients present.
func listenerOf(cfg settings) (util.GRPCServerConfig, string, error) {
	key := cfg.token
	grpcCfg := util.GRPCServerConfig{Network: util.BufferedNetwork, Enabled: true}
	if cfg.grpcAddr != "" {
		if cfg.token == "" {
			return util.GRPCServerConfig{}, "", errors.New("exposing the embedded spicedb on --spicedb-grpc-addr needs --spicedb-token: other clients present it as the preshared key")
		}
		if err := requireLoopback(cfg.grpcAddr); err != nil {
			return util.GRPCServerConfig{}, "", err
		}
		grpcCfg = util.GRPCServerConfig{Network: "tcp", Address: cfg.grpcAddr, Enabled: true}
	}
	if key == "" {
		// In-process only: nothing outside can reach the server, but SpiceDB
		// still wants a key.
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return util.GRPCServerConfig{}, "", fmt.Errorf("generating embedded spicedb key: %w", err)
		}
		key = hex.EncodeToString(b[:])
	}
	return grpcCfg, key, nil
}

func openDatastore(ctx context.Context, cfg settings) (dsapi.Datastore, error) {
	if cfg.dataDir != "" {
		if cfg.postgresURI != "" {
			return nil, errors.New("the embedded spicedb takes a data dir or a postgres database, not both")
		}
		// Quantization off as for the in-memory store: a read right after a
		// write sees it, which the embedded callers rely on.
		ds, err := store.Open(ctx, cfg.dataDir, store.WithRevisionQuantization(0))
		if err != nil {
			return nil, fmt.Errorf("opening the spicedb store in %s: %w", cfg.dataDir, err)
		}
		return ds, nil
	}
	dsOpts := []datastore.ConfigOption{
		datastore.WithEngine(datastore.MemoryEngine),
		datastore.WithRevisionQuantization(0),
		datastore.WithGCWindow(time.Hour),
		datastore.WithRequestHedgingEnabled(false),
	}
	what := "in-memory"
	if cfg.postgresURI != "" {
		what = "postgres"
		dsOpts = append(dsOpts,
			datastore.WithEngine(datastore.PostgresEngine),
			datastore.WithURI(cfg.postgresURI),
			datastore.WithGCWindow(24*time.Hour),
			datastore.WithEnableDatastoreMetrics(false),
		)
	}
	ds, err := datastore.NewDatastore(ctx, dsOpts...)
	if err != nil {
		return nil, fmt.Errorf("opening %s spicedb datastore: %w", what, err)
	}
	return ds, nil
}

func serverOptions(cfg settings, ds dsapi.Datastore, key string, grpcCfg util.GRPCServerConfig) []server.ConfigOption {
	maxUpdates := uint16(spicedb.MaxUpdatesPerWrite)
	if cfg.maxUpdates != 0 {
		maxUpdates = cfg.maxUpdates
	}
	srvOpts := []server.ConfigOption{
		server.WithDatastore(ds),
		server.WithPresharedSecureKey(key),
		server.WithGRPCServer(grpcCfg),
		server.WithHTTPGateway(util.HTTPServerConfig{HTTPEnabled: false}),
		server.WithMetricsAPI(util.HTTPServerConfig{HTTPEnabled: false}),
		server.WithDispatchServer(util.GRPCServerConfig{Enabled: false}),
		server.WithSilentlyDisableTelemetry(true),
		server.WithTelemetryEndpoint(""),
		server.WithEnableMemoryProtectionMiddleware(false),
		// Each folder level of the waterfall is one dispatch: SpiceDB's
		// default of 50 would stop grants about 46 levels down.
		server.WithDispatchMaxDepth(MaxDepth),
		// A batch is one transaction up to this size.
		server.WithMaximumUpdatesPerWrite(maxUpdates),
	}
	if cfg.noDispatchCache {
		srvOpts = append(srvOpts,
			server.WithDispatchCacheConfig(server.CacheConfig{Name: "dispatch", Enabled: false}),
			server.WithClusterDispatchCacheConfig(server.CacheConfig{Name: "cluster_dispatch", Enabled: false}),
		)
	}
	return srvOpts
}

func requireLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--spicedb-grpc-addr %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--spicedb-grpc-addr %q: the embedded spicedb is exposed on loopback only (127.0.0.1 or [::1])", addr)
	}
	return nil
}

// MigratePostgres brings SpiceDB's tables in the PostgreSQL database at uri to
// the head migration, as `spicedb datastore migrate head` does.
func MigratePostgres(ctx context.Context, uri string) error {
	err := migration.Run(ctx, &migration.Config{
		DatastoreEngine: datastore.PostgresEngine,
		DatastoreURI:    uri,
		Timeout:         10 * time.Minute,
		BatchSize:       1000,
	}, "head")
	if err != nil {
		return fmt.Errorf("migrating spicedb's postgres datastore: %w", err)
	}
	return nil
}
