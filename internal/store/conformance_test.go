package store_test

import (
	"testing"
	"time"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/test"

	"github.com/boxauthz/boxauthz/internal/store"
)

func openForConformance(tb testing.TB, rp test.RevisionParameters, watchBufferLength uint16) (datastore.Datastore, error) {
	s, err := store.Open(tb.Context(), tb.TempDir(),
		store.WithGCWindow(time.Duration(rp.GCRetentionWindow)),
		store.WithGCInterval(time.Duration(rp.GCRunInterval)),
		store.WithRevisionQuantization(rp.Quantization),
		store.WithWatchBufferLength(watchBufferLength),
		// Durability is tested on its own; fsync per commit only slows the suite.
		store.WithNoSync(),
	)
	if err != nil {
		return nil, err
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s, nil
}

// TestConformance runs SpiceDB's datastore suite against the store.
func TestConformance(t *testing.T) {
	tester := test.NewTesterFactory(store.ErrRetryable).NewTester(test.DatastoreTesterFunc(openForConformance))
	test.AllWithExceptions(t, tester, test.WithCategories(
		// One bbolt writer at a time: two write transactions open at once
		// wait on each other, which these tests treat as a deadlock (SpiceDB
		// excepts memdb, also single-writer, for the same reason).
		test.ConcurrentWriteCategory,
		// There are no migrations: a data dir of another format version is
		// refused at Open (TestOpenRefusesOtherFormatVersion).
		test.MigrationCategory,
	))
}
