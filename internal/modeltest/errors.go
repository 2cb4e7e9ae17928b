package modeltest

import "fmt"

// FileError is a test file that cannot be run: bad YAML, a bad field, an
// event that does not apply. It names the file and line at fault.
type FileError struct {
	File string
	Line int // 0 when the file as a whole is at fault
	Err  error
}

func (e *FileError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// errorAt is a FileError at n's line.
func errorAt(file string, n *node, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &FileError{File: file, Line: line, Err: fmt.Errorf(format, args...)}
}
