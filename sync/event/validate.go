package event

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/boxauthz/boxauthz/schema"
)

// Validate checks the values of an event: everything docs/events.md says of one
// event on its own. It does not look at the JSON, so it also checks events
// built in Go. Its errors are *FieldError.
func Validate(e *Event) error {
	if err := validate(e); err != nil {
		return err
	}
	return nil
}

func validate(e *Event) *FieldError {
	if err := validateID(e.ID); err != nil {
		return err
	}
	if err := validateType(e.Type); err != nil {
		return err
	}
	want := e.Type.Object()
	set := map[string]bool{
		objUser: e.User != nil, objGroup: e.Group != nil, objGroupMembership: e.GroupMembership != nil,
		objFolder: e.Folder != nil, objFile: e.File != nil, objCollaboration: e.Collaboration != nil,
		objSharedLink: e.SharedLink != nil,
	}
	for _, k := range payloads {
		if set[k] && k != want {
			return FieldErrorf(k, "a %q event carries a %q payload, not %q", e.Type, want, k)
		}
	}
	if !set[want] {
		return FieldErrorf(want, "required (the payload of a %q event)", e.Type)
	}
	v := validation{typ: e.Type, full: e.Type.Full()}
	switch want {
	case objUser:
		return v.user(e.User)
	case objGroup:
		return v.group(e.Group)
	case objGroupMembership:
		return v.membership(e.GroupMembership)
	case objFolder:
		return v.folder(e.Folder)
	case objFile:
		return v.file(e.File)
	case objCollaboration:
		return v.collaboration(e.Collaboration)
	case objSharedLink:
		return v.sharedLink(e.SharedLink)
	}
	return nil
}

// validation is the check of one event's payload.
type validation struct {
	typ  Type
	full bool // the event carries the whole state (Type.Full)
}

// onlyIDs is the error for an event that carries only what identifies its
// object, and states more.
func (v validation) onlyIDs() *FieldError {
	want := v.typ.Object()
	return FieldErrorf(want, "a %q event carries only %s", v.typ, strings.Join(allowedKeys(want, false), ", "))
}

func (v validation) user(u *User) *FieldError {
	if err := checkID("user.id", u.ID, false); err != nil {
		return err
	}
	if !v.full {
		if u.Enterprise != "" || u.Role != "" || len(u.CoadminPrivileges) > 0 || u.IsServiceAccount {
			return v.onlyIDs()
		}
		return nil
	}
	if u.Enterprise != "" {
		if err := checkID("user.enterprise", u.Enterprise, false); err != nil {
			return err
		}
	}
	if err := checkEnum("user.role", "role", u.Role, userRoles); err != nil {
		return err
	}
	if u.Role != "user" && u.Enterprise == "" {
		return FieldErrorf("user.role", "role %q needs an enterprise, and this user has none (an external user)", u.Role)
	}
	for i, p := range u.CoadminPrivileges {
		if !slices.Contains(privileges, p) {
			return FieldErrorf("user.coadmin_privileges", "unknown privilege %q at position %d (one of %s)", p, i, strings.Join(privileges, ", "))
		}
	}
	if len(u.CoadminPrivileges) > 0 && u.Role != "coadmin" {
		return FieldErrorf("user.coadmin_privileges", "only a coadmin has privileges, and this user's role is %q", u.Role)
	}
	return nil
}

func (v validation) group(g *Group) *FieldError {
	if err := checkID("group.id", g.ID, false); err != nil {
		return err
	}
	if !v.full {
		if g.Enterprise != "" {
			return v.onlyIDs()
		}
		return nil
	}
	return checkID("group.enterprise", g.Enterprise, false)
}

func (v validation) membership(m *GroupMembership) *FieldError {
	for _, f := range []struct{ field, v string }{{"group_membership.id", m.ID}, {"group_membership.group", m.Group}, {"group_membership.user", m.User}} {
		if err := checkID(f.field, f.v, false); err != nil {
			return err
		}
	}
	if !v.full {
		if m.Role != "" {
			return v.onlyIDs()
		}
		return nil
	}
	return checkEnum("group_membership.role", "role", m.Role, membershipRoles)
}

