package validation

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/authzed/spicedb/pkg/spiceerrors"
	"github.com/authzed/spicedb/pkg/validationfile"
	yaml "go.yaml.in/yaml/v3"
)

// yamlLine pulls the position out of the YAML library's messages, which
// carry a line and never a column.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line ([0-9]+): (.+)$`)

// decode reads a validation file, reporting what makes it unreadable as
// Problems with their positions: YAML syntax, a block of the wrong shape, a
// relationship that does not parse, a schemaFile that cannot be read.
func decode(src *source) (*validationfile.ValidationFile, []Problem) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src.contents, &doc); err != nil {
		return nil, []Problem{src.yamlProblem(err)}
	}
	if probs := checkShape(src, &doc); len(probs) > 0 {
		return nil, probs
	}
	var vf validationfile.ValidationFile
	if len(doc.Content) > 0 {
		if err := doc.Content[0].Decode(&vf); err != nil {
			return nil, []Problem{src.decodeProblem(err)}
		}
	}
	if vf.SchemaFile != "" {
		if p, ok := readSchemaFile(src, &vf); !ok {
			return nil, []Problem{p}
		}
	}
	return &vf, nil
}

// readSchemaFile puts the schema a schemaFile names inline. The path is
// relative to the validation file's directory, as zed resolves it, but any
// readable path is allowed: the file is the user's own.
func readSchemaFile(src *source, vf *validationfile.ValidationFile) (Problem, bool) {
	line, col := src.keyValuePos("schemaFile")
	p := Problem{File: src.name, Line: line, Column: col, Kind: KindSchema}
	if strings.TrimSpace(vf.Schema.Schema) != "" {
		p.Message = "give either schema or schemaFile, not both"
		return src.withSource(p), false
	}
	path := vf.SchemaFile
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(src.name), path)
	}
	data, err := os.ReadFile(path) //nolint:gosec // G304: the path is the user's own schemaFile, read on their behalf
	if err != nil {
		p.Message = fmt.Sprintf("reading schemaFile %s: %v", path, err)
		return src.withSource(p), false
	}
	src.schemaPath = path
	src.schemaText = data
	vf.Schema.Schema = string(data)
	vf.SchemaFile = ""
	return Problem{}, true
}

// yamlProblem is a YAML syntax error at its line; the library gives no
// column, so the column is where the line's text starts.
func (s *source) yamlProblem(err error) Problem {
	p := Problem{File: s.name, Kind: KindYAML, Message: strings.TrimPrefix(err.Error(), "yaml: ")}
	if m := yamlLine.FindStringSubmatch(p.Message); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		p.Message = m[2]
		p.Column = s.firstColumn(p.Line)
	}
	return s.withSource(p)
}

// decodeProblem maps an error of SpiceDB's block parsers to the file.
// Relationship errors are looked up by their text, since SpiceDB's own
// position for them assumes a blank line between relationships.
func (s *source) decodeProblem(err error) Problem {
	p := Problem{File: s.name, Kind: KindYAML, Message: err.Error()}
	var se *spiceerrors.WithSourceError
	if errors.As(err, &se) {
		p.Message = se.Error()
		p.Line, p.Column = toInt(se.LineNumber), toInt(se.ColumnPosition)
		if strings.HasPrefix(p.Message, "error parsing relationship") || strings.HasPrefix(p.Message, "found repeated relationship") {
			p.Kind = KindRelationships
			start, _ := s.keyValuePos("relationships")
			if l, c := s.find(se.SourceCodeString, start); l > 0 {
				p.Line, p.Column = l, c
			}
		} else if p.Column == 0 && p.Line > 0 {
			p.Column = s.firstColumn(p.Line)
		}
		return s.withSource(p)
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		if m := yamlLine.FindStringSubmatch(te.Errors[0]); m != nil {
			p.Line, _ = strconv.Atoi(m[1])
			p.Message = m[2]
			p.Column = s.firstColumn(p.Line)
		}
	}
	return s.withSource(p)
}

// toInt is a SpiceDB source position as an int; one past an int is unknown.
func toInt(u uint64) int {
	if u > math.MaxInt32 {
		return 0
	}
	return int(u)
}
