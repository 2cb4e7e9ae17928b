package validation

import (
	"fmt"
	"strings"
)

// FileError is a validation file that cannot be run at all: YAML that does
// not parse, a block of the wrong shape, a relationship that does not parse,
// a schemaFile that cannot be read. Its Problems say where. Other errors
// (a SpiceDB that does not start) are plain, saying what was being done;
// failures of a file that runs are Problems of its Result, not errors.
type FileError struct {
	Problems []Problem
}

func (e *FileError) Error() string {
	msgs := make([]string, 0, len(e.Problems))
	for _, p := range e.Problems {
		msgs = append(msgs, p.String())
	}
	return fmt.Sprintf("reading validation file: %s", strings.Join(msgs, "; "))
}
