package rel

import (
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
)

// Key identifies a relationship regardless of its caveat and expiry, as
// SpiceDB does: "type:id#relation@type:id[#relation]", the ids as SpiceDB
// holds them (Box ids encoded).
func Key(r *v1.Relationship) string {
	var b strings.Builder
	b.WriteString(r.GetResource().GetObjectType())
	b.WriteByte(':')
	b.WriteString(r.GetResource().GetObjectId())
	b.WriteByte('#')
	b.WriteString(r.GetRelation())
	b.WriteByte('@')
	b.WriteString(r.GetSubject().GetObject().GetObjectType())
	b.WriteByte(':')
	b.WriteString(r.GetSubject().GetObject().GetObjectId())
	if sr := r.GetSubject().GetOptionalRelation(); sr != "" {
		b.WriteByte('#')
		b.WriteString(sr)
	}
	return b.String()
}

// String renders a relationship as zed does, its caveat's name in
// brackets: what dry runs and logs show.
func String(r *v1.Relationship) string {
	s := Key(r)
	if c := r.GetOptionalCaveat(); c != nil {
		s += "[" + c.GetCaveatName() + "]"
	}
	return s
}

// FilterString renders a filter in the same notation, for errors:
// "type[:id][#relation][@subjecttype[:id]]".
func FilterString(f *v1.RelationshipFilter) string {
	s := f.GetResourceType()
	if id := f.GetOptionalResourceId(); id != "" {
		s += ":" + id
	}
	if p := f.GetOptionalResourceIdPrefix(); p != "" {
		s += ":" + p + "*"
	}
	if r := f.GetOptionalRelation(); r != "" {
		s += "#" + r
	}
	if sf := f.GetOptionalSubjectFilter(); sf != nil {
		s += "@" + sf.GetSubjectType()
		if id := sf.GetOptionalSubjectId(); id != "" {
			s += ":" + id
		}
	}
	return s
}
