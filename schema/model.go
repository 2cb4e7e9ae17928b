package schema

import (
	"fmt"
	"strings"
)

// Object types of the schema.
const (
	TypeUser          = "user"
	TypeEnterprise    = "enterprise"
	TypeGroup         = "group"
	TypeFolder        = "folder"
	TypeFile          = "file"
	TypeCollaboration = "collaboration"
)

// Role is a collaboration role, spelled exactly as Box spells it.
type Role string

// The seven collaboration roles (docs/model.md §2). Owner is not a role: it is the
// item's owner.
const (
	RoleCoOwner           Role = "co-owner"
	RoleEditor            Role = "editor"
	RoleViewerUploader    Role = "viewer uploader"
	RolePreviewerUploader Role = "previewer uploader"
	RoleViewer            Role = "viewer"
	RolePreviewer         Role = "previewer"
	RoleUploader          Role = "uploader"
)

// Roles lists every collaboration role, most capable first.
func Roles() []Role {
	return []Role{RoleCoOwner, RoleEditor, RoleViewerUploader, RolePreviewerUploader, RoleViewer, RolePreviewer, RoleUploader}
}

// ParseRole returns the role named s, or an error naming s.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles() {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown role %q (one of co-owner, editor, viewer uploader, previewer uploader, viewer, previewer, uploader)", s)
}

// Relation is the schema relation that carries r on an item.
func (r Role) Relation() string {
	return strings.NewReplacer("-", "_", " ", "_").Replace(string(r))
}

// AllowedOn tells whether a collaboration on an item of type itemType may
// have role r: files accept only editor and viewer.
func (r Role) AllowedOn(itemType string) bool {
	if itemType == TypeFile {
		return r == RoleEditor || r == RoleViewer
	}
	return itemType == TypeFolder
}

// Action is something a user may do. Item actions are permissions of the
// folder and file definitions; enterprise actions are asked of an enterprise
// or a group.
type Action string

// The item actions of docs/model.md §2 and the enterprise actions of §5.
const (
	ActionList              Action = "list"
	ActionPreview           Action = "preview"
	ActionDownload          Action = "download"
	ActionUpload            Action = "upload"
	ActionEdit              Action = "edit"
	ActionRename            Action = "rename"
	ActionDelete            Action = "delete"
	ActionMove              Action = "move"
	ActionShare             Action = "share"
	ActionSetShareAccess    Action = "set_share_access"
	ActionInvite            Action = "invite"
	ActionComment           Action = "comment"
	ActionChangeSettings    Action = "change_settings"
	ActionTransferOwnership Action = "transfer_ownership"

	ActionManageUsers  Action = "manage_users"
	ActionManageGroups Action = "manage_groups"
)

// ItemActions lists the 14 actions on a file or folder, in docs/model.md order.
func ItemActions() []Action {
	return []Action{
		ActionList, ActionPreview, ActionDownload, ActionUpload, ActionEdit, ActionRename,
		ActionDelete, ActionMove, ActionShare, ActionSetShareAccess, ActionInvite, ActionComment,
		ActionChangeSettings, ActionTransferOwnership,
	}
}

// ParseAction returns the action named s, or an error naming s.
func ParseAction(s string) (Action, error) {
	for _, a := range ItemActions() {
		if string(a) == s {
			return a, nil
		}
	}
	if a := Action(s); a == ActionManageUsers || a == ActionManageGroups {
		return a, nil
	}
	return "", fmt.Errorf("unknown action %q", s)
}

// IsItemAction tells whether a is asked of a file or folder.
func (a Action) IsItemAction() bool {
	return a != ActionManageUsers && a != ActionManageGroups
}

// RootID is the id Box gives every user's root folder; it is never an item.
const RootID = "0"

// AnonymousUser is the user id checks use for a caller with no identity (one
// presenting an open shared link). Its '=' cannot occur in an encoded Box id,
// so it never collides with a real user.
const AnonymousUser = "=anonymous"

// MaxIDLength is the longest identifier docs/events.md allows.
const MaxIDLength = 128

// ValidateID checks that id is a Box identifier: 1 to 128 characters of
// [A-Za-z0-9_.@-].
func ValidateID(id string) error {
	if id == "" {
		return fmt.Errorf("empty id")
	}
	if len(id) > MaxIDLength {
		return fmt.Errorf("id %.20q... is %d characters long (at most %d)", id, len(id), MaxIDLength)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '@' || c == '-') {
			return fmt.Errorf("id %q has character %q (allowed: letters, digits, _ . @ -)", id, c)
		}
	}
	return nil
}

// EncodeID maps a Box identifier to a SpiceDB object id. SpiceDB ids do not
// allow '.' or '@', which Box ids (logins, for one) use; they are written as
// =2E and =40, and '=' never occurs in a Box id, so the mapping reverses.
func EncodeID(id string) string {
	if !strings.ContainsAny(id, ".@") {
		return id
	}
	return idEncoder.Replace(id)
}

// The replacers are built once; a Replacer is safe for concurrent use and
// never changes.
var (
	idEncoder = strings.NewReplacer(".", "=2E", "@", "=40")
	idDecoder = strings.NewReplacer("=2E", ".", "=40", "@")
)

// DecodeID reverses EncodeID.
func DecodeID(id string) string {
	if !strings.Contains(id, "=") || id == AnonymousUser {
		return id
	}
	return idDecoder.Replace(id)
}
