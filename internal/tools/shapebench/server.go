package shapebench

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os/exec"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
)

// Conn is a connection to an in-process SpiceDB.
type Conn interface {
	v1.PermissionsServiceClient
	v1.SchemaServiceClient
	io.Closer
}

// Options are the SpiceDB server settings a run varies.
type Options struct {
	// Cache turns SpiceDB's dispatch caches on (SpiceDB's default, and
	// boxauthz's). Off, every sub-problem of every check is computed afresh:
	// cold checks.
	Cache bool
}

// StartMemory starts boxauthz's own embedded SpiceDB
// (internal/spicedb.StartEmbedded) on a fresh in-memory datastore.
func StartMemory(ctx context.Context, o Options) (Conn, error) {
	return embedded.Start(ctx, embedded.WithDispatchCache(o.Cache))
}

// StartPostgres starts boxauthz's own embedded SpiceDB on the PostgreSQL
// database at uri (migrated with spicedb.MigratePostgres). Several may run
// on one database.
func StartPostgres(ctx context.Context, uri string, o Options) (Conn, error) {
	return embedded.Start(ctx, embedded.WithPostgres(uri), embedded.WithDispatchCache(o.Cache))
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
// (whose user needs CREATEDB).
func CreatePostgresDatabase(ctx context.Context, dsn, db string) error {
	if db == "" || strings.Trim(db, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
		return fmt.Errorf("database name %q: only a-z, 0-9 and _", db)
	}
	return psqlExec(ctx, dsn, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)", "CREATE DATABASE "+db)
}

// psqlExec runs SQL commands, one transaction each, on the database of dsn
// with the psql client (as internal/testenv does).
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
