package sync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/rel"
)

// store is the Applier's view of what SpiceDB holds, kept across batches.
// Reads fetch whole objects (every relationship of one resource) and whole
// reverse sets (every relationship of one resource type pointing at one
// subject) and keep them; each committed batch is folded in. A catalogue of
// the items and collaborations that exist lets a new object be known empty
// without asking SpiceDB.
//
// It is valid only while this Applier is the model's only writer. Every
// write moves a writer epoch in SpiceDB on the condition that it is still
// where this Applier last left it: a write by another Applier (another
// boxauthz, a reconcile) fails that condition, and the store starts over.
type store struct {
	base    Reader
	objects map[string]*relSet // "type:id"
	reverse map[string]*relSet // "restype@subtype:subid"
	known   map[string]bool    // "folder:id", "file:id", "collaboration:id"
	// guessed marks sets taken as empty from the catalogue rather than read.
	guessed map[string]bool
	// applied holds the keys of applied event ids within the dedup window.
	applied map[string]bool
	// complete means every model relationship is held: nothing is fetched.
	complete bool
	loaded   bool
	// epoch is the writer epoch SpiceDB holds as this store last saw it.
	epoch *v1.Relationship
	name  string
	seq   int
	// preloadLimit is the largest model read whole (preloadLimit, or less
	// in tests that need the lazy store without building a large model).
	preloadLimit int
	// bulkMin is the smallest subtree a delete reads in bulk (bulkMin, or
	// less in tests).
	bulkMin int
	log     *slog.Logger
}

func newStore(base Reader) *store {
	var b [8]byte
	_, _ = rand.Read(b[:])
	s := &store{base: base, name: hex.EncodeToString(b[:]), preloadLimit: preloadLimit, bulkMin: bulkMin, log: slog.Default()}
	s.reset()
	return s
}

func (s *store) reset() {
	s.objects = map[string]*relSet{}
	s.reverse = map[string]*relSet{}
	s.known = map[string]bool{}
	s.guessed = map[string]bool{}
	s.applied = map[string]bool{}
	s.complete = false
	s.loaded = false
	s.epoch = nil
}

// catalogued types are those whose existence the store tracks.
var catalogued = map[string]string{schema.TypeFolder: relExists, schema.TypeFile: relExists, schema.TypeCollaboration: relItem}

// load reads the writer epoch and the catalogue, once per reset.
func (s *store) load(ctx context.Context) error {
	if s.loaded {
		return nil
	}
	ep, err := s.fetch(ctx, epochFilter())
	if err != nil {
		return err
	}
	if len(ep) > 0 {
		s.epoch = ep[0]
	}
	marks, err := s.fetch(ctx, &v1.RelationshipFilter{ResourceType: typeEvent, OptionalRelation: relApplied})
	if err != nil {
		return err
	}
	for _, m := range marks {
		s.applied[m.GetResource().GetObjectId()] = true
	}
	if err := s.preload(ctx); err != nil {
		return err
	}
	if s.complete {
		s.loaded = true
		return nil
	}
	for typ, rel := range catalogued {
		rs, err := s.fetch(ctx, &v1.RelationshipFilter{ResourceType: typ, OptionalRelation: rel})
		if err != nil {
			return err
		}
		for _, r := range rs {
			s.known[objectKey(typ, r.GetResource().GetObjectId())] = true
		}
	}
	s.loaded = true
	return nil
}

// preloadLimit is the largest model preload reads whole; beyond it objects
// are read as they are needed. The embedded store is for about this size.
const preloadLimit = 250_000

// withPreloadLimit sets how large a model is read whole: tests reach the
// lazy store with it without building a model of preloadLimit.
func withPreloadLimit(n int) Option { return func(a *Applier) { a.store.preloadLimit = n } }

