package checker

import (
	"errors"
	"fmt"
)

// FieldError names the request field that is wrong.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return fmt.Sprintf("field %q: %v", e.Field, e.Err) }
func (e *FieldError) Unwrap() error { return e.Err }

// OAuthError is an error of the OAuth token endpoint, with OAuth's code:
// invalid_grant, invalid_scope or invalid_request.
type OAuthError struct {
	Code        string
	Description string
}

func (e *OAuthError) Error() string { return e.Code + ": " + e.Description }

func oauthErr(code, format string, args ...any) error {
	return &OAuthError{Code: code, Description: fmt.Sprintf(format, args...)}
}

// Errors of issue and of the application endpoints.
var (
	ErrAppNotFound      = errors.New("no such application")
	ErrAppExists        = errors.New("application already exists")
	ErrAppNotAuthorized = errors.New("application not authorized by the user's enterprise")
	ErrBuiltinApp       = errors.New("the built-in application default cannot be changed")
)

// errBadCursor is every cursor the server did not give out for the very
// same question: unsigned, forged, altered or another question's.
var errBadCursor = errors.New("not a cursor this server gave out for this question; start again without one")

// errSchemaChanged ends a watch when SpiceDB's schema changes, so that the
// next one starts from the new schema.
var errSchemaChanged = errors.New("the schema changed")
