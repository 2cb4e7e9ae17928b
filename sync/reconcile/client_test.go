package reconcile_test

import (
	authzed "github.com/authzed/authzed-go/v1"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/sync/reconcile"
)

// Reconcile repairs any SpiceDB: asserted for the authzed-go client and
// boxauthz's own.
var (
	_ reconcile.Client = (*authzed.Client)(nil)
	_ reconcile.Client = (*spicedb.Client)(nil)
)
