package validation

import (
	"context"
	"fmt"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/development"
	"github.com/authzed/spicedb/pkg/validationfile/blocks"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

// runAssertions asks SpiceDB's v1 CheckPermission what each assertion asks,
// and, for a failure, SpiceDB's trace of how the answer was reached.
// zed's own runner caps checks at dispatch depth 25, about 21 folder levels
// of this schema; the v1 service allows 50, as `spicedb serve` does, so
// assertions about deep trees hold here exactly as they would in production.
func runAssertions(ctx context.Context, src *source, dc *development.DevContext, as *blocks.Assertions) ([]Problem, error) {
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
			p := Problem{File: src.name, Line: a.SourcePosition.LineNumber, Column: a.SourcePosition.ColumnPosition, Kind: KindAssertion}
			resp, err := check(ctx, client, a, false)
			switch {
			case err != nil:
				// SpiceDB's reason, without the transport's wrapping.
				p.Message = fmt.Sprintf("%s: %s", a.RelationshipWithContextString, status.Convert(err).Message())
			case resp.GetPermissionship() != part.want:
				p.Message = fmt.Sprintf("expected %s to %s, got %s", a.RelationshipWithContextString, part.verb, permissionship(resp.GetPermissionship()))
				// Only a failure is asked again with tracing: a trace of
				// every passing check would cost as much as the checks.
				traced, err := check(ctx, client, a, true)
				if err != nil {
					return nil, fmt.Errorf("tracing %s: %w", a.RelationshipWithContextString, err)
				}
				p.Trace = traceOf(traced.GetDebugTrace().GetCheck())
			default:
				continue
			}
			out = append(out, src.withSource(p))
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

func check(ctx context.Context, client v1.PermissionsServiceClient, a blocks.Assertion, tracing bool) (*v1.CheckPermissionResponse, error) {
	rel := a.Relationship
	if rel.OptionalCaveat != nil {
		return nil, fmt.Errorf("an assertion cannot carry a caveat; pass context with `with {...}`")
	}
	req := &v1.CheckPermissionRequest{
		Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
		Resource:    &v1.ObjectReference{ObjectType: rel.Resource.ObjectType, ObjectId: rel.Resource.ObjectID},
		Permission:  rel.Resource.Relation,
		Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: rel.Subject.ObjectType, ObjectId: rel.Subject.ObjectID}},
		WithTracing: tracing,
	}
	if rel.Subject.Relation != "" && rel.Subject.Relation != "..." {
		req.Subject.OptionalRelation = rel.Subject.Relation
	}
	if a.CaveatContext != nil {
		c, err := structpb.NewStruct(a.CaveatContext)
		if err != nil {
			return nil, fmt.Errorf("context: %w", err)
		}
		req.Context = c
	}
	return client.CheckPermission(ctx, req)
}
