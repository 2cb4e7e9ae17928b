package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdminKeyFile: the admin key can come from a file (kept out of the
// process list); an empty, multi-line or missing file, or both sources at
// once, is refused naming the flag.
func TestAdminKeyFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		flags   adminKeyFlags
		want    string
		wantErr string
	}{
		{"flag", adminKeyFlags{key: "k1"}, "k1", ""},
		{"file with a trailing newline", adminKeyFlags{file: write("ok", "secret-from-file\n")}, "secret-from-file", ""},
		{"empty file", adminKeyFlags{file: write("empty", " \n")}, "", "is empty"},
		{"two lines", adminKeyFlags{file: write("two", "a\nb\n")}, "", "one line"},
		{"missing file", adminKeyFlags{file: filepath.Join(dir, "nope")}, "", "--admin-key-file"},
		{"both", adminKeyFlags{key: "k", file: write("both", "x")}, "", "both set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.flags.value()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("value() = %q, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("value() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
