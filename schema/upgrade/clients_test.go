package upgrade

import (
	authzed "github.com/authzed/authzed-go/v1"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/schema"
)

// Inspect and Ensure take the clients users and boxauthz hold as they are.
var (
	_ schema.Reader     = (*authzed.Client)(nil)
	_ schema.ReadWriter = (*authzed.Client)(nil)
	_ schema.Reader     = (*spicedb.Client)(nil)
	_ schema.ReadWriter = (*spicedb.Client)(nil)
)
