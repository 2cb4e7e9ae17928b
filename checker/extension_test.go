package checker_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/schema"
)

func TestExtensionValidate(t *testing.T) {
	e := checker.NewExtension(nil, map[string][]string{"hub": {"viewer"}, "tag": {}, "room": {"admire", "enter"}})
	type q = checker.ExtensionQuestion
	tests := []struct {
		name      string
		q         q
		field     string // "" when valid
		mentioned string
	}{
		{name: "valid", q: q{User: "alice", Type: "hub", ID: "h1", Permission: "viewer"}},
		{name: "anonymous", q: q{Type: "room", ID: "r1", Permission: "enter"}},
		{name: "unknown type", q: q{User: "alice", Type: "desk", ID: "d", Permission: "viewer"}, field: "item.type", mentioned: "want folder, file, hub, room, tag"},
		{name: "unknown permission", q: q{User: "alice", Type: "room", ID: "r1", Permission: "viewer"}, field: "action", mentioned: "want admire, enter"},
		{name: "type without permissions", q: q{User: "alice", Type: "tag", ID: "t", Permission: "viewer"}, field: "action", mentioned: "no permission"},
		{name: "bad user", q: q{User: "a b", Type: "hub", ID: "h1", Permission: "viewer"}, field: "user"},
		{name: "empty id", q: q{User: "alice", Type: "hub", Permission: "viewer"}, field: "item.id"},
		{name: "bad link", q: q{User: "alice", Type: "hub", ID: "h1", Permission: "viewer", SharedLink: &schema.ItemRef{Type: "hub", ID: "h1"}}, field: "shared_link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.Validate(tt.q)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var fe *checker.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || !strings.Contains(err.Error(), tt.mentioned) {
				t.Fatalf("Validate = %v, want a field error on %s mentioning %q", err, tt.field, tt.mentioned)
			}
		})
	}
	if !e.Handles("hub") || e.Handles("folder") || (*checker.Extension)(nil).Handles("hub") {
		t.Fatal("Handles: want hub only, and nothing for no extension")
	}
}
