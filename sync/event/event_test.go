package event

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/schema"
)

func TestEventTypeObjectVerb(t *testing.T) {
	types := Types()
	if len(types) != 27 {
		t.Fatalf("Types() has %d types, want 27", len(types))
	}
	seen := map[Type]bool{}
	for _, typ := range types {
		if seen[typ] {
			t.Errorf("Types() repeats %q", typ)
		}
		seen[typ] = true
		if !typ.Valid() {
			t.Errorf("%q.Valid() = false", typ)
		}
		if got := typ.Object() + "." + typ.Verb(); got != string(typ) {
			t.Errorf("%q: Object()+\".\"+Verb() = %q", typ, got)
		}
	}
	for _, tc := range []struct {
		typ          Type
		object, verb string
	}{
		{UserCreated, "user", "created"},
		{UserDeleted, "user", "deleted"},
		{GroupUpdated, "group", "updated"},
		{GroupMembershipCreated, "group_membership", "created"},
		{GroupMembershipDeleted, "group_membership", "deleted"},
		{FolderMoved, "folder", "moved"},
		{FolderTrashed, "folder", "trashed"},
		{FileRestored, "file", "restored"},
		{CollaborationUpdated, "collaboration", "updated"},
		{SharedLinkDeleted, "shared_link", "deleted"},
		{"folder.copied", "", ""},
		{"user.moved", "", ""},
		{"", "", ""},
		{"folder", "", ""},
	} {
		if got := tc.typ.Object(); got != tc.object {
			t.Errorf("%q.Object() = %q, want %q", tc.typ, got, tc.object)
		}
		if got := tc.typ.Verb(); got != tc.verb {
			t.Errorf("%q.Verb() = %q, want %q", tc.typ, got, tc.verb)
		}
		if got, want := tc.typ.Valid(), tc.object != ""; got != want {
			t.Errorf("%q.Valid() = %v, want %v", tc.typ, got, want)
		}
	}
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// validCases holds one valid event of each of the 27 types (and a few
// more), with what it decodes to.
var validCases = []struct {
	name string
	json string
	want Event
}{
	{
		"user.created defaults", `{"id":"e1","type":"user.created","user":{"id":"alice"}}`,
		Event{ID: "e1", Type: UserCreated, User: &User{ID: "alice", Role: "user"}},
	},
	{
		"user.created full", `{"id":"e2","type":"user.created","created_at":"2026-11-28T10:00:00Z",
		"user":{"id":"carol@acme.com","enterprise":"acme","role":"coadmin","coadmin_privileges":["manage_users","view_content","manage_users"],"is_service_account":true}}`,
		Event{
			ID: "e2", Type: UserCreated, CreatedAt: utc("2026-11-28T10:00:00Z"),
			User: &User{ID: "carol@acme.com", Enterprise: "acme", Role: "coadmin", CoadminPrivileges: []string{"manage_users", "view_content"}, IsServiceAccount: true},
		},
	},
	{
		"user.updated nulls", `{"id":"e3","type":"user.updated","user":{"id":"bob","enterprise":null,"role":null,"coadmin_privileges":null,"is_service_account":null}}`,
		Event{ID: "e3", Type: UserUpdated, User: &User{ID: "bob", Role: "user"}},
	},
	{
		"user.updated admin", `{"id":"e3b","type":"user.updated","user":{"id":"ann","enterprise":"acme","role":"admin","coadmin_privileges":[]}}`,
		Event{ID: "e3b", Type: UserUpdated, User: &User{ID: "ann", Enterprise: "acme", Role: "admin"}},
	},
	{
		"user.deleted", `{"id":"e4","type":"user.deleted","user":{"id":"bob"}}`,
		Event{ID: "e4", Type: UserDeleted, User: &User{ID: "bob"}},
	},
	{
		"group.created", `{"id":"e5","type":"group.created","group":{"id":"g1","enterprise":"acme"}}`,
		Event{ID: "e5", Type: GroupCreated, Group: &Group{ID: "g1", Enterprise: "acme"}},
	},
	{
		"group.updated", `{"id":"e6","type":"group.updated","group":{"id":"g1","enterprise":"other"}}`,
		Event{ID: "e6", Type: GroupUpdated, Group: &Group{ID: "g1", Enterprise: "other"}},
	},
	{
		"group.deleted", `{"id":"e7","type":"group.deleted","group":{"id":"g1"}}`,
		Event{ID: "e7", Type: GroupDeleted, Group: &Group{ID: "g1"}},
	},
	{
		"group_membership.created default", `{"id":"e8","type":"group_membership.created","group_membership":{"id":"m1","group":"g1","user":"bob"}}`,
		Event{ID: "e8", Type: GroupMembershipCreated, GroupMembership: &GroupMembership{ID: "m1", Group: "g1", User: "bob", Role: "member"}},
	},
	{
		"group_membership.updated", `{"id":"e9","type":"group_membership.updated","group_membership":{"id":"m1","group":"g1","user":"bob","role":"admin"}}`,
		Event{ID: "e9", Type: GroupMembershipUpdated, GroupMembership: &GroupMembership{ID: "m1", Group: "g1", User: "bob", Role: "admin"}},
	},
	{
		"group_membership.deleted", `{"id":"e10","type":"group_membership.deleted","group_membership":{"id":"m1","group":"g1","user":"bob"}}`,
		Event{ID: "e10", Type: GroupMembershipDeleted, GroupMembership: &GroupMembership{ID: "m1", Group: "g1", User: "bob"}},
	},
	{
		"folder.created defaults", `{"id":"e11","type":"folder.created","folder":{"id":"f1","parent":"0","owner":"alice"}}`,
		Event{ID: "e11", Type: FolderCreated, Folder: &Folder{ID: "f1", Parent: "0", Owner: "alice", CanNonOwnersInvite: true}},
	},
	{
		"folder.updated", `{"id":"e12","type":"folder.updated","folder":{"id":"f1","parent":"0","owner":"alice","can_non_owners_invite":false,"is_collaboration_restricted_to_enterprise":true}}`,
		Event{ID: "e12", Type: FolderUpdated, Folder: &Folder{ID: "f1", Parent: "0", Owner: "alice", IsCollaborationRestrictedToEnterprise: true}},
	},
	{
		"folder.moved", `{"id":"e13","type":"folder.moved","folder":{"id":"f2","parent":"f1","owner":"alice","can_non_owners_invite":true}}`,
		Event{ID: "e13", Type: FolderMoved, Folder: &Folder{ID: "f2", Parent: "f1", Owner: "alice", CanNonOwnersInvite: true}},
	},
	{
		"folder.trashed", `{"id":"e14","type":"folder.trashed","folder":{"id":"f2"}}`,
		Event{ID: "e14", Type: FolderTrashed, Folder: &Folder{ID: "f2"}},
	},
	{
		"folder.restored", `{"id":"e15","type":"folder.restored","folder":{"id":"f2"}}`,
		Event{ID: "e15", Type: FolderRestored, Folder: &Folder{ID: "f2"}},
	},
	{
		"folder.deleted", `{"id":"e16","type":"folder.deleted","folder":{"id":"f2"}}`,
		Event{ID: "e16", Type: FolderDeleted, Folder: &Folder{ID: "f2"}},
	},
	{
		"file.created", `{"id":"e17","type":"file.created","file":{"id":"x1","parent":"f1","owner":"alice"}}`,
		Event{ID: "e17", Type: FileCreated, File: &File{ID: "x1", Parent: "f1", Owner: "alice"}},
	},
	{
		"file.updated at top level", `{"id":"e18","type":"file.updated","file":{"id":"x1","parent":"0","owner":"bob"}}`,
		Event{ID: "e18", Type: FileUpdated, File: &File{ID: "x1", Parent: "0", Owner: "bob"}},
	},
	{
		"file.moved", `{"id":"e19","type":"file.moved","file":{"id":"x1","parent":"f2","owner":"bob"}}`,
		Event{ID: "e19", Type: FileMoved, File: &File{ID: "x1", Parent: "f2", Owner: "bob"}},
	},
	{
		"file.trashed", `{"id":"e20","type":"file.trashed","file":{"id":"x1"}}`,
		Event{ID: "e20", Type: FileTrashed, File: &File{ID: "x1"}},
	},
	{
		"file.restored", `{"id":"e21","type":"file.restored","file":{"id":"x1"}}`,
		Event{ID: "e21", Type: FileRestored, File: &File{ID: "x1"}},
	},
	{
		"file.deleted", `{"id":"e22","type":"file.deleted","file":{"id":"x1"}}`,
		Event{ID: "e22", Type: FileDeleted, File: &File{ID: "x1"}},
	},
	{
		"collaboration.created defaults", `{"id":"e23","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"f1"},"accessible_by":{"type":"user","id":"bob"},"role":"viewer uploader"}}`,
		Event{ID: "e23", Type: CollaborationCreated, Collaboration: &Collaboration{ID: "c1", Item: schema.ItemRef{Type: "folder", ID: "f1"}, AccessibleBy: SubjectRef{"user", "bob"}, Role: schema.RoleViewerUploader, Status: "accepted"}},
	},
	{
		"collaboration.created full", `{"id":"e24","type":"collaboration.created","collaboration":{"id":"c2","item":{"type":"folder","id":"f1"},"accessible_by":{"type":"group","id":"g1"},"role":"co-owner","status":"pending","expires_at":"2027-01-01T12:00:00+02:00","can_view_path":true}}`,
		Event{ID: "e24", Type: CollaborationCreated, Collaboration: &Collaboration{ID: "c2", Item: schema.ItemRef{Type: "folder", ID: "f1"}, AccessibleBy: SubjectRef{"group", "g1"}, Role: schema.RoleCoOwner, Status: "pending", ExpiresAt: utc("2027-01-01T10:00:00Z"), CanViewPath: true}},
	},
	{
		"collaboration.updated on a file", `{"id":"e25","type":"collaboration.updated","collaboration":{"id":"c3","item":{"type":"file","id":"x1"},"accessible_by":{"type":"user","id":"bob"},"role":"editor","status":"rejected","expires_at":null,"can_view_path":false}}`,
		Event{ID: "e25", Type: CollaborationUpdated, Collaboration: &Collaboration{ID: "c3", Item: schema.ItemRef{Type: "file", ID: "x1"}, AccessibleBy: SubjectRef{"user", "bob"}, Role: schema.RoleEditor, Status: "rejected"}},
	},
	{
		"collaboration.deleted", `{"id":"e26","type":"collaboration.deleted","collaboration":{"id":"c3"}}`,
		Event{ID: "e26", Type: CollaborationDeleted, Collaboration: &Collaboration{ID: "c3"}},
	},
	{
		"shared_link.created", `{"id":"e27","type":"shared_link.created","shared_link":{"item":{"type":"file","id":"x1"},"access":"open","permissions":{"can_download":true,"can_edit":true},"unshared_at":"2027-06-01T00:00:00.5Z"}}`,
		Event{ID: "e27", Type: SharedLinkCreated, SharedLink: &SharedLink{Item: schema.ItemRef{Type: "file", ID: "x1"}, Access: "open", CanDownload: true, CanEdit: true, UnsharedAt: utc("2027-06-01T00:00:00.5Z")}},
	},
	{
		"shared_link.updated folder no permissions", `{"id":"e28","type":"shared_link.updated","shared_link":{"item":{"type":"folder","id":"f1"},"access":"company","permissions":{"can_edit":false}}}`,
		Event{ID: "e28", Type: SharedLinkUpdated, SharedLink: &SharedLink{Item: schema.ItemRef{Type: "folder", ID: "f1"}, Access: "company"}},
	},
	{
		"shared_link.updated collaborators null permissions", `{"id":"e28b","type":"shared_link.updated","shared_link":{"item":{"type":"folder","id":"f1"},"access":"collaborators","permissions":null}}`,
		Event{ID: "e28b", Type: SharedLinkUpdated, SharedLink: &SharedLink{Item: schema.ItemRef{Type: "folder", ID: "f1"}, Access: "collaborators"}},
	},
	{
		"shared_link.deleted", `{"id":"e29","type":"shared_link.deleted","shared_link":{"item":{"type":"folder","id":"f1"}}}`,
		Event{ID: "e29", Type: SharedLinkDeleted, SharedLink: &SharedLink{Item: schema.ItemRef{Type: "folder", ID: "f1"}}},
	},
	{
		"other payloads null, keys in any order", `{"folder":{"owner":"alice","id":"f1","parent":"0"},"file":null,"type":"folder.created","id":"e30","user":null}`,
		Event{ID: "e30", Type: FolderCreated, Folder: &Folder{ID: "f1", Parent: "0", Owner: "alice", CanNonOwnersInvite: true}},
	},
	{
		"event id free text", `{"id":"évt 31/ü:#","type":"file.deleted","file":{"id":"x.1@b-c_d"}}`,
		Event{ID: "évt 31/ü:#", Type: FileDeleted, File: &File{ID: "x.1@b-c_d"}},
	},
	{
		"event id 256 bytes, item id 128", `{"id":"` + strings.Repeat("e", 256) + `","type":"file.deleted","file":{"id":"` + strings.Repeat("x", 128) + `"}}`,
		Event{ID: strings.Repeat("e", 256), Type: FileDeleted, File: &File{ID: strings.Repeat("x", 128)}},
	},
	{
		"created_at with offset, whitespace around", " \n\t{\"id\":\"e32\",\"type\":\"group.deleted\",\"created_at\":\"2026-11-28T10:00:00-05:00\",\"group\":{\"id\":\"g1\"}}\r\n ",
		Event{ID: "e32", Type: GroupDeleted, CreatedAt: utc("2026-11-28T15:00:00Z"), Group: &Group{ID: "g1"}},
	},
	{
		"escaped key and value", `{"\u0069d":"e33","type":"file.deleted","file":{"id":"\u00781"}}`,
		Event{ID: "e33", Type: FileDeleted, File: &File{ID: "x1"}},
	},

	// A delete may carry the object's last state (docs/events.md, as Box
	// webhooks and change-data-capture tools send it): known fields are
	// accepted and ignored, whatever their values.
	{
		"collaboration.deleted with its last state", `{"id":"e34","type":"collaboration.deleted","collaboration":{"id":"c3","item":{"type":"folder","id":"f1"},"accessible_by":{"type":"user","id":"bob"},"role":"editor","status":"accepted","expires_at":null,"can_view_path":false}}`,
		Event{ID: "e34", Type: CollaborationDeleted, Collaboration: &Collaboration{ID: "c3"}},
	},
	{
		"user.deleted with its last state", `{"id":"e35","type":"user.deleted","user":{"id":"bob","enterprise":"acme","role":"coadmin","coadmin_privileges":["manage_users"],"is_service_account":false}}`,
		Event{ID: "e35", Type: UserDeleted, User: &User{ID: "bob"}},
	},
	{
		"group.deleted with its last state", `{"id":"e36","type":"group.deleted","group":{"id":"g1","enterprise":"acme"}}`,
		Event{ID: "e36", Type: GroupDeleted, Group: &Group{ID: "g1"}},
	},
	{
		"group_membership.deleted with its last state", `{"id":"e37","type":"group_membership.deleted","group_membership":{"id":"m1","group":"g1","user":"bob","role":"admin"}}`,
		Event{ID: "e37", Type: GroupMembershipDeleted, GroupMembership: &GroupMembership{ID: "m1", Group: "g1", User: "bob"}},
	},
	{
		"folder.deleted with its last state", `{"id":"e38","type":"folder.deleted","folder":{"id":"f2","parent":"f1","owner":"alice","can_non_owners_invite":false,"is_collaboration_restricted_to_enterprise":true}}`,
		Event{ID: "e38", Type: FolderDeleted, Folder: &Folder{ID: "f2"}},
	},
	{
		"file.deleted with its last state", `{"id":"e39","type":"file.deleted","file":{"id":"x1","parent":"f1","owner":"alice"}}`,
		Event{ID: "e39", Type: FileDeleted, File: &File{ID: "x1"}},
	},
	{
		"shared_link.deleted with its last state", `{"id":"e40","type":"shared_link.deleted","shared_link":{"item":{"type":"file","id":"x1"},"access":"open","permissions":{"can_download":true,"can_edit":true},"unshared_at":null}}`,
		Event{ID: "e40", Type: SharedLinkDeleted, SharedLink: &SharedLink{Item: schema.ItemRef{Type: "file", ID: "x1"}}},
	},
	{
		"ignored last state is not validated", `{"id":"e41","type":"collaboration.deleted","collaboration":{"id":"c3","role":"owner","item":"f1","expires_at":7}}`,
		Event{ID: "e41", Type: CollaborationDeleted, Collaboration: &Collaboration{ID: "c3"}},
	},
}

func TestDecodeEventValid(t *testing.T) {
	covered := map[Type]bool{}
	for i, tc := range validCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeEvent([]byte(tc.json), i)
			if err != nil {
				t.Fatalf("DecodeEvent: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("DecodeEvent =\n%s\nwant\n%s", dumpEvent(got), dumpEvent(tc.want))
			}
			if err := validate(&got); err != nil {
				t.Errorf("decoded event does not validate: %v", err)
			}
		})
		covered[tc.want.Type] = true
	}
	for _, typ := range Types() {
		if !covered[typ] {
			t.Errorf("no valid case of type %q", typ)
		}
	}
}

