package store

import (
	"bytes"
	"context"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/datastore/options"
	"github.com/authzed/spicedb/pkg/tuple"
)

// scanChunk bounds how many versions one bbolt read transaction visits
// before the rows found are handed to the caller: the transaction is
// never held while the caller runs, so a caller may write in between.
const scanChunk = 512

type indexScan struct {
	bucket   []byte
	prefixes [][]byte // sorted, non-overlapping
	after    []byte   // logical key in this index's order, exclusive
	toRef    func([]byte) (tuple.RelationshipReference, error)
	accept   func(tuple.Relationship) bool
	skipCav  bool
	skipExp  bool
	limit    uint64 // 0 for none
}

// run yields matching relationships in index order.
func (r *reader) run(q indexScan) datastore.RelationshipIterator {
	return func(yield func(tuple.Relationship, error) bool) {
		now := time.Now()
		var sent uint64
		for _, prefix := range q.prefixes {
			resume := q.after
			for {
				var batch []tuple.Relationship
				var next []byte
				err := r.view(func(tx *bolt.Tx) error {
					var err error
					next, err = scanAt(tx.Bucket(q.bucket), prefix, resume, r.at, scanChunk, func(v version) (bool, error) {
						ref, err := q.toRef(v.logical)
						if err != nil {
							return false, err
						}
						parts, err := splitRelPayload(v.payload)
						if err != nil {
							return false, err
						}
						if parts.caveat != nil && q.skipCav {
							return true, nil
						}
						if !q.skipExp && parts.expiration != nil && parts.expiration.Before(now) {
							return true, nil
						}
						rel, err := decodeRel(ref, parts, false)
						if err != nil {
							return false, err
						}
						if q.accept(rel) {
							batch = append(batch, rel)
						}
						return true, nil
					})
					return err
				})
				if err != nil {
					yield(tuple.Relationship{}, err)
					return
				}
				for _, rel := range batch {
					if !yield(rel, nil) {
						return
					}
					sent++
					if q.limit > 0 && sent >= q.limit {
						return
					}
				}
				if next == nil {
					break
				}
				resume = bytes.Clone(next)
			}
		}
	}
}

// sorted collects everything and re-sorts it by key, for the order the
// index does not give; the cursor and limit then apply in that order.
func sortedBy(it datastore.RelationshipIterator, key func(tuple.RelationshipReference) []byte, after []byte, limit uint64) datastore.RelationshipIterator {
	return func(yield func(tuple.Relationship, error) bool) {
		var all []tuple.Relationship
		for rel, err := range it {
			if err != nil {
				yield(rel, err)
				return
			}
			all = append(all, rel)
		}
		slices.SortFunc(all, func(a, b tuple.Relationship) int {
			return bytes.Compare(key(a.RelationshipReference), key(b.RelationshipReference))
		})
		var sent uint64
		for _, rel := range all {
			if after != nil && bytes.Compare(key(rel.RelationshipReference), after) <= 0 {
				continue
			}
			if !yield(rel, nil) {
				return
			}
			sent++
			if limit > 0 && sent >= limit {
				return
			}
		}
	}
}

func limitOf(l *uint64) uint64 {
	if l == nil {
		return 0
	}
	return *l
}

// QueryRelationships reads the resource index: a filter naming resource
// type and IDs touches only those resources' rows.
func (r *reader) QueryRelationships(_ context.Context, filter datastore.RelationshipsFilter, opts ...options.QueryOptionsOption) (datastore.RelationshipIterator, error) {
	qo := options.NewQueryOptionsWithOptions(opts...)
	q := indexScan{
		bucket:   bucketRels,
		prefixes: resourcePrefixes(filter),
		toRef:    refFromResourceKey,
		accept:   func(rel tuple.Relationship) bool { return matchFilter(filter, rel) },
		skipCav:  qo.SkipCaveats,
		skipExp:  qo.SkipExpiration,
	}
	if sf, ok := subjectOnly(filter); ok && qo.After == nil && qo.Sort != options.ByResource {
		// No resource named but one subject selector with IDs: the subject
		// index touches only those subjects' rows; without a cursor or a
		// resource order to keep, the order is free to be the subject's.
		q.bucket, q.prefixes, q.toRef = bucketSubjects, subjectPrefixes(sf), refFromSubjectKey
		q.limit = limitOf(qo.Limit)
		return r.run(q), nil
	}
	if qo.Sort == options.BySubject {
		var after []byte
		if c := options.ToRelationship(qo.After); c != nil {
			after = subjectKey(c.RelationshipReference)
		}
		return sortedBy(r.run(q), subjectKey, after, limitOf(qo.Limit)), nil
	}
	if c := options.ToRelationship(qo.After); c != nil {
		q.after = resourceKey(c.RelationshipReference)
	}
	q.limit = limitOf(qo.Limit)
	return r.run(q), nil
}

