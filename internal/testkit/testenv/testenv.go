package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
	"github.com/boxauthz/boxauthz/schema/upgrade"
)

// Datastore names the datastores tests run on.
type Datastore string

const (
	// Memory is SpiceDB's in-memory datastore, embedded.
	Memory Datastore = "memory"
	// Postgres is SpiceDB in-process on the PostgreSQL BOXAUTHZ_PG_DSN names.
	Postgres Datastore = "postgres"
)

// Datastores lists the datastores every behaviour test should run on.
func Datastores() []Datastore { return []Datastore{Memory, Postgres} }

// SpiceDB starts a SpiceDB on ds holding the schema, stopped at the end of
// the test. Each call gets its own empty store.
func SpiceDB(t testing.TB, ds Datastore) *spicedb.Client {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var opts []embedded.Option
	if ds == Postgres {
		opts = append(opts, embedded.WithPostgres(PostgresDatabase(t)))
	}
	c, err := embedded.Start(ctx, opts...)
	if err != nil {
		cancel()
		t.Fatalf("starting spicedb on %s: %v", ds, err)
	}
	t.Cleanup(func() {
		_ = c.Close()
		cancel()
	})
	if _, err := upgrade.Ensure(ctx, c); err != nil {
		t.Fatalf("writing schema to spicedb on %s: %v", ds, err)
	}
	return c
}

// PostgresDatabase creates a fresh database, migrated for SpiceDB, on the
// server BOXAUTHZ_PG_DSN names, drops it at the end of the test, and returns
// its URI.
func PostgresDatabase(t testing.TB) string {
	t.Helper()
	dsn := PostgresDSN(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	db := "t_" + hex.EncodeToString(b[:])
	if err := psql(dsn, "CREATE DATABASE "+db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = psql(dsn, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)") })
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("BOXAUTHZ_PG_DSN: %v", err)
	}
	u.Path = "/" + db
	uri := u.String()
	if err := embedded.MigratePostgres(context.Background(), uri); err != nil {
		t.Fatal(err)
	}
	return uri
}

// psql runs one statement with the psql client: boxauthz has no PostgreSQL
// driver of its own to run DDL with.
func psql(dsn, stmt string) error {
	out, err := exec.Command("psql", dsn, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", stmt).CombinedOutput()
	if err != nil {
		return fmt.Errorf("psql %q: %w: %s", stmt, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// PostgresDSN is the PostgreSQL server BOXAUTHZ_PG_DSN names; without one
// the test skips, or fails under BOXAUTHZ_REQUIRE_PG=1.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("BOXAUTHZ_PG_DSN")
	if dsn == "" {
		if os.Getenv("BOXAUTHZ_REQUIRE_PG") == "1" {
			t.Fatal("BOXAUTHZ_REQUIRE_PG=1 but BOXAUTHZ_PG_DSN is empty: start one with scripts/pg-local start")
		}
		t.Skip("no PostgreSQL: set BOXAUTHZ_PG_DSN (scripts/pg-local start prints one)")
	}
	return dsn
}

// FreeAddr is a loopback address with a port nothing listens on just now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
