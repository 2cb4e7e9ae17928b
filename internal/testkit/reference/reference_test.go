package reference_test

import (
	"strings"
	"testing"

	"github.com/boxauthz/boxauthz/internal/testkit/eventgen"
	"github.com/boxauthz/boxauthz/internal/testkit/reference"
)

// TestModelRefusesWhatTheGeneratorBreaks: over long mixed streams, the model
// refuses exactly the events the generator built as bad input, and a refused
// event changes nothing. The two are written apart from the spec, so this
// holds each to the other without SpiceDB, cheaply enough for many seeds.
func TestModelRefusesWhatTheGeneratorBreaks(t *testing.T) {
	kinds := map[string]int{}
	for seed := uint64(100); seed < 104; seed++ {
		m := reference.New()
		for i, e := range eventgen.New(seed, eventgen.WithAllKinds(), eventgen.WithInvalid(10)).Events(2000) {
			var before string
			if e.Invalid != "" {
				before = m.Dump()
			}
			err := m.Apply(e.Line)
			if (err != nil) != (e.Invalid != "") {
				t.Fatalf("seed %d event %d: generator meant bad=%q, the model says %v\n%s", seed, i, e.Invalid, err, e.Line)
			}
			if err != nil {
				kinds[e.Invalid]++
				if after := m.Dump(); after != before {
					t.Fatalf("seed %d event %d: refused (%v) but the state changed\n%s", seed, i, err, e.Line)
				}
			}
		}
	}
	for _, k := range eventgen.InvalidKinds() {
		if kinds[k] == 0 {
			t.Errorf("no %s event refused", k)
		}
	}
}

