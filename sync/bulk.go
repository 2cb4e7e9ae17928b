package sync

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/rel"
)

// A delete reads every item of the subtree it removes, and on a lazy store
// each of them is a read of its own (its children, its collaborations, its
// relationships): about two round trips per item, which for a subtree of
// 100,000 items on PostgreSQL takes far too long. Past a size it pays to
// stream the folder, file and collaboration types whole instead, keep only
// what lies in the subtree and put it in the store's caches, so that the
// delete itself, unchanged, reads nothing more.
const (
	// bulkMin is the smallest subtree read by streaming whole types: below
	// it the per-item reads cost less than streaming a large model.
	bulkMin = 1000
	// bulkRatio is how many times smaller than the model (the catalogued
	// items and collaborations) a subtree may be and still be read in bulk.
	// On PostgreSQL one read costs about as much as streaming a hundred
	// relationships (2 ms against 17 µs on a busy 2-core machine); the
	// streams carry about five relationships per catalogued object, the
	// per-item reads two reads per subtree item: streaming pays from about
	// 1/40 of the model, and 1/32 errs towards the reads.
	bulkRatio = 32
)

// withBulkMin sets the smallest subtree read in bulk: tests reach the bulk
// reads with it without building subtrees of bulkMin items.
func withBulkMin(n int) Option { return func(a *Applier) { a.store.bulkMin = n } }

// wantsBulk tells whether a delete that has found n items of its subtree so
// far should stream whole types rather than read item by item.
func (s *store) wantsBulk(n int) bool {
	return !s.complete && n >= max(s.bulkMin, len(s.known)/bulkRatio)
}

// bulkStats is what loadSubtree read and kept, for its log line.
type bulkStats struct {
	folders, files, collaborations int
	streamed, kept                 int
}

// loadSubtree reads, with a few streams over whole types, everything
// deleting the subtree of folder id (encoded) reads: every relationship of
// its folders and files, every folder, file and collaboration relationship
// pointing at them and, when there are many collaborations, their
// bookkeeping. It keeps them as whole objects and reverse sets, replacing
// whatever was cached or guessed for them.
//
// It holds the parent links of every folder of the model while it finds the
// subtree's folders, and otherwise only ids and relationships of the
// subtree: the streams pass everything else by.
func (s *store) loadSubtree(ctx context.Context, id string) (bulkStats, error) {
	l := &subtreeLoad{s: s, objects: map[string]*relSet{}, reverse: map[string]*relSet{}}
	folders, files, err := l.items(ctx, id)
	if err != nil {
		return l.st, err
	}
	l.emptySets(folders, files)
	// Every relationship of the subtree's items, and every one pointing at
	// its folders, whatever the relation: the sets kept are whole.
	items := map[string]map[string]bool{schema.TypeFolder: folders, schema.TypeFile: files}
	for typ, in := range items {
		if err := l.scan(ctx, &v1.RelationshipFilter{ResourceType: typ}, func(r *v1.Relationship) {
			if in[resourceID(r)] {
				l.put(l.objects, objectKey(typ, resourceID(r)), r)
			}
			if subjectIn(r, schema.TypeFolder, folders) {
				l.put(l.reverse, reverseKey(typ, schema.TypeFolder, subjectID(r)), r)
			}
		}); err != nil {
			return l.st, fmt.Errorf("reading the %ss under folder %s: %w", typ, id, err)
		}
	}
	collabs, err := l.collaborations(ctx, id, items)
	if err != nil {
		return l.st, err
	}

	// SpiceDB holds this now, whatever was cached before: replace it.
	for k, set := range l.objects {
		s.objects[k] = set
		delete(s.guessed, k)
	}
	for k, set := range l.reverse {
		s.reverse[k] = set
		delete(s.guessed, k)
	}
	l.st.folders, l.st.files, l.st.collaborations = len(folders), len(files), collabs
	return l.st, nil
}

// subtreeLoad is one loadSubtree: the sets it reads, and what it did.
type subtreeLoad struct {
	s                *store
	st               bulkStats
	objects, reverse map[string]*relSet
}

func (l *subtreeLoad) scan(ctx context.Context, f *v1.RelationshipFilter, fn func(*v1.Relationship)) error {
	return l.s.scan(ctx, f, func(r *v1.Relationship) bool {
		l.st.streamed++
		fn(r)
		return true
	})
}

func (l *subtreeLoad) put(sets map[string]*relSet, k string, r *v1.Relationship) {
	sets[k].put(rel.Key(r), r)
	l.st.kept++
}

func parentsFilter(resType string) *v1.RelationshipFilter {
	return &v1.RelationshipFilter{
		ResourceType: resType, OptionalRelation: relParent,
		OptionalSubjectFilter: &v1.SubjectFilter{SubjectType: schema.TypeFolder},
	}
}

