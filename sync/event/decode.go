package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/boxauthz/boxauthz/internal/jsonstrict"
	"github.com/boxauthz/boxauthz/schema"
)

// DecodeEvents decodes a request body: a JSON array of events, or NDJSON
// (one event per line, blank lines ignored) when ndjson is true. It stops
// at the first bad event; every error it returns is an *Error. An
// empty array (or an NDJSON body of blank lines) is zero events. Duplicate
// event ids are not an error: the Applier skips repeats.
func DecodeEvents(body []byte, ndjson bool) ([]Event, error) {
	if ndjson {
		return decodeNDJSON(body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) {
		return nil, &Error{Index: -1, Reason: "empty body: want a JSON array of events"}
	}
	if err != nil {
		return nil, &Error{Index: -1, Reason: "invalid JSON: " + err.Error()}
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, &Error{Index: -1, Reason: fmt.Sprintf("want a JSON array of events, got %s", tokenKind(tok))}
	}
	events := []Event{}
	for i := 0; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, &Error{Index: i, Reason: "invalid JSON: " + err.Error()}
		}
		ev, err := DecodeEvent(raw, i)
		if err != nil {
			return nil, err
		}
		events = append(events, ev)
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return nil, &Error{Index: -1, Reason: "invalid JSON: " + unexpectedEOF(err).Error()}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &Error{Index: -1, Reason: "unexpected data after the array of events"}
	}
	return events, nil
}

func decodeNDJSON(body []byte) ([]Event, error) {
	events := []Event{}
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		ev, err := DecodeEvent(line, len(events))
		if err != nil {
			return nil, err
		}
		events = append(events, ev)
	}
	return events, nil
}

// unexpectedEOF turns the decoder's io.EOF in the middle of a value into an error
// that says so.
func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// DecodeEvent decodes and validates one JSON event (one JSONL line). index
// is the event's position, used in errors. Errors are *Error.
func DecodeEvent(data []byte, index int) (Event, error) {
	ev, id, ferr := decode(data)
	if ferr != nil {
		return Event{}, &Error{Index: index, EventID: id, Field: ferr.Field, Reason: ferr.Reason}
	}
	return ev, nil
}

// decode decodes one event; on error it also returns the event id when
// that was read and valid.
func decode(data []byte) (Event, string, *FieldError) {
	top, rest, err := decodeObject(data)
	if err != nil {
		return Event{}, "", err
	}
	// The id first, so that every later error names the event.
	id, err := decodeID(top)
	if err != nil {
		return Event{}, "", err
	}
	if len(rest) > 0 {
		return Event{}, id, FieldErrorf("", "unexpected data after the event: %.20q", rest)
	}
	ev := Event{ID: id}
	if err := decodeType(&ev, top); err != nil {
		return Event{}, id, err
	}
	if err := decodePayload(&ev, top); err != nil {
		return Event{}, id, err
	}
	if err := validate(&ev); err != nil {
		return Event{}, id, err
	}
	return ev, id, nil
}

// decodeObject reads the first JSON value of data, which must be an
// object, and returns it with what follows it.
func decodeObject(data []byte) (*jsonObject, []byte, *FieldError) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, FieldErrorf("", "empty event: want a JSON object")
		}
		return nil, nil, FieldErrorf("", "invalid JSON: %v", err)
	}
	if k := jsonstrict.Kind(raw); k != "object" {
		return nil, nil, FieldErrorf("", "an event must be a JSON object, got %s", k)
	}
	st := &decodeState{}
	top := st.object(raw, "")
	if st.err != nil {
		return nil, nil, st.err
	}
	return top, bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n"), nil
}

// decodeID reads and checks the event's id.
func decodeID(top *jsonObject) (string, *FieldError) {
	id, ok := top.str("id")
	if top.st.err != nil {
		return "", top.st.err
	}
	if !ok {
		return "", FieldErrorf("id", "required")
	}
	// Checked on the bytes as sent: decoding turns every invalid sequence
	// into U+FFFD, which would make different ids one.
	if raw := top.vals["id"]; !utf8.Valid(raw) {
		return "", FieldErrorf("id", "id is not valid UTF-8 (RFC 8259 §8.1)")
	}
	if err := validateID(id); err != nil {
		return "", err
	}
	return id, nil
}

