package rel

import (
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/boxauthz/boxauthz/schema"
)

// Object is the SpiceDB object for the Box item, user or group boxID.
func Object(typ, boxID string) *v1.ObjectReference {
	return &v1.ObjectReference{ObjectType: typ, ObjectId: schema.EncodeID(boxID)}
}

// RawObject is the SpiceDB object whose id is already as SpiceDB holds it.
func RawObject(typ, id string) *v1.ObjectReference {
	return &v1.ObjectReference{ObjectType: typ, ObjectId: id}
}

// Subject is the subject boxID of typ or, with a relation, its subject set
// (group:g#member).
func Subject(typ, boxID, relation string) *v1.SubjectReference {
	return &v1.SubjectReference{Object: Object(typ, boxID), OptionalRelation: relation}
}

// RawSubject is the subject whose id is already as SpiceDB holds it.
func RawSubject(typ, id string) *v1.SubjectReference {
	return &v1.SubjectReference{Object: RawObject(typ, id)}
}

// Wildcard is the `user:*` subject that flags (trashed, invite_off and the
// like) are written with.
func Wildcard() *v1.SubjectReference {
	return RawSubject(schema.TypeUser, "*")
}

// New is the relationship resType:resBoxID#relation@s.
func New(resType, resBoxID, relation string, s *v1.SubjectReference) *v1.Relationship {
	return &v1.Relationship{Resource: Object(resType, resBoxID), Relation: relation, Subject: s}
}

// NewRaw is New for a resource id already as SpiceDB holds it.
func NewRaw(resType, resID, relation string, s *v1.SubjectReference) *v1.Relationship {
	return &v1.Relationship{Resource: RawObject(resType, resID), Relation: relation, Subject: s}
}

// Flag is the relationship that turns relation on for resBoxID.
func Flag(resType, resBoxID, relation string) *v1.Relationship {
	return New(resType, resBoxID, relation, Wildcard())
}

// WithCaveat sets r's caveat and its context and returns r. The context
// holds only strings, numbers and booleans, which always convert.
func WithCaveat(r *v1.Relationship, name string, ctx map[string]any) *v1.Relationship {
	st, err := structpb.NewStruct(ctx)
	if err != nil {
		// Callers pass literals of the caveat's parameter types; a failure
		// is a programming error, not input.
		panic(err)
	}
	r.OptionalCaveat = &v1.ContextualizedCaveat{CaveatName: name, Context: st}
	return r
}

// WithExpiry makes r expire at at and returns r; a zero at leaves it
// without expiry.
func WithExpiry(r *v1.Relationship, at time.Time) *v1.Relationship {
	if !at.IsZero() {
		r.OptionalExpiresAt = timestamppb.New(at)
	}
	return r
}

// Touch is the update that writes r whether or not it exists.
func Touch(r *v1.Relationship) *v1.RelationshipUpdate {
	return &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: r}
}

// Delete is the update that removes r if it exists.
func Delete(r *v1.Relationship) *v1.RelationshipUpdate {
	return &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_DELETE, Relationship: r}
}

// FullyConsistent asks SpiceDB for an answer at its newest revision.
func FullyConsistent() *v1.Consistency {
	return &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}
}
