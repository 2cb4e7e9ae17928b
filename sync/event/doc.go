// Package event is the wire format of content change events (docs/events.md):
// the Event type, its strict decoder and its validation.
//
// Decoding happens in two steps. The first reads the JSON strictly: every
// object must be an object, every key must be known for the event's type
// (a "folder.trashed" event carries only the folder's id; a delete may also
// carry the object's last state, which is ignored), every value read must
// have the right JSON type, required fields must be present, and no key may
// appear twice in an object; defaults are filled in. The second (Validate)
// checks the values of the decoded Event: identifiers, enumerations and the
// rules that tie fields together. The stateful rules (a parent or item
// exists, no cycle, the enterprise restriction of collaborations) are the
// applier's (package sync).
package event
