package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateAndTestWithExtension: schema validate and test compose the
// extension with boxauthz's schema: the example extension's validation
// file passes with it and cannot run without it, the Acme tests pass with
// it loaded, and a refused extension stops both naming its line.
func TestValidateAndTestWithExtension(t *testing.T) {
	hubTests := "../../examples/hub_validation.yaml"
	acme := "../../examples/acme_test.yaml"
	bad := filepath.Join(t.TempDir(), "bad.zed")
	if err := os.WriteFile(bad, []byte("definition folder {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"validate with it", []string{"schema", "validate", "--schema-extension", hubExample, hubTests}, 0, "ok (4 assertions"},
		{"validate without it", []string{"schema", "validate", hubTests}, 1, "object definition `hub` not found"},
		{"validate, refused", []string{"schema", "validate", "--schema-extension", bad, hubTests}, 2, "bad.zed:1"},
		{"test with it", []string{"test", "--schema-extension", hubExample, acme}, 0, "tests passed"},
		{"test, refused", []string{"test", "--schema-extension", bad, acme}, 2, "bad.zed:1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCmd(t, t.Context(), tt.args...)
			if code != tt.code || !strings.Contains(out+errs, tt.says) {
				t.Fatalf("exit %d, want %d, saying %q:\n%s%s", code, tt.code, tt.says, out, errs)
			}
		})
	}
}