// decodeType reads the event's type and time, and checks that it carries
// exactly one payload, the one named by the type.
func decodeType(ev *Event, top *jsonObject) *FieldError {
	st := top.st
	allowed := append([]string{"id", "type", "created_at"}, payloads...)
	top.only(allowed, func(string) string { return "unknown field (an event has id, type, created_at and one payload)" })
	typ, ok := top.str("type")
	if st.err == nil && !ok {
		st.failf("type", "required")
	}
	if st.err != nil {
		return st.err
	}
	ev.Type = Type(typ)
	if err := validateType(ev.Type); err != nil {
		return err
	}
	ev.CreatedAt, _ = top.time("created_at")

	want := ev.Type.Object()
	for _, k := range top.keys {
		if k != want && isPayload(k) && top.present(k) {
			st.failf(k, "a %q event carries a %q payload, not %q", ev.Type, want, k)
			break
		}
	}
	if st.err == nil && !top.present(want) {
		st.failf(want, "required (the payload of a %q event)", ev.Type)
	}
	return st.err
}

// decodePayload reads the payload named by the event's type.
func decodePayload(ev *Event, top *jsonObject) *FieldError {
	st := top.st
	want := ev.Type.Object()
	p, _ := top.object(want)
	full := ev.Type.Full()
	// A delete may carry the object's last state, as Box webhooks and
	// change-data-capture tools send it (docs/events.md, collaboration.deleted):
	// every field the object has is accepted there and ignored. Trash and
	// restore events still carry only the id: a parent there would read as
	// a move that does not happen.
	deleted := ev.Type.Verb() == "deleted"
	p.only(allowedKeys(want, full || deleted), func(k string) string {
		if !full && slices.Contains(allowedKeys(want, true), k) {
			return fmt.Sprintf("not allowed in a %q event (it carries only %s)", ev.Type, strings.Join(allowedKeys(want, false), ", "))
		}
		return fmt.Sprintf("unknown field (%s fields: %s)", want, strings.Join(allowedKeys(want, true), ", "))
	})
	if deleted {
		// Ignored values are not read, so nothing else would see a key
		// written twice inside them.
		for _, k := range p.keys {
			if st.err == nil && !slices.Contains(allowedKeys(want, false), k) {
				var de *jsonstrict.DuplicateKeyError
				if errors.As(jsonstrict.CheckDuplicateKeysAt(p.vals[k], p.path(k)), &de) {
					st.failf(de.Field(), "field appears twice")
				}
			}
		}
	}
	switch want {
	case objUser:
		ev.User = decodeUser(p, full)
	case objGroup:
		ev.Group = decodeGroup(p, full)
	case objGroupMembership:
		ev.GroupMembership = decodeMembership(p, full)
	case objFolder:
		ev.Folder = decodeFolder(p, full)
	case objFile:
		ev.File = decodeFile(p, full)
	case objCollaboration:
		ev.Collaboration = decodeCollaboration(p, full)
	case objSharedLink:
		ev.SharedLink = decodeSharedLink(p, full)
	}
	return st.err
}

func isPayload(k string) bool { return slices.Contains(payloads, k) }

// allowedKeys lists the fields a payload may carry: all of them in events
// that carry the whole state, only the identifying ones in the others.
func allowedKeys(payload string, full bool) []string {
	switch payload {
	case objUser:
		if full {
			return []string{"id", "enterprise", "role", "coadmin_privileges", "is_service_account"}
		}
		return []string{"id"}
	case objGroup:
		if full {
			return []string{"id", "enterprise"}
		}
		return []string{"id"}
	case objGroupMembership:
		if full {
			return []string{"id", "group", "user", "role"}
		}
		return []string{"id", "group", "user"}
	case objFolder:
		if full {
			return []string{"id", "parent", "owner", "can_non_owners_invite", "is_collaboration_restricted_to_enterprise"}
		}
		return []string{"id"}
	case objFile:
		if full {
			return []string{"id", "parent", "owner"}
		}
		return []string{"id"}
	case objCollaboration:
		if full {
			return []string{"id", "item", "accessible_by", "role", "status", "expires_at", "can_view_path"}
		}
		return []string{"id"}
	case objSharedLink:
		if full {
			return []string{"item", "access", "permissions", "unshared_at"}
		}
		return []string{"item"}
	}
	return nil
}

