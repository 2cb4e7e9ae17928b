package upgrade

import "strings"

// IncompatibleError says that a SpiceDB holds a schema boxauthz cannot run
// against, and why.
type IncompatibleError struct {
	Problems []string
}

func (e *IncompatibleError) Error() string {
	return "spicedb holds a schema incompatible with boxauthz's (write ours with `boxauthz schema apply`, or keep our definitions unchanged when extending): " +
		strings.Join(e.Problems, "; ")
}

// compileError is a stored schema that SpiceDB's compiler refuses: Compare
// reports it as incompatible, where a failure to compile our own is a bug.
type compileError struct {
	err error
}

func (e *compileError) Error() string { return e.err.Error() }

func (e *compileError) Unwrap() error { return e.err }
