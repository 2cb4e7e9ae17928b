package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/authzed/spicedb/pkg/datastore"
	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	"github.com/authzed/spicedb/pkg/tuple"
)

// The change log is what Watch replays: one entry per change, keyed by
// revision and a sequence number within it, so a range scan from a
// revision returns every later change in commit order.
type changeKind byte

const (
	changeRelTouch changeKind = iota + 1
	changeRelCreate
	changeRelDelete
	changeNamespace
	changeCaveat
	changeNamespaceDeleted
	changeCaveatDeleted
	changeMetadata
)

const changeKeyLen = revLen + 4

type changeLog struct {
	tx  *bolt.Tx
	rev Revision
	seq uint32
}

func (l *changeLog) add(kind changeKind, data []byte) error {
	k := make([]byte, changeKeyLen)
	copy(k, l.rev.bytes())
	binary.BigEndian.PutUint32(k[revLen:], l.seq)
	l.seq++
	v := make([]byte, 0, 1+len(data))
	v = append(v, byte(kind))
	v = append(v, data...)
	if err := l.tx.Bucket(bucketChanges).Put(k, v); err != nil {
		return fmt.Errorf("record change at %d: %w", l.rev, err)
	}
	return nil
}

func (l *changeLog) relationship(op tuple.UpdateOperation, rel tuple.Relationship) error {
	payload, err := encodeRelPayload(rel)
	if err != nil {
		return err
	}
	rk := resourceKey(rel.RelationshipReference)
	data := appendLengthPrefixed(nil, rk)
	data = append(data, payload...)
	kind := changeRelTouch
	switch op {
	case tuple.UpdateOperationCreate:
		kind = changeRelCreate
	case tuple.UpdateOperationDelete:
		kind = changeRelDelete
	}
	return l.add(kind, data)
}

func (l *changeLog) metadata(md *structpb.Struct) error {
	raw, err := proto.Marshal(md)
	if err != nil {
		return fmt.Errorf("encode transaction metadata: %w", err)
	}
	return l.add(changeMetadata, raw)
}

// readChanges returns the changes committed after from and up to to, one
// RevisionChanges per revision, keeping only the content asked for.
func readChanges(tx *bolt.Tx, from, to Revision, content datastore.WatchContent) ([]datastore.RevisionChanges, error) {
	var out []datastore.RevisionChanges
	c := tx.Bucket(bucketChanges).Cursor()
	wantRels := content&datastore.WatchRelationships != 0
	wantSchema := content&datastore.WatchSchema != 0
	for k, v := c.Seek((from + 1).bytes()); k != nil; k, v = c.Next() {
		if len(k) != changeKeyLen || len(v) < 1 {
			return nil, corruptf("change entry")
		}
		rev := revisionFromBytes(k)
		if rev > to {
			break
		}
		if len(out) == 0 || !out[len(out)-1].Revision.Equal(rev) {
			out = append(out, datastore.RevisionChanges{Revision: rev})
		}
		rc := &out[len(out)-1]
		data := v[1:]
		switch kind := changeKind(v[0]); kind {
		case changeRelTouch, changeRelCreate, changeRelDelete:
			if !wantRels {
				continue
			}
			upd, err := decodeRelChange(kind, data)
			if err != nil {
				return nil, err
			}
			rc.RelationshipChanges = append(rc.RelationshipChanges, upd)
		case changeNamespace, changeCaveat:
			if !wantSchema {
				continue
			}
			var def datastore.SchemaDefinition
			if kind == changeNamespace {
				ns := &core.NamespaceDefinition{}
				if err := ns.UnmarshalVT(data); err != nil {
					return nil, corruptf("namespace change: %v", err)
				}
				def = ns
			} else {
				cv := &core.CaveatDefinition{}
				if err := cv.UnmarshalVT(data); err != nil {
					return nil, corruptf("caveat change: %v", err)
				}
				def = cv
			}
			rc.ChangedDefinitions = append(rc.ChangedDefinitions, def)
		case changeNamespaceDeleted:
			if wantSchema {
				rc.DeletedNamespaces = append(rc.DeletedNamespaces, string(data))
			}
		case changeCaveatDeleted:
			if wantSchema {
				rc.DeletedCaveats = append(rc.DeletedCaveats, string(data))
			}
		case changeMetadata:
			md := &structpb.Struct{}
			if err := proto.Unmarshal(data, md); err != nil {
				return nil, corruptf("metadata change: %v", err)
			}
			rc.Metadatas = append(rc.Metadatas, md)
		default:
			return nil, corruptf("change kind %d", kind)
		}
	}
	return out, nil
}

func decodeRelChange(kind changeKind, data []byte) (tuple.RelationshipUpdate, error) {
	rk, payload, ok := lengthPrefixed(data)
	if !ok {
		return tuple.RelationshipUpdate{}, corruptf("relationship change")
	}
	ref, err := refFromResourceKey(rk)
	if err != nil {
		return tuple.RelationshipUpdate{}, err
	}
	parts, err := splitRelPayload(payload)
	if err != nil {
		return tuple.RelationshipUpdate{}, err
	}
	rel, err := decodeRel(ref, parts, false)
	if err != nil {
		return tuple.RelationshipUpdate{}, err
	}
	op := tuple.UpdateOperationTouch
	switch kind {
	case changeRelCreate:
		op = tuple.UpdateOperationCreate
	case changeRelDelete:
		op = tuple.UpdateOperationDelete
	}
	return tuple.RelationshipUpdate{Operation: op, Relationship: rel}, nil
}

func hasContent(rc datastore.RevisionChanges) bool {
	return len(rc.RelationshipChanges) > 0 || len(rc.ChangedDefinitions) > 0 ||
		len(rc.DeletedNamespaces) > 0 || len(rc.DeletedCaveats) > 0 || len(rc.Metadatas) > 0
}
