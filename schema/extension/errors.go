package extension

import "fmt"

// Error is an extension boxauthz refuses: what is wrong, where in the
// extension file, and which definition or caveat it concerns. Callers show
// it to whoever wrote the file; none branch on its fields.
type Error struct {
	// File is the extension's name as given to Compose.
	File string
	// Line is 1-based; 0 when the compiler does not say.
	Line int
	// Name is the definition or caveat at fault; "" for a syntax error.
	Name string
	// Reason says what is wrong.
	Reason string
}

func (e *Error) Error() string {
	where := e.File
	if e.Line > 0 {
		where = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Name == "" {
		return fmt.Sprintf("schema extension %s: %s", where, e.Reason)
	}
	return fmt.Sprintf("schema extension %s: %s: %s", where, e.Name, e.Reason)
}
