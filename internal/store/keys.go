package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	"github.com/authzed/spicedb/pkg/tuple"
)

// Keys are components each terminated by sep. SpiceDB forbids NUL in type
// names, relations and object IDs, so a full key is never a prefix of
// another and byte order equals component-wise string order, which is the
// order SpiceDB's cursors and sorts use.
const sep = 0x00

const expLen = 13

func appendComponent(b []byte, s string) []byte {
	b = append(b, s...)
	return append(b, sep)
}

// resourceKey orders by resource then subject: the resource index.
func resourceKey(rel tuple.RelationshipReference) []byte {
	b := make([]byte, 0, 64)
	b = appendComponent(b, rel.Resource.ObjectType)
	b = appendComponent(b, rel.Resource.ObjectID)
	b = appendComponent(b, rel.Resource.Relation)
	b = appendComponent(b, rel.Subject.ObjectType)
	b = appendComponent(b, rel.Subject.ObjectID)
	return appendComponent(b, rel.Subject.Relation)
}

// subjectKey orders by subject then resource: the subject index.
func subjectKey(rel tuple.RelationshipReference) []byte {
	b := make([]byte, 0, 64)
	b = appendComponent(b, rel.Subject.ObjectType)
	b = appendComponent(b, rel.Subject.ObjectID)
	b = appendComponent(b, rel.Subject.Relation)
	b = appendComponent(b, rel.Resource.ObjectType)
	b = appendComponent(b, rel.Resource.ObjectID)
	return appendComponent(b, rel.Resource.Relation)
}

func splitComponents(k []byte) ([6]string, error) {
	var out [6]string
	for i := range out {
		j := bytes.IndexByte(k, sep)
		if j < 0 {
			return out, corruptf("relationship key has %d components, want 6", i)
		}
		out[i] = string(k[:j])
		k = k[j+1:]
	}
	return out, nil
}

func refFromResourceKey(k []byte) (tuple.RelationshipReference, error) {
	c, err := splitComponents(k)
	if err != nil {
		return tuple.RelationshipReference{}, err
	}
	return tuple.RelationshipReference{
		Resource: tuple.ObjectAndRelation{ObjectType: c[0], ObjectID: c[1], Relation: c[2]},
		Subject:  tuple.ObjectAndRelation{ObjectType: c[3], ObjectID: c[4], Relation: c[5]},
	}, nil
}

func refFromSubjectKey(k []byte) (tuple.RelationshipReference, error) {
	c, err := splitComponents(k)
	if err != nil {
		return tuple.RelationshipReference{}, err
	}
	return tuple.RelationshipReference{
		Subject:  tuple.ObjectAndRelation{ObjectType: c[0], ObjectID: c[1], Relation: c[2]},
		Resource: tuple.ObjectAndRelation{ObjectType: c[3], ObjectID: c[4], Relation: c[5]},
	}, nil
}

// encodeRelPayload stores what a relationship carries besides its key:
// expiration (a presence byte, 8 bytes of Unix seconds, 4 of nanoseconds), then the caveat and the integrity
// record, each a length-prefixed protobuf (length 0 for none).
func encodeRelPayload(rel tuple.Relationship) ([]byte, error) {
	// Seconds and nanoseconds apart: Unix nanoseconds overflow in 2262
	// and expirations far in the future are legitimate.
	b := make([]byte, expLen, 32)
	if e := rel.OptionalExpiration; e != nil {
		b[0] = 1
		binary.BigEndian.PutUint64(b[1:], bitsOf(e.Unix()))
		binary.BigEndian.PutUint32(b[9:], nanosBits(e.Nanosecond()))
	}
	var cav, integ []byte
	var err error
	if rel.OptionalCaveat != nil && rel.OptionalCaveat.CaveatName != "" {
		if cav, err = rel.OptionalCaveat.MarshalVT(); err != nil {
			return nil, fmt.Errorf("encode caveat of %s: %w", tuple.MustString(rel), err)
		}
	}
	if rel.OptionalIntegrity != nil {
		if integ, err = rel.OptionalIntegrity.MarshalVT(); err != nil {
			return nil, fmt.Errorf("encode integrity of %s: %w", tuple.MustString(rel), err)
		}
	}
	b = appendLengthPrefixed(b, cav)
	return appendLengthPrefixed(b, integ), nil
}

type payloadParts struct {
	expiration *time.Time
	caveat     []byte
	integrity  []byte
}

func splitRelPayload(p []byte) (payloadParts, error) {
	var out payloadParts
	if len(p) < expLen {
		return out, corruptf("relationship payload of %d bytes", len(p))
	}
	if p[0] == 1 {
		t := time.Unix(fromBits(binary.BigEndian.Uint64(p[1:])), int64(binary.BigEndian.Uint32(p[9:]))).UTC()
		out.expiration = &t
	}
	p = p[expLen:]
	for _, dst := range []*[]byte{&out.caveat, &out.integrity} {
		field, rest, ok := lengthPrefixed(p)
		if !ok {
			return out, corruptf("relationship payload length")
		}
		if len(field) > 0 {
			*dst = field
		}
		p = rest
	}
	return out, nil
}

// decodeRel rebuilds a relationship; skipCaveat leaves the caveat protobuf
// unparsed when the caller promised not to need it.
func decodeRel(ref tuple.RelationshipReference, parts payloadParts, skipCaveat bool) (tuple.Relationship, error) {
	rel := tuple.Relationship{RelationshipReference: ref, OptionalExpiration: parts.expiration}
	if parts.caveat != nil && !skipCaveat {
		c := &core.ContextualizedCaveat{}
		if err := c.UnmarshalVT(parts.caveat); err != nil {
			return rel, corruptf("caveat: %v", err)
		}
		if c.Context == nil {
			// SpiceDB returns a caveat without context as an empty one.
			c.Context = &structpb.Struct{}
		}
		rel.OptionalCaveat = c
	}
	if parts.integrity != nil {
		in := &core.RelationshipIntegrity{}
		if err := in.UnmarshalVT(parts.integrity); err != nil {
			return rel, corruptf("integrity: %v", err)
		}
		rel.OptionalIntegrity = in
	}
	return rel, nil
}
