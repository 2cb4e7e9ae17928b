package schema

import (
	"errors"
	"strings"
	"testing"
)

func TestCompareOwnSchemaIsCurrent(t *testing.T) {
	st, err := Compare(Text())
	if err != nil {
		t.Fatalf("compare own schema: %v", err)
	}
	if st != Current {
		t.Fatalf("own schema compares as %v, want current", st)
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name    string
		stored  string
		want    State
		problem string
	}{
		{name: "empty", stored: "", want: Absent},
		{name: "extended", stored: Text() + "\ndefinition webhook {\n relation owner: user\n}\n", want: Compatible},
		{name: "extra relation", stored: strings.Replace(Text(), "relation service_account: user:*", "relation service_account: user:*\n\trelation nickname: user", 1), want: Compatible},
		{name: "missing definition", stored: strings.Replace(Text(), "definition collaboration {", "definition collab {", 1), problem: "definition collaboration is missing"},
		{name: "changed permission", stored: strings.Replace(Text(), "permission g_owner = owner + parent->g_owner", "permission g_owner = owner", 1), problem: "g_owner"},
		{name: "not a schema", stored: "definition {", problem: "compiling"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := Compare(tt.stored)
			if tt.problem != "" {
				var ie *IncompatibleError
				if !errors.As(err, &ie) {
					t.Fatalf("err = %v, want *IncompatibleError", err)
				}
				if !strings.Contains(err.Error(), tt.problem) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.problem)
				}
				return
			}
			if err != nil || st != tt.want {
				t.Fatalf("Compare = %v, %v; want %v", st, err, tt.want)
			}
		})
	}
}

func TestEncodeID(t *testing.T) {
	for _, id := range []string{"bob", "alice@example.com", "a.b.c", "x-y_z", "0"} {
		enc := EncodeID(id)
		if strings.ContainsAny(enc, ".@") {
			t.Errorf("EncodeID(%q) = %q still has . or @", id, enc)
		}
		if got := DecodeID(enc); got != id {
			t.Errorf("DecodeID(EncodeID(%q)) = %q", id, got)
		}
	}
}

func TestValidateID(t *testing.T) {
	good := []string{"a", "alice@example.com", strings.Repeat("x", 128)}
	bad := []string{"", strings.Repeat("x", 129), "a b", "a/b", "=anonymous", "é"}
	for _, id := range good {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q) = %v", id, err)
		}
	}
	for _, id := range bad {
		if err := ValidateID(id); err == nil {
			t.Errorf("ValidateID(%q) = nil, want error", id)
		}
	}
}

func TestGrantors(t *testing.T) {
	idx, err := NewGrantorIndex()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		typ, perm, rel string
		here, above    bool
	}{
		{TypeFolder, "delete", "owner", true, true},
		{TypeFolder, "delete", "editor", false, true},
		{TypeFolder, "delete", "co_owner", false, true},
		{TypeFile, "preview", "link_view", true, true},
		{TypeFile, "edit", "link_edit", true, false},
		{TypeFolder, "download", "previewer", false, false},
		{TypeFolder, "invite", "editor", true, true},
		{TypeFolder, "list", "trashed", false, false},
		{TypeFile, "transfer_ownership", "owner", true, true},
	}
	for _, tt := range tests {
		g, ok := idx.For(tt.typ, tt.perm)
		if !ok {
			t.Fatalf("no grantors for %s#%s", tt.typ, tt.perm)
		}
		if g.Here[tt.rel] != tt.here || g.Above[tt.rel] != tt.above {
			t.Errorf("%s#%s via %s: here=%v above=%v, want %v %v", tt.typ, tt.perm, tt.rel, g.Here[tt.rel], g.Above[tt.rel], tt.here, tt.above)
		}
	}
}
