package oauth

import (
	"context"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/checker"
)

// check asks items fully consistently, in order (see checker.CheckItems),
// and returns the revision SpiceDB answered at.
func (t *Tokens) check(ctx context.Context, items ...*v1.CheckBulkPermissionsRequestItem) ([]bool, *v1.ZedToken, error) {
	return checker.CheckItems(ctx, t.client, items, checker.Consistency{})
}
