package sync

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels of the Box webhook source.
var (
	// ErrWebhookSignature is returned for a delivery that is not Box's.
	ErrWebhookSignature = errors.New("webhook signature does not verify")
	// ErrIgnoredTrigger marks a webhook whose trigger changes no permission
	// (FILE.PREVIEWED, COMMENT.CREATED ...).
	ErrIgnoredTrigger = errors.New("trigger changes no permission")
)

// EventError is a bad event: it names the event and the field.
type EventError struct {
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

func (e *EventError) Error() string {
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

// evtFail is a bad field found while decoding or validating one event.
func evtFail(field, format string, args ...any) *fieldError {
	return &fieldError{field: field, reason: fmt.Sprintf(format, args...)}
}

func asEventError(err error, index int, ev Event) error {
	var ee *EventError
	if errors.As(err, &ee) {
		ee.Index, ee.EventID = index, ev.ID
		return ee
	}
	var fe *fieldError
	if errors.As(err, &fe) {
		return &EventError{Index: index, EventID: ev.ID, Field: fe.field, Reason: fe.reason}
	}
	return fmt.Errorf("applying event %q (index %d): %w", ev.ID, index, err)
}

// fieldError is a bad field of one event: found while decoding it, or a
// stateful rule it breaks (the parent does not exist, a move makes a
// cycle ...).
type fieldError struct {
	field, reason string
}

func (e *fieldError) Error() string { return fmt.Sprintf("field %q: %s", e.field, e.reason) }

func badField(field, format string, args ...any) error {
	return &fieldError{field: field, reason: fmt.Sprintf(format, args...)}
}

// PartialError is a batch that failed after some of its writes committed
// (one too large for one SpiceDB write, see ApplyBatch): it names exactly
// which events are in SpiceDB. Applying the batch again skips those (their
// ids are recorded) and applies the rest.
type PartialError struct {
	// Applied are the ids of the events written whole, in batch order.
	Applied []string
	// Partly is the id of an event too large for one write of which some
	// writes committed: applying it again completes it.
	Partly string
	// Unknown are the ids of the events of a write whose outcome SpiceDB
	// could not be asked about (it failed too): each is in SpiceDB whole or
	// not at all.
	Unknown []string
	Err     error
}

func (e *PartialError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v; %d events were applied before the failure", e.Err, len(e.Applied))
	if len(e.Applied) > 0 {
		fmt.Fprintf(&b, " (%q to %q)", e.Applied[0], e.Applied[len(e.Applied)-1])
	}
	if e.Partly != "" {
		fmt.Fprintf(&b, ", event %q in part", e.Partly)
	}
	if len(e.Unknown) > 0 {
		fmt.Fprintf(&b, ", %d more may have been (%q to %q)", len(e.Unknown), e.Unknown[0], e.Unknown[len(e.Unknown)-1])
	}
	b.WriteString("; applying the batch again skips what was applied")
	return b.String()
}

func (e *PartialError) Unwrap() error { return e.Err }

// tooManyUpdates is a write SpiceDB refused for carrying more updates than
// it takes: nothing of it was written.
