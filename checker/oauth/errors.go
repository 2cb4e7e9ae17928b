package oauth

import (
	"errors"
	"fmt"
)

// Error is an error of the OAuth token endpoint, with OAuth's code:
// invalid_grant, invalid_scope or invalid_request.
type Error struct {
	Code        string
	Description string
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

func oauthErr(code, format string, args ...any) error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

// Errors of issue and of the application endpoints.
var (
	ErrAppNotFound      = errors.New("no such application")
	ErrAppExists        = errors.New("application already exists")
	ErrAppNotAuthorized = errors.New("application not authorized by the user's enterprise")
	ErrBuiltinApp       = errors.New("the built-in application default cannot be changed")
)

// errSchemaChanged ends a watch when SpiceDB's schema changes, so that the
// next one starts from the new schema.
var errSchemaChanged = errors.New("the schema changed")
