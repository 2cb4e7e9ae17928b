package store

import (
	"context"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/authzed/spicedb/pkg/datastore"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
)

// reader answers at one revision. Outside a transaction (tx nil) each call
// opens its own short bbolt read transaction: versions make them agree.
type reader struct {
	s  *Store
	tx *bolt.Tx
	at Revision
	// begin, in a read-write transaction, opens the bbolt write
	// transaction on first use (see rwTx).
	begin func() error
}

var _ datastore.Reader = (*reader)(nil)

func (r *reader) view(fn func(*bolt.Tx) error) error {
	if r.begin != nil {
		if err := r.begin(); err != nil {
			return err
		}
	}
	if r.tx != nil {
		return fn(r.tx)
	}
	if err := r.s.checkOpen(); err != nil {
		return err
	}
	if err := r.s.db.View(fn); err != nil {
		if isClosedErr(err) {
			return ErrClosed
		}
		return err
	}
	return nil
}

func nameKey(name string) []byte { return appendComponent(nil, name) }

func logicalName(k []byte) string { return string(k[:len(k)-1]) }

type vtMessage interface{ UnmarshalVT([]byte) error }

// readDefinition reads one versioned definition; ok is false if absent.
func readDefinition(r *reader, bucket []byte, name string, into vtMessage) (Revision, bool, error) {
	var created Revision
	var found bool
	err := r.view(func(tx *bolt.Tx) error {
		v, ok := getAt(tx.Bucket(bucket), nameKey(name), r.at)
		if !ok {
			return nil
		}
		found, created = true, v.created
		return into.UnmarshalVT(v.payload)
	})
	if err != nil {
		return 0, false, fmt.Errorf("read %s %q at %d: %w", bucket, name, r.at, err)
	}
	return created, found, nil
}

