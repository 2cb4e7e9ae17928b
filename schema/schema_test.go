package schema

import (
	"strings"
	"testing"
)

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
