package sync

import (
	"errors"
	"fmt"
	"strings"

	"github.com/boxauthz/boxauthz/sync/event"
)

// asEventError names the event of a batch that err, from applying it, is
// about: a bad field becomes an *event.Error.
func asEventError(err error, index int, ev event.Event) error {
	var ee *event.Error
	if errors.As(err, &ee) {
		ee.Index, ee.EventID = index, ev.ID
		return ee
	}
	var fe *event.FieldError
	if errors.As(err, &fe) {
		return &event.Error{Index: index, EventID: ev.ID, Field: fe.Field, Reason: fe.Reason}
	}
	return fmt.Errorf("applying event %q (index %d): %w", ev.ID, index, err)
}

// badField is a stateful rule an event breaks (the parent does not exist,
// a move makes a cycle ...).
func badField(field, format string, args ...any) error {
	return event.FieldErrorf(field, format, args...)
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

// tooManyUpdatesError is a write SpiceDB refused for carrying more updates than
// it takes: nothing of it was written.
type tooManyUpdatesError struct {
	max int
	err error
}

func (e *tooManyUpdatesError) Error() string {
	return fmt.Sprintf("spicedb takes at most %d relationship updates per write: %v", e.max, e.err)
}

func (e *tooManyUpdatesError) Unwrap() error { return e.err }

var (
	// ErrPositionMoved is a position change refused because the source's
	// committed position is not the one the change was made against.
	ErrPositionMoved = errors.New("the committed position moved")
	// ErrNoSource is a position change that names no source.
	ErrNoSource = errors.New("no source named")
)
