package schema_test

import (
	authzed "github.com/authzed/authzed-go/v1"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/schema"
)

// The clients users and boxauthz hold write the schema as they are.
var (
	_ schema.ReadWriter = (*authzed.Client)(nil)
	_ schema.ReadWriter = (*spicedb.Client)(nil)
)
