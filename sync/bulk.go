package sync

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/schema"
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
	// bulkRatio weighs a per-item read against streaming the relationships
	// of one catalogued object: streaming the types whole (each twice, about
	// four relationships per item) costs about as much as two reads for
	// every bulkRatio-th item of the model.
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
// its folders and files, the parent relationships pointing at its folders,
// the collaborations on its items and, when there are many, their
// bookkeeping. It keeps them as whole objects and reverse sets, replacing
// whatever was cached or guessed for them.
//
// It holds the parent links of every folder of the model while it finds the
// subtree's folders, and otherwise only ids and relationships of the
// subtree: the streams pass everything else by.
func (s *store) loadSubtree(ctx context.Context, id string) (bulkStats, error) {
	var st bulkStats
	scan := func(f *v1.RelationshipFilter, fn func(*v1.Relationship)) error {
		return s.scan(ctx, f, func(r *v1.Relationship) bool {
			st.streamed++
			fn(r)
			return true
		})
	}
	bySubjectType := func(resType, subType string) *v1.RelationshipFilter {
		return &v1.RelationshipFilter{ResourceType: resType, OptionalSubjectFilter: &v1.SubjectFilter{SubjectType: subType}}
	}
	subjectID := func(r *v1.Relationship) string { return r.GetSubject().GetObject().GetObjectId() }
	resourceID := func(r *v1.Relationship) string { return r.GetResource().GetObjectId() }

	// The folders: the subtree is closed under folder-to-folder links, so
	// these are all it takes to find them. Only ids are kept.
	children := map[string][]string{}
	if err := scan(bySubjectType(schema.TypeFolder, schema.TypeFolder), func(r *v1.Relationship) {
		children[subjectID(r)] = append(children[subjectID(r)], resourceID(r))
	}); err != nil {
		return st, fmt.Errorf("finding the folders under folder %s: %w", id, err)
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
	children = nil

	// Empty sets first: an item with nothing of a kind must read as having
	// nothing, not as not cached.
	objects := map[string]map[string]*v1.Relationship{}
	reverse := map[string]map[string]*v1.Relationship{}
	for f := range folders {
		objects[objectKey(schema.TypeFolder, f)] = map[string]*v1.Relationship{}
		for _, resType := range []string{schema.TypeFolder, schema.TypeFile, schema.TypeCollaboration} {
			reverse[reverseKey(resType, schema.TypeFolder, f)] = map[string]*v1.Relationship{}
		}
	}
	put := func(sets map[string]map[string]*v1.Relationship, k string, r *v1.Relationship) {
		sets[k][key(r)] = r
		st.kept++
	}

	// The files, found by their links to the subtree's folders.
	files := map[string]bool{}
	if err := scan(bySubjectType(schema.TypeFile, schema.TypeFolder), func(r *v1.Relationship) {
		if folders[subjectID(r)] {
			files[resourceID(r)] = true
			put(reverse, reverseKey(schema.TypeFile, schema.TypeFolder, subjectID(r)), r)
		}
	}); err != nil {
		return st, fmt.Errorf("finding the files under folder %s: %w", id, err)
	}
	for f := range files {
		objects[objectKey(schema.TypeFile, f)] = map[string]*v1.Relationship{}
		reverse[reverseKey(schema.TypeCollaboration, schema.TypeFile, f)] = map[string]*v1.Relationship{}
	}

	// Every relationship of the subtree's items.
	if err := scan(&v1.RelationshipFilter{ResourceType: schema.TypeFolder}, func(r *v1.Relationship) {
		if !folders[resourceID(r)] {
			return
		}
		put(objects, objectKey(schema.TypeFolder, resourceID(r)), r)
		if sub := r.GetSubject().GetObject(); sub.GetObjectType() == schema.TypeFolder && folders[sub.GetObjectId()] {
			put(reverse, reverseKey(schema.TypeFolder, schema.TypeFolder, sub.GetObjectId()), r)
		}
	}); err != nil {
		return st, fmt.Errorf("reading the folders under folder %s: %w", id, err)
	}
	if err := scan(&v1.RelationshipFilter{ResourceType: schema.TypeFile}, func(r *v1.Relationship) {
		if files[resourceID(r)] {
			put(objects, objectKey(schema.TypeFile, resourceID(r)), r)
		}
	}); err != nil {
		return st, fmt.Errorf("reading the files under folder %s: %w", id, err)
	}

	// The collaborations on them, both ways: what points at each item, and,
	// when there are enough to pay for a stream, each collaboration's own
	// bookkeeping (fewer are read one by one when the delete needs them).
	collabs := map[string]bool{}
	for typ, in := range map[string]map[string]bool{schema.TypeFolder: folders, schema.TypeFile: files} {
		if err := scan(bySubjectType(schema.TypeCollaboration, typ), func(r *v1.Relationship) {
			if in[subjectID(r)] {
				collabs[resourceID(r)] = true
				put(reverse, reverseKey(schema.TypeCollaboration, typ, subjectID(r)), r)
			}
		}); err != nil {
			return st, fmt.Errorf("reading the collaborations under folder %s: %w", id, err)
		}
	}
	if s.wantsBulk(len(collabs)) {
		for c := range collabs {
			objects[objectKey(schema.TypeCollaboration, c)] = map[string]*v1.Relationship{}
		}
		if err := scan(&v1.RelationshipFilter{ResourceType: schema.TypeCollaboration}, func(r *v1.Relationship) {
			if collabs[resourceID(r)] {
				put(objects, objectKey(schema.TypeCollaboration, resourceID(r)), r)
			}
		}); err != nil {
			return st, fmt.Errorf("reading the collaborations under folder %s: %w", id, err)
		}
	}

	// SpiceDB holds this now, whatever was cached before: replace it.
	for k, set := range objects {
		s.objects[k] = set
		delete(s.guessed, k)
	}
	for k, set := range reverse {
		s.reverse[k] = set
		delete(s.guessed, k)
	}
	st.folders, st.files, st.collaborations = len(folders), len(files), len(collabs)
	return st, nil
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
