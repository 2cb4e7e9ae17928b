package store

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/authzed/spicedb/pkg/datastore"
)

// gcBatch bounds the deletions of one write transaction so collection
// never holds the writer lock for long.
const gcBatch = 10_000

// GCResult counts what one collection removed.
type GCResult struct {
	Versions      int // in every versioned bucket, both indexes counted
	Relationships int // relationship versions, counted once
	Namespaces    int
	Changes       int
	Revisions     int
}

func (s *Store) runGC(ctx context.Context) {
	defer close(s.gcDone)
	if s.cfg.gcInterval <= 0 {
		return
	}
	t := time.NewTicker(s.cfg.gcInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := datastore.RunGarbageCollection(ctx, s, s.cfg.gcWindow); err != nil {
				s.cfg.logger.WarnContext(ctx, "store garbage collection failed", "err", err)
			}
		}
	}
}

// CollectGarbage removes what no reader inside the GC window can see:
// versions deleted before the window's edge, change-log entries and
// revision records older than it (the newest revision record is always
// kept, it is head).
func (s *Store) CollectGarbage(ctx context.Context) (GCResult, error) {
	return s.collectBefore(ctx, s.oldestReadable())
}

func (s *Store) collectBefore(ctx context.Context, edge Revision) (GCResult, error) {
	var res GCResult
	for _, b := range [][]byte{bucketRels, bucketSubjects, bucketNS, bucketCaveats, bucketSchema, bucketCounters} {
		var next []byte
		for {
			n, resume, err := s.gcVersions(b, edge, next)
			if err != nil {
				return res, err
			}
			res.Versions += n
			switch {
			case bytes.Equal(b, bucketRels):
				res.Relationships += n
			case bytes.Equal(b, bucketNS):
				res.Namespaces += n
			}
			if resume == nil || ctx.Err() != nil {
				break
			}
			next = resume
		}
	}
	for _, b := range [][]byte{bucketChanges, bucketRevs} {
		for {
			n, err := s.gcPrefixOlder(b, edge)
			if err != nil {
				return res, err
			}
			if bytes.Equal(b, bucketChanges) {
				res.Changes += n
			} else {
				res.Revisions += n
			}
			if n < gcBatch || ctx.Err() != nil {
				break
			}
		}
	}
	return res, ctx.Err()
}

// gcVersions deletes up to gcBatch collectable versions from start on and
// returns where to resume (nil when the bucket is done).
func (s *Store) gcVersions(bucket []byte, edge Revision, start []byte) (int, []byte, error) {
	var doomed [][]byte
	var next []byte
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		c := b.Cursor()
		k, v := c.First()
		if start != nil {
			k, v = c.Seek(start)
		}
		for ; k != nil; k, v = c.Next() {
			if len(doomed) >= gcBatch {
				next = bytes.Clone(k)
				break
			}
			if ver, ok := splitVersion(k, v); ok && ver.deleted != 0 && ver.deleted < edge {
				doomed = append(doomed, bytes.Clone(k))
			}
		}
		// Deleting while a cursor walks the same bucket is undefined in
		// bbolt, hence two passes.
		for _, d := range doomed {
			if err := b.Delete(d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("collect %s: %w", bucket, err)
	}
	return len(doomed), next, nil
}

// gcPrefixOlder deletes up to gcBatch keys that start with a revision
// below edge, never the last key of the bucket.
func (s *Store) gcPrefixOlder(bucket []byte, edge Revision) (int, error) {
	var doomed [][]byte
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		last, _ := b.Cursor().Last()
		c := b.Cursor()
		for k, _ := c.First(); k != nil && len(doomed) < gcBatch && revisionFromBytes(k[:revLen]) < edge && !bytes.Equal(k, last); k, _ = c.Next() {
			doomed = append(doomed, bytes.Clone(k))
		}
		for _, d := range doomed {
			if err := b.Delete(d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("collect %s: %w", bucket, err)
	}
	return len(doomed), nil
}
