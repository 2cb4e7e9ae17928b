package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/options"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	"github.com/authzed/spicedb/pkg/tuple"
)

// DefaultMaxRetries is how many times ReadWriteTx runs a user function
// that keeps returning ErrRetryable.
const DefaultMaxRetries = 10

// rwTx is one bbolt write transaction: bbolt admits one writer at a time,
// so transactions are serializable and never conflict with each other.
type rwTx struct {
	reader
	log       changeLog
	relDelta  int64
	newHash   string
	wroteHash bool
}

var _ datastore.ReadWriteTransaction = (*rwTx)(nil)

// ReadWriteTx runs fn in a transaction and commits it at a new revision.
func (s *Store) ReadWriteTx(ctx context.Context, fn datastore.TxUserFunc, opts ...options.RWTOptionsOption) (datastore.Revision, error) {
	o := options.NewRWTOptionsWithOptions(opts...)
	attempts := DefaultMaxRetries
	if o.DisableRetries {
		attempts = 1
	}
	var err error
	for range attempts {
		var rev Revision
		var hash string
		rev, hash, err = s.attempt(ctx, fn, o)
		if err == nil {
			s.committed(rev, hash)
			return rev, nil
		}
		if !errors.Is(err, ErrRetryable) || ctx.Err() != nil {
			break
		}
	}
	return datastore.NoRevision, err
}

func (s *Store) attempt(ctx context.Context, fn datastore.TxUserFunc, o *options.RWTOptions) (Revision, string, error) {
	if err := s.checkOpen(); err != nil {
		return 0, "", err
	}
	t := &rwTx{reader: reader{s: s}}
	var lastHash string
	// The write transaction (bbolt's single writer lock) is taken on the
	// transaction's first read or write, not when it starts: a caller that
	// opens a transaction and waits does not block other writers, and the
	// revision is chosen when the work actually begins.
	t.begin = func() error {
		if t.tx != nil {
			return nil
		}
		tx, err := s.db.Begin(true)
		if err != nil {
			if isClosedErr(err) {
				return ErrClosed
			}
			return fmt.Errorf("begin write transaction: %w", err)
		}
		lastKey, h := tx.Bucket(bucketRevs).Cursor().Last()
		lastHash = string(h)
		rev := max(revisionForTime(time.Now()), revisionFromBytes(lastKey)+1)
		t.tx, t.at, t.log = tx, rev, changeLog{tx: tx, rev: rev}
		return nil
	}
	defer func() {
		if t.tx != nil {
			_ = t.tx.Rollback()
		}
	}()
	if o.SchemaHashPrecondition != "" {
		if err := t.begin(); err != nil {
			return 0, "", err
		}
		if lastHash != o.SchemaHashPrecondition {
			return 0, "", datastore.ErrSchemaHashPreconditionFailed
		}
	}
	if err := fn(ctx, t); err != nil {
		return 0, "", err
	}
	if err := t.begin(); err != nil {
		return 0, "", err
	}
	if o.Metadata != nil && len(o.Metadata.GetFields()) > 0 {
		if err := t.log.metadata(o.Metadata); err != nil {
			return 0, "", err
		}
	}
	if err := addRelCount(t.tx, t.relDelta); err != nil {
		return 0, "", err
	}
	hash := lastHash
	if t.wroteHash {
		hash = t.newHash
	}
	if err := t.tx.Bucket(bucketRevs).Put(t.at.bytes(), []byte(hash)); err != nil {
		return 0, "", fmt.Errorf("record revision %d: %w", t.at, err)
	}
	tx := t.tx
	t.tx = nil
	if err := tx.Commit(); err != nil {
		return 0, "", fmt.Errorf("commit revision %d: %w", t.at, err)
	}
	return t.at, hash, nil
}

// existing returns the live relationship at the resource key. An expired
// one still counts: SpiceDB refuses to Create over it, as the SQL
// datastores do until it is collected.
func (t *rwTx) existing(rk []byte, ref tuple.RelationshipReference) (tuple.Relationship, []byte, bool, error) {
	v, ok := getAt(t.tx.Bucket(bucketRels), rk, t.at)
	if !ok {
		return tuple.Relationship{}, nil, false, nil
	}
	parts, err := splitRelPayload(v.payload)
	if err != nil {
		return tuple.Relationship{}, nil, false, err
	}
	rel, err := decodeRel(ref, parts, false)
	return rel, v.payload, true, err
}

func (t *rwTx) putRel(rk, sk, payload []byte) error {
	_, had, err := putVersion(t.tx.Bucket(bucketRels), rk, t.at, payload)
	if err != nil {
		return fmt.Errorf("write relationship: %w", err)
	}
	if _, _, err := putVersion(t.tx.Bucket(bucketSubjects), sk, t.at, payload); err != nil {
		return fmt.Errorf("write subject index: %w", err)
	}
	if !had {
		t.relDelta++
	}
	return nil
}

