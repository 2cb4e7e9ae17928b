package event

import (
	"fmt"
	"strings"
)

// Error is a bad event: it names the event and the field.
type Error struct {
	// Index is the event's position in its batch (0-based; in NDJSON, among
	// the non-blank lines). It is -1 when the request body as a whole is
	// bad (not a JSON array, data after the array).
	Index int
	// EventID is the event's id; "" when the id is missing or itself bad.
	EventID string
	// Field is the path of the bad field, such as "folder.parent" or
	// "collaboration.item.id"; "" when the event as a whole is bad (not
	// JSON, not an object).
	Field  string
	Reason string
}

func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.Index < 0:
		b.WriteString("request body")
	case e.EventID != "":
		fmt.Fprintf(&b, "event %q (index %d)", e.EventID, e.Index)
	default:
		fmt.Fprintf(&b, "event at index %d", e.Index)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": field %q", e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// FieldError is a bad field of one event, not yet placed in a batch: found
// while decoding or validating it, or a stateful rule it breaks (the
// parent does not exist, a move makes a cycle ...), which the applier
// checks. The applier turns it into an Error naming the event.
type FieldError struct {
	Field, Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("field %q: %s", e.Field, e.Reason) }

// FieldErrorf is a FieldError with a formatted reason.
func FieldErrorf(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
