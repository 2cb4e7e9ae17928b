package validation

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// docSchema is a small schema so each case states its own lines.
const docSchema = "schema: |-\n" +
	"  definition user {}\n" + // 2
	"  definition doc {\n" + // 3
	"    relation viewer: user\n" + // 4
	"    permission view = viewer\n" + // 5
	"  }\n" // 6

// TestProblemPositions: each kind of problem is reported at the 1-based
// line and column of the text it is about.
func TestProblemPositions(t *testing.T) {
	for _, tt := range []struct {
		name      string
		file      string
		cannotRun bool // a *FileError, as the command exits 2 for
		kind      string
		line, col int
		message   string // the message contains it
		noTrace   bool   // an assertion that could not be checked
	}{
		{
			name:      "yaml syntax",
			file:      "relationships: |-\n  doc:a#viewer@user:x\n bad: indent\n",
			cannotRun: true, kind: KindYAML, line: 2, col: 3,
			message: "did not find expected key",
		},
		{
			name:      "block of the wrong shape quotes the whole value",
			file:      "assertions:\n  assertTrue: doc:a#view@user:someone-with-a-long-name\n",
			cannotRun: true, kind: KindYAML, line: 2, col: 15,
			message: `want a list of relationships, got "doc:a#view@user:someone-with-a-long-name"`,
		},
		{
			name: "schema error inside the block",
			file: "schema: |-\n  definition user {}\n  definition doc {\n    relation viewer: user\n    permission view = viewer + nope\n  }\n",
			kind: KindSchema, line: 5, col: 32,
			message: "`nope` not found",
		},
		{
			name:      "relationship that does not parse",
			file:      docSchema + "relationships: |-\n  doc:a#viewer@user:x\n  not a relationship\n",
			cannotRun: true, kind: KindRelationships, line: 9, col: 3,
			message: "error parsing relationship `not a relationship`",
		},
		{
			name: "relationship the schema refuses",
			file: docSchema + "relationships: |-\n  doc:a#viewer@user:x\n  doc:a#viewr@user:x\n",
			kind: KindRelationships, line: 9, col: 3,
			message: "`viewr` not found",
		},
		{
			name: "assertTrue",
			file: docSchema + "relationships: |-\n  doc:a#viewer@user:x\nassertions:\n  assertTrue:\n    - doc:a#view@user:y\n",
			kind: KindAssertion, line: 11, col: 7,
			message: "expected doc:a#view@user:y to hold, got no permission",
		},
		{
			name: "assertFalse",
			file: docSchema + "relationships: |-\n  doc:a#viewer@user:x\nassertions:\n  assertFalse:\n    - doc:a#view@user:x\n",
			kind: KindAssertion, line: 11, col: 7,
			message: "expected doc:a#view@user:x to not hold, got has permission",
		},
		{
			name: "assertCaveated",
			file: docSchema + "relationships: |-\n  doc:a#viewer@user:x\nassertions:\n  assertCaveated:\n    - doc:a#view@user:x\n",
			kind: KindAssertion, line: 11, col: 7,
			message: "expected doc:a#view@user:x to be caveated, got has permission",
		},
		{
			name: "assertion on a permission the schema lacks",
			file: docSchema + "relationships: |-\n  doc:a#viewer@user:x\nassertions:\n  assertTrue:\n    - doc:a#edit@user:x\n",
			kind: KindAssertion, line: 11, col: 7, noTrace: true,
			message: "doc:a#edit@user:x: relation/permission `edit` not found under definition `doc`",
		},
		{
			name: "expected relations",
			file: docSchema + "relationships: |-\n  doc:a#viewer@user:x\nvalidation:\n  doc:a#view:\n    - \"[user:x] is <doc:a#viewer>\"\n    - \"[user:z] is <doc:a#viewer>\"\n",
			kind: KindExpected, line: 12, col: 7,
			message: "missing expected subject `user:z`",
		},
		{
			name: "boxauthz's schema when there is none",
			file: "relationships: |-\n  folder:a#owner@user:x\nassertions:\n  assertTrue:\n    - folder:a#rename@user:x\n    - folder:a#rename@user:y\n",
			kind: KindAssertion, line: 6, col: 7,
			message: "folder:a#rename@user:y to hold",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Validate(context.Background(), "case.yaml", []byte(tt.file))
			var fe *FileError
			if gotFE := errors.As(err, &fe); gotFE != tt.cannotRun || (err != nil && !gotFE) {
				t.Fatalf("err = %v, want a FileError: %v", err, tt.cannotRun)
			}
			if len(res.Problems) != 1 {
				t.Fatalf("problems = %v, want one", res.Problems)
			}
			p := res.Problems[0]
			if p.File != "case.yaml" || p.Kind != tt.kind || p.Line != tt.line || p.Column != tt.col || !strings.Contains(p.Message, tt.message) {
				t.Errorf("problem = %s (%s:%d:%d), want %s at %d:%d containing %q", p, p.Kind, p.Line, p.Column, tt.kind, tt.line, tt.col, tt.message)
			}
			if want := strings.Split(tt.file, "\n")[tt.line-1]; p.SourceLine != want {
				t.Errorf("source line = %q, want %q", p.SourceLine, want)
			}
			if (p.Trace != nil) != (tt.kind == KindAssertion && !tt.noTrace) {
				t.Errorf("trace = %+v; want one exactly for a failed assertion", p.Trace)
			}
		})
	}
}