// TestBadInput: each rule of docs/events.md's "Rules", and the payload table,
// refuses an event, which then changes nothing; the events around them that
// the spec allows go through.
func TestBadInput(t *testing.T) {
	setup := []string{
		`{"id":"e1","type":"user.created","user":{"id":"alice","enterprise":"acme"}}`,
		`{"id":"e2","type":"user.created","user":{"id":"bob","enterprise":null}}`,
		`{"id":"e3","type":"group.created","group":{"id":"g1","enterprise":"acme"}}`,
		`{"id":"e4","type":"folder.created","folder":{"id":"top","parent":"0","owner":"alice","is_collaboration_restricted_to_enterprise":true}}`,
		`{"id":"e5","type":"folder.created","folder":{"id":"sub","parent":"top","owner":"alice"}}`,
		`{"id":"e6","type":"file.created","file":{"id":"f1","parent":"sub","owner":"alice"}}`,
		`{"id":"e7","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"sub"},"accessible_by":{"type":"group","id":"g1"},"role":"viewer"}}`,
		`{"id":"e8","type":"shared_link.created","shared_link":{"item":{"type":"file","id":"f1"},"access":"open","permissions":{"can_download":true,"can_edit":true}}}`,
	}
	bad := map[string]string{
		"not JSON":                 `{"id":"b1","type":`,
		"not an object":            `["b1"]`,
		"no id":                    `{"type":"user.created","user":{"id":"carol"}}`,
		"no type":                  `{"id":"b1","user":{"id":"carol"}}`,
		"unknown type":             `{"id":"b1","type":"user.renamed","user":{"id":"carol"}}`,
		"unknown object":           `{"id":"b1","type":"team.created","team":{"id":"t"}}`,
		"no payload":               `{"id":"b1","type":"user.created"}`,
		"another payload":          `{"id":"b1","type":"user.created","group":{"id":"g2","enterprise":"acme"}}`,
		"two payloads":             `{"id":"b1","type":"user.created","user":{"id":"carol"},"group":{"id":"g2","enterprise":"acme"}}`,
		"payload not an object":    `{"id":"b1","type":"user.created","user":"carol"}`,
		"bad created_at":           `{"id":"b1","type":"user.created","created_at":"today","user":{"id":"carol"}}`,
		"id with a space":          `{"id":"b1","type":"user.created","user":{"id":"car ol"}}`,
		"id too long":              `{"id":"b1","type":"user.created","user":{"id":"` + strings.Repeat("c", 129) + `"}}`,
		"id a number":              `{"id":"b1","type":"user.created","user":{"id":7}}`,
		"unknown user role":        `{"id":"b1","type":"user.created","user":{"id":"carol","enterprise":"acme","role":"root"}}`,
		"unknown privilege":        `{"id":"b1","type":"user.created","user":{"id":"carol","enterprise":"acme","role":"coadmin","coadmin_privileges":["all"]}}`,
		"group without enterprise": `{"id":"b1","type":"group.created","group":{"id":"g2"}}`,
		"membership without user":  `{"id":"b1","type":"group_membership.created","group_membership":{"id":"m1","group":"g1"}}`,
		"unknown membership role":  `{"id":"b1","type":"group_membership.created","group_membership":{"id":"m1","group":"g1","user":"bob","role":"owner"}}`,
		"folder without owner":     `{"id":"b1","type":"folder.created","folder":{"id":"x","parent":"0"}}`,
		"folder id 0":              `{"id":"b1","type":"folder.created","folder":{"id":"0","parent":"0","owner":"alice"}}`,
		"setting not a bool":       `{"id":"b1","type":"folder.updated","folder":{"id":"sub","parent":"top","owner":"alice","can_non_owners_invite":"no"}}`,
		"unknown parent":           `{"id":"b1","type":"file.created","file":{"id":"f2","parent":"nowhere","owner":"alice"}}`,
		"into itself":              `{"id":"b1","type":"folder.moved","folder":{"id":"top","parent":"top","owner":"alice"}}`,
		"below itself":             `{"id":"b1","type":"folder.moved","folder":{"id":"top","parent":"sub","owner":"alice"}}`,
		"trash of nothing":         `{"id":"b1","type":"file.trashed","file":{"id":"nothing"}}`,
		"trash without id":         `{"id":"b1","type":"folder.trashed","folder":{}}`,
		"collaboration on 0":       `{"id":"b1","type":"collaboration.created","collaboration":{"id":"c2","item":{"type":"folder","id":"0"},"accessible_by":{"type":"user","id":"alice"},"role":"editor"}}`,
		"collaboration on nothing": `{"id":"b1","type":"collaboration.created","collaboration":{"id":"c2","item":{"type":"file","id":"nothing"},"accessible_by":{"type":"user","id":"alice"},"role":"editor"}}`,
		"folder role on a file":    `{"id":"b1","type":"collaboration.created","collaboration":{"id":"c2","item":{"type":"file","id":"f1"},"accessible_by":{"type":"user","id":"alice"},"role":"previewer"}}`,
		"owner as a role":          `{"id":"b1","type":"collaboration.created","collaboration":{"id":"c2","item":{"type":"folder","id":"sub"},"accessible_by":{"type":"user","id":"alice"},"role":"owner"}}`,
		"no role":                  `{"id":"b1","type":"collaboration.created","collaboration":{"id":"c2","item":{"type":"folder","id":"sub"},"accessible_by":{"type":"user","id":"alice"}}}`,
		"unknown status":           `{"id":"b1","type":"collaboration.created","collaboration":{"id":"c2","item":{"type":"folder","id":"sub"},"accessible_by":{"type":"user","id":"alice"},"role":"editor","status":"later"}}`,
		"grantee an enterprise":    `{"id":"b1","type":"collaboration.created","collaboration":{"id":"c2","item":{"type":"folder","id":"sub"},"accessible_by":{"type":"enterprise","id":"acme"},"role":"editor"}}`,
		"bad expires_at":           `{"id":"b1","type":"collaboration.created","collaboration":{"id":"c2","item":{"type":"folder","id":"sub"},"accessible_by":{"type":"user","id":"alice"},"role":"editor","expires_at":"soon"}}`,
		"second for the grantee":   `{"id":"b1","type":"collaboration.created","collaboration":{"id":"c2","item":{"type":"folder","id":"sub"},"accessible_by":{"type":"group","id":"g1"},"role":"editor"}}`,
		"external, restricted":     `{"id":"b1","type":"collaboration.created","collaboration":{"id":"c2","item":{"type":"file","id":"f1"},"accessible_by":{"type":"user","id":"bob"},"role":"editor"}}`,
		"unknown user, restricted": `{"id":"b1","type":"collaboration.created","collaboration":{"id":"c2","item":{"type":"folder","id":"top"},"accessible_by":{"type":"user","id":"nobody"},"role":"editor"}}`,
		"unknown access":           `{"id":"b1","type":"shared_link.created","shared_link":{"item":{"type":"file","id":"f1"},"access":"public"}}`,
		"can_edit on a folder":     `{"id":"b1","type":"shared_link.created","shared_link":{"item":{"type":"folder","id":"sub"},"access":"open","permissions":{"can_edit":true}}}`,
		"link on nothing":          `{"id":"b1","type":"shared_link.created","shared_link":{"item":{"type":"folder","id":"nothing"},"access":"open"}}`,
		"link without item":        `{"id":"b1","type":"shared_link.deleted","shared_link":{}}`,
		"bad unshared_at":          `{"id":"b1","type":"shared_link.updated","shared_link":{"item":{"type":"file","id":"f1"},"access":"open","unshared_at":"2026-02-30T00:00:00Z"}}`,
	}
	m := reference.New()
	for _, l := range setup {
		if err := m.Apply([]byte(l)); err != nil {
			t.Fatalf("setup %s: %v", l, err)
		}
	}
	before := m.Dump()
	for name, l := range bad {
		if err := m.Apply([]byte(l)); err == nil {
			t.Errorf("%s: accepted %s", name, l)
		}
		if m.Dump() != before {
			t.Fatalf("%s: refused, but the state changed", name)
		}
	}
	// A refused event's id is free: the corrected event goes through.
	ok := `{"id":"b1","type":"collaboration.created","collaboration":{"id":"c2","item":{"type":"file","id":"f1"},"accessible_by":{"type":"user","id":"alice"},"role":"editor"}}`
	if err := m.Apply([]byte(ok)); err != nil {
		t.Fatalf("the corrected event: %v", err)
	}
	// An applied id is skipped, even when the event would now be refused.
	again := `{"id":"b1","type":"file.trashed","file":{"id":"nothing"}}`
	if err := m.Apply([]byte(again)); err != nil {
		t.Fatalf("a redelivered id: %v", err)
	}
	// Existing collaborations survive a restriction: an update of c1 needs
	// no check, and bob's would not pass one.
	upd := `{"id":"e9","type":"collaboration.updated","collaboration":{"id":"c1","item":{"type":"folder","id":"sub"},"accessible_by":{"type":"group","id":"g1"},"role":"editor"}}`
	if err := m.Apply([]byte(upd)); err != nil {
		t.Fatalf("updating a collaboration under a restricted folder: %v", err)
	}
}
