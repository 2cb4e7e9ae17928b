package store

import (
	"context"
	"fmt"

	"github.com/authzed/spicedb/pkg/datastore"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	"github.com/authzed/spicedb/pkg/tuple"
)

type vtMarshaler interface{ MarshalVT() ([]byte, error) }

func (t *rwTx) putDefinition(bucket []byte, name string, def vtMarshaler, kind changeKind) error {
	if err := t.begin(); err != nil {
		return err
	}
	raw, err := def.MarshalVT()
	if err != nil {
		return fmt.Errorf("encode %s %q: %w", bucket, name, err)
	}
	if _, _, err := putVersion(t.tx.Bucket(bucket), nameKey(name), t.at, raw); err != nil {
		return fmt.Errorf("write %s %q: %w", bucket, name, err)
	}
	return t.log.add(kind, raw)
}

func (t *rwTx) LegacyWriteNamespaces(_ context.Context, defs ...*core.NamespaceDefinition) error {
	for _, d := range defs {
		if err := t.putDefinition(bucketNS, d.GetName(), d, changeNamespace); err != nil {
			return err
		}
	}
	return nil
}

func (t *rwTx) LegacyWriteCaveats(_ context.Context, defs []*core.CaveatDefinition) error {
	seen := make(map[string]bool, len(defs))
	for _, d := range defs {
		if seen[d.GetName()] {
			return fmt.Errorf("write caveats: caveat %q given twice", d.GetName())
		}
		seen[d.GetName()] = true
		if err := t.putDefinition(bucketCaveats, d.GetName(), d, changeCaveat); err != nil {
			return err
		}
	}
	return nil
}

func (t *rwTx) LegacyDeleteNamespaces(ctx context.Context, names []string, opt datastore.DeleteNamespacesRelationshipsOption) error {
	if err := t.begin(); err != nil {
		return err
	}
	for _, name := range names {
		_, had, err := deleteVersion(t.tx.Bucket(bucketNS), nameKey(name), t.at)
		if err != nil {
			return fmt.Errorf("delete namespace %q: %w", name, err)
		}
		if !had {
			return datastore.NewNamespaceNotFoundErr(name)
		}
		if err := t.log.add(changeNamespaceDeleted, []byte(name)); err != nil {
			return err
		}
		if opt == datastore.DeleteNamespacesAndRelationships {
			if err := t.deleteAllOfType(ctx, name); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *rwTx) deleteAllOfType(ctx context.Context, resourceType string) error {
	it, err := t.QueryRelationships(ctx, datastore.RelationshipsFilter{OptionalResourceType: resourceType})
	if err != nil {
		return err
	}
	var found []tuple.Relationship
	for rel, err := range it {
		if err != nil {
			return err
		}
		found = append(found, rel)
	}
	for _, rel := range found {
		if err := t.mutate(tuple.Delete(rel)); err != nil {
			return err
		}
	}
	return nil
}

func (t *rwTx) LegacyDeleteCaveats(_ context.Context, names []string) error {
	if err := t.begin(); err != nil {
		return err
	}
	for _, name := range names {
		_, had, err := deleteVersion(t.tx.Bucket(bucketCaveats), nameKey(name), t.at)
		if err != nil {
			return fmt.Errorf("delete caveat %q: %w", name, err)
		}
		if had {
			if err := t.log.add(changeCaveatDeleted, []byte(name)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *rwTx) RegisterCounter(_ context.Context, name string, filter *core.RelationshipFilter) error {
	if err := t.begin(); err != nil {
		return err
	}
	b := t.tx.Bucket(bucketCounters)
	if _, ok := getAt(b, nameKey(name), t.at); ok {
		return datastore.NewCounterAlreadyRegisteredErr(name, filter)
	}
	p, err := encodeCounter(0, 0, filter)
	if err != nil {
		return err
	}
	if _, _, err := putVersion(b, nameKey(name), t.at, p); err != nil {
		return fmt.Errorf("register counter %q: %w", name, err)
	}
	return nil
}

func (t *rwTx) UnregisterCounter(_ context.Context, name string) error {
	if err := t.begin(); err != nil {
		return err
	}
	_, had, err := deleteVersion(t.tx.Bucket(bucketCounters), nameKey(name), t.at)
	if err != nil {
		return fmt.Errorf("unregister counter %q: %w", name, err)
	}
	if !had {
		return datastore.NewCounterNotRegisteredErr(name)
	}
	return nil
}

func (t *rwTx) StoreCounterValue(_ context.Context, name string, value int, at datastore.Revision) error {
	if err := t.begin(); err != nil {
		return err
	}
	b := t.tx.Bucket(bucketCounters)
	v, ok := getAt(b, nameKey(name), t.at)
	if !ok {
		return datastore.NewCounterNotRegisteredErr(name)
	}
	c, err := decodeCounter(name, v.payload)
	if err != nil {
		return err
	}
	p, err := encodeCounter(value, asRevision(at), c.Filter)
	if err != nil {
		return err
	}
	if _, _, err := putVersion(b, nameKey(name), t.at, p); err != nil {
		return fmt.Errorf("store counter %q: %w", name, err)
	}
	return nil
}
