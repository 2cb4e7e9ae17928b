package extension

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/authzed/spicedb/pkg/schemadsl/compiler"
	"github.com/authzed/spicedb/pkg/schemadsl/input"

	"github.com/boxauthz/boxauthz/schema"
)

const hub = `// A hub shows what a folder previews.
definition hub {
	relation folder: folder
	permission viewer = folder->preview
}
`

func TestComposeGood(t *testing.T) {
	tests := []struct {
		name string
		ext  string
		want []string // definitions and caveats the composed schema must hold
	}{
		{name: "hub", ext: hub, want: []string{"hub", "folder", "file", "not_expired"}},
		{name: "own caveat and ours", ext: "caveat in_office(ip ipaddress) {\n\tip.in_cidr('10.0.0.0/8')\n}\n\ndefinition desk {\n\trelation user: user with in_office | user with not_expired\n\tpermission sit = user\n}", want: []string{"desk", "in_office"}},
		{name: "own use directive", ext: "use expiration\n\ndefinition pass {\n\trelation holder: user with expiration\n}\n", want: []string{"pass"}},
		{name: "expiring relation", ext: "definition pass {\n\trelation holder: user with expiration\n}\n", want: []string{"pass"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Compose(schema.Text(), []byte(tt.ext), "ext.zed")
			if err != nil {
				t.Fatalf("Compose: %v", err)
			}
			if !strings.HasPrefix(got, strings.TrimRight(schema.Text(), "\n")) {
				t.Fatal("the composed schema does not start with boxauthz's")
			}
			c, err := compiler.Compile(compiler.InputSchema{Source: input.Source("composed"), SchemaString: got}, compiler.AllowUnprefixedObjectType())
			if err != nil {
				t.Fatalf("the composed schema does not compile: %v", err)
			}
			names := map[string]bool{}
			for _, d := range c.OrderedDefinitions {
				names[d.GetName()] = true
			}
			for _, w := range tt.want {
				if !names[w] {
					t.Errorf("composed schema lacks %s", w)
				}
			}
		})
	}
}

func TestComposeRefused(t *testing.T) {
	tests := []struct {
		name     string
		ext      string
		line     int
		def      string
		contains string
	}{
		{name: "redefines folder", ext: hub + "\ndefinition folder {\n\trelation owner: user\n}\n", line: 7, def: "folder", contains: "redefine"},
		{name: "caveat named not_expired", ext: "\n\ncaveat not_expired(now timestamp) {\n\tnow > now\n}\n", line: 3, def: "not_expired", contains: "caveat of boxauthz's"},
		{name: "definition named like a caveat of ours", ext: "definition shared_link {}\n", line: 1, def: "shared_link", contains: "boxauthz's schema"},
		{name: "reserved prefix", ext: hub + "definition boxauthz_hub {}\n", line: 6, def: "boxauthz_hub", contains: "boxauthz_"},
		{name: "unknown type", ext: "definition hub {}\n\ndefinition room {\n\trelation space: spaceship\n}\n", line: 3, def: "room", contains: "spaceship"},
		{name: "unknown relation in arrow", ext: "definition hub {\n\trelation folder: folder\n\tpermission viewer = folder->look\n}\n", line: 3, def: "hub", contains: "look"},
		{name: "unknown caveat", ext: "\ndefinition hub {\n\trelation member: user with on_tuesdays\n}\n", line: 2, def: "hub", contains: "on_tuesdays"},
		{name: "syntax error", ext: "definition hub {\n\trelation folder: folder\n\tpermission viewer =\n}\n", line: 4, contains: "Expected"},
		{name: "duplicate of its own", ext: "definition hub {}\ndefinition hub {}\n", line: 2, contains: "hub"},
		{name: "empty", ext: "// nothing\n", contains: "defines nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compose(schema.Text(), []byte(tt.ext), "ext.zed")
			t.Log(err)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Compose err = %v, want *Error", err)
			}
			if e.File != "ext.zed" || e.Line != tt.line || e.Name != tt.def {
				t.Errorf("refusal at %s:%d %q, want ext.zed:%d %q (%v)", e.File, e.Line, e.Name, tt.line, tt.def, err)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("err = %v, want it to mention %q", err, tt.contains)
			}
			if tt.line > 0 && !strings.Contains(err.Error(), "ext.zed:") {
				t.Errorf("err = %v, want it to name the file and line", err)
			}
		})
	}
}

// TestExampleComposes: the extension the repository ships as an example
// is one boxauthz accepts.
func TestExampleComposes(t *testing.T) {
	b, err := os.ReadFile("../../examples/hub.zed")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Compose(schema.Text(), b, "examples/hub.zed")
	if err != nil {
		t.Fatalf("Compose(examples/hub.zed): %v", err)
	}
	if !strings.Contains(got, "permission viewer = folder->preview") {
		t.Fatal("the composed schema lacks the example's hub")
	}
}