func (t *rwTx) deleteRel(rk, sk []byte) (bool, error) {
	_, had, err := deleteVersion(t.tx.Bucket(bucketRels), rk, t.at)
	if err != nil {
		return false, fmt.Errorf("delete relationship: %w", err)
	}
	if _, _, err := deleteVersion(t.tx.Bucket(bucketSubjects), sk, t.at); err != nil {
		return false, fmt.Errorf("delete from subject index: %w", err)
	}
	if had {
		t.relDelta--
	}
	return had, nil
}

func (t *rwTx) WriteRelationships(_ context.Context, mutations []tuple.RelationshipUpdate) error {
	if err := t.begin(); err != nil {
		return err
	}
	for _, m := range mutations {
		if err := t.mutate(m); err != nil {
			return err
		}
	}
	return nil
}

func (t *rwTx) mutate(m tuple.RelationshipUpdate) error {
	ref := m.Relationship.RelationshipReference
	rk, sk := resourceKey(ref), subjectKey(ref)
	cur, curPayload, exists, err := t.existing(rk, ref)
	if err != nil {
		return err
	}
	switch m.Operation {
	case tuple.UpdateOperationDelete:
		had, err := t.deleteRel(rk, sk)
		if err != nil || !had {
			return err
		}
		return t.log.relationship(tuple.UpdateOperationDelete, cur)
	case tuple.UpdateOperationCreate, tuple.UpdateOperationTouch:
		payload, err := encodeRelPayload(m.Relationship)
		if err != nil {
			return err
		}
		if exists && m.Operation == tuple.UpdateOperationCreate {
			return datastore.NewCreateRelationshipExistsError(&cur)
		}
		if exists && bytes.Equal(curPayload, payload) {
			return nil
		}
		if err := t.putRel(rk, sk, payload); err != nil {
			return err
		}
		// Watch reports creates as touches, as every SpiceDB datastore does.
		return t.log.relationship(tuple.UpdateOperationTouch, m.Relationship)
	default:
		return fmt.Errorf("write relationship %s: unknown operation %v", tuple.MustString(m.Relationship), m.Operation)
	}
}

func (t *rwTx) DeleteRelationships(ctx context.Context, filter *v1.RelationshipFilter, opts ...options.DeleteOptionsOption) (uint64, bool, error) {
	do := options.NewDeleteOptionsWithOptions(opts...)
	rf, err := datastore.RelationshipsFilterFromPublicFilter(filter)
	if err != nil {
		return 0, false, fmt.Errorf("delete relationships: %w", err)
	}
	var qopts []options.QueryOptionsOption
	if do.DeleteLimit != nil {
		qopts = append(qopts, options.WithLimit(new(*do.DeleteLimit+1)))
	}
	it, err := t.QueryRelationships(ctx, rf, qopts...)
	if err != nil {
		return 0, false, err
	}
	var found []tuple.Relationship
	for rel, err := range it {
		if err != nil {
			return 0, false, err
		}
		found = append(found, rel)
	}
	limited := false
	if do.DeleteLimit != nil && uint64(len(found)) > *do.DeleteLimit {
		found, limited = found[:*do.DeleteLimit], true
	}
	for _, rel := range found {
		if err := t.mutate(tuple.Delete(rel)); err != nil {
			return 0, false, err
		}
	}
	return uint64(len(found)), limited, nil
}

func (t *rwTx) BulkLoad(ctx context.Context, src datastore.BulkWriteRelationshipSource) (uint64, error) {
	if err := t.begin(); err != nil {
		return 0, err
	}
	var n uint64
	for {
		rel, err := src.Next(ctx)
		if err != nil {
			return n, fmt.Errorf("bulk load: read source: %w", err)
		}
		if rel == nil {
			return n, nil
		}
		if err := t.mutate(tuple.Create(*rel)); err != nil {
			return n, err
		}
		n++
	}
}

func (t *rwTx) WriteStoredSchema(_ context.Context, sc *core.StoredSchema) error {
	if err := t.begin(); err != nil {
		return err
	}
	raw, err := sc.MarshalVT()
	if err != nil {
		return fmt.Errorf("encode stored schema: %w", err)
	}
	if _, _, err := putVersion(t.tx.Bucket(bucketSchema), unifiedSchemaKey, t.at, raw); err != nil {
		return fmt.Errorf("write stored schema: %w", err)
	}
	t.newHash, t.wroteHash = sc.GetV1().GetSchemaHash(), true
	return nil
}
