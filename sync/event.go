package sync

// Strict decoding and static validation of content change events (EVENTS.md).
//
// Decoding happens in two steps. The first reads the JSON strictly: every
// object must be an object, every key must be known for the event's type
// (a "folder.trashed" event carries only the folder's id; a delete may also
// carry the object's last state, which is ignored), every value read must
// have the right JSON type, required fields must be present, and no key may
// appear twice in an object; defaults are filled in. The second (evtValidate) checks the values of the decoded
// Event: identifiers, enumerations and the rules that tie fields together.
// The stateful rules (a parent or item exists, no cycle, the enterprise
// restriction of collaborations) are the Applier's.
//
// Every unexported name here starts with "evt", so it cannot collide with the
// Applier's files in the same package.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/boxauthz/boxauthz/schema"
)

// Event is one content change event (EVENTS.md): the whole state of one
// object after a change. Exactly one payload is set, the one named by the
// first word of Type.
type Event struct {
	ID        string
	Type      EventType // e.g. "folder.created"
	CreatedAt time.Time // UTC; zero when absent

	User            *User
	Group           *Group
	GroupMembership *GroupMembership
	Folder          *Folder
	File            *File
	Collaboration   *Collaboration
	SharedLink      *SharedLink

	// namespace keeps the ids of events translated from another system's
	// deliveries (Box webhooks) apart from the ids callers give their
	// events: the two are chosen by different parties, so the same text
	// must not make one a duplicate of the other. "" for callers' events.
	namespace string
}

// dedupKey is the key under which the event's id is remembered as applied.
// An id never holds a control character, so a namespaced key, joined with
// NUL, is never a caller's id.
func (e *Event) dedupKey() string {
	if e.namespace == "" {
		return eventKey(e.ID)
	}
	return eventKey(e.namespace + "\x00" + e.ID)
}

// Kept names fields of a folder or file that an event does not state and
// leaves as they are. Events of EVENTS.md state the whole state and keep
// nothing; a translated Box webhook, whose payload may leave fields out
// (Box sends a folder's standard representation, without its settings),
// keeps what it does not say.
type Kept uint8

// The fields an event can keep.
const (
	KeepParent Kept = 1 << iota
	KeepOwner
	KeepCanNonOwnersInvite                    // folders only
	KeepIsCollaborationRestrictedToEnterprise // folders only
)

// EventType is the type of an event, "<object>.<verb>".
type EventType string

// The 27 event types of EVENTS.md.
const (
	UserCreated EventType = "user.created"
	UserUpdated EventType = "user.updated"
	UserDeleted EventType = "user.deleted"

	GroupCreated EventType = "group.created"
	GroupUpdated EventType = "group.updated"
	GroupDeleted EventType = "group.deleted"

	GroupMembershipCreated EventType = "group_membership.created"
	GroupMembershipUpdated EventType = "group_membership.updated"
	GroupMembershipDeleted EventType = "group_membership.deleted"

	FolderCreated  EventType = "folder.created"
	FolderUpdated  EventType = "folder.updated"
	FolderMoved    EventType = "folder.moved"
	FolderTrashed  EventType = "folder.trashed"
	FolderRestored EventType = "folder.restored"
	FolderDeleted  EventType = "folder.deleted"

	FileCreated  EventType = "file.created"
	FileUpdated  EventType = "file.updated"
	FileMoved    EventType = "file.moved"
	FileTrashed  EventType = "file.trashed"
	FileRestored EventType = "file.restored"
	FileDeleted  EventType = "file.deleted"

	CollaborationCreated EventType = "collaboration.created"
	CollaborationUpdated EventType = "collaboration.updated"
	CollaborationDeleted EventType = "collaboration.deleted"

	SharedLinkCreated EventType = "shared_link.created"
	SharedLinkUpdated EventType = "shared_link.updated"
	SharedLinkDeleted EventType = "shared_link.deleted"
)

// Payload names: the first word of an event type and the JSON field that
// carries the object.
const (
	evtUser            = "user"
	evtGroup           = "group"
	evtGroupMembership = "group_membership"
	evtFolder          = "folder"
	evtFile            = "file"
	evtCollaboration   = "collaboration"
	evtSharedLink      = "shared_link"
)

// evtPayloads lists the payload names in EVENTS.md order.
var evtPayloads = []string{evtUser, evtGroup, evtGroupMembership, evtFolder, evtFile, evtCollaboration, evtSharedLink}

