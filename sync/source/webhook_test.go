package source_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/internal/testkit/fixture"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/event"
	"github.com/boxauthz/boxauthz/sync/source"
)

func TestVerifyWebhook(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"type":"webhook_event","id":"w1"}`)
	keys := source.WebhookKeys{Primary: "p-key", Secondary: "s-key"}
	ts := now.Add(-time.Minute).Format(time.RFC3339)
	hdr := func(ts, prim, sec string) http.Header {
		h := http.Header{}
		h.Set("BOX-DELIVERY-TIMESTAMP", ts)
		h.Set("BOX-SIGNATURE-VERSION", "1")
		h.Set("BOX-SIGNATURE-ALGORITHM", "HmacSHA256")
		if prim != "" {
			h.Set("BOX-SIGNATURE-PRIMARY", prim)
		}
		if sec != "" {
			h.Set("BOX-SIGNATURE-SECONDARY", sec)
		}
		return h
	}
	tests := []struct {
		name string
		h    http.Header
		body []byte
		keys source.WebhookKeys
		ok   bool
	}{
		{"primary", hdr(ts, source.SignWebhook("p-key", body, ts), ""), body, keys, true},
		{"secondary only", hdr(ts, "garbage", source.SignWebhook("s-key", body, ts)), body, keys, true},
		{"secondary key in the primary header", hdr(ts, source.SignWebhook("s-key", body, ts), ""), body, keys, false},
		{"rotated: only secondary configured", hdr(ts, source.SignWebhook("p-key", body, ts), source.SignWebhook("s-key", body, ts)), body, source.WebhookKeys{Secondary: "s-key"}, true},
		{"tampered body", hdr(ts, source.SignWebhook("p-key", body, ts), ""), []byte(`{"type":"webhook_event","id":"w2"}`), keys, false},
		{"timestamp not signed as sent", hdr(now.Format(time.RFC3339), source.SignWebhook("p-key", body, ts), ""), body, keys, false},
		{"older than 10 minutes", hdr(now.Add(-11*time.Minute).Format(time.RFC3339), source.SignWebhook("p-key", body, now.Add(-11*time.Minute).Format(time.RFC3339)), ""), body, keys, false},
		{"in the future", hdr(now.Add(5*time.Minute).Format(time.RFC3339), source.SignWebhook("p-key", body, now.Add(5*time.Minute).Format(time.RFC3339)), ""), body, keys, false},
		{"no signature", hdr(ts, "", ""), body, keys, false},
	}
	for _, tt := range tests {
		err := source.VerifyWebhook(tt.h, tt.body, tt.keys, now)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestTranslateWebhook(t *testing.T) {
	tests := []struct {
		body    string
		typ     event.Type
		check   func(event.Event) bool
		ignored bool
		bad     bool
	}{
		{
			body: `{"type":"webhook_event","id":"w1","trigger":"FOLDER.CREATED","source":{"type":"folder","id":"11","parent":{"type":"folder","id":"0"},"owned_by":{"type":"user","id":"u1"},"can_non_owners_invite":false}}`,
			typ:  event.FolderCreated, check: func(e event.Event) bool {
				return e.Folder.Parent == "0" && e.Folder.Owner == "u1" && !e.Folder.CanNonOwnersInvite && e.ID == "w1"
			},
		},
		{
			body: `{"type":"webhook_event","id":"w2","trigger":"FILE.UPLOADED","source":{"type":"file","id":"22","parent":{"type":"folder","id":"11"},"owned_by":{"type":"user","id":"u1"}}}`,
			typ:  event.FileCreated, check: func(e event.Event) bool { return e.File.Parent == "11" },
		},
		{
			body: `{"type":"webhook_event","id":"w3","trigger":"FILE.MOVED","source":{"type":"file","id":"22","parent":{"type":"folder","id":"12"},"owned_by":{"type":"user","id":"u1"}}}`,
			typ:  event.FileMoved,
		},
		{body: `{"type":"webhook_event","id":"w4","trigger":"FOLDER.TRASHED","source":{"type":"folder","id":"11"}}`, typ: event.FolderTrashed},
		{
			body: `{"type":"webhook_event","id":"w5","trigger":"COLLABORATION.CREATED","source":{"type":"collaboration","id":"c1","item":{"type":"folder","id":"11"},"accessible_by":{"type":"group","id":"g1"},"role":"viewer uploader","status":"pending"}}`,
			typ:  event.CollaborationCreated, check: func(e event.Event) bool {
				return e.Collaboration.Role == schema.RoleViewerUploader && e.Collaboration.Status == "pending" && e.Collaboration.AccessibleBy.Type == "group"
			},
		},
		{
			body: `{"type":"webhook_event","id":"w6","trigger":"COLLABORATION.ACCEPTED","source":{"type":"collaboration","id":"c1","item":{"type":"folder","id":"11"},"accessible_by":{"type":"user","id":"u2"},"role":"editor","status":"pending","expires_at":null}}`,
			typ:  event.CollaborationUpdated, check: func(e event.Event) bool { return e.Collaboration.Status == "accepted" },
		},
		{body: `{"type":"webhook_event","id":"w7","trigger":"COLLABORATION.REMOVED","source":{"type":"collaboration","id":"c1"}}`, typ: event.CollaborationDeleted},
		{
			body: `{"type":"webhook_event","id":"w8","trigger":"SHARED_LINK.CREATED","source":{"type":"file","id":"22","shared_link":{"access":"company","permissions":{"can_download":true,"can_edit":true}}}}`,
			typ:  event.SharedLinkCreated, check: func(e event.Event) bool { return e.SharedLink.CanEdit && e.SharedLink.Access == "company" },
		},
		{body: `{"type":"webhook_event","id":"w9","trigger":"SHARED_LINK.DELETED","source":{"type":"folder","id":"11"}}`, typ: event.SharedLinkDeleted},
		{body: `{"type":"webhook_event","id":"w10","trigger":"FILE.PREVIEWED","source":{"type":"file","id":"22"}}`, ignored: true},
		{body: `{"type":"webhook_event","id":"w11","trigger":"COLLABORATION.CREATED","source":{"type":"collaboration","id":"c2","item":{"type":"file","id":"22"},"accessible_by":{"type":"user","id":"u2"},"role":"co-owner"}}`, bad: true},
		{body: `{"type":"not_a_webhook"}`, bad: true},
	}
	for _, tt := range tests {
		evs, err := source.TranslateWebhook([]byte(tt.body))
		switch {
		case tt.ignored:
			if !errors.Is(err, source.ErrIgnoredTrigger) {
				t.Errorf("%s: err = %v, want ignored", tt.body, err)
			}
		case tt.bad:
			if err == nil || errors.Is(err, source.ErrIgnoredTrigger) {
				t.Errorf("%s: err = %v, want a translation error", tt.body, err)
			}
		default:
			if err != nil || len(evs) == 0 || evs[0].Type != tt.typ || (tt.check != nil && !tt.check(evs[0])) {
				t.Errorf("%s: %+v %v; want %s", tt.body, evs, err, tt.typ)
			}
		}
	}
}

// deliver translates a webhook body and applies what it implies, as
// POST /webhooks/box does.
func deliver(t *testing.T, a *sync.Applier, body string) (sync.Result, error) {
	t.Helper()
	evs, err := source.TranslateWebhook([]byte(body))
	if err != nil {
		return sync.Result{}, err
	}
	return a.Apply(context.Background(), evs)
}

// launchTree is alice's projects folder with launch inside, where only
// owners may invite and collaborations are restricted to the enterprise;
// bob edits launch.
var launchTree = []string{
	`{"id":"t1","type":"user.created","user":{"id":"alice","enterprise":"acme"}}`,
	`{"id":"t2","type":"user.created","user":{"id":"bob","enterprise":"acme"}}`,
	`{"id":"t3","type":"folder.created","folder":{"id":"projects","parent":"0","owner":"alice"}}`,
	`{"id":"t4","type":"folder.created","folder":{"id":"archive","parent":"0","owner":"alice"}}`,
	`{"id":"t5","type":"folder.created","folder":{"id":"launch","parent":"projects","owner":"alice","can_non_owners_invite":false,"is_collaboration_restricted_to_enterprise":true}}`,
	`{"id":"t6","type":"collaboration.created","collaboration":{"id":"k1","item":{"type":"folder","id":"launch"},"accessible_by":{"type":"user","id":"bob"},"role":"editor"}}`,
}

// TestWebhookLeavesUnstatedFieldsAlone: Box's webhook payloads carry the
// standard representation of a folder, without can_non_owners_invite or
// is_collaboration_restricted_to_enterprise, and a folder reached through
// a collaboration has a null parent. What a payload does not state must
// stay as it is, never fall back to a default.
func TestWebhookLeavesUnstatedFieldsAlone(t *testing.T) {
	ctx := context.Background()
	c := testenv.SpiceDB(t, testenv.Memory)
	a := sync.NewApplier(c)
	ch, err := checker.New(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Apply(ctx, fixture.Decode(t, launchTree...)); err != nil {
		t.Fatal(err)
	}
	bobInvites := func() bool {
		t.Helper()
		ans, err := ch.Check(ctx, checker.Question{User: "bob", Action: schema.ActionInvite, Item: schema.ItemRef{Type: "folder", ID: "launch"}}, checker.Consistency{})
		if err != nil {
			t.Fatal(err)
		}
		return ans.Allowed
	}
	state := func() string {
		t.Helper()
		var out []string
		for _, r := range fixture.Export(t, c) {
			if strings.HasPrefix(r, "folder:launch#") {
				out = append(out, r)
			}
		}
		return strings.Join(out, " ")
	}
	if bobInvites() {
		t.Fatal("setup: bob may invite on launch")
	}
	initial := state()
	for _, want := range []string{"folder:launch#parent@folder:projects", "folder:launch#non_owners_invite_off@user:*", "folder:launch#collaboration_restricted@user:*", "folder:launch#owner@user:alice"} {
		if !strings.Contains(initial, want) {
			t.Fatalf("setup: no %s in %s", want, initial)
		}
	}

	// Renames, in the shapes Box sends them: nothing they leave out changes.
	for _, body := range []string{
		`{"type":"webhook_event","id":"r1","trigger":"FOLDER.RENAMED","source":{"type":"folder","id":"launch","name":"Launch 2","parent":{"type":"folder","id":"projects"},"owned_by":{"type":"user","id":"alice"},"shared_link":null}}`,
		`{"type":"webhook_event","id":"r2","trigger":"FOLDER.RENAMED","source":{"type":"folder","id":"launch","name":"Launch 3","parent":null,"owned_by":{"type":"user","id":"alice"}}}`,
		`{"type":"webhook_event","id":"r3","trigger":"FOLDER.RENAMED","source":{"type":"folder","id":"launch","name":"Launch 4"}}`,
	} {
		if res, err := deliver(t, a, body); err != nil || res.Applied == 0 {
			t.Fatalf("%s: %+v %v", body, res, err)
		}
		if bobInvites() {
			t.Errorf("%s: bob may invite on launch now", body)
		}
		if got := state(); got != initial {
			t.Errorf("%s: launch changed:\n%s\nwant\n%s", body, got, initial)
		}
	}

	// A move states the new parent, and only that changes.
	if _, err := deliver(t, a, `{"type":"webhook_event","id":"m1","trigger":"FOLDER.MOVED","source":{"type":"folder","id":"launch","parent":{"type":"folder","id":"archive"},"owned_by":{"type":"user","id":"alice"}}}`); err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(initial, "folder:launch#parent@folder:projects", "folder:launch#parent@folder:archive", 1); state() != want {
		t.Errorf("after the move: %s\nwant %s", state(), want)
	}
	if bobInvites() {
		t.Error("after the move: bob may invite on launch")
	}

	// What a payload states applies.
	if _, err := deliver(t, a, `{"type":"webhook_event","id":"s1","trigger":"FOLDER.RENAMED","source":{"type":"folder","id":"launch","parent":{"type":"folder","id":"archive"},"owned_by":{"type":"user","id":"alice"},"can_non_owners_invite":true}}`); err != nil {
		t.Fatal(err)
	}
	if !bobInvites() {
		t.Error("a webhook stating can_non_owners_invite true left bob unable to invite")
	}
	if got := state(); !strings.Contains(got, "collaboration_restricted") {
		t.Errorf("the restriction went with a webhook that did not state it: %s", got)
	}

	// A new folder takes docs/events.md's defaults for settings it does not state.
	if _, err := deliver(t, a, `{"type":"webhook_event","id":"n1","trigger":"FOLDER.CREATED","source":{"type":"folder","id":"fresh","parent":{"type":"folder","id":"0"},"owned_by":{"type":"user","id":"alice"}}}`); err != nil {
		t.Fatal(err)
	}
	for _, r := range fixture.Export(t, c) {
		if strings.HasPrefix(r, "folder:fresh#non_owners_invite_off") || strings.HasPrefix(r, "folder:fresh#collaboration_restricted") {
			t.Errorf("new folder has %s", r)
		}
	}

	// A rename of a folder boxauthz does not know cannot keep a parent it
	// never had: the event is refused, naming the field.
	_, err = deliver(t, a, `{"type":"webhook_event","id":"u1","trigger":"FOLDER.RENAMED","source":{"type":"folder","id":"unknown","parent":null,"owned_by":{"type":"user","id":"alice"}}}`)
	var ee *event.Error
	if !errors.As(err, &ee) || ee.Field != "folder.parent" {
		t.Errorf("rename of an unknown folder without a parent: %v, want an event error on folder.parent", err)
	}
}

// TestWebhookRefusesMissingFields: a field the translated event would set,
// and which the payload does not state, where keeping the current value is
// not what the trigger means, refuses the webhook (it is set aside),
// naming the field.
func TestWebhookRefusesMissingFields(t *testing.T) {
	tests := []struct{ name, body, field string }{
		{"move without its destination", `{"type":"webhook_event","id":"w1","trigger":"FOLDER.MOVED","source":{"type":"folder","id":"launch","owned_by":{"type":"user","id":"alice"}}}`, "parent"},
		{"move to a null parent", `{"type":"webhook_event","id":"w1","trigger":"FILE.MOVED","source":{"type":"file","id":"x","parent":null,"owned_by":{"type":"user","id":"alice"}}}`, "parent"},
		{"created without a parent", `{"type":"webhook_event","id":"w1","trigger":"FOLDER.CREATED","source":{"type":"folder","id":"n","owned_by":{"type":"user","id":"alice"}}}`, "parent"},
		{"uploaded without an owner", `{"type":"webhook_event","id":"w1","trigger":"FILE.UPLOADED","source":{"type":"file","id":"n","parent":{"type":"folder","id":"0"}}}`, "owned_by"},
		{"collaboration update without status", `{"type":"webhook_event","id":"w1","trigger":"COLLABORATION.UPDATED","source":{"type":"collaboration","id":"k1","item":{"type":"folder","id":"launch"},"accessible_by":{"type":"user","id":"bob"},"role":"viewer","expires_at":null}}`, "status"},
		{"collaboration update without expires_at", `{"type":"webhook_event","id":"w1","trigger":"COLLABORATION.UPDATED","source":{"type":"collaboration","id":"k1","item":{"type":"folder","id":"launch"},"accessible_by":{"type":"user","id":"bob"},"role":"viewer","status":"pending"}}`, "expires_at"},
		{"collaboration accepted without expires_at", `{"type":"webhook_event","id":"w1","trigger":"COLLABORATION.ACCEPTED","source":{"type":"collaboration","id":"k1","item":{"type":"folder","id":"launch"},"accessible_by":{"type":"user","id":"bob"},"role":"viewer","status":"accepted"}}`, "expires_at"},
		{"collaboration without role", `{"type":"webhook_event","id":"w1","trigger":"COLLABORATION.UPDATED","source":{"type":"collaboration","id":"k1","item":{"type":"folder","id":"launch"},"accessible_by":{"type":"user","id":"bob"},"status":"accepted","expires_at":null}}`, "role"},
		{"link update without the link", `{"type":"webhook_event","id":"w1","trigger":"SHARED_LINK.UPDATED","source":{"type":"file","id":"x"}}`, "shared_link"},
		{"link update without access", `{"type":"webhook_event","id":"w1","trigger":"SHARED_LINK.UPDATED","source":{"type":"file","id":"x","shared_link":{"permissions":{"can_download":true,"can_edit":false},"unshared_at":null}}}`, "access"},
		{"link update without permissions", `{"type":"webhook_event","id":"w1","trigger":"SHARED_LINK.UPDATED","source":{"type":"file","id":"x","shared_link":{"access":"open","unshared_at":null}}}`, "permissions"},
		{"file link update without can_edit", `{"type":"webhook_event","id":"w1","trigger":"SHARED_LINK.UPDATED","source":{"type":"file","id":"x","shared_link":{"access":"open","permissions":{"can_download":true},"unshared_at":null}}}`, "can_edit"},
		{"link update without unshared_at", `{"type":"webhook_event","id":"w1","trigger":"SHARED_LINK.UPDATED","source":{"type":"folder","id":"f","shared_link":{"access":"open","permissions":{"can_download":true}}}}`, "unshared_at"},
		{"duplicate key", `{"type":"webhook_event","id":"w1","trigger":"FOLDER.TRASHED","source":{"type":"folder","id":"launch","id":"other"}}`, "source.id"},
		{"invalid UTF-8 id", "{\"type\":\"webhook_event\",\"id\":\"w\xff\",\"trigger\":\"FOLDER.TRASHED\",\"source\":{\"type\":\"folder\",\"id\":\"launch\"}}", "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := source.TranslateWebhook([]byte(tt.body))
			if err == nil || errors.Is(err, source.ErrIgnoredTrigger) {
				t.Fatalf("translated to %+v, %v; want it refused", evs, err)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name %q", err, tt.field)
			}
		})
	}
	// Box's real shapes still translate: a collaboration with its status
	// and a null expiry, a link with its permissions and a null unshared_at,
	// a link removed by an update that says there is none.
	for _, body := range []string{
		`{"type":"webhook_event","id":"w2","trigger":"COLLABORATION.UPDATED","source":{"type":"collaboration","id":"k1","item":{"type":"folder","id":"launch"},"accessible_by":{"type":"user","id":"bob"},"role":"viewer","status":"accepted","expires_at":null,"created_by":{"type":"user","id":"alice"}}}`,
		`{"type":"webhook_event","id":"w3","trigger":"SHARED_LINK.UPDATED","source":{"type":"file","id":"x","shared_link":{"url":"https://app.box.com/s/abc","access":"company","permissions":{"can_download":false,"can_preview":true,"can_edit":false},"unshared_at":null}}}`,
		`{"type":"webhook_event","id":"w4","trigger":"SHARED_LINK.UPDATED","source":{"type":"folder","id":"f","shared_link":null}}`,
	} {
		if _, err := source.TranslateWebhook([]byte(body)); err != nil {
			t.Errorf("%s: %v", body, err)
		}
	}
}

// TestWebhookIDsDoNotCollideWithEventIDs: a webhook's id and the id a
// caller gives an event of its own are different things, even when the
// text is the same; each applies once.
func TestWebhookIDsDoNotCollideWithEventIDs(t *testing.T) {
	ctx := context.Background()
	c := testenv.SpiceDB(t, testenv.Memory)
	a := sync.NewApplier(c)
	if _, err := a.Apply(ctx, fixture.Decode(t, launchTree...)); err != nil {
		t.Fatal(err)
	}
	// The caller's own event first, then a webhook with the same id.
	if res, err := a.Apply(ctx, fixture.Decode(t, `{"id":"wh-7","type":"folder.created","folder":{"id":"from-http","parent":"0","owner":"alice"}}`)); err != nil || res.Applied != 1 {
		t.Fatalf("event: %+v %v", res, err)
	}
	hook := `{"type":"webhook_event","id":"wh-7","trigger":"FOLDER.CREATED","source":{"type":"folder","id":"from-box","parent":{"type":"folder","id":"0"},"owned_by":{"type":"user","id":"alice"}}}`
	if res, err := deliver(t, a, hook); err != nil || res.Applied != 1 || res.Duplicates != 0 {
		t.Fatalf("webhook after an event with its id: %+v %v; want it applied", res, err)
	}
	// A webhook first, then an event with its id; the restore's companion
	// move too.
	restore := `{"type":"webhook_event","id":"wh-8","trigger":"FOLDER.RESTORED","source":{"type":"folder","id":"launch","parent":{"type":"folder","id":"projects"},"owned_by":{"type":"user","id":"alice"}}}`
	if res, err := deliver(t, a, restore); err != nil || res.Applied != 2 {
		t.Fatalf("restore webhook: %+v %v", res, err)
	}
	if res, err := a.Apply(ctx, fixture.Decode(t,
		`{"id":"wh-8","type":"folder.created","folder":{"id":"from-http-2","parent":"0","owner":"alice"}}`,
		`{"id":"wh-8/moved","type":"folder.created","folder":{"id":"from-http-3","parent":"0","owner":"alice"}}`)); err != nil || res.Applied != 2 {
		t.Fatalf("events after a webhook with their ids: %+v %v; want both applied", res, err)
	}
	all := strings.Join(fixture.Export(t, c), "\n")
	for _, f := range []string{"from-http", "from-box", "from-http-2", "from-http-3"} {
		if !strings.Contains(all, "folder:"+f+"#owner@user:alice") {
			t.Errorf("folder %s missing", f)
		}
	}
	// Each is still a duplicate of itself.
	if res, err := deliver(t, a, hook); err != nil || res.Applied != 0 || res.Duplicates != 1 {
		t.Errorf("redelivered webhook: %+v %v; want a duplicate", res, err)
	}
	if res, err := a.Apply(ctx, fixture.Decode(t, `{"id":"wh-7","type":"folder.created","folder":{"id":"from-http","parent":"0","owner":"alice"}}`)); err != nil || res.Duplicates != 1 {
		t.Errorf("repeated event: %+v %v; want a duplicate", res, err)
	}
}

// TestDeleteEventsCarryingLastState: a delete that carries the object's
// last state (a Box webhook's or a change-data-capture tool's) is applied.
func TestDeleteEventsCarryingLastState(t *testing.T) {
	ctx := context.Background()
	c := testenv.SpiceDB(t, testenv.Memory)
	a := sync.NewApplier(c)
	if _, err := a.Apply(ctx, fixture.Decode(t, launchTree...)); err != nil {
		t.Fatal(err)
	}
	res, err := a.Apply(ctx, fixture.Decode(t,
		`{"id":"d1","type":"collaboration.deleted","collaboration":{"id":"k1","item":{"type":"folder","id":"launch"},"accessible_by":{"type":"user","id":"bob"},"role":"editor","status":"accepted","expires_at":null}}`,
		`{"id":"d2","type":"folder.deleted","folder":{"id":"archive","parent":"0","owner":"alice","can_non_owners_invite":true}}`))
	if err != nil || res.Applied != 2 {
		t.Fatalf("apply: %+v %v", res, err)
	}
	for _, r := range fixture.Export(t, c) {
		if strings.HasPrefix(r, "collaboration:k1#") || strings.Contains(r, "@user:bob") && strings.HasPrefix(r, "folder:launch#") || strings.HasPrefix(r, "folder:archive#") {
			t.Errorf("left behind: %s", r)
		}
	}
}