func (v validation) folder(f *Folder) *FieldError {
	if err := checkID("folder.id", f.ID, false); err != nil {
		return err
	}
	if !v.full {
		if *f != (Folder{ID: f.ID}) {
			return v.onlyIDs()
		}
		return nil
	}
	if err := validateKept("folder", f.Keep, KeepParent|KeepOwner|KeepCanNonOwnersInvite|KeepIsCollaborationRestrictedToEnterprise, map[Kept]bool{
		KeepParent: f.Parent == "", KeepOwner: f.Owner == "", KeepCanNonOwnersInvite: !f.CanNonOwnersInvite,
		KeepIsCollaborationRestrictedToEnterprise: !f.IsCollaborationRestrictedToEnterprise,
	}); err != nil {
		return err
	}
	return validatePlace("folder", f.Parent, f.Owner, f.Keep)
}

func (v validation) file(f *File) *FieldError {
	if err := checkID("file.id", f.ID, false); err != nil {
		return err
	}
	if !v.full {
		if *f != (File{ID: f.ID}) {
			return v.onlyIDs()
		}
		return nil
	}
	if err := validateKept("file", f.Keep, KeepParent|KeepOwner, map[Kept]bool{KeepParent: f.Parent == "", KeepOwner: f.Owner == ""}); err != nil {
		return err
	}
	return validatePlace("file", f.Parent, f.Owner, f.Keep)
}

// validatePlace checks an item's parent and owner, those it does not keep.
func validatePlace(payload, parent, owner string, keep Kept) *FieldError {
	if keep&KeepParent == 0 {
		if err := checkID(payload+".parent", parent, true); err != nil {
			return err
		}
	}
	if keep&KeepOwner == 0 {
		if err := checkID(payload+".owner", owner, false); err != nil {
			return err
		}
	}
	return nil
}

func (v validation) collaboration(c *Collaboration) *FieldError {
	if err := checkID("collaboration.id", c.ID, false); err != nil {
		return err
	}
	if !v.full {
		if *c != (Collaboration{ID: c.ID}) {
			return v.onlyIDs()
		}
		return nil
	}
	if err := checkEnum("collaboration.item.type", "item type", c.Item.Type, itemTypes); err != nil {
		return err
	}
	if err := checkID("collaboration.item.id", c.Item.ID, false); err != nil {
		return err
	}
	if err := checkEnum("collaboration.accessible_by.type", "type", c.AccessibleBy.Type, subjectTypes); err != nil {
		return err
	}
	if err := checkID("collaboration.accessible_by.id", c.AccessibleBy.ID, false); err != nil {
		return err
	}
	r, err := schema.ParseRole(string(c.Role))
	if err != nil {
		return FieldErrorf("collaboration.role", "%v", err)
	}
	if !r.AllowedOn(c.Item.Type) {
		return FieldErrorf("collaboration.role", "role %q is not allowed on a %s (a file collaboration is %s or %s)", r, c.Item.Type, schema.RoleEditor, schema.RoleViewer)
	}
	if err := checkEnum("collaboration.status", "status", c.Status, statuses); err != nil {
		return err
	}
	if c.CanViewPath && c.Item.Type == schema.TypeFile {
		return FieldErrorf("collaboration.can_view_path", "can_view_path is for folder collaborations only, and the item is a file")
	}
	return nil
}

func (v validation) sharedLink(l *SharedLink) *FieldError {
	if err := checkEnum("shared_link.item.type", "item type", l.Item.Type, itemTypes); err != nil {
		return err
	}
	if err := checkID("shared_link.item.id", l.Item.ID, false); err != nil {
		return err
	}
	if !v.full {
		if *l != (SharedLink{Item: l.Item}) {
			return v.onlyIDs()
		}
		return nil
	}
	if err := checkEnum("shared_link.access", "access", l.Access, accesses); err != nil {
		return err
	}
	if l.CanEdit && l.Item.Type == schema.TypeFolder {
		return FieldErrorf("shared_link.permissions.can_edit", "can_edit is for a file's link only, and the item is a folder")
	}
	return nil
}

