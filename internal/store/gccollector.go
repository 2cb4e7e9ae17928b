package store

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/authzed/spicedb/pkg/datastore"
)

// The store is collected by SpiceDB's own GC driver
// (datastore.RunGarbageCollection), which the background worker runs and
// the conformance suite drives.
var _ datastore.GarbageCollectableDatastore = (*Store)(nil)

// HasGCRun reports whether a collection completed since the last reset.
func (s *Store) HasGCRun() bool { return s.gcRan.Load() }

// MarkGCCompleted records a completed collection.
func (s *Store) MarkGCCompleted() { s.gcRan.Store(true) }

// ResetGCCompleted forgets completed collections.
func (s *Store) ResetGCCompleted() { s.gcRan.Store(false) }

// BuildGarbageCollector returns a collector for one run.
func (s *Store) BuildGarbageCollector(context.Context) (datastore.GarbageCollector, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	return collector{s: s}, nil
}

type collector struct{ s *Store }

// LockForGCRun lets one run at a time through; the file lock already keeps
// other processes out.
func (c collector) LockForGCRun(context.Context) (bool, error) { return c.s.gcMu.TryLock(), nil }

func (c collector) UnlockAfterGCRun() error {
	c.s.gcMu.Unlock()
	return nil
}

func (collector) Now(context.Context) (time.Time, error) { return time.Now(), nil }

// TxIDBefore is the revision of that instant: revisions are commit times.
func (collector) TxIDBefore(_ context.Context, t time.Time) (datastore.Revision, error) {
	return revisionForTime(t), nil
}

func (c collector) DeleteBeforeTx(ctx context.Context, rev datastore.Revision) (datastore.DeletionCounts, error) {
	res, err := c.s.collectBefore(ctx, asRevision(rev))
	return datastore.DeletionCounts{
		Relationships: int64(res.Relationships),
		Transactions:  int64(res.Revisions),
		Namespaces:    int64(res.Namespaces),
	}, err
}

// DeleteExpiredRels removes relationships that expired more than a GC
// window ago. Reads already skip them (expiration is judged by the clock,
// at every revision), so removing them changes no answer; waiting a window
// keeps a Create over a just-expired relationship refused, as in SpiceDB's
// SQL datastores.
func (c collector) DeleteExpiredRels(ctx context.Context) (int64, error) {
	cutoff := time.Now().Add(-c.s.cfg.gcWindow)
	var total int64
	var start []byte
	for {
		n, next, err := c.s.deleteExpired(cutoff, start)
		total += int64(n)
		if err != nil || next == nil || ctx.Err() != nil {
			return total, err
		}
		start = next
	}
}

func (s *Store) deleteExpired(cutoff time.Time, start []byte) (int, []byte, error) {
	type doomed struct {
		rk, sk []byte
		live   bool
	}
	var found []doomed
	var next []byte
	err := s.db.Update(func(tx *bolt.Tx) error {
		rels := tx.Bucket(bucketRels)
		c := rels.Cursor()
		k, v := c.First()
		if start != nil {
			k, v = c.Seek(start)
		}
		for ; k != nil; k, v = c.Next() {
			if len(found) >= gcBatch {
				next = bytes.Clone(k)
				break
			}
			ver, ok := splitVersion(k, v)
			if !ok {
				continue
			}
			parts, err := splitRelPayload(ver.payload)
			if err != nil {
				return err
			}
			if parts.expiration == nil || !parts.expiration.Before(cutoff) {
				continue
			}
			ref, err := refFromResourceKey(ver.logical)
			if err != nil {
				return err
			}
			found = append(found, doomed{rk: bytes.Clone(k), sk: physicalKey(subjectKey(ref), ver.created), live: ver.deleted == 0})
		}
		live := int64(0)
		for _, d := range found {
			if err := rels.Delete(d.rk); err != nil {
				return err
			}
			if err := tx.Bucket(bucketSubjects).Delete(d.sk); err != nil {
				return err
			}
			if d.live {
				live++
			}
		}
		return addRelCount(tx, -live)
	})
	if err != nil {
		return 0, nil, fmt.Errorf("delete expired relationships: %w", err)
	}
	return len(found), next, nil
}

func (collector) Close() {}
