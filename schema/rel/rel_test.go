package rel_test

import (
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/rel"
)

func TestReferencesEncodeBoxIDs(t *testing.T) {
	r := rel.New(schema.TypeFolder, "f.1", schema.RelationParent, rel.Subject(schema.TypeGroup, "g@x", schema.RelationMember))
	if got, want := rel.Key(r), "folder:f=2E1#parent@group:g=40x#member"; got != want {
		t.Errorf("Key = %q, want %q", got, want)
	}
	raw := rel.NewRaw("boxauthz_access_token", "a.b", "user", rel.RawSubject(schema.TypeUser, "u.1"))
	if got, want := rel.Key(raw), "boxauthz_access_token:a.b#user@user:u.1"; got != want {
		t.Errorf("raw Key = %q, want %q: raw ids are kept as given", got, want)
	}
	c := rel.WithCaveat(rel.Flag(schema.TypeFile, "1", schema.RelationLinkView), schema.CaveatSharedLink, map[string]any{"link": "file:1"})
	if got, want := rel.String(c), "file:1#link_view@user:*[shared_link]"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if rel.WithExpiry(rel.Flag(schema.TypeFile, "1", schema.RelationTrashed), time.Time{}).GetOptionalExpiresAt() != nil {
		t.Error("WithExpiry with a zero time set an expiry")
	}
}

func TestMatches(t *testing.T) {
	r := rel.New(schema.TypeFolder, "a.b", schema.RelationParent, rel.Subject(schema.TypeFolder, "root", ""))
	cases := []struct {
		name string
		f    bool
		want bool
	}{
		{"type and encoded id", rel.Matches(rel.Filter(schema.TypeFolder, "a.b", ""), r), true},
		{"relation", rel.Matches(rel.Filter(schema.TypeFolder, "", schema.RelationParent), r), true},
		{"other relation", rel.Matches(rel.Filter(schema.TypeFolder, "a.b", schema.RelationOwner), r), false},
		{"other id", rel.Matches(rel.Filter(schema.TypeFolder, "a", ""), r), false},
		{"raw id is not the encoded one", rel.Matches(rel.RawFilter(schema.TypeFolder, "a.b", ""), r), false},
		{"by subject", rel.Matches(rel.BySubject(schema.TypeFolder, schema.RelationParent, schema.TypeFolder, "root"), r), true},
		{"by other subject", rel.Matches(rel.BySubject(schema.TypeFolder, schema.RelationParent, schema.TypeFolder, "x"), r), false},
	}
	for _, c := range cases {
		if c.f != c.want {
			t.Errorf("%s: Matches = %v, want %v", c.name, c.f, c.want)
		}
	}
}