func subjectIn(r *v1.Relationship, typ string, in map[string]bool) bool {
	sub := r.GetSubject().GetObject()
	return sub.GetObjectType() == typ && in[sub.GetObjectId()]
}

func subjectID(r *v1.Relationship) string  { return r.GetSubject().GetObject().GetObjectId() }
func resourceID(r *v1.Relationship) string { return r.GetResource().GetObjectId() }

// items finds what is in the subtree of folder id: what the delete's walk
// finds, through parent relationships.
func (l *subtreeLoad) items(ctx context.Context, id string) (folders, files map[string]bool, err error) {
	if folders, err = l.folders(ctx, id); err != nil {
		return nil, nil, err
	}
	files = map[string]bool{}
	if err := l.scan(ctx, parentsFilter(schema.TypeFile), func(r *v1.Relationship) {
		if folders[subjectID(r)] {
			files[resourceID(r)] = true
		}
	}); err != nil {
		return nil, nil, fmt.Errorf("finding the files under folder %s: %w", id, err)
	}
	return folders, files, nil
}

// folders finds the folders of the subtree of folder id. The parent links
// of every folder of the model are held only while it runs, and of them
// only ids. (A relation in the filter lets the in-memory datastore walk an
// index of that relation rather than of the whole type.)
func (l *subtreeLoad) folders(ctx context.Context, id string) (map[string]bool, error) {
	children := map[string][]string{}
	if err := l.scan(ctx, parentsFilter(schema.TypeFolder), func(r *v1.Relationship) {
		children[subjectID(r)] = append(children[subjectID(r)], resourceID(r))
	}); err != nil {
		return nil, fmt.Errorf("finding the folders under folder %s: %w", id, err)
	}
	folders := map[string]bool{id: true}
	for queue := []string{id}; len(queue) > 0; queue = queue[1:] {
		for _, c := range children[queue[0]] {
			if !folders[c] { // a cycle would otherwise never end
				folders[c] = true
				queue = append(queue, c)
			}
		}
	}
	return folders, nil
}

// emptySets makes the subtree's sets, empty, first: an item with nothing
// of a kind must read as having nothing, not as not cached.
func (l *subtreeLoad) emptySets(folders, files map[string]bool) {
	for f := range folders {
		l.objects[objectKey(schema.TypeFolder, f)] = newRelSet()
		for _, resType := range []string{schema.TypeFolder, schema.TypeFile, schema.TypeCollaboration} {
			l.reverse[reverseKey(resType, schema.TypeFolder, f)] = newRelSet()
		}
	}
	for f := range files {
		l.objects[objectKey(schema.TypeFile, f)] = newRelSet()
		l.reverse[reverseKey(schema.TypeCollaboration, schema.TypeFile, f)] = newRelSet()
	}
}

// collaborations reads the collaborations on the subtree's items, both
// ways: what points at each item, and, when there are enough to pay for a
// second stream, each collaboration's own bookkeeping (fewer are read one
// by one when the delete needs them). It returns how many there are.
func (l *subtreeLoad) collaborations(ctx context.Context, id string, items map[string]map[string]bool) (int, error) {
	collabs := map[string]bool{}
	if err := l.scan(ctx, &v1.RelationshipFilter{ResourceType: schema.TypeCollaboration}, func(r *v1.Relationship) {
		for typ, in := range items {
			if subjectIn(r, typ, in) {
				collabs[resourceID(r)] = true
				l.put(l.reverse, reverseKey(schema.TypeCollaboration, typ, subjectID(r)), r)
			}
		}
	}); err != nil {
		return 0, fmt.Errorf("reading the collaborations under folder %s: %w", id, err)
	}
	if !l.s.wantsBulk(len(collabs)) {
		return len(collabs), nil
	}
	for c := range collabs {
		l.objects[objectKey(schema.TypeCollaboration, c)] = newRelSet()
	}
	if err := l.scan(ctx, &v1.RelationshipFilter{ResourceType: schema.TypeCollaboration}, func(r *v1.Relationship) {
		if collabs[resourceID(r)] {
			l.put(l.objects, objectKey(schema.TypeCollaboration, resourceID(r)), r)
		}
	}); err != nil {
		return 0, fmt.Errorf("reading the collaborations under folder %s: %w", id, err)
	}
	return len(collabs), nil
}

// bulkLoad runs loadSubtree for a delete and says what it did.
func (s *store) bulkLoad(ctx context.Context, id string) error {
	began := time.Now()
	st, err := s.loadSubtree(ctx, id)
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "read a subtree to delete in bulk", "folder", schema.DecodeID(id),
		"folders", st.folders, "files", st.files, "collaborations", st.collaborations,
		"relationships_streamed", st.streamed, "relationships_kept", st.kept, "took", time.Since(began))
	return nil
}
