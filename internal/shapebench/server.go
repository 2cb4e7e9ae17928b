package shapebench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os/exec"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/cmd/datastore"
	"github.com/authzed/spicedb/pkg/cmd/server"
	"github.com/authzed/spicedb/pkg/cmd/util"
	spicedatastore "github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/migration"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/boxauthz/boxauthz/internal/spicedb"
)

// Conn is a connection to an in-process SpiceDB.
type Conn interface {
	v1.PermissionsServiceClient
	v1.SchemaServiceClient
	io.Closer
}

// StartEmbedded starts boxauthz's own embedded SpiceDB
// (internal/spicedb.StartEmbedded: in-memory datastore, SpiceDB's default
// caches on).
func StartEmbedded(ctx context.Context) (Conn, error) {
	return spicedb.StartEmbedded(ctx, spicedb.EmbeddedConfig{})
}

// Options are the SpiceDB server settings a run varies.
type Options struct {
	// Cache turns SpiceDB's dispatch caches on (SpiceDB's default).
	Cache bool
	// DispatchChunkSize is how many resources one dispatch carries; 0 keeps
	// SpiceDB's default (100). Larger chunks answer bulk checks over many
	// items with fewer datastore reads; answers do not depend on it.
	DispatchChunkSize uint16
}

// StartMemory starts a SpiceDB on a fresh in-memory datastore with the same
// datastore settings as StartEmbedded and the server settings of o.
func StartMemory(ctx context.Context, o Options) (Conn, error) {
	ds, err := datastore.NewDatastore(ctx,
		datastore.WithEngine(datastore.MemoryEngine),
		datastore.WithRevisionQuantization(0),
		datastore.WithGCWindow(time.Hour),
		datastore.WithRequestHedgingEnabled(false),
	)
	if err != nil {
		return nil, fmt.Errorf("creating in-memory datastore: %w", err)
	}
	return startServer(ctx, ds, o, true)
}

// PostgresDSN returns dsn with its database replaced by db.
func PostgresDSN(dsn, db string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("parsing postgres dsn: %w", err)
	}
	u.Path = "/" + db
	return u.String(), nil
}

// CreatePostgresDatabase drops and creates database db on the server of dsn
// (whose user needs CREATEDB), using the psql client: boxauthz has no
// PostgreSQL driver of its own, and SpiceDB's is internal to it.
func CreatePostgresDatabase(ctx context.Context, dsn, db string) error {
	if db == "" || strings.Trim(db, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
		return fmt.Errorf("database name %q: only a-z, 0-9 and _", db)
	}
	return psqlExec(ctx, dsn, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)", "CREATE DATABASE "+db)
}

