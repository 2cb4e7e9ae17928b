package validation

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/development"
	devinterface "github.com/authzed/spicedb/pkg/proto/developer/v1"
	"github.com/authzed/spicedb/pkg/validationfile"
	"github.com/authzed/spicedb/pkg/validationfile/blocks"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/boxauthz/boxauthz/schema"
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

// Result is what running a validation file found.
type Result struct {
	Problems   []Problem
	Assertions int // assertions run
	Expected   int // expected-relations entries compared
}

// OK tells whether the file passed.
func (r Result) OK() bool { return len(r.Problems) == 0 }

// ValidateFile runs a validation file in zed's format (schema, relationships,
// assertions, expected relations) against SpiceDB's own development engine:
// what `zed validate` does. A file without a schema is run against
// boxauthz's schema, so users can write only relationships and assertions.
// The error is for files that cannot be run at all; failures of a file that
// runs are Problems.
func ValidateFile(ctx context.Context, contents []byte) (Result, error) {
	vf, err := validationfile.DecodeValidationFile(contents)
	if err != nil {
		return Result{}, fmt.Errorf("reading validation file: %w", err)
	}
	if strings.TrimSpace(vf.Schema.Schema) == "" && vf.SchemaFile == "" {
		vf.Schema.Schema = schema.Text()
	}
	if vf.SchemaFile != "" {
		return Result{}, fmt.Errorf("reading validation file: schemaFile %q: put the schema inline, or leave it out to use boxauthz's", vf.SchemaFile)
	}

	dc, devErrs, err := development.NewDevContextForValidationFile(ctx, vf)
	if err != nil {
		return Result{}, fmt.Errorf("loading validation file: %w", err)
	}
	var res Result
	if devErrs != nil {
		res.Problems = toProblems(contents, devErrs.GetInputErrors())
		return res, nil
	}
	defer dc.DevContext.Dispose()

	res.Assertions = len(dc.Assertions.AssertTrue) + len(dc.Assertions.AssertFalse) + len(dc.Assertions.AssertCaveated)
	probs, err := runAssertions(ctx, dc.DevContext, &dc.Assertions)
	if err != nil {
		return res, err
	}
	res.Problems = append(res.Problems, probs...)

	res.Expected = len(dc.ExpectedRelations.ValidationMap)
	_, failures, err := development.RunValidation(dc.DevContext, &dc.ExpectedRelations)
	if err != nil {
		return res, fmt.Errorf("running expected relations: %w", err)
	}
	res.Problems = append(res.Problems, toProblems(contents, failures)...)
	sort.SliceStable(res.Problems, func(i, j int) bool { return res.Problems[i].Line < res.Problems[j].Line })
	return res, nil
}

// runAssertions asks SpiceDB's v1 CheckPermission what each assertion asks.
// zed's own runner caps checks at dispatch depth 25, about 21 folder levels
// of this schema; the v1 service allows 50, as `spicedb serve` does, so
// assertions about deep trees hold here exactly as they would in production.
func runAssertions(ctx context.Context, dc *development.DevContext, as *blocks.Assertions) ([]Problem, error) {
	conn, stop, err := dc.RunV1InMemoryService()
	if err != nil {
		return nil, fmt.Errorf("starting spicedb for the assertions: %w", err)
	}
	defer stop()
	client := v1.NewPermissionsServiceClient(conn)
	var out []Problem
	for _, part := range []struct {
		want v1.CheckPermissionResponse_Permissionship
		list []blocks.Assertion
		verb string
	}{
		{v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION, as.AssertTrue, "hold"},
		{v1.CheckPermissionResponse_PERMISSIONSHIP_NO_PERMISSION, as.AssertFalse, "not hold"},
		{v1.CheckPermissionResponse_PERMISSIONSHIP_CONDITIONAL_PERMISSION, as.AssertCaveated, "be caveated"},
	} {
		for _, a := range part.list {
			p := Problem{Line: a.SourcePosition.LineNumber, Column: a.SourcePosition.ColumnPosition, Kind: "assertion"}
			got, err := check(ctx, client, a)
			switch {
			case err != nil:
				p.Message = fmt.Sprintf("%s: %v", a.RelationshipWithContextString, err)
			case got != part.want:
				p.Message = fmt.Sprintf("expected %s to %s, got %s", a.RelationshipWithContextString, part.verb, permissionship(got))
			default:
				continue
			}
			out = append(out, p)
		}
	}
	return out, nil
}

func permissionship(p v1.CheckPermissionResponse_Permissionship) string {
	switch p {
	case v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION:
		return "has permission"
	case v1.CheckPermissionResponse_PERMISSIONSHIP_NO_PERMISSION:
		return "no permission"
	case v1.CheckPermissionResponse_PERMISSIONSHIP_CONDITIONAL_PERMISSION:
		return "caveated (context missing)"
	}
	return p.String()
}

func check(ctx context.Context, client v1.PermissionsServiceClient, a blocks.Assertion) (v1.CheckPermissionResponse_Permissionship, error) {
	rel := a.Relationship
	if rel.OptionalCaveat != nil {
		return 0, fmt.Errorf("an assertion cannot carry a caveat; pass context with `with {...}`")
	}
	req := &v1.CheckPermissionRequest{
		Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
		Resource:    &v1.ObjectReference{ObjectType: rel.Resource.ObjectType, ObjectId: rel.Resource.ObjectID},
		Permission:  rel.Resource.Relation,
		Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: rel.Subject.ObjectType, ObjectId: rel.Subject.ObjectID}},
	}
	if rel.Subject.Relation != "" && rel.Subject.Relation != "..." {
		req.Subject.OptionalRelation = rel.Subject.Relation
	}
	if a.CaveatContext != nil {
		c, err := structpb.NewStruct(a.CaveatContext)
		if err != nil {
			return 0, fmt.Errorf("context: %w", err)
		}
		req.Context = c
	}
	resp, err := client.CheckPermission(ctx, req)
	if err != nil {
		return 0, err
	}
	return resp.GetPermissionship(), nil
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