func dumpEvent(e Event) string {
	s := fmt.Sprintf("ID=%q Type=%q CreatedAt=%s", e.ID, e.Type, e.CreatedAt)
	v := reflect.ValueOf(e)
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			s += fmt.Sprintf(" %s=%+v", v.Type().Field(i).Name, f.Elem().Interface())
		}
	}
	return s
}

// badCases are events that break one rule each: the error must name the
// event (when its id is good) and the field.
var badCases = []struct {
	name   string
	json   string
	id     string // wanted Error.EventID
	field  string // wanted Error.Field
	reason string // a substring of the reason
}{
	// Envelope.
	{"not JSON", `{"id": "e1", "type"`, "", "", "invalid JSON"},
	{"empty", ``, "", "", "empty event"},
	{"not an object", `["e1"]`, "", "", "JSON object, got array"},
	{"null event", `null`, "", "", "JSON object, got null"},
	{"trailing data", `{"id":"e1","type":"file.deleted","file":{"id":"x1"}} {"id":"e2"}`, "e1", "", "after the event"},
	{"trailing garbage", `{"id":"e1","type":"file.deleted","file":{"id":"x1"}}x`, "e1", "", "after the event"},
	{"duplicate key", `{"id":"e1","type":"file.deleted","file":{"id":"x1","id":"x2"}}`, "e1", "file.id", "twice"},
	{"duplicate event id key", `{"id":"e1","type":"file.deleted","id":"e2","file":{"id":"x1"}}`, "", "id", "twice"},
	{"duplicate payload key", `{"id":"e1","type":"file.deleted","file":{"id":"x1"},"file":null}`, "", "file", "twice"},
	{"missing id", `{"type":"file.deleted","file":{"id":"x1"}}`, "", "id", "required"},
	{"null id", `{"id":null,"type":"file.deleted","file":{"id":"x1"}}`, "", "id", "required"},
	{"numeric id", `{"id":7,"type":"file.deleted","file":{"id":"x1"}}`, "", "id", "want a JSON string, got number"},
	{"empty id", `{"id":"","type":"file.deleted","file":{"id":"x1"}}`, "", "id", "empty"},
	{"id too long", `{"id":"` + strings.Repeat("e", 257) + `","type":"file.deleted","file":{"id":"x1"}}`, "", "id", "at most 256"},
	{"id with control character", `{"id":"e\u0007","type":"file.deleted","file":{"id":"x1"}}`, "", "id", "control character"},
	{"id with newline", `{"id":"e\n1","type":"file.deleted","file":{"id":"x1"}}`, "", "id", "control character"},
	{"missing type", `{"id":"e1","file":{"id":"x1"}}`, "e1", "type", "required"},
	{"unknown type", `{"id":"e1","type":"folder.copied","folder":{"id":"f1"}}`, "e1", "type", `unknown type "folder.copied"`},
	{"unknown object", `{"id":"e1","type":"web_link.created"}`, "e1", "type", "unknown type"},
	{"type upper case", `{"id":"e1","type":"FILE.DELETED","file":{"id":"x1"}}`, "e1", "type", "unknown type"},
	{"type not a string", `{"id":"e1","type":["file.deleted"],"file":{"id":"x1"}}`, "e1", "type", "got array"},
	{"created_at not RFC 3339", `{"id":"e1","type":"file.deleted","created_at":"2026-11-28 10:00:00","file":{"id":"x1"}}`, "e1", "created_at", "RFC 3339"},
	{"created_at number", `{"id":"e1","type":"file.deleted","created_at":1764324000,"file":{"id":"x1"}}`, "e1", "created_at", "got number"},
	{"created_at out of range", `{"id":"e1","type":"file.deleted","created_at":"9999-12-31T23:00:00-05:00","file":{"id":"x1"}}`, "e1", "created_at", "out of range"},
	{"unknown top-level field", `{"id":"e1","type":"file.deleted","colour":"red","file":{"id":"x1"}}`, "e1", "colour", "unknown field"},
	{"key case matters", `{"id":"e1","Type":"file.deleted","file":{"id":"x1"}}`, "e1", "Type", "unknown field"},

	// Payload.
	{"payload missing", `{"id":"e1","type":"folder.created"}`, "e1", "folder", "required"},
	{"payload null", `{"id":"e1","type":"folder.created","folder":null}`, "e1", "folder", "required"},
	{"payload of another type", `{"id":"e1","type":"collaboration.created","folder":{"id":"f1","parent":"0","owner":"a"}}`, "e1", "folder", `carries a "collaboration" payload`},
	{"two payloads", `{"id":"e1","type":"folder.created","folder":{"id":"f1","parent":"0","owner":"a"},"file":{"id":"x1"}}`, "e1", "file", "not \"file\""},
	{"payload not an object", `{"id":"e1","type":"folder.created","folder":"f1"}`, "e1", "folder", "want a JSON object, got string"},
	{"unknown payload field", `{"id":"e1","type":"folder.created","folder":{"id":"f1","parent":"0","owner":"a","colour":"red"}}`, "e1", "folder.colour", "unknown field"},
	{"field not for this verb", `{"id":"e1","type":"folder.trashed","folder":{"id":"f1","parent":"0"}}`, "e1", "folder.parent", `not allowed in a "folder.trashed" event`},
	{"key case matters in payload", `{"id":"e1","type":"file.created","file":{"id":"x1","Parent":"0","owner":"a"}}`, "e1", "file.Parent", "unknown field"},

	// Identifiers.
	{"folder parent missing", `{"id":"e1","type":"folder.created","folder":{"id":"f1","owner":"a"}}`, "e1", "folder.parent", "required"},
	{"folder parent null", `{"id":"e1","type":"folder.moved","folder":{"id":"f1","parent":null,"owner":"a"}}`, "e1", "folder.parent", "required"},
	{"folder parent bad id", `{"id":"e1","type":"folder.created","folder":{"id":"f1","parent":"a b","owner":"a"}}`, "e1", "folder.parent", "character"},
	{"folder parent empty", `{"id":"e1","type":"folder.created","folder":{"id":"f1","parent":"","owner":"a"}}`, "e1", "folder.parent", "empty id"},
	{"folder parent number", `{"id":"e1","type":"folder.created","folder":{"id":"f1","parent":0,"owner":"a"}}`, "e1", "folder.parent", "want a JSON string, got number"},
	{"folder owner missing", `{"id":"e1","type":"folder.updated","folder":{"id":"f1","parent":"0"}}`, "e1", "folder.owner", "required"},
	{"folder owner root", `{"id":"e1","type":"folder.updated","folder":{"id":"f1","parent":"0","owner":"0"}}`, "e1", "folder.owner", "root"},
	{"folder id root", `{"id":"e1","type":"folder.created","folder":{"id":"0","parent":"0","owner":"a"}}`, "e1", "folder.id", "root"},
	{"folder.deleted id root", `{"id":"e1","type":"folder.deleted","folder":{"id":"0"}}`, "e1", "folder.id", "root"},
	{"folder id too long", `{"id":"e1","type":"folder.created","folder":{"id":"` + strings.Repeat("f", 129) + `","parent":"0","owner":"a"}}`, "e1", "folder.id", "at most 128"},
	{"folder id missing", `{"id":"e1","type":"folder.trashed","folder":{}}`, "e1", "folder.id", "required"},
	{"folder bool as string", `{"id":"e1","type":"folder.created","folder":{"id":"f1","parent":"0","owner":"a","can_non_owners_invite":"false"}}`, "e1", "folder.can_non_owners_invite", "want a JSON boolean, got string"},
	{"folder restricted as number", `{"id":"e1","type":"folder.created","folder":{"id":"f1","parent":"0","owner":"a","is_collaboration_restricted_to_enterprise":1}}`, "e1", "folder.is_collaboration_restricted_to_enterprise", "got number"},
	{"file id root", `{"id":"e1","type":"file.created","file":{"id":"0","parent":"0","owner":"a"}}`, "e1", "file.id", "root"},
	{"file parent missing", `{"id":"e1","type":"file.moved","file":{"id":"x1","owner":"a"}}`, "e1", "file.parent", "required"},
	{"file owner bad", `{"id":"e1","type":"file.created","file":{"id":"x1","parent":"0","owner":"a/b"}}`, "e1", "file.owner", "character"},
	{"file.restored with owner", `{"id":"e1","type":"file.restored","file":{"id":"x1","owner":"a"}}`, "e1", "file.owner", "not allowed"},
	{"folder.restored with parent", `{"id":"e1","type":"folder.restored","folder":{"id":"f1","parent":"0"}}`, "e1", "folder.parent", `not allowed in a "folder.restored" event`},

	// Deletes: known fields of the object are ignored, unknown ones refused
	// naming the fields there are; what identifies the object is required
	// and checked as ever.
	{"unknown field on a delete", `{"id":"e1","type":"collaboration.deleted","collaboration":{"id":"c1","role":"editor","colour":"red"}}`, "e1", "collaboration.colour", "unknown field (collaboration fields: id, item, accessible_by, role, status, expires_at, can_view_path)"},
	{"unknown field on a folder delete", `{"id":"e1","type":"folder.deleted","folder":{"id":"f1","parent":"0","name":"x"}}`, "e1", "folder.name", "unknown field (folder fields: id, parent, owner, can_non_owners_invite, is_collaboration_restricted_to_enterprise)"},
	{"delete without its id", `{"id":"e1","type":"collaboration.deleted","collaboration":{"item":{"type":"folder","id":"f1"}}}`, "e1", "collaboration.id", "required"},
	{"delete with a bad id", `{"id":"e1","type":"user.deleted","user":{"id":"b o b","enterprise":"acme"}}`, "e1", "user.id", "character"},
	{"membership delete without its user", `{"id":"e1","type":"group_membership.deleted","group_membership":{"id":"m1","group":"g1","role":"admin"}}`, "e1", "group_membership.user", "required"},
	{"link delete with a bad item", `{"id":"e1","type":"shared_link.deleted","shared_link":{"item":{"type":"web_link","id":"w"},"access":"open"}}`, "e1", "shared_link.item.type", "unknown item type"},
	{"duplicate key in ignored last state", `{"id":"e1","type":"collaboration.deleted","collaboration":{"id":"c1","item":{"type":"folder","id":"f1","id":"f2"}}}`, "e1", "collaboration.item.id", "twice"},
	{"duplicate key in a link's permissions", `{"id":"e1","type":"shared_link.created","shared_link":{"item":{"type":"file","id":"x1"},"access":"open","permissions":{"can_edit":false,"can_edit":true}}}`, "e1", "shared_link.permissions.can_edit", "twice"},
	{"duplicate key written two ways", `{"id":"e1","type":"file.deleted","file":{"id":"x1","\u0069d":"x2"}}`, "e1", "file.id", "twice"},

	// Event ids are text: invalid UTF-8, and lone surrogate escapes, would
	// decode to U+FFFD, so two different ids would be one.
	{"id with invalid UTF-8", "{\"id\":\"e\xff1\",\"type\":\"file.deleted\",\"file\":{\"id\":\"x1\"}}", "", "id", "UTF-8"},
	{"id with a truncated UTF-8 sequence", "{\"id\":\"e\xc3\",\"type\":\"file.deleted\",\"file\":{\"id\":\"x1\"}}", "", "id", "UTF-8"},
	{"id with a lone surrogate escape", `{"id":"e\ud800","type":"file.deleted","file":{"id":"x1"}}`, "", "id", "U+FFFD"},
	{"id with U+FFFD", `{"id":"e\ufffd","type":"file.deleted","file":{"id":"x1"}}`, "", "id", "U+FFFD"},
	{"object id with invalid UTF-8", "{\"id\":\"e1\",\"type\":\"file.deleted\",\"file\":{\"id\":\"x\xff\"}}", "e1", "file.id", ""},

	// Users.
	{"user id missing", `{"id":"e1","type":"user.created","user":{"role":"user"}}`, "e1", "user.id", "required"},
	{"user id root", `{"id":"e1","type":"user.created","user":{"id":"0"}}`, "e1", "user.id", "root"},
	{"user role unknown", `{"id":"e1","type":"user.created","user":{"id":"u1","enterprise":"acme","role":"owner"}}`, "e1", "user.role", `unknown role "owner"`},
	{"user role upper case", `{"id":"e1","type":"user.updated","user":{"id":"u1","enterprise":"acme","role":"Admin"}}`, "e1", "user.role", "unknown role"},
	{"user admin without enterprise", `{"id":"e1","type":"user.updated","user":{"id":"u1","role":"admin"}}`, "e1", "user.role", "needs an enterprise"},
	{"user enterprise empty", `{"id":"e1","type":"user.created","user":{"id":"u1","enterprise":""}}`, "e1", "user.enterprise", "empty id"},
	{"user enterprise number", `{"id":"e1","type":"user.created","user":{"id":"u1","enterprise":42}}`, "e1", "user.enterprise", "got number"},
	{"privilege unknown", `{"id":"e1","type":"user.created","user":{"id":"u1","enterprise":"acme","role":"coadmin","coadmin_privileges":["manage_users","delete_all"]}}`, "e1", "user.coadmin_privileges", `unknown privilege "delete_all"`},
	{"privileges on an admin", `{"id":"e1","type":"user.created","user":{"id":"u1","enterprise":"acme","role":"admin","coadmin_privileges":["manage_users"]}}`, "e1", "user.coadmin_privileges", "only a coadmin"},
	{"privileges on a default user", `{"id":"e1","type":"user.created","user":{"id":"u1","coadmin_privileges":["view_content"]}}`, "e1", "user.coadmin_privileges", "only a coadmin"},
	{"privileges not strings", `{"id":"e1","type":"user.created","user":{"id":"u1","enterprise":"acme","role":"coadmin","coadmin_privileges":["view_content",1]}}`, "e1", "user.coadmin_privileges", "element 1"},
	{"privileges not a list", `{"id":"e1","type":"user.created","user":{"id":"u1","enterprise":"acme","role":"coadmin","coadmin_privileges":"view_content"}}`, "e1", "user.coadmin_privileges", "want a JSON array"},
	{"service account as string", `{"id":"e1","type":"user.created","user":{"id":"u1","is_service_account":"true"}}`, "e1", "user.is_service_account", "want a JSON boolean"},

	// Groups and memberships.
	{"group enterprise missing", `{"id":"e1","type":"group.created","group":{"id":"g1"}}`, "e1", "group.enterprise", "required"},
	{"group enterprise bad", `{"id":"e1","type":"group.updated","group":{"id":"g1","enterprise":"ac me"}}`, "e1", "group.enterprise", "character"},
	{"membership role unknown", `{"id":"e1","type":"group_membership.created","group_membership":{"id":"m1","group":"g1","user":"u1","role":"owner"}}`, "e1", "group_membership.role", `unknown role "owner"`},
	{"membership group missing", `{"id":"e1","type":"group_membership.updated","group_membership":{"id":"m1","user":"u1"}}`, "e1", "group_membership.group", "required"},
	{"membership.deleted user missing", `{"id":"e1","type":"group_membership.deleted","group_membership":{"id":"m1","group":"g1"}}`, "e1", "group_membership.user", "required"},
	{"membership user bad", `{"id":"e1","type":"group_membership.created","group_membership":{"id":"m1","group":"g1","user":"u 1"}}`, "e1", "group_membership.user", "character"},

	// Collaborations.
	{"collaboration on the root", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"0"},"accessible_by":{"type":"user","id":"u1"},"role":"viewer"}}`, "e1", "collaboration.item.id", "root"},
	{"collaboration item missing", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","accessible_by":{"type":"user","id":"u1"},"role":"viewer"}}`, "e1", "collaboration.item", "required"},
	{"collaboration item not an object", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","item":"f1","accessible_by":{"type":"user","id":"u1"},"role":"viewer"}}`, "e1", "collaboration.item", "want a JSON object"},
	{"collaboration item id missing", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder"},"accessible_by":{"type":"user","id":"u1"},"role":"viewer"}}`, "e1", "collaboration.item.id", "required"},
	{"collaboration item type unknown", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"web_link","id":"w1"},"accessible_by":{"type":"user","id":"u1"},"role":"viewer"}}`, "e1", "collaboration.item.type", `unknown item type "web_link"`},
	{"collaboration item extra field", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"f1","name":"x"},"accessible_by":{"type":"user","id":"u1"},"role":"viewer"}}`, "e1", "collaboration.item.name", "unknown field"},
	{"accessible_by type unknown", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"f1"},"accessible_by":{"type":"enterprise","id":"acme"},"role":"viewer"}}`, "e1", "collaboration.accessible_by.type", `unknown type "enterprise"`},
	{"accessible_by id bad", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"f1"},"accessible_by":{"type":"user","id":"a:b"},"role":"viewer"}}`, "e1", "collaboration.accessible_by.id", "character"},
	{"accessible_by missing", `{"id":"e1","type":"collaboration.updated","collaboration":{"id":"c1","item":{"type":"folder","id":"f1"},"role":"viewer"}}`, "e1", "collaboration.accessible_by", "required"},
	{"collaboration role missing", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"f1"},"accessible_by":{"type":"user","id":"u1"}}}`, "e1", "collaboration.role", "required"},
	{"collaboration role owner", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"f1"},"accessible_by":{"type":"user","id":"u1"},"role":"owner"}}`, "e1", "collaboration.role", `unknown role "owner"`},
	{"collaboration role case", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"f1"},"accessible_by":{"type":"user","id":"u1"},"role":"Viewer"}}`, "e1", "collaboration.role", "unknown role"},
	{"collaboration role underscore", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"f1"},"accessible_by":{"type":"user","id":"u1"},"role":"viewer_uploader"}}`, "e1", "collaboration.role", "unknown role"},
	{"co-owner on a file", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"file","id":"x1"},"accessible_by":{"type":"user","id":"u1"},"role":"co-owner"}}`, "e1", "collaboration.role", "not allowed on a file"},
	{"uploader on a file", `{"id":"e1","type":"collaboration.updated","collaboration":{"id":"c1","item":{"type":"file","id":"x1"},"accessible_by":{"type":"group","id":"g1"},"role":"uploader"}}`, "e1", "collaboration.role", "not allowed on a file"},
	{"status unknown", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"f1"},"accessible_by":{"type":"user","id":"u1"},"role":"viewer","status":"declined"}}`, "e1", "collaboration.status", `unknown status "declined"`},
	{"expires_at bad", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"f1"},"accessible_by":{"type":"user","id":"u1"},"role":"viewer","expires_at":"tomorrow"}}`, "e1", "collaboration.expires_at", "RFC 3339"},
	{"can_view_path on a file", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"file","id":"x1"},"accessible_by":{"type":"user","id":"u1"},"role":"viewer","can_view_path":true}}`, "e1", "collaboration.can_view_path", "folder collaborations only"},
	{"can_view_path as string", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"f1"},"accessible_by":{"type":"user","id":"u1"},"role":"viewer","can_view_path":"yes"}}`, "e1", "collaboration.can_view_path", "want a JSON boolean"},
	{"collaboration id missing", `{"id":"e1","type":"collaboration.deleted","collaboration":{}}`, "e1", "collaboration.id", "required"},

	// Shared links.
	{"link access unknown", `{"id":"e1","type":"shared_link.created","shared_link":{"item":{"type":"file","id":"x1"},"access":"public"}}`, "e1", "shared_link.access", `unknown access "public"`},
	{"link access missing", `{"id":"e1","type":"shared_link.created","shared_link":{"item":{"type":"file","id":"x1"}}}`, "e1", "shared_link.access", "required"},
	{"link can_edit on a folder", `{"id":"e1","type":"shared_link.updated","shared_link":{"item":{"type":"folder","id":"f1"},"access":"open","permissions":{"can_download":true,"can_edit":true}}}`, "e1", "shared_link.permissions.can_edit", "file's link only"},
	{"link permission unknown", `{"id":"e1","type":"shared_link.created","shared_link":{"item":{"type":"file","id":"x1"},"access":"open","permissions":{"can_preview":true}}}`, "e1", "shared_link.permissions.can_preview", "unknown field"},
	{"link permission as string", `{"id":"e1","type":"shared_link.created","shared_link":{"item":{"type":"file","id":"x1"},"access":"open","permissions":{"can_download":"true"}}}`, "e1", "shared_link.permissions.can_download", "want a JSON boolean"},
	{"link permissions not an object", `{"id":"e1","type":"shared_link.created","shared_link":{"item":{"type":"file","id":"x1"},"access":"open","permissions":[]}}`, "e1", "shared_link.permissions", "want a JSON object, got array"},
	{"link unshared_at bad", `{"id":"e1","type":"shared_link.created","shared_link":{"item":{"type":"file","id":"x1"},"access":"open","unshared_at":"2027-13-01T00:00:00Z"}}`, "e1", "shared_link.unshared_at", "RFC 3339"},
	{"link on the root", `{"id":"e1","type":"shared_link.created","shared_link":{"item":{"type":"folder","id":"0"},"access":"open"}}`, "e1", "shared_link.item.id", "root"},
	{"link item type unknown", `{"id":"e1","type":"shared_link.deleted","shared_link":{"item":{"type":"web_link","id":"w1"}}}`, "e1", "shared_link.item.type", "unknown item type"},
	{"link item missing", `{"id":"e1","type":"shared_link.deleted","shared_link":{}}`, "e1", "shared_link.item", "required"},
	{"link has no id", `{"id":"e1","type":"shared_link.created","shared_link":{"id":"l1","item":{"type":"file","id":"x1"},"access":"open"}}`, "e1", "shared_link.id", "unknown field"},
}

func TestDecodeEventBad(t *testing.T) {
	for _, tc := range badCases {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := DecodeEvent([]byte(tc.json), 7)
			if err == nil {
				t.Fatalf("DecodeEvent accepted it: %+v", ev)
			}
			var ee *Error
			if !errors.As(err, &ee) {
				t.Fatalf("error %v (%T) is not an *Error", err, err)
			}
			if ee.Index != 7 || ee.EventID != tc.id || ee.Field != tc.field {
				t.Errorf("got index %d, id %q, field %q; want 7, %q, %q (error: %v)", ee.Index, ee.EventID, ee.Field, tc.id, tc.field, err)
			}
			if !strings.Contains(ee.Reason, tc.reason) {
				t.Errorf("reason %q does not contain %q", ee.Reason, tc.reason)
			}
			msg := err.Error()
			if tc.field != "" && !strings.Contains(msg, `field "`+tc.field+`"`) {
				t.Errorf("message %q does not name field %q", msg, tc.field)
			}
			if tc.id != "" && !strings.Contains(msg, `event "`+tc.id+`"`) {
				t.Errorf("message %q does not name event %q", msg, tc.id)
			}
			if !reflect.DeepEqual(ev, Event{}) {
				t.Errorf("a bad event came back non-zero: %+v", ev)
			}
		})
	}
}

func TestEventErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		err  Error
		want string
	}{
		{
			Error{Index: 3, EventID: "evt-7", Field: "collaboration.role", Reason: `unknown role "owner"`},
			`event "evt-7" (index 3): field "collaboration.role": unknown role "owner"`,
		},
		{Error{Index: 0, Field: "id", Reason: "required"}, `event at index 0: field "id": required`},
		{Error{Index: 2, EventID: "e", Reason: "unexpected data"}, `event "e" (index 2): unexpected data`},
		{Error{Index: -1, Reason: "want a JSON array"}, `request body: want a JSON array`},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	_, err := DecodeEvent([]byte(`{"id":"evt-7","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"f1"},"accessible_by":{"type":"user","id":"u1"},"role":"owner"}}`), 3)
	want := `event "evt-7" (index 3): field "collaboration.role": unknown role "owner" (one of co-owner, editor, viewer uploader, previewer uploader, viewer, previewer, uploader)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

const (
	evA = `{"id":"a","type":"folder.created","folder":{"id":"f1","parent":"0","owner":"alice"}}`
	evB = `{"id":"b","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"f1"},"accessible_by":{"type":"user","id":"bob"},"role":"editor"}}`
	evC = `{"id":"c","type":"file.created","file":{"id":"x1","parent":"f1","owner":"alice"}}`
	// evBad is bad at field folder.parent.
	evBad = `{"id":"bad","type":"folder.moved","folder":{"id":"f1","parent":"x y","owner":"alice"}}`
)

func TestDecodeEvents(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   string
		ndjson bool
		ids    []string
	}{
		{"array", "[" + evA + "," + evB + ",\n" + evC + "]", false, []string{"a", "b", "c"}},
		{"array with whitespace", " \n[ " + evA + " ]\n ", false, []string{"a"}},
		{"empty array", "[]", false, []string{}},
		{"empty array with space", " [ ] \n", false, []string{}},
		{"duplicates are kept", "[" + evA + "," + evA + "]", false, []string{"a", "a"}},
		{"ndjson", evA + "\n" + evB + "\n" + evC + "\n", true, []string{"a", "b", "c"}},
		{"ndjson no final newline, CRLF, blank lines", "\n" + evA + "\r\n\r\n   \n" + evB + "\r\n\t\n" + evC, true, []string{"a", "b", "c"}},
		{"ndjson empty", "", true, []string{}},
		{"ndjson blank", "\n \r\n\n", true, []string{}},
		{"ndjson duplicates", evC + "\n" + evC, true, []string{"c", "c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := DecodeEvents([]byte(tc.body), tc.ndjson)
			if err != nil {
				t.Fatalf("DecodeEvents: %v", err)
			}
			ids := []string{}
			for _, e := range evs {
				ids = append(ids, e.ID)
			}
			if !reflect.DeepEqual(ids, tc.ids) {
				t.Errorf("ids %q, want %q", ids, tc.ids)
			}
		})
	}
	// The decoded events are what DecodeEvent gives.
	evs, err := DecodeEvents([]byte("["+evA+","+evB+"]"), false)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := DecodeEvent([]byte(evB), 1)
	if !reflect.DeepEqual(evs[1], b) || evs[1].Collaboration.Status != "accepted" || evs[1].Collaboration.Role != schema.RoleEditor {
		t.Errorf("DecodeEvents()[1] = %+v, want %+v", evs[1], b)
	}
}