// evtVerbs lists the verbs each object has, in EVENTS.md order.
var evtVerbs = map[string][]string{
	evtUser:            {"created", "updated", "deleted"},
	evtGroup:           {"created", "updated", "deleted"},
	evtGroupMembership: {"created", "updated", "deleted"},
	evtFolder:          {"created", "updated", "moved", "trashed", "restored", "deleted"},
	evtFile:            {"created", "updated", "moved", "trashed", "restored", "deleted"},
	evtCollaboration:   {"created", "updated", "deleted"},
	evtSharedLink:      {"created", "updated", "deleted"},
}

// EventTypes lists the 27 event types in EVENTS.md order.
func EventTypes() []EventType {
	var ts []EventType
	for _, o := range evtPayloads {
		for _, v := range evtVerbs[o] {
			ts = append(ts, EventType(o+"."+v))
		}
	}
	return ts
}

var evtTypeSet = func() map[EventType]bool {
	m := map[EventType]bool{}
	for _, t := range EventTypes() {
		m[t] = true
	}
	return m
}()

// Valid tells whether t is one of the 27 event types.
func (t EventType) Valid() bool { return evtTypeSet[t] }

// Object is the kind of object t is about, and the name of the payload
// field: "user", "group", "group_membership", "folder", "file",
// "collaboration" or "shared_link". It is "" for an unknown type.
func (t EventType) Object() string {
	if !t.Valid() {
		return ""
	}
	return string(t)[:strings.LastIndexByte(string(t), '.')]
}

// Verb is what happened: "created", "updated", "moved", "trashed",
// "restored" or "deleted". It is "" for an unknown type.
func (t EventType) Verb() string {
	if !t.Valid() {
		return ""
	}
	return string(t)[strings.LastIndexByte(string(t), '.')+1:]
}

// evtFull tells whether events of type t carry the object's whole state
// (created, updated, moved), rather than only what identifies it (trashed,
// restored, deleted).
func (t EventType) evtFull() bool {
	switch t.Verb() {
	case "created", "updated", "moved":
		return true
	}
	return false
}

// User is the payload of user.* events.
type User struct {
	ID                string
	Enterprise        string // "" = external user
	Role              string // "user" (default), "admin" or "coadmin"
	CoadminPrivileges []string
	IsServiceAccount  bool
}

// Group is the payload of group.* events.
type Group struct {
	ID, Enterprise string
}

// GroupMembership is the payload of group_membership.* events.
type GroupMembership struct {
	ID, Group, User string
	Role            string // "member" (default) or "admin"
}

// Folder is the payload of folder.* events.
type Folder struct {
	ID, Parent, Owner                     string // Parent "0": top level
	CanNonOwnersInvite                    bool   // default true
	IsCollaborationRestrictedToEnterprise bool
	// Keep names the fields this created, updated or moved event leaves
	// as they are; those fields are zero here.
	Keep Kept
}

// File is the payload of file.* events.
type File struct {
	ID, Parent, Owner string // Parent "0": top level
	// Keep names the fields (KeepParent, KeepOwner) this created, updated
	// or moved event leaves as they are; those fields are "" here.
	Keep Kept
}

// SubjectRef names who a collaboration is for.
type SubjectRef struct {
	Type, ID string // Type "user" or "group"
}

// Collaboration is the payload of collaboration.* events.
type Collaboration struct {
	ID           string
	Item         schema.ItemRef
	AccessibleBy SubjectRef
	Role         schema.Role
	Status       string    // "accepted" (default), "pending" or "rejected"
	ExpiresAt    time.Time // UTC; zero = never
	CanViewPath  bool
}

// SharedLink is the payload of shared_link.* events. An item has at most one
// link, so the item identifies it.
type SharedLink struct {
	Item        schema.ItemRef
	Access      string // "open", "company" or "collaborators"
	CanDownload bool
	CanEdit     bool
	UnsharedAt  time.Time // UTC; zero = never
}

// Enumerations of EVENTS.md.
var (
	evtUserRoles       = []string{"user", "admin", "coadmin"}
	evtPrivileges      = []string{"manage_users", "manage_groups", "view_content", "edit_content"}
	evtMembershipRoles = []string{"member", "admin"}
	evtStatuses        = []string{"accepted", "pending", "rejected"}
	evtAccesses        = []string{"open", "company", "collaborators"}
	evtItemTypes       = []string{schema.TypeFolder, schema.TypeFile}
	evtSubjectTypes    = []string{schema.TypeUser, schema.TypeGroup}
)

// Defaults of EVENTS.md.
const (
	DefaultUserRole       = "user"
	DefaultMembershipRole = "member"
	DefaultStatus         = "accepted"
)

