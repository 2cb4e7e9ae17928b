package httpapi_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestLookupExtensionTypes: both lookups answer for a type of the schema
// extension as SpiceDB's own lookups of its permission do: the hub is
// viewed by exactly those who may preview its folder.
func TestLookupExtensionTypes(t *testing.T) {
	srv, tok := newExtendedAPI(t)
	names := func(v any) []string {
		var out []string
		for _, x := range v.([]any) {
			out = append(out, fmt.Sprint(x))
		}
		slices.Sort(out)
		return out
	}
	code, out, _ := call(t, srv, "POST", "/v1/lookup/users", adminKey, "application/json",
		`{"item":{"type":"folder","id":"launch"},"action":"preview","consistency_token":"`+tok+`"}`)
	if code != 200 {
		t.Fatalf("users who preview folder launch: %d %v", code, out)
	}
	previewers := names(out["users"])
	code, out, _ = call(t, srv, "POST", "/v1/lookup/users", adminKey, "application/json",
		`{"item":{"type":"hub","id":"h1"},"action":"viewer","consistency_token":"`+tok+`"}`)
	if code != 200 || !slices.Equal(names(out["users"]), previewers) || len(previewers) == 0 {
		t.Fatalf("users who view hub h1: %d %v; want the folder's previewers %v", code, out, previewers)
	}
	for _, user := range previewers {
		code, out, _ := call(t, srv, "POST", "/v1/lookup/items", adminKey, "application/json",
			`{"user":"`+user+`","action":"viewer","type":"hub","consistency_token":"`+tok+`"}`)
		if code != 200 || !slices.Equal(names(out["items"]), []string{"h1"}) {
			t.Fatalf("hubs %s views: %d %v; want [h1]", user, code, out)
		}
	}
	code, out, _ = call(t, srv, "POST", "/v1/lookup/items", adminKey, "application/json",
		`{"user":"nobody","action":"viewer","type":"hub","consistency_token":"`+tok+`"}`)
	if code != 200 || len(out["items"].([]any)) != 0 {
		t.Fatalf("hubs nobody views: %d %v; want none", code, out)
	}
	for _, tt := range []struct{ path, body, mention string }{
		{"/v1/lookup/items", `{"user":"alice","action":"preview","type":"hub"}`, "want viewer"},
		{"/v1/lookup/items", `{"user":"alice","action":"viewer","type":"room"}`, "want folder, file, hub"},
		{"/v1/lookup/users", `{"item":{"type":"hub","id":"h1"},"action":"preview"}`, "want viewer"},
		{"/v1/lookup/users", `{"item":{"type":"hub","id":"a b"},"action":"viewer"}`, "item.id"},
	} {
		code, out, _ := call(t, srv, "POST", tt.path, adminKey, "application/json", tt.body)
		if code != 400 || !strings.Contains(stringOf(out), tt.mention) {
			t.Errorf("%s %s: %d %v; want 400 naming %q", tt.path, tt.body, code, out, tt.mention)
		}
	}
}