// preload reads the whole model when it is small, so that no event needs a
// read: a store that scans a whole type for every read (the in-memory one)
// answers one scan per type instead of one per object.
func (s *store) preload(ctx context.Context) error {
	objects := map[string]*relSet{}
	reverse := map[string]*relSet{}
	n := 0
	for _, typ := range ModelTypes() {
		tooLarge := false
		err := s.scan(ctx, &v1.RelationshipFilter{ResourceType: typ}, func(r *v1.Relationship) bool {
			if n++; n > s.preloadLimit {
				tooLarge = true
				return false
			}
			res, sub := r.GetResource(), r.GetSubject().GetObject()
			k := rel.Key(r)
			ok, rk := objectKey(res.GetObjectType(), res.GetObjectId()), reverseKey(res.GetObjectType(), sub.GetObjectType(), sub.GetObjectId())
			if objects[ok] == nil {
				objects[ok] = newRelSet()
			}
			objects[ok].put(k, r)
			if reverse[rk] == nil {
				reverse[rk] = newRelSet()
			}
			reverse[rk].put(k, r)
			if rel, c := catalogued[res.GetObjectType()]; c && r.GetRelation() == rel {
				s.known[ok] = true
			}
			return true
		})
		if err != nil {
			return err
		}
		if tooLarge {
			return nil // read lazily
		}
	}
	s.objects, s.reverse, s.complete = objects, reverse, true
	return nil
}

// scan streams the relationships f matches to fn, one at a time, so that a
// read of a whole type holds only what fn keeps. fn returns false to stop.
func (s *store) scan(ctx context.Context, f *v1.RelationshipFilter, fn func(*v1.Relationship) bool) error {
	// Cancelling ends the server's stream when fn stops early.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := s.base.ReadRelationships(ctx, &v1.ReadRelationshipsRequest{
		Consistency:        rel.FullyConsistent(),
		RelationshipFilter: f,
	})
	if err != nil {
		return fmt.Errorf("reading relationships %s: %w", rel.FilterString(f), err)
	}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading relationships %s: %w", rel.FilterString(f), err)
		}
		if !fn(resp.GetRelationship()) {
			return nil
		}
	}
}

func epochFilter() *v1.RelationshipFilter {
	return &v1.RelationshipFilter{ResourceType: typeSource, OptionalResourceId: sourceKey("boxauthz:writer"), OptionalRelation: relPosition}
}

// epochUpdate moves the writer epoch on, on the condition that nobody else
// moved it. done records the move once the write succeeded.
func (s *store) epochUpdate() (ups []*v1.RelationshipUpdate, pre []*v1.Precondition, next *v1.Relationship, done func()) {
	s.seq++
	next = positionRelationship("boxauthz:writer", fmt.Sprintf("%s-%d", s.name, s.seq))
	ups, pre = positionUpdates("boxauthz:writer", s.epoch, positionOf(next))
	return ups, pre, next, func() { s.epoch = next }
}

// settle returns once every later fully consistent request to SpiceDB sees
// this store's last write (spicedb.Settle), whose mark is the writer epoch
// it moved. Without it, a check or a read right after Apply returned could
// be answered from before the batch.
func (s *store) settle(ctx context.Context) error {
	return spicedb.Settle(ctx, s.base, rel.Touch(s.epoch))
}

func objectKey(typ, id string) string { return typ + ":" + id }

func reverseKey(resType, subType, subID string) string { return resType + "@" + subType + ":" + subID }

// read answers f from whole objects or reverse sets, fetching what it lacks.
// fresh refuses the catalogue's guesses: a delete interrupted halfway leaves
// an item no longer catalogued but not yet empty, and the delete must see
// what is left of it.
func (s *store) read(ctx context.Context, f *v1.RelationshipFilter, fresh bool) ([]*v1.Relationship, error) {
	var set *relSet
	var err error
	sf := f.GetOptionalSubjectFilter()
	if fresh {
		var k string
		switch {
		case f.GetOptionalResourceId() != "":
			k = objectKey(f.GetResourceType(), f.GetOptionalResourceId())
			if s.guessed[k] {
				delete(s.objects, k)
			}
		case sf.GetOptionalSubjectId() != "":
			k = reverseKey(f.GetResourceType(), sf.GetSubjectType(), sf.GetOptionalSubjectId())
			if s.guessed[k] {
				delete(s.reverse, k)
			}
		}
		delete(s.guessed, k)
		s.loaded, fresh = false, s.loaded // no guessing for this read
		defer func() { s.loaded = fresh }()
	}
	switch {
	case f.GetOptionalResourceId() != "":
		set, err = s.object(ctx, f.GetResourceType(), f.GetOptionalResourceId())
	case sf.GetOptionalSubjectId() != "":
		set, err = s.reverseSet(ctx, f.GetResourceType(), sf.GetSubjectType(), sf.GetOptionalSubjectId())
	default:
		return s.fetch(ctx, f)
	}
	if err != nil {
		return nil, err
	}
	return set.match(f), nil
}

