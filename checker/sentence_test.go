package checker_test

import (
	"testing"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/schema"
)

// TestSentence: an explanation reads as one sentence, and a reason code or
// grant kind this build does not know is named as it is, not guessed at.
func TestSentence(t *testing.T) {
	plan := schema.ItemRef{Type: schema.TypeFile, ID: "plan"}
	projects := schema.ItemRef{Type: schema.TypeFolder, ID: "projects"}
	editor := checker.Grant{Kind: "collaboration", On: projects, Collaboration: "c1", Role: "editor"}
	for _, tt := range []struct {
		name string
		ex   checker.Explanation
		want string
	}{
		{"owner", checker.Explanation{Allowed: true, Grants: []checker.Grant{{Kind: "ownership", On: plan}}}, "owner of file:plan"},
		{"group, expiring", checker.Explanation{Allowed: true, Grants: []checker.Grant{{Kind: "collaboration", On: projects, Collaboration: "c2", Role: "viewer", Group: "design", ExpiresAt: "2027-01-01T00:00:00Z"}}}, "collaboration c2: viewer on folder:projects via group design until 2027-01-01T00:00:00Z"},
		{"link", checker.Explanation{Allowed: true, Grants: []checker.Grant{{Kind: "shared_link", On: plan, Access: "open"}}}, "open shared link on file:plan"},
		{"no grant", checker.Explanation{Reason: checker.ReasonNoGrant}, "no grant reaches the item (to this caller it does not exist)"},
		{"not in role", checker.Explanation{Reason: checker.ReasonActionNotInRole, Grants: []checker.Grant{editor}}, "holds collaboration c1: editor on folder:projects, which does not include this action"},
		{"unknown reason, no grants", checker.Explanation{Reason: "some_future_reason"}, "denied: some future reason"},
		{"unknown reason with grants", checker.Explanation{Reason: "some_future_reason", Grants: []checker.Grant{editor}}, "holds collaboration c1: editor on folder:projects, but denied: some future reason"},
		{"unknown grant kind", checker.Explanation{Allowed: true, Grants: []checker.Grant{{Kind: "enterprise_admin", On: plan}}}, "enterprise_admin on file:plan"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.ex.Sentence(); got != tt.want {
				t.Errorf("Sentence = %q, want %q", got, tt.want)
			}
		})
	}
}
