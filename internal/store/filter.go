package store

import (
	"slices"
	"strings"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/tuple"
)

// matchFilter is the filter's meaning as the SQL datastores apply it.
// datastore.RelationshipsFilter.Test is looser about subject relations
// (a selector for the ellipsis alone also passes other relations), so it
// is not used.
func matchFilter(f datastore.RelationshipsFilter, rel tuple.Relationship) bool {
	res := rel.Resource
	if f.OptionalResourceType != "" && f.OptionalResourceType != res.ObjectType {
		return false
	}
	if len(f.OptionalResourceIds) > 0 && !slices.Contains(f.OptionalResourceIds, res.ObjectID) {
		return false
	}
	if f.OptionalResourceIDPrefix != "" && !strings.HasPrefix(res.ObjectID, f.OptionalResourceIDPrefix) {
		return false
	}
	if f.OptionalResourceRelation != "" && f.OptionalResourceRelation != res.Relation {
		return false
	}
	if len(f.OptionalSubjectsSelectors) > 0 && !slices.ContainsFunc(f.OptionalSubjectsSelectors, func(s datastore.SubjectsSelector) bool {
		return matchSubject(s, rel.Subject)
	}) {
		return false
	}
	switch f.OptionalCaveatNameFilter.Option {
	case datastore.CaveatFilterOptionHasMatchingCaveat:
		if rel.OptionalCaveat == nil || rel.OptionalCaveat.CaveatName != f.OptionalCaveatNameFilter.CaveatName {
			return false
		}
	case datastore.CaveatFilterOptionNoCaveat:
		if rel.OptionalCaveat != nil && rel.OptionalCaveat.CaveatName != "" {
			return false
		}
	case datastore.CaveatFilterOptionNone:
	}
	switch f.OptionalExpirationOption {
	case datastore.ExpirationFilterOptionHasExpiration:
		return rel.OptionalExpiration != nil
	case datastore.ExpirationFilterOptionNoExpiration:
		return rel.OptionalExpiration == nil
	case datastore.ExpirationFilterOptionNone:
	}
	return true
}

func matchSubject(s datastore.SubjectsSelector, sub tuple.ObjectAndRelation) bool {
	if s.OptionalSubjectType != "" && s.OptionalSubjectType != sub.ObjectType {
		return false
	}
	if len(s.OptionalSubjectIds) > 0 && !slices.Contains(s.OptionalSubjectIds, sub.ObjectID) {
		return false
	}
	rf := s.RelationFilter
	if rf.IsEmpty() {
		return true
	}
	ellipsis := sub.Relation == tuple.Ellipsis
	return (rf.IncludeEllipsisRelation && ellipsis) ||
		(rf.NonEllipsisRelation != "" && rf.NonEllipsisRelation == sub.Relation) ||
		(rf.OnlyNonEllipsisRelations && !ellipsis)
}