// DecodeEvents decodes a request body: a JSON array of events, or NDJSON
// (one event per line, blank lines ignored) when ndjson is true. It stops
// at the first bad event; every error it returns is an *EventError. An
// empty array (or an NDJSON body of blank lines) is zero events. Duplicate
// event ids are not an error: the Applier skips repeats.
func DecodeEvents(body []byte, ndjson bool) ([]Event, error) {
	if ndjson {
		return evtDecodeNDJSON(body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) {
		return nil, &EventError{Index: -1, Reason: "empty body: want a JSON array of events"}
	}
	if err != nil {
		return nil, &EventError{Index: -1, Reason: "invalid JSON: " + err.Error()}
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, &EventError{Index: -1, Reason: fmt.Sprintf("want a JSON array of events, got %s", evtTokenKind(tok))}
	}
	events := []Event{}
	for i := 0; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, &EventError{Index: i, Reason: "invalid JSON: " + err.Error()}
		}
		ev, err := DecodeEvent(raw, i)
		if err != nil {
			return nil, err
		}
		events = append(events, ev)
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return nil, &EventError{Index: -1, Reason: "invalid JSON: " + evtEOF(err).Error()}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &EventError{Index: -1, Reason: "unexpected data after the array of events"}
	}
	return events, nil
}

func evtDecodeNDJSON(body []byte) ([]Event, error) {
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

// evtEOF turns the decoder's io.EOF in the middle of a value into an error
// that says so.
func evtEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// DecodeEvent decodes and validates one JSON event (one JSONL line). index
// is the event's position, used in errors. Errors are *EventError.
func DecodeEvent(data []byte, index int) (Event, error) {
	ev, id, ferr := evtDecode(data)
	if ferr != nil {
		return Event{}, &EventError{Index: index, EventID: id, Field: ferr.field, Reason: ferr.reason}
	}
	return ev, nil
}

// evtDecode decodes one event; on error it also returns the event id when
// that was read and valid.
func evtDecode(data []byte) (Event, string, *fieldError) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return Event{}, "", evtFail("", "empty event: want a JSON object")
		}
		return Event{}, "", evtFail("", "invalid JSON: %v", err)
	}
	if k := evtKind(raw); k != "object" {
		return Event{}, "", evtFail("", "an event must be a JSON object, got %s", k)
	}
	st := &evtState{}
	top := st.object(raw, "")
	if st.err != nil {
		return Event{}, "", st.err
	}

	// The id first, so that every later error names the event.
	var ev Event
	id, ok := top.str("id")
	if st.err != nil {
		return Event{}, "", st.err
	}
	if !ok {
		return Event{}, "", evtFail("id", "required")
	}
	// Checked on the bytes as sent: decoding turns every invalid sequence
	// into U+FFFD, which would make different ids one.
	if raw := top.vals["id"]; !utf8.Valid(raw) {
		return Event{}, "", evtFail("id", "id is not valid UTF-8 (RFC 8259 §8.1)")
	}
	if err := evtValidateEventID(id); err != nil {
		return Event{}, "", err
	}
	ev.ID = id
	if rest := bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return Event{}, id, evtFail("", "unexpected data after the event: %.20q", rest)
	}

	allowed := append([]string{"id", "type", "created_at"}, evtPayloads...)
	top.only(allowed, func(string) string { return "unknown field (an event has id, type, created_at and one payload)" })
	typ, ok := top.str("type")
	if st.err == nil && !ok {
		st.fail("type", "required")
	}
	if st.err != nil {
		return Event{}, id, st.err
	}
	ev.Type = EventType(typ)
	if err := evtValidateType(ev.Type); err != nil {
		return Event{}, id, err
	}
	ev.CreatedAt, _ = top.time("created_at")

	// Exactly one payload, the one named by the type.
	want := ev.Type.Object()
	for _, k := range top.keys {
		if k != want && evtIsPayload(k) && top.present(k) {
			st.fail(k, "a %q event carries a %q payload, not %q", ev.Type, want, k)
			break
		}
	}
	if st.err == nil && !top.present(want) {
		st.fail(want, "required (the payload of a %q event)", ev.Type)
	}
	if st.err != nil {
		return Event{}, id, st.err
	}
	p, _ := top.object(want)
	full := ev.Type.evtFull()
	// A delete may carry the object's last state, as Box webhooks and
	// change-data-capture tools send it (EVENTS.md, collaboration.deleted):
	// every field the object has is accepted there and ignored. Trash and
	// restore events still carry only the id: a parent there would read as
	// a move that does not happen.
	deleted := ev.Type.Verb() == "deleted"
	p.only(evtAllowedKeys(want, full || deleted), func(k string) string {
		if !full && slices.Contains(evtAllowedKeys(want, true), k) {
			return fmt.Sprintf("not allowed in a %q event (it carries only %s)", ev.Type, strings.Join(evtAllowedKeys(want, false), ", "))
		}
		return fmt.Sprintf("unknown field (%s fields: %s)", want, strings.Join(evtAllowedKeys(want, true), ", "))
	})
	if deleted {
		// Ignored values are not read, so nothing else would see a key
		// written twice inside them.
		for _, k := range p.keys {
			if st.err == nil && !slices.Contains(evtAllowedKeys(want, false), k) {
				if path, dup := evtDuplicateKey(p.vals[k], p.path(k)); dup {
					st.fail(path, "field appears twice")
				}
			}
		}
	}
	switch want {
	case evtUser:
		ev.User = evtDecodeUser(p, full)
	case evtGroup:
		ev.Group = evtDecodeGroup(p, full)
	case evtGroupMembership:
		ev.GroupMembership = evtDecodeMembership(p, full)
	case evtFolder:
		ev.Folder = evtDecodeFolder(p, full)
	case evtFile:
		ev.File = evtDecodeFile(p, full)
	case evtCollaboration:
		ev.Collaboration = evtDecodeCollaboration(p, full)
	case evtSharedLink:
		ev.SharedLink = evtDecodeSharedLink(p, full)
	}
	if st.err != nil {
		return Event{}, id, st.err
	}
	if err := evtValidate(&ev); err != nil {
		return Event{}, id, err
	}
	return ev, id, nil
}

