package checker_test

import (
	"testing"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/checker/oauth"
	"github.com/boxauthz/boxauthz/schema"
)

// FuzzParseLinkAndResource: shared link and token exchange resource strings
// parse to a valid item or an error, never a panic, and a parsed item reads
// back the same from its type:id form.
func FuzzParseLinkAndResource(f *testing.F) {
	for _, s := range []string{
		"folder:123", "file:abc", "https://app.box.com/folders/1", "https://api.box.com/2.0/files/a",
		"https://api.box.com/2.0/folders/0", "folder:", ":x", "https://x/y", "file:a:b", "https://api.box.com/2.0/users/1", "folder:a.b@c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, parse := range map[string]func(string) (schema.ItemRef, error){
			"shared link": checker.ParseSharedLink, "resource": oauth.ParseResource, "item": schema.ParseItemRef,
		} {
			r, err := parse(s)
			if err != nil {
				continue
			}
			if err := r.Validate(); err != nil {
				t.Fatalf("%s %q parsed to an invalid %+v: %v", name, s, r, err)
			}
			back, err := schema.ParseItemRef(r.String())
			if err != nil || back != r {
				t.Fatalf("%s %q parsed to %+v, which reads back as %+v (%v)", name, s, r, back, err)
			}
		}
	})
}
