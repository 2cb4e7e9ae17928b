package schema

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