// psqlExec runs SQL commands, one transaction each, on the database of dsn
// with the psql client.
func psqlExec(ctx context.Context, dsn string, commands ...string) error {
	psql, err := exec.LookPath("psql")
	if err != nil {
		return fmt.Errorf("running SQL needs the psql client (scripts/pg-local installs it): %w", err)
	}
	args := []string{dsn, "-X", "-q", "-v", "ON_ERROR_STOP=1"}
	for _, c := range commands {
		args = append(args, "-c", c)
	}
	out, err := exec.CommandContext(ctx, psql, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("psql %s: %w: %s", strings.Join(commands, "; "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// MigratePostgres runs SpiceDB's PostgreSQL migrations up to head, as
// `spicedb migrate head` does.
func MigratePostgres(ctx context.Context, dsn string) error {
	err := migration.Run(ctx, &migration.Config{
		DatastoreEngine: datastore.PostgresEngine,
		DatastoreURI:    dsn,
		Timeout:         10 * time.Minute,
		BatchSize:       1000,
	}, "head")
	if err != nil {
		return fmt.Errorf("migrating spicedb's postgres datastore: %w", err)
	}
	return nil
}

// OpenPostgres opens SpiceDB's PostgreSQL datastore at dsn (migrated).
func OpenPostgres(ctx context.Context, dsn string) (spicedatastore.Datastore, error) {
	ds, err := datastore.NewDatastore(ctx,
		datastore.WithEngine(datastore.PostgresEngine),
		datastore.WithURI(dsn),
		datastore.WithRevisionQuantization(0),
		datastore.WithGCWindow(24*time.Hour),
		datastore.WithRequestHedgingEnabled(false),
		datastore.WithEnableDatastoreMetrics(false),
		datastore.WithDisableStats(true),
	)
	if err != nil {
		return nil, fmt.Errorf("opening postgres datastore: %w", err)
	}
	return ds, nil
}

// StartPostgres starts a SpiceDB with the settings of o on an open PostgreSQL
// datastore. Closing the Conn does not close ds (SpiceDB never closes a
// datastore it was handed).
func StartPostgres(ctx context.Context, ds spicedatastore.Datastore, o Options) (Conn, error) {
	return startServer(ctx, ds, o, false)
}

type conn struct {
	v1.PermissionsServiceClient
	v1.SchemaServiceClient
	close func() error
}

func (c *conn) Close() error { return c.close() }

// startServer runs a SpiceDB server in this process on ds, reachable only
// in-process, configured like internal/spicedb.StartEmbedded except for the
// settings of o. closeDS closes ds when the server stops.
func startServer(ctx context.Context, ds spicedatastore.Datastore, o Options, closeDS bool) (Conn, error) {
	closeStore := func() error {
		if closeDS {
			return ds.Close()
		}
		return nil
	}
	const key = "shapebench"
	opts := []server.ConfigOption{
		server.WithDatastore(ds),
		server.WithPresharedSecureKey(key),
		server.WithGRPCServer(util.GRPCServerConfig{Network: util.BufferedNetwork, Enabled: true}),
		server.WithHTTPGateway(util.HTTPServerConfig{HTTPEnabled: false}),
		server.WithMetricsAPI(util.HTTPServerConfig{HTTPEnabled: false}),
		server.WithDispatchServer(util.GRPCServerConfig{Enabled: false}),
		server.WithSilentlyDisableTelemetry(true),
		server.WithTelemetryEndpoint(""),
		server.WithEnableMemoryProtectionMiddleware(false),
	}
	if o.DispatchChunkSize > 0 {
		opts = append(opts, server.WithDispatchChunkSize(o.DispatchChunkSize))
	}
	if !o.Cache {
		opts = append(opts,
			server.WithDispatchCacheConfig(server.CacheConfig{Name: "dispatch", Enabled: false}),
			server.WithClusterDispatchCacheConfig(server.CacheConfig{Name: "cluster_dispatch", Enabled: false}),
		)
	}
	srvCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	rs, err := server.NewConfigWithOptionsAndDefaults(opts...).Complete(srvCtx)
	if err != nil {
		cancel()
		_ = closeStore()
		return nil, fmt.Errorf("configuring spicedb: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- rs.Run(srvCtx) }()
	cc, err := rs.NewClient(
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithPerRPCCredentials(bearer(key)),
	)
	if err != nil {
		cancel()
		<-done
		_ = closeStore()
		return nil, fmt.Errorf("connecting to spicedb: %w", err)
	}
	stop := func() error {
		err := cc.Close()
		cancel()
		select {
		case e := <-done:
			if e != nil && !errors.Is(e, context.Canceled) {
				err = errors.Join(err, e)
			}
		case <-time.After(10 * time.Second):
			err = errors.Join(err, errors.New("stopping spicedb: timed out after 10s"))
		}
		return errors.Join(err, closeStore())
	}
	return &conn{
		PermissionsServiceClient: v1.NewPermissionsServiceClient(cc),
		SchemaServiceClient:      v1.NewSchemaServiceClient(cc),
		close:                    stop,
	}, nil
}

type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }
