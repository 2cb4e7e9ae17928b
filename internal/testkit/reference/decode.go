package reference

// The reference's own reading of docs/events.md's envelope and payload table,
// written from the spec rather than from sync's decoder so that a difference
// between the two shows up as a disagreement in the differential test.
//
// It is deliberately no stricter than the spec: fields the spec does not
// name are ignored (sync refuses them; the generator never writes any), and
// null counts as absent, which docs/events.md says outright for a user's
// enterprise.

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

type ref struct{ typ, id string }

// event is one decoded event; only the payload its type names is filled.
type event struct {
	id, typ, object, verb string

	user       struct{ id, enterprise string }
	group      struct{ id, enterprise string }
	membership struct{ group, user string }
	folder     struct {
		id, parent, owner     string
		inviteOff, restricted bool
	}
	file   struct{ id, parent, owner string }
	collab struct {
		id           string
		item, who    ref
		role, status string
		expires      time.Time
	}
	link struct {
		item           ref
		access         string
		download, edit bool
		unshared       time.Time
	}
}

// The verbs of each object, from the table of types.
var verbs = map[string][]string{
	"user":             {"created", "updated", "deleted"},
	"group":            {"created", "updated", "deleted"},
	"group_membership": {"created", "updated", "deleted"},
	"folder":           {"created", "updated", "moved", "trashed", "restored", "deleted"},
	"file":             {"created", "updated", "moved", "trashed", "restored", "deleted"},
	"collaboration":    {"created", "updated", "deleted"},
	"shared_link":      {"created", "updated", "deleted"},
}

var (
	roles       = []string{"co-owner", "editor", "viewer uploader", "previewer uploader", "viewer", "previewer", "uploader"}
	fileRoles   = []string{"editor", "viewer"}
	statuses    = []string{"accepted", "pending", "rejected"}
	accesses    = []string{"open", "company", "collaborators"}
	userRoles   = []string{"user", "admin", "coadmin"}
	privileges  = []string{"manage_users", "manage_groups", "view_content", "edit_content"}
	memberRoles = []string{"member", "admin"}
	itemTypes   = []string{"folder", "file"}
	whoTypes    = []string{"user", "group"}
)

func bad(field, format string, args ...any) error {
	return &inputError{field: field, why: fmt.Sprintf(format, args...)}
}

// object is one JSON object of an event with the path to it, for errors.
type object struct {
	path string
	m    map[string]json.RawMessage
}

func asObject(path string, raw json.RawMessage) (object, error) {
	o := object{path: path}
	if !isKind(raw, '{') {
		return o, bad(path, "want a JSON object")
	}
	if err := json.Unmarshal(raw, &o.m); err != nil {
		return o, bad(path, "%v", err)
	}
	return o, nil
}

func isKind(raw json.RawMessage, first byte) bool {
	s := strings.TrimLeft(string(raw), " \t\r\n")
	return s != "" && s[0] == first
}

func (o object) field(k string) string {
	if o.path == "" {
		return k
	}
	return o.path + "." + k
}

// has tells whether k is there and not null.
func (o object) has(k string) bool {
	v, ok := o.m[k]
	return ok && strings.TrimSpace(string(v)) != "null"
}

func (o object) str(k string, required bool) (string, error) {
	if !o.has(k) {
		if required {
			return "", bad(o.field(k), "required")
		}
		return "", nil
	}
	var s string
	if !isKind(o.m[k], '"') || json.Unmarshal(o.m[k], &s) != nil {
		return "", bad(o.field(k), "want a string")
	}
	return s, nil
}

func (o object) boolean(k string, def bool) (bool, error) {
	if !o.has(k) {
		return def, nil
	}
	var b bool
	if err := json.Unmarshal(o.m[k], &b); err != nil {
		return false, bad(o.field(k), "want true or false")
	}
	return b, nil
}

// id reads an identifier: 1 to 128 of [A-Za-z0-9_.@-]. "0" is the root,
// allowed only where rootOK (a parent).
func (o object) id(k string, required, rootOK bool) (string, error) {
	s, err := o.str(k, required)
	if err != nil || (s == "" && !o.has(k)) {
		return s, err
	}
	if len(s) < 1 || len(s) > 128 {
		return "", bad(o.field(k), "an identifier is 1 to 128 characters, %q is %d", s, len(s))
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_.@-", r)) {
			return "", bad(o.field(k), "%q has %q, not one of [A-Za-z0-9_.@-]", s, r)
		}
	}
	if s == "0" && !rootOK {
		return "", bad(o.field(k), `"0" is the root, never an item`)
	}
	return s, nil
}

func (o object) enum(k, def string, allowed []string) (string, error) {
	s, err := o.str(k, def == "")
	if err != nil {
		return "", err
	}
	if !o.has(k) {
		return def, nil
	}
	if !slices.Contains(allowed, s) {
		return "", bad(o.field(k), "unknown value %q", s)
	}
	return s, nil
}

func (o object) time(k string) (time.Time, error) {
	s, err := o.str(k, false)
	if err != nil || s == "" && !o.has(k) {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, bad(o.field(k), "not RFC 3339: %q", s)
	}
	return t, nil
}

func (o object) sub(k string) (object, error) {
	if !o.has(k) {
		return object{}, bad(o.field(k), "required")
	}
	return asObject(o.field(k), o.m[k])
}

// itemRef reads {"type": "folder" or "file", "id": ...}; an item is never "0".
func (o object) itemRef(k string) (ref, error) {
	return o.typedRef(k, itemTypes)
}

func (o object) typedRef(k string, types []string) (ref, error) {
	s, err := o.sub(k)
	if err != nil {
		return ref{}, err
	}
	var r ref
	if r.typ, err = s.enum("type", "", types); err != nil {
		return r, err
	}
	r.id, err = s.id("id", true, false)
	return r, err
}