func TestDecodeEventsBad(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   string
		ndjson bool
		index  int
		id     string
		field  string
		reason string
	}{
		{"bad event in array", "[" + evA + "," + evB + "," + evBad + "," + evC + "]", false, 2, "bad", "folder.parent", "character"},
		{"bad first event", "[" + evBad + "]", false, 0, "bad", "folder.parent", "character"},
		{"bad event in ndjson after blank lines", "\n" + evA + "\n\n\n" + evBad + "\n" + evC, true, 1, "bad", "folder.parent", "character"},
		{"ndjson two events on a line", evA + "\n" + evB + " " + evC, true, 1, "b", "", "after the event"},
		{"ndjson array line", evA + "\n[" + evB + "]", true, 1, "", "", "got array"},
		{"ndjson broken line", evA + "\n" + evB[:20], true, 1, "", "", "invalid JSON"},
		{"array element not an object", "[" + evA + ", 5]", false, 1, "", "", "got number"},
		{"array element broken", "[" + evA + ", {\"id\": }]", false, 1, "", "", "invalid JSON"},
		{"array missing comma", "[" + evA + " " + evB + "]", false, 1, "", "", "invalid JSON"},
		{"array trailing comma", "[" + evA + ",]", false, 1, "", "", "invalid JSON"},
		{"array not closed", "[" + evA, false, -1, "", "", "invalid JSON"},
		{"array not closed after comma", "[" + evA + ",", false, 1, "", "", "invalid JSON"},
		{"data after the array", "[" + evA + "] []", false, -1, "", "", "after the array"},
		{"garbage after the array", "[" + evA + "] x", false, -1, "", "", "after the array"},
		{"not an array", evA, false, -1, "", "", "want a JSON array of events, got an object"},
		{"null body", "null", false, -1, "", "", "got null"},
		{"empty body", "", false, -1, "", "", "empty body"},
		{"not JSON", "hello", false, -1, "", "", "invalid JSON"},
		{"closing bracket", "]", false, -1, "", "", "invalid JSON"},
		{"duplicate key in the second event", "[" + evA + `,{"id":"d","type":"file.deleted","type":"folder.deleted","file":{"id":"x1"}}]`, false, 1, "", "type", "appears twice"},
		{"duplicate key in ndjson", evA + "\n" + evB + "\n" + `{"id":"d","type":"folder.created","folder":{"id":"f9","parent":"0","owner":"alice","owner":"bob"}}`, true, 2, "d", "folder.owner", "appears twice"},
		{"invalid UTF-8 id in the second event", "[" + evA + ",{\"id\":\"\xfe\",\"type\":\"file.deleted\",\"file\":{\"id\":\"x1\"}}]", false, 1, "", "id", "UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := DecodeEvents([]byte(tc.body), tc.ndjson)
			if err == nil {
				t.Fatalf("DecodeEvents accepted it: %d events", len(evs))
			}
			if evs != nil {
				t.Errorf("events returned with an error: %v", evs)
			}
			var ee *Error
			if !errors.As(err, &ee) {
				t.Fatalf("error %v (%T) is not an *Error", err, err)
			}
			if ee.Index != tc.index || ee.EventID != tc.id || ee.Field != tc.field {
				t.Errorf("got index %d, id %q, field %q; want %d, %q, %q (error: %v)", ee.Index, ee.EventID, ee.Field, tc.index, tc.id, tc.field, err)
			}
			if !strings.Contains(ee.Reason, tc.reason) {
				t.Errorf("reason %q does not contain %q", ee.Reason, tc.reason)
			}
		})
	}
}

