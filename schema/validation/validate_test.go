package validation

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestValidationFiles runs every file in testdata against SpiceDB's
// development engine, as `zed validate` would.
func TestValidationFiles(t *testing.T) {
	files, err := filepath.Glob("../testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no validation files in testdata (err %v)", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			res, err := ValidateFile(context.Background(), data)
			if err != nil {
				t.Fatalf("validate %s: %v", f, err)
			}
			for _, p := range res.Problems {
				t.Errorf("%s:%s", f, p)
			}
			if res.Assertions == 0 && res.Expected == 0 {
				t.Errorf("%s asserts nothing", f)
			}
		})
	}
}

func TestValidateFileReportsLines(t *testing.T) {
	bad := []byte("relationships: |-\n  folder:a#owner@user:x\nassertions:\n  assertTrue:\n    - folder:a#edit@user:y\n")
	res, err := ValidateFile(context.Background(), bad)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != 1 || res.Problems[0].Line != 5 {
		t.Fatalf("problems = %v, want one on line 5", res.Problems)
	}
}
