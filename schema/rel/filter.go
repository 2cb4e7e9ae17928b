package rel

import (
	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/schema"
)

// Filter matches the relationships of the Box object boxID of typ, of
// relation when set; an empty boxID matches every object of typ.
func Filter(typ, boxID, relation string) *v1.RelationshipFilter {
	id := ""
	if boxID != "" {
		id = schema.EncodeID(boxID)
	}
	return &v1.RelationshipFilter{ResourceType: typ, OptionalResourceId: id, OptionalRelation: relation}
}

// RawFilter is Filter for an id already as SpiceDB holds it.
func RawFilter(typ, id, relation string) *v1.RelationshipFilter {
	return &v1.RelationshipFilter{ResourceType: typ, OptionalResourceId: id, OptionalRelation: relation}
}

// BySubject matches the relationships of resType's relation, every object,
// whose subject is the Box object subjBoxID of subjType.
func BySubject(resType, relation, subjType, subjBoxID string) *v1.RelationshipFilter {
	return &v1.RelationshipFilter{
		ResourceType: resType, OptionalRelation: relation,
		OptionalSubjectFilter: &v1.SubjectFilter{SubjectType: subjType, OptionalSubjectId: schema.EncodeID(subjBoxID)},
	}
}

// MustMatch is the precondition that some relationship matches f.
func MustMatch(f *v1.RelationshipFilter) *v1.Precondition {
	return &v1.Precondition{Operation: v1.Precondition_OPERATION_MUST_MATCH, Filter: f}
}

// MustNotMatch is the precondition that no relationship matches f.
func MustNotMatch(f *v1.RelationshipFilter) *v1.Precondition {
	return &v1.Precondition{Operation: v1.Precondition_OPERATION_MUST_NOT_MATCH, Filter: f}
}

// Matches reports whether f selects r, as SpiceDB's ReadRelationships
// would.
func Matches(f *v1.RelationshipFilter, r *v1.Relationship) bool {
	if f.GetResourceType() != r.GetResource().GetObjectType() {
		return false
	}
	if id := f.GetOptionalResourceId(); id != "" && id != r.GetResource().GetObjectId() {
		return false
	}
	if p := f.GetOptionalResourceIdPrefix(); p != "" && !hasPrefix(r.GetResource().GetObjectId(), p) {
		return false
	}
	if rl := f.GetOptionalRelation(); rl != "" && rl != r.GetRelation() {
		return false
	}
	sf := f.GetOptionalSubjectFilter()
	if sf == nil {
		return true
	}
	if sf.GetSubjectType() != r.GetSubject().GetObject().GetObjectType() {
		return false
	}
	if id := sf.GetOptionalSubjectId(); id != "" && id != r.GetSubject().GetObject().GetObjectId() {
		return false
	}
	if sr := sf.GetOptionalRelation(); sr != nil && sr.GetRelation() != r.GetSubject().GetOptionalRelation() {
		return false
	}
	return true
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }
