package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSchemaValidateBinary runs schema validate through the built binary:
// a failing file prints file:line:col, the line with a caret and SpiceDB's
// trace; --json carries the same; a schemaFile beside the file is used;
// a file that cannot be run exits 2 with its position.
func TestSchemaValidateBinary(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "relationships: |-\n  folder:a#owner@user:x\nassertions:\n  assertTrue:\n    - folder:a#rename@user:x\n    - folder:a#rename@user:y\n")
	if err := os.Mkdir(filepath.Join(dir, "schemas"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "schemas", "doc.zed"), "definition user {}\ndefinition doc {\n  relation viewer: user\n  permission view = viewer\n}\n")
	withFile := filepath.Join(dir, "schemas", "v.yaml")
	writeFile(t, withFile, "schemaFile: doc.zed\nrelationships: |-\n  doc:a#viewer@user:x\nassertions:\n  assertTrue:\n    - doc:a#view@user:x\n")
	unparsable := filepath.Join(dir, "yaml.yaml")
	writeFile(t, unparsable, "relationships: |-\n  doc:a#viewer@user:x\n bad: indent\n")

	code, out, errs := execBin(t, bin, nil, "schema", "validate", bad, withFile)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out, errs)
	}
	for _, want := range []string{
		bad + ":6:7: assertion: expected folder:a#rename@user:y to hold, got no permission\n",
		"      - folder:a#rename@user:y\n        ^\n",
		"    folder:a#rename for user:y: no permission\n",
		withFile + ": ok (1 assertions, 0 expected relations)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	code, out, errs = execBin(t, bin, nil, "schema", "validate", bad, "--json")
	var v validateLine
	if err := json.Unmarshal([]byte(out), &v); code != 1 || err != nil || len(v.Problems) != 1 {
		t.Fatalf("--json: exit %d, %v\n%s%s", code, err, out, errs)
	}
	p := v.Problems[0]
	if p.File != bad || p.Line != 6 || p.Column != 7 || p.Kind != "assertion" || p.Trace == nil || p.Trace.Permission != "rename" || len(p.Trace.Children) == 0 {
		t.Errorf("--json problem = %+v", p)
	}

	code, out, errs = execBin(t, bin, nil, "schema", "validate", unparsable)
	if code != 2 || !strings.Contains(out, unparsable+":2:3: yaml: did not find expected key\n") {
		t.Errorf("bad YAML: exit %d, want 2 and its position\n%s%s", code, out, errs)
	}
	code, out, errs = execBin(t, bin, nil, "schema", "validate", unparsable, "--json")
	v = validateLine{}
	if err := json.Unmarshal([]byte(out), &v); code != 2 || err != nil || v.OK || len(v.Problems) != 1 || v.Problems[0].Kind != "yaml" || v.Problems[0].Line != 2 {
		t.Errorf("bad YAML --json: exit %d, %v, %+v\n%s%s", code, err, v, out, errs)
	}
}
