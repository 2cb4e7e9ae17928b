package checker_test

import (
	"context"
	"strings"
	"testing"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/schema"
)

// TestExplainTellsDenialsApart: each way of seeing nothing of an item has
// its own reason, and the explanation names what it found.
func TestExplainTellsDenialsApart(t *testing.T) {
	for _, ds := range testenv.Datastores() {
		t.Run(string(ds), func(t *testing.T) {
			ch, _, cons := setup(t, ds,
				`{"id":"u1","type":"user.created","user":{"id":"alice","enterprise":"acme"}}`,
				`{"id":"u2","type":"user.created","user":{"id":"bob","enterprise":"acme"}}`,
				`{"id":"u3","type":"user.created","user":{"id":"carol","enterprise":"acme"}}`,
				`{"id":"u4","type":"user.created","user":{"id":"xavier"}}`,
				`{"id":"u5","type":"user.created","user":{"id":"erin","enterprise":"acme"}}`,
				`{"id":"u6","type":"user.created","user":{"id":"fred","enterprise":"acme"}}`,
				`{"id":"g1","type":"group.created","group":{"id":"design","enterprise":"acme"}}`,
				`{"id":"m1","type":"group_membership.created","group_membership":{"id":"m1","group":"design","user":"carol"}}`,
				`{"id":"f1","type":"folder.created","folder":{"id":"top","parent":"0","owner":"alice","is_collaboration_restricted_to_enterprise":true}}`,
				`{"id":"f2","type":"folder.created","folder":{"id":"mid","parent":"top","owner":"alice"}}`,
				`{"id":"f3","type":"file.created","file":{"id":"doc","parent":"mid","owner":"alice"}}`,
				`{"id":"c1","type":"collaboration.created","collaboration":{"id":"c-bob","item":{"type":"folder","id":"mid"},"accessible_by":{"type":"user","id":"bob"},"role":"viewer","status":"pending"}}`,
				`{"id":"c2","type":"collaboration.created","collaboration":{"id":"c-design","item":{"type":"folder","id":"top"},"accessible_by":{"type":"group","id":"design"},"role":"editor","status":"pending"}}`,
				`{"id":"c3","type":"collaboration.created","collaboration":{"id":"c-erin","item":{"type":"file","id":"doc"},"accessible_by":{"type":"user","id":"erin"},"role":"viewer","expires_at":"2020-01-01T00:00:00Z"}}`,
				`{"id":"c4","type":"collaboration.created","collaboration":{"id":"c-fred","item":{"type":"folder","id":"mid"},"accessible_by":{"type":"user","id":"fred"},"role":"viewer","status":"rejected"}}`,
			)
			ctx := context.Background()
			tests := []struct {
				name     string
				q        checker.Question
				reason   string
				inactive string // the collaboration the explanation names
				says     string // a piece of the sentence
			}{
				{"unknown item", checker.Question{User: "alice", Action: schema.ActionList, Item: item("file:nope")}, checker.ReasonNotMirrored, "", `file:nope is not mirrored`},
				{"unknown user", checker.Question{User: "ghost", Action: schema.ActionList, Item: item("file:doc")}, checker.ReasonNotMirrored, "", `user "ghost" is not mirrored`},
				{"pending for the user", checker.Question{User: "bob", Action: schema.ActionPreview, Item: item("file:doc")}, checker.ReasonPending, "c-bob", "collaboration c-bob on folder:mid is pending"},
				{"pending for a group", checker.Question{User: "carol", Action: schema.ActionList, Item: item("file:doc")}, checker.ReasonPending, "c-design", "via group design"},
				{"expired", checker.Question{User: "erin", Action: schema.ActionDownload, Item: item("file:doc")}, checker.ReasonExpired, "c-erin", "has expired"},
				{"outside a restricted folder", checker.Question{User: "xavier", Action: schema.ActionList, Item: item("file:doc")}, checker.ReasonCollaborationRestricted, "", `folder "top" restricts collaboration`},
				{"rejected is no grant", checker.Question{User: "fred", Action: schema.ActionList, Item: item("file:doc")}, checker.ReasonNoGrant, "", "no grant"},
				{"anonymous without a link", checker.Question{Action: schema.ActionList, Item: item("file:doc")}, checker.ReasonNoGrant, "", "no grant"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					ex, err := ch.Explain(ctx, tt.q, cons)
					if err != nil {
						t.Fatal(err)
					}
					if ex.Allowed || ex.Reason != tt.reason {
						t.Fatalf("allowed %v reason %q (%+v); want denied %q", ex.Allowed, ex.Reason, ex, tt.reason)
					}
					var names []string
					for _, g := range ex.Inactive {
						names = append(names, g.Collaboration)
					}
					if got := strings.Join(names, ","); got != tt.inactive {
						t.Errorf("inactive collaborations %q; want %q", got, tt.inactive)
					}
					if s := ex.Sentence(); !strings.Contains(s, tt.says) {
						t.Errorf("sentence %q; want it to say %q", s, tt.says)
					}
					a, err := ch.Check(ctx, tt.q, cons)
					if err != nil || a.Allowed {
						t.Errorf("Check %v, %v; want denied like Explain", a.Allowed, err)
					}
				})
			}
		})
	}
}

// TestEveryReasonHasASentence: a new reason code cannot ship without words.
func TestEveryReasonHasASentence(t *testing.T) {
	for _, r := range checker.Reasons() {
		s := checker.Explanation{Reason: r, Detail: "detail"}.Sentence()
		if strings.HasPrefix(s, "denied: ") {
			t.Errorf("reason %q has no sentence of its own: %q", r, s)
		}
	}
}
