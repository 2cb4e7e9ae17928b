package httpapi_test

import (
	"strings"
	"testing"
)

// TestCheckBulkExtensionTypes: extension checks mixed with Box checks are
// answered in request order, and a bad one refuses the whole request
// naming its index and field.
func TestCheckBulkExtensionTypes(t *testing.T) {
	srv, tok := newExtendedAPI(t)
	const (
		hubOK    = `{"id":"a","user":"alice","action":"viewer","item":{"type":"hub","id":"h1"}}`
		hubNo    = `{"id":"b","user":"nobody","action":"viewer","item":{"type":"hub","id":"h1"}}`
		folderOK = `{"id":"c","user":"alice","action":"preview","item":{"type":"folder","id":"launch"}}`
		folderNo = `{"id":"d","user":"nobody","action":"preview","item":{"type":"folder","id":"launch"}}`
	)
	tests := []struct {
		name    string
		checks  []string
		code    int
		allowed []bool
		mention []string
	}{
		{name: "extension only", checks: []string{hubOK, hubNo}, code: 200, allowed: []bool{true, false}},
		{name: "mixed in request order", checks: []string{hubNo, folderOK, hubOK, folderNo}, code: 200, allowed: []bool{false, true, true, false}},
		{name: "box only unchanged", checks: []string{folderNo, folderOK}, code: 200, allowed: []bool{false, true}},
		{name: "unknown permission", checks: []string{folderOK, `{"user":"alice","action":"preview","item":{"type":"hub","id":"h1"}}`}, code: 400, mention: []string{"checks[1].action", "want viewer"}},
		{name: "unknown type", checks: []string{hubOK, folderOK, `{"user":"alice","action":"viewer","item":{"type":"room","id":"r"}}`}, code: 400, mention: []string{"checks[2].item.type", "want folder, file, hub"}},
		{name: "bad extension id", checks: []string{`{"user":"alice","action":"viewer","item":{"type":"hub","id":"a b"}}`}, code: 400, mention: []string{"checks[0].item.id"}},
		{name: "no action", checks: []string{hubOK, `{"user":"alice","item":{"type":"hub","id":"h1"}}`}, code: 400, mention: []string{"checks[1].action"}},
		{name: "bad box check after extension", checks: []string{hubOK, `{"user":"alice","action":"fly","item":{"type":"file","id":"plan"}}`}, code: 400, mention: []string{"checks[1].action"}},
		{name: "explain on one check", checks: []string{`{"user":"alice","action":"viewer","item":{"type":"hub","id":"h1"},"explain":true}`}, code: 400, mention: []string{"checks[0]", "go on the request"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"checks":[` + strings.Join(tt.checks, ",") + `],"consistency_token":"` + tok + `"}`
			code, out, _ := call(t, srv, "POST", "/v1/check/bulk", adminKey, "application/json", body)
			if code != tt.code {
				t.Fatalf("status %d %v, want %d", code, out, tt.code)
			}
			for _, m := range tt.mention {
				if !strings.Contains(stringOf(out), m) {
					t.Fatalf("answer %v does not mention %q", out, m)
				}
			}
			if code != 200 {
				if _, ok := out["results"]; ok {
					t.Fatalf("refused request answered some checks: %v", out)
				}
				return
			}
			if tok, _ := out["consistency_token"].(string); tok == "" {
				t.Fatal("no consistency token")
			}
			results, _ := out["results"].([]any)
			if len(results) != len(tt.allowed) {
				t.Fatalf("results %v, want %d", results, len(tt.allowed))
			}
			for i, want := range tt.allowed {
				r, _ := results[i].(map[string]any)
				if r["allowed"] != want || !strings.Contains(tt.checks[i], `"id":"`+r["id"].(string)+`"`) {
					t.Fatalf("result %d = %v, want allowed %v for %s", i, r, want, tt.checks[i])
				}
			}
		})
	}
}