func evtIsPayload(k string) bool { return slices.Contains(evtPayloads, k) }

// evtAllowedKeys lists the fields a payload may carry: all of them in events
// that carry the whole state, only the identifying ones in the others.
func evtAllowedKeys(payload string, full bool) []string {
	switch payload {
	case evtUser:
		if full {
			return []string{"id", "enterprise", "role", "coadmin_privileges", "is_service_account"}
		}
		return []string{"id"}
	case evtGroup:
		if full {
			return []string{"id", "enterprise"}
		}
		return []string{"id"}
	case evtGroupMembership:
		if full {
			return []string{"id", "group", "user", "role"}
		}
		return []string{"id", "group", "user"}
	case evtFolder:
		if full {
			return []string{"id", "parent", "owner", "can_non_owners_invite", "is_collaboration_restricted_to_enterprise"}
		}
		return []string{"id"}
	case evtFile:
		if full {
			return []string{"id", "parent", "owner"}
		}
		return []string{"id"}
	case evtCollaboration:
		if full {
			return []string{"id", "item", "accessible_by", "role", "status", "expires_at", "can_view_path"}
		}
		return []string{"id"}
	case evtSharedLink:
		if full {
			return []string{"item", "access", "permissions", "unshared_at"}
		}
		return []string{"item"}
	}
	return nil
}