// TestAssertionTrace: a failed assertion explains itself with SpiceDB's
// check trace, the permission over the relation it is computed from, and
// prints it as a tree under the line and a caret.
func TestAssertionTrace(t *testing.T) {
	file := docSchema + "relationships: |-\n  doc:a#viewer@user:x\nassertions:\n  assertTrue:\n    - doc:a#view@user:y\n"
	res, err := Validate(context.Background(), "t.yaml", []byte(file))
	if err != nil || len(res.Problems) != 1 {
		t.Fatalf("validate: %v %v", res.Problems, err)
	}
	tr := res.Problems[0].Trace
	if tr == nil || tr.Resource != "doc:a" || tr.Permission != "view" || tr.Kind != "permission" || tr.Subject != "user:y" || tr.Result != "no permission" {
		t.Fatalf("trace = %+v", tr)
	}
	if len(tr.Children) != 1 || tr.Children[0].Permission != "viewer" || tr.Children[0].Kind != "relation" {
		t.Fatalf("trace children = %+v, want the viewer relation", tr.Children)
	}
	var b bytes.Buffer
	WriteProblem(&b, res.Problems[0])
	want := "t.yaml:11:7: assertion: expected doc:a#view@user:y to hold, got no permission\n" +
		"      - doc:a#view@user:y\n" +
		"        ^\n" +
		"  explanation:\n" +
		"    doc:a#view for user:y: no permission\n" +
		"      doc:a#viewer for user:y: no permission\n"
	if b.String() != want {
		t.Errorf("printed\n%s\nwant\n%s", b.String(), want)
	}
}

// TestSchemaFile: a schemaFile is read relative to the validation file's
// directory, its problems are positions in it, and one that cannot be read
// is named.
func TestSchemaFile(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, body string) string {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("schemas/doc.zed", "definition user {}\ndefinition doc {\n  relation viewer: user\n  permission view = viewer\n}\n")
	write("schemas/broken.zed", "definition user {}\ndefinition doc {\n  permission view = nope\n}\n")
	body := func(schemaFile string) string {
		return "schemaFile: " + schemaFile + "\nrelationships: |-\n  doc:a#viewer@user:x\nassertions:\n  assertTrue:\n    - doc:a#view@user:x\n"
	}
	for _, tt := range []struct {
		name, file, body string
		problem          string // "" for a passing file
		cannotRun        bool
	}{
		{name: "beside", file: "schemas/v.yaml", body: body("doc.zed")},
		{name: "up and over", file: "cases/deep/v.yaml", body: body("../../schemas/doc.zed")},
		{name: "absolute", file: "cases/abs.yaml", body: body(filepath.Join(dir, "schemas/doc.zed"))},
		{
			name: "error in the schema file", file: "cases/broken.yaml", body: body("../schemas/broken.zed"),
			problem: filepath.Join(dir, "cases/../schemas/broken.zed") + ":3:",
		},
		{
			name: "missing", file: "cases/missing.yaml", body: body("nope.zed"), cannotRun: true,
			problem: "reading schemaFile " + filepath.Join(dir, "cases/nope.zed"),
		},
		{
			name: "both", file: "cases/both.yaml", body: "schema: |-\n  definition user {}\n" + body("doc.zed"), cannotRun: true,
			problem: "either schema or schemaFile",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := write(tt.file, tt.body)
			res, err := Validate(context.Background(), path, []byte(tt.body))
			var fe *FileError
			if errors.As(err, &fe) != tt.cannotRun || (err != nil && !tt.cannotRun) {
				t.Fatalf("err = %v, want a FileError: %v", err, tt.cannotRun)
			}
			if tt.problem == "" {
				if !res.OK() || res.Assertions != 1 {
					t.Fatalf("result = %+v, want one passing assertion", res)
				}
				return
			}
			if len(res.Problems) != 1 || !strings.Contains(res.Problems[0].String(), tt.problem) {
				t.Fatalf("problems = %v, want one containing %q", res.Problems, tt.problem)
			}
		})
	}
}
