package source_test

import (
	"testing"

	"github.com/boxauthz/boxauthz/sync/source"
)

// fileSource is a file source of path, failing the test when it cannot be
// made.
func fileSource(t *testing.T, path string, opts ...source.Option) *source.FileSource {
	t.Helper()
	f, err := source.NewFileSource(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// outboxSource is an outbox source of dsn, failing the test when it cannot
// be made.
func outboxSource(t *testing.T, dsn string, opts ...source.Option) *source.OutboxSource {
	t.Helper()
	o, err := source.NewOutboxSource(dsn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return o
}
