package sync_test

import (
	authzed "github.com/authzed/authzed-go/v1"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/sync"
)

// The applier's interfaces are small so that any SpiceDB client does: the
// authzed-go client and boxauthz's own. Asserted here, in a test, so that
// the applier does not link authzed-go's client for it.
var (
	_ sync.Client = (*authzed.Client)(nil)
	_ sync.Client = (*spicedb.Client)(nil)
	_ sync.Reader = (*authzed.Client)(nil)
	_ sync.Reader = (*spicedb.Client)(nil)
)