// TestValidateBuiltEvents checks validate on events built in Go, which
// the JSON decoder cannot produce.
func TestValidateBuiltEvents(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ev    Event
		field string
	}{
		{"no payload", Event{ID: "e", Type: FileDeleted}, "file"},
		{"wrong payload", Event{ID: "e", Type: FileDeleted, File: &File{ID: "x"}, Folder: &Folder{ID: "f"}}, "folder"},
		{"state on a trash event", Event{ID: "e", Type: FolderTrashed, Folder: &Folder{ID: "f", CanNonOwnersInvite: true}}, "folder"},
		{"user role empty", Event{ID: "e", Type: UserCreated, User: &User{ID: "u"}}, "user.role"},
		{"status empty", Event{ID: "e", Type: CollaborationCreated, Collaboration: &Collaboration{ID: "c", Item: schema.ItemRef{Type: "folder", ID: "f"}, AccessibleBy: SubjectRef{"user", "u"}, Role: schema.RoleViewer}}, "collaboration.status"},
		{"unknown type", Event{ID: "e", Type: "file.copied", File: &File{ID: "x"}}, "type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validate(&tc.ev)
			if err == nil || err.Field != tc.field {
				t.Errorf("validate = %v, want an error on field %q", err, tc.field)
			}
		})
	}
}
