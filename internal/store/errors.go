package store

import (
	"errors"
	"fmt"
)

// ErrClosed is returned by every operation on a closed store.
var ErrClosed = errors.New("store: closed")

// ErrCorrupt wraps a stored record that could not be decoded.
var ErrCorrupt = errors.New("store: corrupt record")

// FormatVersionError is returned by Open when the data directory was written
// in a layout this build does not read.
type FormatVersionError struct {
	Dir      string
	Found    uint32
	Expected uint32
}

func (e *FormatVersionError) Error() string {
	return fmt.Sprintf("store: data dir %s has format version %d, this build reads format version %d", e.Dir, e.Found, e.Expected)
}

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// ErrRetryable marks a transaction failure that a fresh attempt may not
// hit; ReadWriteTx retries a user function that returns it unless retries
// are disabled.
var ErrRetryable = errors.New("store: transaction conflict, retry")
