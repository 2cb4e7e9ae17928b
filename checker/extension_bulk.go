package checker

import (
	"context"
	"errors"
	"fmt"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/schema/rel"
)

// CheckBulk answers qs in order with SpiceDB's bulk check, as Check
// answers one. A question that fails validation is refused as a
// *FieldError naming its index in qs (checks[i].field) when there are
// several, and nothing is answered.
func (e *Extension) CheckBulk(ctx context.Context, qs []ExtensionQuestion, cons Consistency) ([]Answer, error) {
	if e == nil {
		return nil, errors.New("checking extension types: no schema extension is loaded")
	}
	if err := cons.Validate(); err != nil {
		return nil, err
	}
	items := make([]*v1.CheckBulkPermissionsRequestItem, 0, len(qs))
	for i, q := range qs {
		if err := e.Validate(q); err != nil {
			var fe *FieldError
			if len(qs) > 1 && errors.As(err, &fe) {
				fe.Field = fmt.Sprintf("checks[%d].%s", i, fe.Field)
			}
			return nil, err
		}
		items = append(items, &v1.CheckBulkPermissionsRequestItem{
			Resource: rel.Object(q.Type, q.ID), Permission: q.Permission,
			Subject: UserSubject(q.User), Context: e.checker.CaveatContext(q.SharedLink),
		})
	}
	got, at, err := CheckItems(ctx, e.checker.client, items, cons)
	if err != nil {
		return nil, fmt.Errorf("checking %d permissions of extension types: %w", len(items), err)
	}
	out := make([]Answer, len(got))
	for i, ok := range got {
		out[i] = Answer{Allowed: ok, ConsistencyToken: at.GetToken()}
	}
	return out, nil
}
