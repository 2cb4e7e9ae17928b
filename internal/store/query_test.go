package store_test

import (
	"slices"
	"testing"

	"github.com/authzed/spicedb/pkg/datastore"
	"github.com/authzed/spicedb/pkg/tuple"

	"github.com/boxauthz/boxauthz/internal/store"
)

// A filter naming only a subject is answered from the subject index; it must
// still find that subject's relationships on every resource type, and only
// those.
func TestQueryBySubjectOnly(t *testing.T) {
	s, err := store.Open(t.Context(), t.TempDir(), store.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	rev := writeRels(t, s, tuple.UpdateOperationCreate,
		"document:a#viewer@user:alice",
		"folder:f#editor@user:alice",
		"folder:f#editor@user:bob",
		"folder:g#viewer@group:eng#member",
	)
	tests := []struct {
		name string
		sel  datastore.SubjectsSelector
		want []string
	}{
		{
			"one user",
			datastore.SubjectsSelector{OptionalSubjectType: "user", OptionalSubjectIds: []string{"alice"}},
			[]string{"document:a#viewer@user:alice", "folder:f#editor@user:alice"},
		},
		{
			"two users",
			datastore.SubjectsSelector{OptionalSubjectType: "user", OptionalSubjectIds: []string{"bob", "alice"}},
			[]string{"document:a#viewer@user:alice", "folder:f#editor@user:alice", "folder:f#editor@user:bob"},
		},
		{
			"subject relation",
			datastore.SubjectsSelector{
				OptionalSubjectType: "group", OptionalSubjectIds: []string{"eng"},
				RelationFilter: datastore.SubjectRelationFilter{}.WithNonEllipsisRelation("member"),
			},
			[]string{"folder:g#viewer@group:eng#member"},
		},
		{
			"ellipsis only excludes member",
			datastore.SubjectsSelector{
				OptionalSubjectType: "group", OptionalSubjectIds: []string{"eng"},
				RelationFilter: datastore.SubjectRelationFilter{}.WithEllipsisRelation(),
			},
			[]string{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it, err := s.SnapshotReader(rev).QueryRelationships(t.Context(), datastore.RelationshipsFilter{
				OptionalSubjectsSelectors: []datastore.SubjectsSelector{tc.sel},
			})
			if err != nil {
				t.Fatal(err)
			}
			rels, err := datastore.IteratorToSlice(it)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, r := range rels {
				got = append(got, tuple.MustString(r))
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
