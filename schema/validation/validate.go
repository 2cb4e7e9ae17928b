package validation

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/authzed/spicedb/pkg/development"
	devinterface "github.com/authzed/spicedb/pkg/proto/developer/v1"

	"github.com/boxauthz/boxauthz/schema"
)

// The kinds of Problem, saying which part of a file failed.
const (
	KindYAML          = "yaml"
	KindSchema        = "schema"
	KindRelationships = "relationships"
	KindAssertion     = "assertion"
	KindExpected      = "expected relations"
)

// Problem is one failure found in a validation file.
type Problem struct {
	// File is the file the position is in: the validation file, or the
	// schemaFile it names for a problem of the schema.
	File string
	// Line and Column are 1-based positions in File; 0 when unknown.
	Line, Column int
	Kind         string
	Message      string
	// SourceLine is the text of the line the problem is on, for a caret.
	SourceLine string
	// Trace is how SpiceDB reached its answer, for a failed assertion.
	Trace *Trace
}

func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File + ":")
	}
	if p.Line > 0 {
		fmt.Fprintf(&b, "%d:%d:", p.Line, max(p.Column, 1))
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	fmt.Fprintf(&b, "%s: %s", p.Kind, p.Message)
	return b.String()
}

// Result is what running a validation file found.
type Result struct {
	Problems   []Problem
	Assertions int // assertions run
	Expected   int // expected-relations entries compared
}

// OK tells whether the file passed.
func (r Result) OK() bool { return len(r.Problems) == 0 }

// ValidateFile runs a validation file held in memory; a schemaFile in it is
// relative to the working directory. See Validate.
func ValidateFile(ctx context.Context, contents []byte) (Result, error) {
	return Validate(ctx, "", contents)
}

// Validate runs the validation file name holds (contents) in zed's format
// (schema or schemaFile, relationships, assertions, expected relations)
// against SpiceDB's own development engine: what `zed validate` does. A file
// without a schema is run against boxauthz's schema, so users can write
// only relationships and assertions. A schemaFile is relative to the file's
// directory.
//
// A file that cannot be run is a *FileError, with the Problems that stop
// it at their positions; failures of a file that runs are the Result's.
func Validate(ctx context.Context, name string, contents []byte, opts ...Option) (Result, error) {
	st := settings{defaultSchema: schema.Text()}
	for _, o := range opts {
		o(&st)
	}
	src := newSource(name, contents)
	vf, probs := decode(src)
	if len(probs) > 0 {
		return Result{Problems: probs}, &FileError{Problems: probs}
	}
	if strings.TrimSpace(vf.Schema.Schema) == "" {
		vf.Schema.Schema = st.defaultSchema
	}

	dc, devErrs, err := development.NewDevContextForValidationFile(ctx, vf)
	if err != nil {
		return Result{}, fmt.Errorf("loading validation file: %w", err)
	}
	var res Result
	if devErrs != nil {
		res.Problems = src.devProblems(devErrs.GetInputErrors())
		return res, nil
	}
	defer dc.DevContext.Dispose()

	res.Assertions = len(dc.Assertions.AssertTrue) + len(dc.Assertions.AssertFalse) + len(dc.Assertions.AssertCaveated)
	probs, err = runAssertions(ctx, src, dc.DevContext, &dc.Assertions)
	if err != nil {
		return res, err
	}
	res.Problems = append(res.Problems, probs...)

	res.Expected = len(dc.ExpectedRelations.ValidationMap)
	_, failures, err := development.RunValidation(dc.DevContext, &dc.ExpectedRelations)
	if err != nil {
		return res, fmt.Errorf("running expected relations: %w", err)
	}
	res.Problems = append(res.Problems, src.devProblems(failures)...)
	sort.SliceStable(res.Problems, func(i, j int) bool {
		a, b := res.Problems[i], res.Problems[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return res, nil
}

// devProblems maps SpiceDB's developer errors to the file's positions.
func (s *source) devProblems(errs []*devinterface.DeveloperError) []Problem {
	out := make([]Problem, 0, len(errs))
	for _, e := range errs {
		p := Problem{File: s.name, Line: int(e.GetLine()), Column: int(e.GetColumn()), Kind: sourceKind(e.GetSource()), Message: e.GetMessage()}
		switch e.GetSource() {
		case devinterface.DeveloperError_SCHEMA:
			p = s.schemaPosition(p)
		case devinterface.DeveloperError_RELATIONSHIP:
			start, _ := s.keyValuePos("relationships")
			if l, c := s.find(e.GetContext(), start); l > 0 {
				p.Line, p.Column = l, c
			}
		case devinterface.DeveloperError_VALIDATION_YAML:
			// Expected-relations failures carry no position: find the key
			// they name, as zed does.
			if p.Line == 0 && e.GetContext() != "" {
				start, _ := s.keyValuePos("validation")
				p.Line, p.Column = s.find(e.GetContext(), start)
			}
		}
		if p.Line > 0 && p.Column == 0 {
			p.Column = s.firstColumn(p.Line)
		}
		out = append(out, s.withSource(p))
	}
	return out
}

// schemaPosition moves a schema error to its place in the file: SpiceDB
// gives the line in the file but the column inside the block, without the
// block's indentation. In
// a schemaFile, both are the schema file's already.
func (s *source) schemaPosition(p Problem) Problem {
	if s.schemaPath != "" {
		p.File = s.schemaPath
		return p
	}
	if p.Line > 0 && p.Column > 0 {
		p.Column += s.blockIndent("schema")
	}
	return p
}

func sourceKind(s devinterface.DeveloperError_Source) string {
	switch s {
	case devinterface.DeveloperError_SCHEMA:
		return KindSchema
	case devinterface.DeveloperError_RELATIONSHIP:
		return KindRelationships
	case devinterface.DeveloperError_ASSERTION:
		return KindAssertion
	case devinterface.DeveloperError_VALIDATION_YAML:
		return KindExpected
	default:
		return strings.ToLower(s.String())
	}
}