func (s *store) object(ctx context.Context, typ, id string) (*relSet, error) {
	k := objectKey(typ, id)
	if set, ok := s.objects[k]; ok {
		return set, nil
	}
	if s.complete {
		set := newRelSet()
		s.objects[k] = set
		return set, nil
	}
	if _, ok := catalogued[typ]; ok && s.loaded && !s.known[k] {
		set := newRelSet()
		s.objects[k] = set
		s.guessed[k] = true
		return set, nil
	}
	rs, err := s.fetch(ctx, &v1.RelationshipFilter{ResourceType: typ, OptionalResourceId: id})
	if err != nil {
		return nil, err
	}
	set := newRelSet()
	for _, r := range rs {
		set.put(rel.Key(r), r)
	}
	s.objects[k] = set
	return set, nil
}

func (s *store) reverseSet(ctx context.Context, resType, subType, subID string) (*relSet, error) {
	k := reverseKey(resType, subType, subID)
	if set, ok := s.reverse[k]; ok {
		return set, nil
	}
	if s.complete {
		set := newRelSet()
		s.reverse[k] = set
		return set, nil
	}
	// Nothing points at an item that does not exist: deleting one removes
	// everything that referred to it.
	if (subType == schema.TypeFolder || subType == schema.TypeFile) && s.loaded && !s.known[objectKey(subType, subID)] {
		set := newRelSet()
		s.reverse[k] = set
		s.guessed[k] = true
		return set, nil
	}
	rs, err := s.fetch(ctx, &v1.RelationshipFilter{
		ResourceType:          resType,
		OptionalSubjectFilter: &v1.SubjectFilter{SubjectType: subType, OptionalSubjectId: subID},
	})
	if err != nil {
		return nil, err
	}
	set := newRelSet()
	for _, r := range rs {
		set.put(rel.Key(r), r)
	}
	s.reverse[k] = set
	return set, nil
}

func (s *store) fetch(ctx context.Context, f *v1.RelationshipFilter) ([]*v1.Relationship, error) {
	rs, _, err := spicedb.ReadAll(ctx, s.base, &v1.ReadRelationshipsRequest{
		Consistency:        rel.FullyConsistent(),
		RelationshipFilter: f,
	})
	if err != nil {
		return nil, fmt.Errorf("reading relationships %s: %w", rel.FilterString(f), err)
	}
	return rs, nil
}

// token returns a consistency token for SpiceDB as it is now; nil before
// anything was ever written (nothing to read carries no revision).
func (s *store) token(ctx context.Context) (*v1.ZedToken, error) {
	_, tok, err := spicedb.ReadAll(ctx, s.base, &v1.ReadRelationshipsRequest{
		Consistency:        rel.FullyConsistent(),
		RelationshipFilter: epochFilter(),
	})
	if err != nil {
		return nil, fmt.Errorf("reading spicedb's revision: %w", err)
	}
	return tok, nil
}

// fold applies written changes to whatever is cached.
func (s *store) fold(log []change) {
	for _, c := range log {
		r := c.rel
		res, sub := r.GetResource(), r.GetSubject().GetObject()
		k := rel.Key(r)
		if res.GetObjectType() == typeEvent && !c.deleted {
			s.applied[res.GetObjectId()] = true
		}
		if rel, ok := catalogued[res.GetObjectType()]; ok && r.GetRelation() == rel {
			if c.deleted {
				delete(s.known, objectKey(res.GetObjectType(), res.GetObjectId()))
			} else {
				s.known[objectKey(res.GetObjectType(), res.GetObjectId())] = true
			}
		}
		ok, rk := objectKey(res.GetObjectType(), res.GetObjectId()), reverseKey(res.GetObjectType(), sub.GetObjectType(), sub.GetObjectId())
		if s.complete && res.GetObjectType() != typeEvent && res.GetObjectType() != typeSource {
			if s.objects[ok] == nil {
				s.objects[ok] = newRelSet()
			}
			if s.reverse[rk] == nil {
				s.reverse[rk] = newRelSet()
			}
		}
		for _, set := range []*relSet{s.objects[ok], s.reverse[rk]} {
			if set == nil {
				continue
			}
			if c.deleted {
				set.del(k)
			} else {
				set.put(k, r)
			}
		}
	}
	if !s.complete {
		s.prune(log)
	}
}

