package schema

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/authzed/spicedb/pkg/development"
	devinterface "github.com/authzed/spicedb/pkg/proto/developer/v1"
	"github.com/authzed/spicedb/pkg/validationfile"
)

// Problem is one failure found in a validation file.
type Problem struct {
	// Line and Column are 1-based positions in the file; 0 when unknown.
	Line, Column int
	// Kind says which part failed: schema, relationships, assertion or
	// expected relations.
	Kind    string
	Message string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("line %d: %s: %s", p.Line, p.Kind, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.Kind, p.Message)
}

// ValidationResult is what running a validation file found.
type ValidationResult struct {
	Problems   []Problem
	Assertions int // assertions run
	Expected   int // expected-relations entries compared
}

// OK tells whether the file passed.
func (r ValidationResult) OK() bool { return len(r.Problems) == 0 }

// ValidateFile runs a validation file in zed's format (schema, relationships,
// assertions, expected relations) against SpiceDB's own development engine:
// what `zed validate` does. A file without a schema is run against
// boxauthz's schema, so users can write only relationships and assertions.
// The error is for files that cannot be run at all; failures of a file that
// runs are Problems.
func ValidateFile(ctx context.Context, contents []byte) (ValidationResult, error) {
	vf, err := validationfile.DecodeValidationFile(contents)
	if err != nil {
		return ValidationResult{}, fmt.Errorf("reading validation file: %w", err)
	}
	if strings.TrimSpace(vf.Schema.Schema) == "" && vf.SchemaFile == "" {
		vf.Schema.Schema = text
	}
	if vf.SchemaFile != "" {
		return ValidationResult{}, fmt.Errorf("reading validation file: schemaFile %q: put the schema inline, or leave it out to use boxauthz's", vf.SchemaFile)
	}

	dc, devErrs, err := development.NewDevContextForValidationFile(ctx, vf)
	if err != nil {
		return ValidationResult{}, fmt.Errorf("loading validation file: %w", err)
	}
	var res ValidationResult
	if devErrs != nil {
		res.Problems = toProblems(contents, devErrs.GetInputErrors())
		return res, nil
	}
	defer dc.DevContext.Dispose()

	res.Assertions = len(dc.Assertions.AssertTrue) + len(dc.Assertions.AssertFalse) + len(dc.Assertions.AssertCaveated)
	failures, err := development.RunAllAssertions(dc.DevContext, &dc.Assertions)
	if err != nil {
		return res, fmt.Errorf("running assertions: %w", err)
	}
	res.Problems = append(res.Problems, toProblems(contents, failures)...)

	res.Expected = len(dc.ExpectedRelations.ValidationMap)
	_, failures, err = development.RunValidation(dc.DevContext, &dc.ExpectedRelations)
	if err != nil {
		return res, fmt.Errorf("running expected relations: %w", err)
	}
	res.Problems = append(res.Problems, toProblems(contents, failures)...)
	sort.SliceStable(res.Problems, func(i, j int) bool { return res.Problems[i].Line < res.Problems[j].Line })
	return res, nil
}

func toProblems(contents []byte, errs []*devinterface.DeveloperError) []Problem {
	out := make([]Problem, 0, len(errs))
	for _, e := range errs {
		p := Problem{Line: int(e.GetLine()), Column: int(e.GetColumn()), Kind: sourceKind(e.GetSource()), Message: e.GetMessage()}
		if p.Line == 0 && e.GetContext() != "" {
			// Expected-relations failures carry no position: find the key
			// they name, as zed does.
			p.Line = lineOf(contents, e.GetContext())
		}
		out = append(out, p)
	}
	return out
}

func sourceKind(s devinterface.DeveloperError_Source) string {
	switch s {
	case devinterface.DeveloperError_SCHEMA:
		return "schema"
	case devinterface.DeveloperError_RELATIONSHIP:
		return "relationships"
	case devinterface.DeveloperError_ASSERTION:
		return "assertion"
	case devinterface.DeveloperError_VALIDATION_YAML:
		return "expected relations"
	default:
		return strings.ToLower(s.String())
	}
}

func lineOf(contents []byte, needle string) int {
	i := bytes.Index(contents, []byte(needle))
	if i < 0 {
		return 0
	}
	return bytes.Count(contents[:i], []byte("\n")) + 1
}
