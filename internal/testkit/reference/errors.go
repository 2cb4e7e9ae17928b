package reference

// inputError is an event docs/events.md calls bad input, naming the field.
type inputError struct{ field, why string }

func (e *inputError) Error() string {
	if e.field == "" {
		return e.why
	}
	return e.field + ": " + e.why
}
