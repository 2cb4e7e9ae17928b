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

// errBadCursor is every cursor the server did not give out for the very
// same question: unsigned, forged, altered or another question's.
var errBadCursor = errors.New("not a cursor this server gave out for this question; start again without one")
