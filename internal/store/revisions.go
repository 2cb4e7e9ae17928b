package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/authzed/spicedb/pkg/datastore"
)

var metaRelCount = []byte("relationship-count")

// HeadRevision is the latest commit.
func (s *Store) HeadRevision(context.Context) (datastore.RevisionWithSchemaHash, error) {
	head, hash, err := s.headNow()
	if err != nil {
		return datastore.RevisionWithSchemaHash{}, err
	}
	return datastore.RevisionWithSchemaHash{Revision: head, SchemaHash: hash}, nil
}

// OptimizedRevision rounds now down to the quantization bucket so that
// concurrent requests share a revision (and SpiceDB's caches), but never
// past head: a revision above head could still receive a commit in
// flight, and reads at it would not be repeatable.
func (s *Store) OptimizedRevision(context.Context) (datastore.RevisionWithSchemaHash, error) {
	head, hash, err := s.headNow()
	if err != nil {
		return datastore.RevisionWithSchemaHash{}, err
	}
	q := s.cfg.quantization
	if q <= 0 {
		return datastore.RevisionWithSchemaHash{Revision: head, SchemaHash: hash}, nil
	}
	now := time.Now().UnixNano()
	rounded := Revision(bitsOf(now - now%int64(q)))
	if rounded >= head {
		return datastore.RevisionWithSchemaHash{Revision: head, SchemaHash: hash}, nil
	}
	var roundedHash string
	err = s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRevs).Cursor()
		k, v := c.Seek(rounded.bytes())
		if k == nil || revisionFromBytes(k) > rounded {
			k, v = c.Prev()
		}
		if k == nil {
			// The store is younger than the bucket: its first revision
			// is the oldest state there is.
			k, v = c.First()
			rounded = revisionFromBytes(k)
		}
		roundedHash = string(v)
		return nil
	})
	if err != nil {
		return datastore.RevisionWithSchemaHash{}, fmt.Errorf("read schema hash at %d: %w", rounded, err)
	}
	return datastore.RevisionWithSchemaHash{Revision: rounded, SchemaHash: roundedHash}, nil
}

// CheckRevision accepts revisions from the GC window up to head.
func (s *Store) CheckRevision(_ context.Context, r datastore.Revision) error {
	head, _, err := s.headNow()
	if err != nil {
		return err
	}
	return s.checkRevision(r, head)
}

func (s *Store) checkRevision(r datastore.Revision, head Revision) error {
	rev := asRevision(r)
	if rev > head {
		return datastore.NewInvalidRevisionErr(r, datastore.CouldNotDetermineRevision)
	}
	if rev != head && rev < s.oldestReadable() {
		return datastore.NewInvalidRevisionErr(r, datastore.RevisionStale)
	}
	return nil
}

// oldestReadable is the GC window's lower edge: SpiceDB treats a revision
// as stale once it is older than the window, whether or not its data has
// been collected yet.
func (s *Store) oldestReadable() Revision {
	edge := time.Now().Add(-s.cfg.gcWindow).UnixNano()
	if edge < 0 {
		return 0
	}
	return Revision(bitsOf(edge))
}

// RevisionFromString parses a revision this store wrote.
func (s *Store) RevisionFromString(str string) (datastore.Revision, error) {
	r, err := ParseRevision(str)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// SnapshotReader reads at rev; each call sees the state as of rev.
func (s *Store) SnapshotReader(rev datastore.Revision) datastore.Reader {
	return &reader{s: s, at: asRevision(rev)}
}

// Statistics reports a relationship count kept up to date by each commit,
// so it costs one read rather than a scan.
func (s *Store) Statistics(ctx context.Context) (datastore.Stats, error) {
	head, _, err := s.headNow()
	if err != nil {
		return datastore.Stats{}, err
	}
	var count uint64
	if err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(metaRelCount); len(v) == 8 {
			count = binary.BigEndian.Uint64(v)
		}
		return nil
	}); err != nil {
		return datastore.Stats{}, fmt.Errorf("read relationship count: %w", err)
	}
	nss, err := s.SnapshotReader(head).LegacyListAllNamespaces(ctx)
	if err != nil {
		return datastore.Stats{}, err
	}
	return datastore.Stats{
		UniqueID:                   s.uniqueID,
		EstimatedRelationshipCount: count,
		ObjectTypeStatistics:       datastore.ComputeObjectTypeStats(nss),
	}, nil
}

func addRelCount(tx *bolt.Tx, delta int64) error {
	if delta == 0 {
		return nil
	}
	meta := tx.Bucket(bucketMeta)
	var n int64
	if v := meta.Get(metaRelCount); len(v) == 8 {
		n = fromBits(binary.BigEndian.Uint64(v))
	}
	n = max(n+delta, 0)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], bitsOf(n))
	if err := meta.Put(metaRelCount, b[:]); err != nil {
		return fmt.Errorf("update relationship count: %w", err)
	}
	return nil
}