func evtDecodeUser(p *evtObject, full bool) *User {
	u := &User{ID: p.required("id")}
	if !full {
		return u
	}
	if ent, ok := p.str("enterprise"); ok {
		// Present means an enterprise: an external user has none (null).
		if err := evtID(p.path("enterprise"), ent, false); err != nil && p.st.err == nil {
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

func evtDecodeGroup(p *evtObject, full bool) *Group {
	g := &Group{ID: p.required("id")}
	if full {
		g.Enterprise = p.required("enterprise")
	}
	return g
}

func evtDecodeMembership(p *evtObject, full bool) *GroupMembership {
	m := &GroupMembership{ID: p.required("id"), Group: p.required("group"), User: p.required("user")}
	if full {
		m.Role = p.strOr("role", DefaultMembershipRole)
	}
	return m
}

func evtDecodeFolder(p *evtObject, full bool) *Folder {
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

func evtDecodeFile(p *evtObject, full bool) *File {
	f := &File{ID: p.required("id")}
	if full {
		f.Parent = p.required("parent")
		f.Owner = p.required("owner")
	}
	return f
}

// evtRef reads a {"type": ..., "id": ...} object; both are required.
func evtRef(p *evtObject, key string) (typ, id string) {
	o, ok := p.object(key)
	if p.st.err == nil && !ok {
		p.st.fail(p.path(key), "required")
	}
	if p.st.err != nil {
		return "", ""
	}
	o.only([]string{"type", "id"}, func(string) string { return "unknown field (want only type and id)" })
	return o.required("type"), o.required("id")
}

func evtDecodeCollaboration(p *evtObject, full bool) *Collaboration {
	c := &Collaboration{ID: p.required("id")}
	if !full {
		return c
	}
	c.Item.Type, c.Item.ID = evtRef(p, "item")
	c.AccessibleBy.Type, c.AccessibleBy.ID = evtRef(p, "accessible_by")
	c.Role = schema.Role(p.required("role"))
	c.Status = p.strOr("status", DefaultStatus)
	c.ExpiresAt, _ = p.time("expires_at")
	c.CanViewPath, _ = p.boolean("can_view_path")
	return c
}

func evtDecodeSharedLink(p *evtObject, full bool) *SharedLink {
	l := &SharedLink{}
	l.Item.Type, l.Item.ID = evtRef(p, "item")
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

// evtValidate checks the values of a decoded event: everything EVENTS.md
// says of one event on its own. It does not look at the JSON, so it also
// checks events built in Go.
func evtValidate(e *Event) *fieldError {
	if err := evtValidateEventID(e.ID); err != nil {
		return err
	}
	if err := evtValidateType(e.Type); err != nil {
		return err
	}
	want := e.Type.Object()
	set := map[string]bool{
		evtUser: e.User != nil, evtGroup: e.Group != nil, evtGroupMembership: e.GroupMembership != nil,
		evtFolder: e.Folder != nil, evtFile: e.File != nil, evtCollaboration: e.Collaboration != nil,
		evtSharedLink: e.SharedLink != nil,
	}
	for _, k := range evtPayloads {
		if set[k] && k != want {
			return evtFail(k, "a %q event carries a %q payload, not %q", e.Type, want, k)
		}
	}
	if !set[want] {
		return evtFail(want, "required (the payload of a %q event)", e.Type)
	}
	full := e.Type.evtFull()
	onlyIDs := func() *fieldError {
		return evtFail(want, "a %q event carries only %s", e.Type, strings.Join(evtAllowedKeys(want, false), ", "))
	}
	switch want {
	case evtUser:
		u := e.User
		if err := evtID("user.id", u.ID, false); err != nil {
			return err
		}
		if !full {
			if u.Enterprise != "" || u.Role != "" || len(u.CoadminPrivileges) > 0 || u.IsServiceAccount {
				return onlyIDs()
			}
			return nil
		}
		if u.Enterprise != "" {
			if err := evtID("user.enterprise", u.Enterprise, false); err != nil {
				return err
			}
		}
		if err := evtEnum("user.role", "role", u.Role, evtUserRoles); err != nil {
			return err
		}
		if u.Role != "user" && u.Enterprise == "" {
			return evtFail("user.role", "role %q needs an enterprise, and this user has none (an external user)", u.Role)
		}
		for i, p := range u.CoadminPrivileges {
			if !slices.Contains(evtPrivileges, p) {
				return evtFail("user.coadmin_privileges", "unknown privilege %q at position %d (one of %s)", p, i, strings.Join(evtPrivileges, ", "))
			}
		}
		if len(u.CoadminPrivileges) > 0 && u.Role != "coadmin" {
			return evtFail("user.coadmin_privileges", "only a coadmin has privileges, and this user's role is %q", u.Role)
		}
	case evtGroup:
		g := e.Group
		if err := evtID("group.id", g.ID, false); err != nil {
			return err
		}
		if !full {
			if g.Enterprise != "" {
				return onlyIDs()
			}
			return nil
		}
		if err := evtID("group.enterprise", g.Enterprise, false); err != nil {
			return err
		}
	case evtGroupMembership:
		m := e.GroupMembership
		for _, f := range []struct{ field, v string }{{"group_membership.id", m.ID}, {"group_membership.group", m.Group}, {"group_membership.user", m.User}} {
			if err := evtID(f.field, f.v, false); err != nil {
				return err
			}
		}
		if !full {
			if m.Role != "" {
				return onlyIDs()
			}
			return nil
		}
		if err := evtEnum("group_membership.role", "role", m.Role, evtMembershipRoles); err != nil {
			return err
		}
	case evtFolder:
		f := e.Folder
		if err := evtID("folder.id", f.ID, false); err != nil {
			return err
		}
		if !full {
			if *f != (Folder{ID: f.ID}) {
				return onlyIDs()
			}
			return nil
		}
		if err := evtValidateKept("folder", f.Keep, KeepParent|KeepOwner|KeepCanNonOwnersInvite|KeepIsCollaborationRestrictedToEnterprise, map[Kept]bool{
			KeepParent: f.Parent == "", KeepOwner: f.Owner == "", KeepCanNonOwnersInvite: !f.CanNonOwnersInvite,
			KeepIsCollaborationRestrictedToEnterprise: !f.IsCollaborationRestrictedToEnterprise,
		}); err != nil {
			return err
		}
		if f.Keep&KeepParent == 0 {
			if err := evtID("folder.parent", f.Parent, true); err != nil {
				return err
			}
		}
		if f.Keep&KeepOwner == 0 {
			if err := evtID("folder.owner", f.Owner, false); err != nil {
				return err
			}
		}
	case evtFile:
		f := e.File
		if err := evtID("file.id", f.ID, false); err != nil {
			return err
		}
		if !full {
			if *f != (File{ID: f.ID}) {
				return onlyIDs()
			}
			return nil
		}
		if err := evtValidateKept("file", f.Keep, KeepParent|KeepOwner, map[Kept]bool{KeepParent: f.Parent == "", KeepOwner: f.Owner == ""}); err != nil {
			return err
		}
		if f.Keep&KeepParent == 0 {
			if err := evtID("file.parent", f.Parent, true); err != nil {
				return err
			}
		}
		if f.Keep&KeepOwner == 0 {
			if err := evtID("file.owner", f.Owner, false); err != nil {
				return err
			}
		}
	case evtCollaboration:
		c := e.Collaboration
		if err := evtID("collaboration.id", c.ID, false); err != nil {
			return err
		}
		if !full {
			if *c != (Collaboration{ID: c.ID}) {
				return onlyIDs()
			}
			return nil
		}
		if err := evtEnum("collaboration.item.type", "item type", c.Item.Type, evtItemTypes); err != nil {
			return err
		}
		if err := evtID("collaboration.item.id", c.Item.ID, false); err != nil {
			return err
		}
		if err := evtEnum("collaboration.accessible_by.type", "type", c.AccessibleBy.Type, evtSubjectTypes); err != nil {
			return err
		}
		if err := evtID("collaboration.accessible_by.id", c.AccessibleBy.ID, false); err != nil {
			return err
		}
		r, err := schema.ParseRole(string(c.Role))
		if err != nil {
			return evtFail("collaboration.role", "%v", err)
		}
		if !r.AllowedOn(c.Item.Type) {
			return evtFail("collaboration.role", "role %q is not allowed on a %s (a file collaboration is %s or %s)", r, c.Item.Type, schema.RoleEditor, schema.RoleViewer)
		}
		if err := evtEnum("collaboration.status", "status", c.Status, evtStatuses); err != nil {
			return err
		}
		if c.CanViewPath && c.Item.Type == schema.TypeFile {
			return evtFail("collaboration.can_view_path", "can_view_path is for folder collaborations only, and the item is a file")
		}
	case evtSharedLink:
		l := e.SharedLink
		if err := evtEnum("shared_link.item.type", "item type", l.Item.Type, evtItemTypes); err != nil {
			return err
		}
		if err := evtID("shared_link.item.id", l.Item.ID, false); err != nil {
			return err
		}
		if !full {
			if *l != (SharedLink{Item: l.Item}) {
				return onlyIDs()
			}
			return nil
		}
		if err := evtEnum("shared_link.access", "access", l.Access, evtAccesses); err != nil {
			return err
		}
		if l.CanEdit && l.Item.Type == schema.TypeFolder {
			return evtFail("shared_link.permissions.can_edit", "can_edit is for a file's link only, and the item is a folder")
		}
	}
	return nil
}

// evtKeptFields names the fields Kept bits stand for.
var evtKeptFields = map[Kept]string{
	KeepParent: "parent", KeepOwner: "owner", KeepCanNonOwnersInvite: "can_non_owners_invite",
	KeepIsCollaborationRestrictedToEnterprise: "is_collaboration_restricted_to_enterprise",
}

// evtValidateKept checks a payload's Keep: only fields the payload has, and
// each kept field zero (zero[bit]), so that an event has one meaning.
func evtValidateKept(payload string, keep, allowed Kept, zero map[Kept]bool) *fieldError {
	if keep&^allowed != 0 {
		return evtFail(payload, "keeps fields a %s does not have (Keep %#x)", payload, uint8(keep&^allowed))
	}
	for bit := Kept(1); bit != 0 && bit <= allowed; bit <<= 1 {
		if keep&bit != 0 && !zero[bit] {
			return evtFail(payload+"."+evtKeptFields[bit], "both kept and stated")
		}
	}
	return nil
}

// evtMaxEventIDLength bounds an event id, in bytes.
const evtMaxEventIDLength = 256

// evtValidateEventID checks an event id: 1 to 256 bytes of UTF-8 text with
// no control characters and no U+FFFD. U+FFFD is what JSON decoding makes
// of invalid UTF-8 and of unpaired surrogate escapes ("\ud800"), so ids
// that differ as sent would be one id once decoded, and one would be
// skipped as a duplicate of the other.
func evtValidateEventID(id string) *fieldError {
	if id == "" {
		return evtFail("id", "empty id")
	}
	if len(id) > evtMaxEventIDLength {
		return evtFail("id", "id %.20q... is %d bytes long (at most %d)", id, len(id), evtMaxEventIDLength)
	}
	if !utf8.ValidString(id) {
		return evtFail("id", "id %q is not valid UTF-8", id)
	}
	for _, r := range id {
		if unicode.IsControl(r) {
			return evtFail("id", "id %q has control character %U", id, r)
		}
		if r == utf8.RuneError {
			return evtFail("id", "id %q has U+FFFD, the replacement character (invalid UTF-8 or an unpaired surrogate escape where it was written)", id)
		}
	}
	return nil
}

func evtValidateType(t EventType) *fieldError {
	if t.Valid() {
		return nil
	}
	if t == "" {
		return evtFail("type", "empty type")
	}
	obj, _, _ := strings.Cut(string(t), ".")
	if vs, ok := evtVerbs[obj]; ok {
		var names []string
		for _, v := range vs {
			names = append(names, obj+"."+v)
		}
		return evtFail("type", "unknown type %q (%s events: %s)", t, obj, strings.Join(names, ", "))
	}
	return evtFail("type", "unknown type %q (want <object>.<verb>, object one of %s)", t, strings.Join(evtPayloads, ", "))
}

// evtID checks an identifier. "0" is the root folder: it is allowed only
// where rootOK (a parent), and is never an item or anything else.
func evtID(field, id string, rootOK bool) *fieldError {
	if err := schema.ValidateID(id); err != nil {
		return evtFail(field, "%v", err)
	}
	if id == schema.RootID && !rootOK {
		return evtFail(field, "id %q is the root folder, which is never an item (it may only be a parent)", id)
	}
	return nil
}

func evtEnum(field, what, v string, allowed []string) *fieldError {
	if slices.Contains(allowed, v) {
		return nil
	}
	return evtFail(field, "unknown %s %q (one of %s)", what, v, strings.Join(allowed, ", "))
}

// evtState holds the first error found while reading one event; once set,
// every read returns zero values.
type evtState struct{ err *fieldError }

func (st *evtState) fail(field, format string, args ...any) {
	if st.err == nil {
		st.err = evtFail(field, format, args...)
	}
}

// evtObject is one JSON object of an event, its keys in document order.
type evtObject struct {
	st    *evtState
	field string // path of the object itself; "" for the event
	keys  []string
	vals  map[string]json.RawMessage
}

// object parses raw (a syntactically valid JSON value) as an object at field.
func (st *evtState) object(raw json.RawMessage, field string) *evtObject {
	o := &evtObject{st: st, field: field, vals: map[string]json.RawMessage{}}
	if st.err != nil {
		return o
	}
	if k := evtKind(raw); k != "object" {
		st.fail(field, "want a JSON object, got %s", k)
		return o
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // '{'
		st.fail(field, "invalid JSON: %v", err)
		return o
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			st.fail(field, "invalid JSON: %v", err)
			return o
		}
		k, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			st.fail(o.path(k), "invalid JSON: %v", evtEOF(err))
			return o
		}
		if _, dup := o.vals[k]; dup {
			st.fail(o.path(k), "field appears twice")
			return o
		}
		o.keys = append(o.keys, k)
		o.vals[k] = v
	}
	return o
}

// evtDuplicateKey finds the first key written twice in one object anywhere
// inside v (a syntactically valid JSON value), and returns its path below
// field. Keys are compared decoded, so "id" and "\u0069d" are one key.
func evtDuplicateKey(v json.RawMessage, field string) (string, bool) {
	join := func(k string) string {
		if field == "" {
			return k
		}
		return field + "." + k
	}
	switch evtKind(v) {
	case "object":
		dec := json.NewDecoder(bytes.NewReader(v))
		if _, err := dec.Token(); err != nil {
			return "", false
		}
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return "", false
			}
			k, _ := tok.(string)
			if seen[k] {
				return join(k), true
			}
			seen[k] = true
			var val json.RawMessage
			if err := dec.Decode(&val); err != nil {
				return "", false
			}
			if path, dup := evtDuplicateKey(val, join(k)); dup {
				return path, true
			}
		}
	case "array":
		var elems []json.RawMessage
		if err := json.Unmarshal(v, &elems); err != nil {
			return "", false
		}
		for i, e := range elems {
			if path, dup := evtDuplicateKey(e, fmt.Sprintf("%s[%d]", field, i)); dup {
				return path, true
			}
		}
	}
	return "", false
}

func (o *evtObject) path(key string) string {
	if o.field == "" {
		return key
	}
	return o.field + "." + key
}

// only fails on the first key (in document order) not in allowed.
func (o *evtObject) only(allowed []string, why func(key string) string) {
	if o.st.err != nil {
		return
	}
	for _, k := range o.keys {
		if !slices.Contains(allowed, k) {
			o.st.fail(o.path(k), "%s", why(k))
			return
		}
	}
}

// present tells whether key is there and not null: null is absent.
func (o *evtObject) present(key string) bool {
	v, ok := o.vals[key]
	return ok && evtKind(v) != "null"
}

// value returns key's JSON value if it is present and of kind want.
func (o *evtObject) value(key, want string) (json.RawMessage, bool) {
	if o.st.err != nil || !o.present(key) {
		return nil, false
	}
	v := o.vals[key]
	if k := evtKind(v); k != want {
		o.st.fail(o.path(key), "want a JSON %s, got %s", want, k)
		return nil, false
	}
	return v, true
}

func (o *evtObject) str(key string) (string, bool) {
	v, ok := o.value(key, "string")
	if !ok {
		return "", false
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		o.st.fail(o.path(key), "invalid JSON string: %v", err)
		return "", false
	}
	return s, true
}

func (o *evtObject) required(key string) string {
	s, ok := o.str(key)
	if o.st.err == nil && !ok {
		o.st.fail(o.path(key), "required")
	}
	return s
}

func (o *evtObject) strOr(key, def string) string {
	if s, ok := o.str(key); ok {
		return s
	}
	return def
}

func (o *evtObject) boolean(key string) (bool, bool) {
	v, ok := o.value(key, "boolean")
	if !ok {
		return false, false
	}
	return string(v) == "true", true
}

func (o *evtObject) strs(key string) ([]string, bool) {
	v, ok := o.value(key, "array")
	if !ok {
		return nil, false
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(v, &raws); err != nil {
		o.st.fail(o.path(key), "invalid JSON array: %v", err)
		return nil, false
	}
	out := make([]string, 0, len(raws))
	for i, r := range raws {
		var s string
		if k := evtKind(r); k != "string" {
			o.st.fail(o.path(key), "element %d: want a JSON string, got %s", i, k)
			return nil, false
		}
		if err := json.Unmarshal(r, &s); err != nil {
			o.st.fail(o.path(key), "element %d: invalid JSON string: %v", i, err)
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

func (o *evtObject) object(key string) (*evtObject, bool) {
	v, ok := o.value(key, "object")
	if !ok {
		return &evtObject{st: o.st, field: o.path(key), vals: map[string]json.RawMessage{}}, false
	}
	return o.st.object(v, o.path(key)), true
}

// evtMinTime and evtMaxTime bound timestamps to what RFC 3339 writes in UTC
// (four-digit years), so a decoded event can be written back.
var (
	evtMinTime = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	evtMaxTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// time reads an RFC 3339 timestamp, returned in UTC.
func (o *evtObject) time(key string) (time.Time, bool) {
	s, ok := o.str(key)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		o.st.fail(o.path(key), "not an RFC 3339 timestamp (like 2026-11-28T10:00:00Z): %q", s)
		return time.Time{}, false
	}
	t = t.UTC()
	if t.Before(evtMinTime) || !t.Before(evtMaxTime) {
		o.st.fail(o.path(key), "timestamp %q is out of range (years 0000 to 9999 in UTC)", s)
		return time.Time{}, false
	}
	return t, true
}

// evtKind names the JSON kind of a syntactically valid value.
func evtKind(v json.RawMessage) string {
	v = bytes.TrimLeft(v, " \t\r\n")
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// evtTokenKind names the JSON kind of a json.Decoder token.
func evtTokenKind(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			return "an object"
		}
		return fmt.Sprintf("%q", string(t))
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a number"
}