func listDefinitions[T datastore.SchemaDefinition](r *reader, bucket []byte, names []string, newT func() T) ([]datastore.RevisionedDefinition[T], error) {
	var out []datastore.RevisionedDefinition[T]
	add := func(v version) error {
		d := newT()
		if err := any(d).(vtMessage).UnmarshalVT(v.payload); err != nil {
			return corruptf("%s %q: %v", bucket, logicalName(v.logical), err)
		}
		out = append(out, datastore.RevisionedDefinition[T]{Definition: d, LastWrittenRevision: v.created})
		return nil
	}
	err := r.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if names == nil {
			_, err := scanAt(b, nil, nil, r.at, 0, func(v version) (bool, error) { return true, add(v) })
			return err
		}
		for _, n := range names {
			if v, ok := getAt(b, nameKey(n), r.at); ok {
				if err := add(v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s at %d: %w", bucket, r.at, err)
	}
	return out, nil
}

func newNamespace() *core.NamespaceDefinition { return &core.NamespaceDefinition{} }
func newCaveat() *core.CaveatDefinition       { return &core.CaveatDefinition{} }

func (r *reader) LegacyReadNamespaceByName(_ context.Context, name string) (*core.NamespaceDefinition, datastore.Revision, error) {
	ns := newNamespace()
	created, ok, err := readDefinition(r, bucketNS, name, ns)
	if err != nil {
		return nil, datastore.NoRevision, err
	}
	if !ok {
		return nil, datastore.NoRevision, datastore.NewNamespaceNotFoundErr(name)
	}
	return ns, created, nil
}

func (r *reader) LegacyListAllNamespaces(context.Context) ([]datastore.RevisionedNamespace, error) {
	return listDefinitions(r, bucketNS, nil, newNamespace)
}

func (r *reader) LegacyLookupNamespacesWithNames(_ context.Context, names []string) ([]datastore.RevisionedNamespace, error) {
	if len(names) == 0 {
		return nil, nil
	}
	return listDefinitions(r, bucketNS, names, newNamespace)
}

func (r *reader) LegacyReadCaveatByName(_ context.Context, name string) (*core.CaveatDefinition, datastore.Revision, error) {
	c := newCaveat()
	created, ok, err := readDefinition(r, bucketCaveats, name, c)
	if err != nil {
		return nil, datastore.NoRevision, err
	}
	if !ok {
		return nil, datastore.NoRevision, datastore.NewCaveatNameNotFoundErr(name)
	}
	return c, created, nil
}

func (r *reader) LegacyListAllCaveats(context.Context) ([]datastore.RevisionedCaveat, error) {
	return listDefinitions(r, bucketCaveats, nil, newCaveat)
}

func (r *reader) LegacyLookupCaveatsWithNames(_ context.Context, names []string) ([]datastore.RevisionedCaveat, error) {
	if len(names) == 0 {
		return nil, nil
	}
	return listDefinitions(r, bucketCaveats, names, newCaveat)
}

var unifiedSchemaKey = nameKey("unified")

func (r *reader) ReadStoredSchema(context.Context) (*datastore.ReadOnlyStoredSchema, error) {
	var raw []byte
	err := r.view(func(tx *bolt.Tx) error {
		if v, ok := getAt(tx.Bucket(bucketSchema), unifiedSchemaKey, r.at); ok {
			raw = append([]byte(nil), v.payload...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read stored schema at %d: %w", r.at, err)
	}
	if raw == nil {
		return nil, datastore.ErrSchemaNotFound
	}
	sc := &core.StoredSchema{}
	if err := sc.UnmarshalVT(raw); err != nil {
		return nil, corruptf("stored schema: %v", err)
	}
	return datastore.NewReadOnlyStoredSchemaWithSize(sc, len(raw)), nil
}

// A counter's payload is the computed count (8 bytes), the revision it was
// computed at (8 bytes, 0 for never) and the filter protobuf.
func encodeCounter(count int, at Revision, filter *core.RelationshipFilter) ([]byte, error) {
	f, err := filter.MarshalVT()
	if err != nil {
		return nil, fmt.Errorf("encode counter filter: %w", err)
	}
	b := make([]byte, 16, 16+len(f))
	binary.BigEndian.PutUint64(b, bitsOf(int64(count)))
	binary.BigEndian.PutUint64(b[8:], uint64(at))
	return append(b, f...), nil
}

func decodeCounter(name string, p []byte) (datastore.RelationshipCounter, error) {
	if len(p) < 16 {
		return datastore.RelationshipCounter{}, corruptf("counter %q", name)
	}
	f := &core.RelationshipFilter{}
	if err := f.UnmarshalVT(p[16:]); err != nil {
		return datastore.RelationshipCounter{}, corruptf("counter %q filter: %v", name, err)
	}
	c := datastore.RelationshipCounter{Name: name, Filter: f, Count: int(fromBits(binary.BigEndian.Uint64(p))), ComputedAtRevision: datastore.NoRevision}
	if at := Revision(binary.BigEndian.Uint64(p[8:])); at != 0 {
		c.ComputedAtRevision = at
	}
	return c, nil
}

func (r *reader) LookupCounters(context.Context) ([]datastore.RelationshipCounter, error) {
	var out []datastore.RelationshipCounter
	err := r.view(func(tx *bolt.Tx) error {
		_, err := scanAt(tx.Bucket(bucketCounters), nil, nil, r.at, 0, func(v version) (bool, error) {
			c, err := decodeCounter(logicalName(v.logical), v.payload)
			out = append(out, c)
			return true, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list counters at %d: %w", r.at, err)
	}
	return out, nil
}

// CountRelationships counts what the registered filter matches now, at
// the reader's revision.
func (r *reader) CountRelationships(ctx context.Context, name string) (int, error) {
	var filter *core.RelationshipFilter
	err := r.view(func(tx *bolt.Tx) error {
		v, ok := getAt(tx.Bucket(bucketCounters), nameKey(name), r.at)
		if !ok {
			return datastore.NewCounterNotRegisteredErr(name)
		}
		c, err := decodeCounter(name, v.payload)
		filter = c.Filter
		return err
	})
	if err != nil {
		return 0, err
	}
	rf, err := datastore.RelationshipsFilterFromCoreFilter(filter)
	if err != nil {
		return 0, fmt.Errorf("counter %q filter: %w", name, err)
	}
	it, err := r.QueryRelationships(ctx, rf)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, err := range it {
		if err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}