func decodeUser(p *jsonObject, full bool) *User {
	u := &User{ID: p.required("id")}
	if !full {
		return u
	}
	if ent, ok := p.str("enterprise"); ok {
		// Present means an enterprise: an external user has none (null).
		if err := checkID(p.path("enterprise"), ent, false); err != nil && p.st.err == nil {
			p.st.err = err
		}
		u.Enterprise = ent
	}
	u.Role = p.strOr("role", DefaultUserRole)
	privs, _ := p.strs("coadmin_privileges")
	for _, s := range privs { // a set: repeats say nothing more
		if !slices.Contains(u.CoadminPrivileges, s) {
			u.CoadminPrivileges = append(u.CoadminPrivileges, s)
		}
	}
	u.IsServiceAccount, _ = p.boolean("is_service_account")
	return u
}

func decodeGroup(p *jsonObject, full bool) *Group {
	g := &Group{ID: p.required("id")}
	if full {
		g.Enterprise = p.required("enterprise")
	}
	return g
}

func decodeMembership(p *jsonObject, full bool) *GroupMembership {
	m := &GroupMembership{ID: p.required("id"), Group: p.required("group"), User: p.required("user")}
	if full {
		m.Role = p.strOr("role", DefaultMembershipRole)
	}
	return m
}

func decodeFolder(p *jsonObject, full bool) *Folder {
	f := &Folder{ID: p.required("id")}
	if !full {
		return f
	}
	f.Parent = p.required("parent")
	f.Owner = p.required("owner")
	f.CanNonOwnersInvite = true
	if v, ok := p.boolean("can_non_owners_invite"); ok {
		f.CanNonOwnersInvite = v
	}
	f.IsCollaborationRestrictedToEnterprise, _ = p.boolean("is_collaboration_restricted_to_enterprise")
	return f
}

func decodeFile(p *jsonObject, full bool) *File {
	f := &File{ID: p.required("id")}
	if full {
		f.Parent = p.required("parent")
		f.Owner = p.required("owner")
	}
	return f
}

// decodeRef reads a {"type": ..., "id": ...} object; both are required.
func decodeRef(p *jsonObject, key string) (typ, id string) {
	o, ok := p.object(key)
	if p.st.err == nil && !ok {
		p.st.failf(p.path(key), "required")
	}
	if p.st.err != nil {
		return "", ""
	}
	o.only([]string{"type", "id"}, func(string) string { return "unknown field (want only type and id)" })
	return o.required("type"), o.required("id")
}

func decodeCollaboration(p *jsonObject, full bool) *Collaboration {
	c := &Collaboration{ID: p.required("id")}
	if !full {
		return c
	}
	c.Item.Type, c.Item.ID = decodeRef(p, "item")
	c.AccessibleBy.Type, c.AccessibleBy.ID = decodeRef(p, "accessible_by")
	c.Role = schema.Role(p.required("role"))
	c.Status = p.strOr("status", DefaultStatus)
	c.ExpiresAt, _ = p.time("expires_at")
	c.CanViewPath, _ = p.boolean("can_view_path")
	return c
}

func decodeSharedLink(p *jsonObject, full bool) *SharedLink {
	l := &SharedLink{}
	l.Item.Type, l.Item.ID = decodeRef(p, "item")
	if !full {
		return l
	}
	l.Access = p.required("access")
	if perms, ok := p.object("permissions"); ok {
		perms.only([]string{"can_download", "can_edit"}, func(string) string { return "unknown field (want only can_download and can_edit)" })
		l.CanDownload, _ = perms.boolean("can_download")
		l.CanEdit, _ = perms.boolean("can_edit")
	}
	l.UnsharedAt, _ = p.time("unshared_at")
	return l
}
