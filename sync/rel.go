package sync

import (
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/boxauthz/boxauthz/schema"
)

// Relation names the applier writes, short for their schema names.
const (
	relExists        = schema.RelationExists
	relParent        = schema.RelationParent
	relOwner         = schema.RelationOwner
	relTrashed       = schema.RelationTrashed
	relInviteOff     = schema.RelationInviteOff
	relCollabRestr   = schema.RelationCollaborationRestricted
	relItem          = schema.RelationItem
	relAccessibleBy  = schema.RelationAccessibleBy
	relEnterprise    = schema.RelationEnterprise
	relMember        = schema.RelationMember
	relAdmin         = schema.RelationAdmin
	relCoadmin       = schema.RelationCoadmin
	relPrivileged    = schema.RelationPrivileged
	relServiceAcct   = schema.RelationServiceAccount
	relMembership    = schema.RelationMembership
	relApplied       = schema.RelationApplied
	typeEvent        = schema.TypeEvent
	caveatNotExpired = schema.CaveatNotExpired
	caveatLink       = schema.CaveatSharedLink
)

// neverUnshared stands for "no unshared_at" in the shared_link caveat.
var neverUnshared = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// linkRelations are every relation a shared link may write on an item.
var linkRelations = []string{"link_view", "link_download", "link_edit", "company_link_view", "company_link_download", "company_link_edit"}

func obj(typ, id string) *v1.ObjectReference {
	return &v1.ObjectReference{ObjectType: typ, ObjectId: schema.EncodeID(id)}
}

func subj(typ, id, relation string) *v1.SubjectReference {
	return &v1.SubjectReference{Object: obj(typ, id), OptionalRelation: relation}
}

// wildcard is the `user:*` subject flags are written with.
func wildcard() *v1.SubjectReference {
	return &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: schema.TypeUser, ObjectId: "*"}}
}

func rel(resType, resID, relation string, s *v1.SubjectReference) *v1.Relationship {
	return &v1.Relationship{Resource: obj(resType, resID), Relation: relation, Subject: s}
}

func flag(resType, resID, relation string) *v1.Relationship {
	return rel(resType, resID, relation, wildcard())
}

func withCaveat(r *v1.Relationship, name string, ctx map[string]any) *v1.Relationship {
	st, err := structpb.NewStruct(ctx)
	if err != nil {
		// Only strings go in: NewStruct cannot fail on them.
		panic(err)
	}
	r.OptionalCaveat = &v1.ContextualizedCaveat{CaveatName: name, Context: st}
	return r
}

func withExpiry(r *v1.Relationship, at time.Time) *v1.Relationship {
	r.OptionalExpiresAt = timestamppb.New(at)
	return r
}

// RelationshipKey identifies a relationship regardless of its caveat and
// expiry, as SpiceDB does: "type:id#relation@type:id[#relation]", the ids
// as SpiceDB holds them (Box ids encoded, schema.EncodeID).
func RelationshipKey(r *v1.Relationship) string {
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

func matches(f *v1.RelationshipFilter, r *v1.Relationship) bool {
	if f.GetResourceType() != r.GetResource().GetObjectType() {
		return false
	}
	if id := f.GetOptionalResourceId(); id != "" && id != r.GetResource().GetObjectId() {
		return false
	}
	if rl := f.GetOptionalRelation(); rl != "" && rl != r.GetRelation() {
		return false
	}
	if sf := f.GetOptionalSubjectFilter(); sf != nil {
		if sf.GetSubjectType() != r.GetSubject().GetObject().GetObjectType() {
			return false
		}
		if id := sf.GetOptionalSubjectId(); id != "" && id != r.GetSubject().GetObject().GetObjectId() {
			return false
		}
		if sr := sf.GetOptionalRelation(); sr != nil && sr.GetRelation() != r.GetSubject().GetOptionalRelation() {
			return false
		}
	}
	return true
}

// RelationshipString renders a relationship as zed does, for --dry-run
// output.
func RelationshipString(r *v1.Relationship) string {
	s := RelationshipKey(r)
	if c := r.GetOptionalCaveat(); c != nil {
		s += "[" + c.GetCaveatName() + "]"
	}
	return s
}

// ModelTypes are the object types whose relationships mirror content; the
// applier's own bookkeeping (applied events, positions) is apart.
func ModelTypes() []string {
	return []string{schema.TypeUser, schema.TypeEnterprise, schema.TypeGroup, schema.TypeFolder, schema.TypeFile, schema.TypeCollaboration}
}
