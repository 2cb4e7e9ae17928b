package store_test

import (
	"context"
	"encoding/binary"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/namespace"
	"github.com/authzed/spicedb/pkg/tuple"

	"github.com/boxauthz/boxauthz/internal/store"
)

func writeRels(t *testing.T, s *store.Store, op tuple.UpdateOperation, rels ...string) datastore.Revision {
	t.Helper()
	var ups []tuple.RelationshipUpdate
	for _, r := range rels {
		ups = append(ups, tuple.RelationshipUpdate{Operation: op, Relationship: tuple.MustParse(r)})
	}
	rev, err := s.ReadWriteTx(t.Context(), func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
		return rwt.WriteRelationships(ctx, ups)
	})
	if err != nil {
		t.Fatalf("write %v: %v", rels, err)
	}
	return rev
}

func readAll(t *testing.T, s *store.Store, rev datastore.Revision, resourceType string) []string {
	t.Helper()
	it, err := s.SnapshotReader(rev).QueryRelationships(t.Context(), datastore.RelationshipsFilter{OptionalResourceType: resourceType})
	if err != nil {
		t.Fatal(err)
	}
	rels, err := datastore.IteratorToSlice(it)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(rels))
	for _, r := range rels {
		out = append(out, tuple.MustString(r))
	}
	return out
}

func TestReopenKeepsDataAndRevision(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.ReadWriteTx(t.Context(), func(ctx context.Context, rwt datastore.ReadWriteTransaction) error {
		return rwt.LegacyWriteNamespaces(ctx, namespace.Namespace("document", namespace.MustRelation("viewer", nil)), namespace.Namespace("user"))
	})
	if err != nil {
		t.Fatal(err)
	}
	first := writeRels(t, s, tuple.UpdateOperationCreate, "document:a#viewer@user:alice", "document:b#viewer@user:bob[expiration:2900-01-01T00:00:00Z]")
	last := writeRels(t, s, tuple.UpdateOperationDelete, "document:a#viewer@user:alice")
	before := readAll(t, s, last, "document")
	id, _ := s.UniqueID(t.Context())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = store.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	head, err := s.HeadRevision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !head.Revision.Equal(last) {
		t.Fatalf("head after reopen = %v, want %v", head.Revision, last)
	}
	if after := readAll(t, s, last, "document"); strings.Join(after, ",") != strings.Join(before, ",") || len(after) != 1 {
		t.Fatalf("after reopen %v, before close %v", after, before)
	}
	if old := readAll(t, s, first, "document"); len(old) != 2 {
		t.Fatalf("at the earlier revision after reopen: %v, want both relationships", old)
	}
	if id2, _ := s.UniqueID(t.Context()); id2 != id {
		t.Fatalf("unique id changed across reopen: %q then %q", id, id2)
	}
	next := writeRels(t, s, tuple.UpdateOperationTouch, "document:c#viewer@user:carol")
	if !next.GreaterThan(last) {
		t.Fatalf("revision after reopen %v not above %v", next, last)
	}
}

func TestOpenRefusesOtherFormatVersion(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(filepath.Join(dir, store.DataFileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		var v [4]byte
		binary.BigEndian.PutUint32(v[:], 99)
		return tx.Bucket([]byte("meta")).Put([]byte("format"), v[:])
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	_, err = store.Open(t.Context(), dir)
	var fv *store.FormatVersionError
	if !errors.As(err, &fv) {
		t.Fatalf("open of a format-99 dir: %v, want a FormatVersionError", err)
	}
	if fv.Found != 99 || fv.Expected != store.FormatVersion {
		t.Fatalf("found %d expected %d, want 99 and %d", fv.Found, fv.Expected, store.FormatVersion)
	}
	if msg := err.Error(); !strings.Contains(msg, "format version 99") || !strings.Contains(msg, "format version 1") {
		t.Fatalf("error %q does not name both versions", msg)
	}
}

func TestCollectGarbageDropsOldVersions(t *testing.T) {
	s, err := store.Open(t.Context(), t.TempDir(), store.WithGCWindow(50*time.Millisecond), store.WithGCInterval(0), store.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	old := writeRels(t, s, tuple.UpdateOperationCreate, "document:a#viewer@user:alice", "document:b#viewer@user:bob")
	writeRels(t, s, tuple.UpdateOperationDelete, "document:a#viewer@user:alice")
	time.Sleep(100 * time.Millisecond)
	head := writeRels(t, s, tuple.UpdateOperationTouch, "document:c#viewer@user:carol")

	res, err := s.CollectGarbage(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// alice's version, once in each index.
	if res.Versions != 2 {
		t.Fatalf("collected %d versions, want 2", res.Versions)
	}
	if res.Changes == 0 || res.Revisions == 0 {
		t.Fatalf("collected %+v, want old changes and revisions gone too", res)
	}
	if err := s.CheckRevision(t.Context(), old); err == nil {
		t.Fatal("a revision older than the GC window was accepted")
	}
	if got := readAll(t, s, head, "document"); len(got) != 2 {
		t.Fatalf("at head after GC: %v, want bob and carol", got)
	}
}

func TestGarbageCollectionRemovesLongExpired(t *testing.T) {
	window := 50 * time.Millisecond
	s, err := store.Open(t.Context(), t.TempDir(), store.WithGCWindow(window), store.WithGCInterval(0), store.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	expired := "document:a#viewer@user:alice[expiration:2000-01-01T00:00:00Z]"
	writeRels(t, s, tuple.UpdateOperationCreate, expired, "document:b#viewer@user:bob")
	if stats, _ := s.Statistics(t.Context()); stats.EstimatedRelationshipCount != 2 {
		t.Fatalf("count before GC = %d, want 2", stats.EstimatedRelationshipCount)
	}
	time.Sleep(2 * window)
	if err := datastore.RunGarbageCollection(t.Context(), s, window); err != nil {
		t.Fatal(err)
	}
	if !s.HasGCRun() {
		t.Fatal("GC run not recorded")
	}
	stats, err := s.Statistics(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if stats.EstimatedRelationshipCount != 1 {
		t.Fatalf("count after GC = %d, want 1 (the expired one removed)", stats.EstimatedRelationshipCount)
	}
	// Gone for good: creating it again is no longer a conflict.
	writeRels(t, s, tuple.UpdateOperationCreate, "document:a#viewer@user:alice")
}

// The change log is in the file: a watcher started after a restart from a
// revision before it gets the changes committed before the restart.
func TestWatchAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(t.Context(), dir, store.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	start, err := s.HeadRevision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	written := writeRels(t, s, tuple.UpdateOperationTouch, "document:a#viewer@user:alice")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = store.Open(t.Context(), dir, store.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	changes, errs := s.Watch(ctx, start.Revision, datastore.WatchJustRelationships())
	select {
	case rc, ok := <-changes:
		if !ok {
			t.Fatalf("watch closed: %v", <-errs)
		}
		if !rc.Revision.Equal(written) || len(rc.RelationshipChanges) != 1 ||
			tuple.MustString(rc.RelationshipChanges[0].Relationship) != "document:a#viewer@user:alice" {
			t.Fatalf("got %v at %v, want the touch of alice at %v", rc.RelationshipChanges, rc.Revision, written)
		}
	case <-ctx.Done():
		t.Fatal("no change replayed after reopen")
	}
}