// prune drops the cached sets that deletes emptied where the catalogue
// answers the same, so that a lazy store does not keep an empty set for
// every item of every subtree it ever deleted.
func (s *store) prune(log []change) {
	for _, c := range log {
		if !c.deleted {
			continue
		}
		res, sub := c.rel.GetResource(), c.rel.GetSubject().GetObject()
		ok := objectKey(res.GetObjectType(), res.GetObjectId())
		if set, cached := s.objects[ok]; cached && set.len() == 0 && !s.known[ok] {
			if _, c := catalogued[res.GetObjectType()]; c {
				delete(s.objects, ok)
				delete(s.guessed, ok)
			}
		}
		if st := sub.GetObjectType(); (st == schema.TypeFolder || st == schema.TypeFile) && !s.known[objectKey(st, sub.GetObjectId())] {
			rk := reverseKey(res.GetObjectType(), st, sub.GetObjectId())
			if set, cached := s.reverse[rk]; cached && set.len() == 0 {
				delete(s.reverse, rk)
				delete(s.guessed, rk)
			}
		}
	}
}

// relSet is a cached set of relationships (one object's, or one reverse
// set), indexed by relation as well: a group with a hundred thousand members
// answers "its enterprise" or "this user's membership" without a scan, so
// that a batch of memberships costs time linear in its size.
type relSet struct {
	all   map[string]*v1.Relationship            // key -> rel
	byRel map[string]map[string]*v1.Relationship // relation -> key -> rel
}

func newRelSet() *relSet {
	return &relSet{all: map[string]*v1.Relationship{}, byRel: map[string]map[string]*v1.Relationship{}}
}

func (s *relSet) len() int { return len(s.all) }

func (s *relSet) put(k string, r *v1.Relationship) {
	if old, ok := s.all[k]; ok && old.GetRelation() != r.GetRelation() {
		delete(s.byRel[old.GetRelation()], k) // cannot happen: the key names the relation
	}
	s.all[k] = r
	m := s.byRel[r.GetRelation()]
	if m == nil {
		m = map[string]*v1.Relationship{}
		s.byRel[r.GetRelation()] = m
	}
	m[k] = r
}

func (s *relSet) del(k string) {
	if old, ok := s.all[k]; ok {
		delete(s.all, k)
		delete(s.byRel[old.GetRelation()], k)
	}
}

// match returns the relationships of the set f matches, in key order so
// that the result does not depend on the map's. A filter naming one
// relationship exactly is one lookup; one naming a relation looks at that
// relation only.
func (s *relSet) match(f *v1.RelationshipFilter) []*v1.Relationship {
	if k, ok := exactKey(f); ok {
		if r := s.all[k]; r != nil {
			return []*v1.Relationship{r}
		}
		return nil
	}
	from := s.all
	if rl := f.GetOptionalRelation(); rl != "" {
		from = s.byRel[rl]
	}
	keys := make([]string, 0, len(from))
	for k, r := range from {
		if rel.Matches(f, r) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := make([]*v1.Relationship, len(keys))
	for i, k := range keys {
		out[i] = from[k]
	}
	return out
}

// exactKey is the key of the one relationship f can match, when f names
// every part of it: resource, relation, subject and the subject's relation
// (an empty one meaning none).
func exactKey(f *v1.RelationshipFilter) (string, bool) {
	sf := f.GetOptionalSubjectFilter()
	if f.GetOptionalResourceId() == "" || f.GetOptionalRelation() == "" || sf.GetOptionalSubjectId() == "" || sf.GetOptionalRelation() == nil {
		return "", false
	}
	return rel.Key(&v1.Relationship{
		Resource: &v1.ObjectReference{ObjectType: f.GetResourceType(), ObjectId: f.GetOptionalResourceId()},
		Relation: f.GetOptionalRelation(),
		Subject: &v1.SubjectReference{
			Object:           &v1.ObjectReference{ObjectType: sf.GetSubjectType(), ObjectId: sf.GetOptionalSubjectId()},
			OptionalRelation: sf.GetOptionalRelation().GetRelation(),
		},
	}), true
}