// decode reads one event and checks everything docs/events.md says of an event on
// its own; the stateful rules are Apply's.
func decode(line []byte) (*event, error) {
	var raw json.RawMessage
	if err := json.Unmarshal(line, &raw); err != nil {
		return nil, bad("", "not JSON: %v", err)
	}
	top, err := asObject("", raw)
	if err != nil {
		return nil, err
	}
	e := &event{}
	if e.id, err = top.str("id", true); err != nil {
		return nil, err
	}
	if e.id == "" {
		return nil, bad("id", "empty")
	}
	if e.typ, err = top.str("type", true); err != nil {
		return nil, err
	}
	obj, verb, _ := strings.Cut(e.typ, ".")
	if !slices.Contains(verbs[obj], verb) {
		return nil, bad("type", "unknown type %q", e.typ)
	}
	e.object, e.verb = obj, verb
	if _, err := top.time("created_at"); err != nil {
		return nil, err
	}
	for name := range verbs {
		if name != obj && top.has(name) {
			return nil, bad(name, "a %s event carries exactly one payload, %q", e.typ, obj)
		}
	}
	p, err := top.sub(obj)
	if err != nil {
		return nil, err
	}
	whole := verb == "created" || verb == "updated" || verb == "moved"
	switch obj {
	case "user":
		err = e.decodeUser(p, whole)
	case "group":
		if e.group.id, err = p.id("id", true, false); err == nil && whole {
			e.group.enterprise, err = p.id("enterprise", true, false)
		}
	case "group_membership":
		err = e.decodeMembership(p, whole)
	case "folder":
		err = e.decodeFolder(p, whole)
	case "file":
		if e.file.id, err = p.id("id", true, false); err == nil && whole {
			if e.file.parent, err = p.id("parent", true, true); err == nil {
				e.file.owner, err = p.id("owner", true, false)
			}
		}
	case "collaboration":
		err = e.decodeCollab(p, whole)
	case "shared_link":
		err = e.decodeLink(p, whole)
	}
	if err != nil {
		return nil, err
	}
	return e, nil
}

func (e *event) decodeUser(p object, whole bool) error {
	var err error
	if e.user.id, err = p.id("id", true, false); err != nil || !whole {
		return err
	}
	if e.user.enterprise, err = p.id("enterprise", false, false); err != nil {
		return err
	}
	if _, err = p.enum("role", "user", userRoles); err != nil {
		return err
	}
	if _, err = p.boolean("is_service_account", false); err != nil {
		return err
	}
	if p.has("coadmin_privileges") {
		var ps []string
		if !isKind(p.m["coadmin_privileges"], '[') || json.Unmarshal(p.m["coadmin_privileges"], &ps) != nil {
			return bad("user.coadmin_privileges", "want a list of strings")
		}
		for _, s := range ps {
			if !slices.Contains(privileges, s) {
				return bad("user.coadmin_privileges", "unknown privilege %q", s)
			}
		}
	}
	return nil
}

func (e *event) decodeMembership(p object, whole bool) error {
	var err error
	if _, err = p.id("id", true, false); err != nil {
		return err
	}
	if e.membership.group, err = p.id("group", true, false); err != nil {
		return err
	}
	if e.membership.user, err = p.id("user", true, false); err != nil || !whole {
		return err
	}
	_, err = p.enum("role", "member", memberRoles)
	return err
}

func (e *event) decodeFolder(p object, whole bool) error {
	f := &e.folder
	var err error
	if f.id, err = p.id("id", true, false); err != nil || !whole {
		return err
	}
	if f.parent, err = p.id("parent", true, true); err != nil {
		return err
	}
	if f.owner, err = p.id("owner", true, false); err != nil {
		return err
	}
	invite, err := p.boolean("can_non_owners_invite", true)
	if err != nil {
		return err
	}
	f.inviteOff = !invite
	f.restricted, err = p.boolean("is_collaboration_restricted_to_enterprise", false)
	return err
}

func (e *event) decodeCollab(p object, whole bool) error {
	c := &e.collab
	var err error
	if c.id, err = p.id("id", true, false); err != nil || !whole {
		return err
	}
	if c.item, err = p.itemRef("item"); err != nil {
		return err
	}
	if c.who, err = p.typedRef("accessible_by", whoTypes); err != nil {
		return err
	}
	if c.role, err = p.enum("role", "", roles); err != nil {
		return err
	}
	if c.item.typ == "file" && !slices.Contains(fileRoles, c.role) {
		return bad("collaboration.role", "%q on a file: a file takes only editor and viewer", c.role) // docs/model.md §2
	}
	if c.status, err = p.enum("status", "accepted", statuses); err != nil {
		return err
	}
	if _, err = p.boolean("can_view_path", false); err != nil {
		return err
	}
	c.expires, err = p.time("expires_at")
	return err
}

func (e *event) decodeLink(p object, whole bool) error {
	l := &e.link
	var err error
	if l.item, err = p.itemRef("item"); err != nil || !whole {
		return err
	}
	if l.access, err = p.enum("access", "", accesses); err != nil {
		return err
	}
	if p.has("permissions") {
		perms, err := p.sub("permissions")
		if err != nil {
			return err
		}
		if l.download, err = perms.boolean("can_download", false); err != nil {
			return err
		}
		if l.edit, err = perms.boolean("can_edit", false); err != nil {
			return err
		}
		if l.edit && l.item.typ == "folder" {
			return bad("shared_link.permissions.can_edit", "can_edit is for a file's link only")
		}
	}
	l.unshared, err = p.time("unshared_at")
	return err
}
