package event

import (
	"strings"
	"time"

	"github.com/boxauthz/boxauthz/schema"
)

// Event is one content change event (docs/events.md): the whole state of one
// object after a change. Exactly one payload is set, the one named by the
// first word of Type.
type Event struct {
	ID        string
	Type      Type      // e.g. "folder.created"
	CreatedAt time.Time // UTC; zero when absent

	User            *User
	Group           *Group
	GroupMembership *GroupMembership
	Folder          *Folder
	File            *File
	Collaboration   *Collaboration
	SharedLink      *SharedLink

	// Namespace keeps the ids of events translated from another system's
	// deliveries (Box webhooks) apart from the ids callers give their
	// events: the two are chosen by different parties, so the same text
	// must not make one a duplicate of the other. "" for callers' events.
	Namespace string
}

// DedupKey is what the event's id is remembered as once applied: the id,
// or its namespace and the id. An id never holds a control character, so a
// namespaced key, joined with NUL, is never a caller's id.
func (e *Event) DedupKey() string {
	if e.Namespace == "" {
		return e.ID
	}
	return e.Namespace + "\x00" + e.ID
}

// Kept names fields of a folder or file that an event does not state and
// leaves as they are. Events of docs/events.md state the whole state and keep
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

// Type is the type of an event, "<object>.<verb>".
type Type string

// The 27 event types of docs/events.md.
const (
	UserCreated Type = "user.created"
	UserUpdated Type = "user.updated"
	UserDeleted Type = "user.deleted"

	GroupCreated Type = "group.created"
	GroupUpdated Type = "group.updated"
	GroupDeleted Type = "group.deleted"

	GroupMembershipCreated Type = "group_membership.created"
	GroupMembershipUpdated Type = "group_membership.updated"
	GroupMembershipDeleted Type = "group_membership.deleted"

	FolderCreated  Type = "folder.created"
	FolderUpdated  Type = "folder.updated"
	FolderMoved    Type = "folder.moved"
	FolderTrashed  Type = "folder.trashed"
	FolderRestored Type = "folder.restored"
	FolderDeleted  Type = "folder.deleted"

	FileCreated  Type = "file.created"
	FileUpdated  Type = "file.updated"
	FileMoved    Type = "file.moved"
	FileTrashed  Type = "file.trashed"
	FileRestored Type = "file.restored"
	FileDeleted  Type = "file.deleted"

	CollaborationCreated Type = "collaboration.created"
	CollaborationUpdated Type = "collaboration.updated"
	CollaborationDeleted Type = "collaboration.deleted"

	SharedLinkCreated Type = "shared_link.created"
	SharedLinkUpdated Type = "shared_link.updated"
	SharedLinkDeleted Type = "shared_link.deleted"
)

// Payload names: the first word of an event type and the JSON field that
// carries the object.
const (
	objUser            = "user"
	objGroup           = "group"
	objGroupMembership = "group_membership"
	objFolder          = "folder"
	objFile            = "file"
	objCollaboration   = "collaboration"
	objSharedLink      = "shared_link"
)

// payloads lists the payload names in docs/events.md order.
var payloads = []string{objUser, objGroup, objGroupMembership, objFolder, objFile, objCollaboration, objSharedLink}

// verbs lists the verbs each object has, in docs/events.md order.
var verbs = map[string][]string{
	objUser:            {"created", "updated", "deleted"},
	objGroup:           {"created", "updated", "deleted"},
	objGroupMembership: {"created", "updated", "deleted"},
	objFolder:          {"created", "updated", "moved", "trashed", "restored", "deleted"},
	objFile:            {"created", "updated", "moved", "trashed", "restored", "deleted"},
	objCollaboration:   {"created", "updated", "deleted"},
	objSharedLink:      {"created", "updated", "deleted"},
}

// Types lists the 27 event types in docs/events.md order.
func Types() []Type {
	var ts []Type
	for _, o := range payloads {
		for _, v := range verbs[o] {
			ts = append(ts, Type(o+"."+v))
		}
	}
	return ts
}

var typeSet = func() map[Type]bool {
	m := map[Type]bool{}
	for _, t := range Types() {
		m[t] = true
	}
	return m
}()

// Valid tells whether t is one of the 27 event types.
func (t Type) Valid() bool { return typeSet[t] }

// Object is the kind of object t is about, and the name of the payload
// field: "user", "group", "group_membership", "folder", "file",
// "collaboration" or "shared_link". It is "" for an unknown type.
func (t Type) Object() string {
	if !t.Valid() {
		return ""
	}
	return string(t)[:strings.LastIndexByte(string(t), '.')]
}

// Verb is what happened: "created", "updated", "moved", "trashed",
// "restored" or "deleted". It is "" for an unknown type.
func (t Type) Verb() string {
	if !t.Valid() {
		return ""
	}
	return string(t)[strings.LastIndexByte(string(t), '.')+1:]
}

// Full tells whether events of type t carry the object's whole state
// (created, updated, moved), rather than only what identifies it (trashed,
// restored, deleted).
func (t Type) Full() bool {
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

// Enumerations of docs/events.md.
var (
	userRoles       = []string{"user", "admin", "coadmin"}
	privileges      = []string{"manage_users", "manage_groups", "view_content", "edit_content"}
	membershipRoles = []string{"member", "admin"}
	statuses        = []string{"accepted", "pending", "rejected"}
	accesses        = []string{"open", "company", "collaborators"}
	itemTypes       = []string{schema.TypeFolder, schema.TypeFile}
	subjectTypes    = []string{schema.TypeUser, schema.TypeGroup}
)

// Defaults of docs/events.md.
const (
	DefaultUserRole       = "user"
	DefaultMembershipRole = "member"
	DefaultStatus         = "accepted"
)
