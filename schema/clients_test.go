package schema

import (
	authzed "github.com/authzed/authzed-go/v1"

	"github.com/boxauthz/boxauthz/internal/spicedb"
)

// The clients users and boxauthz hold write the schema as they are.
var (
	_ ReadWriter = (*authzed.Client)(nil)
	_ ReadWriter = (*spicedb.Client)(nil)
)