// keptFields names the fields Kept bits stand for.
var keptFields = map[Kept]string{
	KeepParent: "parent", KeepOwner: "owner", KeepCanNonOwnersInvite: "can_non_owners_invite",
	KeepIsCollaborationRestrictedToEnterprise: "is_collaboration_restricted_to_enterprise",
}

// validateKept checks a payload's Keep: only fields the payload has, and
// each kept field zero (zero[bit]), so that an event has one meaning.
func validateKept(payload string, keep, allowed Kept, zero map[Kept]bool) *FieldError {
	if keep&^allowed != 0 {
		return FieldErrorf(payload, "keeps fields a %s does not have (Keep %#x)", payload, uint8(keep&^allowed))
	}
	for bit := Kept(1); bit != 0 && bit <= allowed; bit <<= 1 {
		if keep&bit != 0 && !zero[bit] {
			return FieldErrorf(payload+"."+keptFields[bit], "both kept and stated")
		}
	}
	return nil
}

// MaxIDLength bounds an event id, in bytes.
const MaxIDLength = 256

// ValidateID checks an event id; its errors are *FieldError.
func ValidateID(id string) error {
	if err := validateID(id); err != nil {
		return err
	}
	return nil
}

// validateID checks an event id: 1 to 256 bytes of UTF-8 text with
// no control characters and no U+FFFD. U+FFFD is what JSON decoding makes
// of invalid UTF-8 and of unpaired surrogate escapes ("\ud800"), so ids
// that differ as sent would be one id once decoded, and one would be
// skipped as a duplicate of the other.
func validateID(id string) *FieldError {
	if id == "" {
		return FieldErrorf("id", "empty id")
	}
	if len(id) > MaxIDLength {
		return FieldErrorf("id", "id %.20q... is %d bytes long (at most %d)", id, len(id), MaxIDLength)
	}
	if !utf8.ValidString(id) {
		return FieldErrorf("id", "id %q is not valid UTF-8", id)
	}
	for _, r := range id {
		if unicode.IsControl(r) {
			return FieldErrorf("id", "id %q has control character %U", id, r)
		}
		if r == utf8.RuneError {
			return FieldErrorf("id", "id %q has U+FFFD, the replacement character (invalid UTF-8 or an unpaired surrogate escape where it was written)", id)
		}
	}
	return nil
}

func validateType(t Type) *FieldError {
	if t.Valid() {
		return nil
	}
	if t == "" {
		return FieldErrorf("type", "empty type")
	}
	obj, _, _ := strings.Cut(string(t), ".")
	if vs, ok := verbs[obj]; ok {
		var names []string
		for _, v := range vs {
			names = append(names, obj+"."+v)
		}
		return FieldErrorf("type", "unknown type %q (%s events: %s)", t, obj, strings.Join(names, ", "))
	}
	return FieldErrorf("type", "unknown type %q (want <object>.<verb>, object one of %s)", t, strings.Join(payloads, ", "))
}

// checkID checks an identifier. "0" is the root folder: it is allowed only
// where rootOK (a parent), and is never an item or anything else.
func checkID(field, id string, rootOK bool) *FieldError {
	if err := schema.ValidateID(id); err != nil {
		return FieldErrorf(field, "%v", err)
	}
	if id == schema.RootID && !rootOK {
		return FieldErrorf(field, "id %q is the root folder, which is never an item (it may only be a parent)", id)
	}
	return nil
}

func checkEnum(field, what, v string, allowed []string) *FieldError {
	if slices.Contains(allowed, v) {
		return nil
	}
	return FieldErrorf(field, "unknown %s %q (one of %s)", what, v, strings.Join(allowed, ", "))
}