// subjectOnly is the subject filter of a relationships filter that names
// no resource but exactly one subject selector with type and IDs.
func subjectOnly(f datastore.RelationshipsFilter) (datastore.SubjectsFilter, bool) {
	if f.OptionalResourceType != "" || len(f.OptionalSubjectsSelectors) != 1 {
		return datastore.SubjectsFilter{}, false
	}
	sel := f.OptionalSubjectsSelectors[0]
	if sel.OptionalSubjectType == "" || len(sel.OptionalSubjectIds) == 0 {
		return datastore.SubjectsFilter{}, false
	}
	return datastore.SubjectsFilter{SubjectType: sel.OptionalSubjectType, OptionalSubjectIds: sel.OptionalSubjectIds, RelationFilter: sel.RelationFilter}, true
}

func resourcePrefixes(f datastore.RelationshipsFilter) [][]byte {
	if f.OptionalResourceType == "" {
		return [][]byte{nil}
	}
	base := appendComponent(nil, f.OptionalResourceType)
	switch {
	case len(f.OptionalResourceIds) > 0:
		ids := slices.Clone(f.OptionalResourceIds)
		slices.Sort(ids)
		ids = slices.Compact(ids)
		out := make([][]byte, 0, len(ids))
		for _, id := range ids {
			p := appendComponent(slices.Clone(base), id)
			if f.OptionalResourceRelation != "" {
				p = appendComponent(p, f.OptionalResourceRelation)
			}
			out = append(out, p)
		}
		return out
	case f.OptionalResourceIDPrefix != "":
		return [][]byte{append(base, f.OptionalResourceIDPrefix...)}
	default:
		return [][]byte{base}
	}
}

// ReverseQueryRelationships reads the subject index: only the rows of the
// named subjects are touched.
func (r *reader) ReverseQueryRelationships(_ context.Context, sf datastore.SubjectsFilter, opts ...options.ReverseQueryOptionsOption) (datastore.RelationshipIterator, error) {
	qo := options.NewReverseQueryOptionsWithOptions(opts...)
	sel := sf.AsSelector()
	rr := qo.ResRelation
	q := indexScan{
		bucket:   bucketSubjects,
		prefixes: subjectPrefixes(sf),
		toRef:    refFromSubjectKey,
		accept: func(rel tuple.Relationship) bool {
			if rr != nil && (rel.Resource.ObjectType != rr.Namespace || rel.Resource.Relation != rr.Relation) {
				return false
			}
			return matchSubject(sel, rel.Subject)
		},
		skipCav: qo.SkipCaveatsForReverse,
		skipExp: qo.SkipExpirationForReverse,
	}
	if qo.SortForReverse == options.ByResource {
		var after []byte
		if c := options.ToRelationship(qo.AfterForReverse); c != nil {
			after = resourceKey(c.RelationshipReference)
		}
		return sortedBy(r.run(q), resourceKey, after, limitOf(qo.LimitForReverse)), nil
	}
	if c := options.ToRelationship(qo.AfterForReverse); c != nil {
		q.after = subjectKey(c.RelationshipReference)
	}
	q.limit = limitOf(qo.LimitForReverse)
	return r.run(q), nil
}

func subjectPrefixes(sf datastore.SubjectsFilter) [][]byte {
	base := appendComponent(nil, sf.SubjectType)
	if len(sf.OptionalSubjectIds) == 0 {
		return [][]byte{base}
	}
	var rels []string
	rf := sf.RelationFilter
	if !rf.OnlyNonEllipsisRelations && rf.NonEllipsisRelation != "" {
		rels = append(rels, rf.NonEllipsisRelation)
		if rf.IncludeEllipsisRelation {
			rels = append(rels, tuple.Ellipsis)
		}
	} else if rf.IncludeEllipsisRelation && rf.NonEllipsisRelation == "" && !rf.OnlyNonEllipsisRelations {
		rels = append(rels, tuple.Ellipsis)
	}
	ids := slices.Clone(sf.OptionalSubjectIds)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var out [][]byte
	for _, id := range ids {
		p := appendComponent(slices.Clone(base), id)
		if len(rels) == 0 {
			out = append(out, p)
			continue
		}
		for _, rel := range rels {
			out = append(out, appendComponent(slices.Clone(p), rel))
		}
	}
	slices.SortFunc(out, bytes.Compare)
	return out
}
