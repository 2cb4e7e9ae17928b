package integration_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"testing"
)

// freshDatabase creates an empty database on the server dsn names, dropped
// when t ends, and returns its URI. It is not migrated: the container does
// that (`spicedb datastore migrate head`).
func freshDatabase(t *testing.T, dsn string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	db := "it_" + hex.EncodeToString(b[:])
	if err := psql(dsn, "CREATE DATABASE "+db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := psql(dsn, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)"); err != nil {
			t.Log(err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("BOXAUTHZ_PG_DSN: %v", err)
	}
	u.Path = "/" + db
	return u.String()
}

func psql(dsn, stmt string) error {
	out, err := exec.Command("psql", dsn, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", stmt).CombinedOutput()
	if err != nil {
		return fmt.Errorf("psql %q: %w: %s", stmt, err, strings.TrimSpace(string(out)))
	}
	return nil
}
