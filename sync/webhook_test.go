package sync_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/sync"
)

func TestVerifyWebhook(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"type":"webhook_event","id":"w1"}`)
	keys := sync.WebhookKeys{Primary: "p-key", Secondary: "s-key"}
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
		keys sync.WebhookKeys
		ok   bool
	}{
		{"primary", hdr(ts, sync.SignWebhook("p-key", body, ts), ""), body, keys, true},
		{"secondary only", hdr(ts, "garbage", sync.SignWebhook("s-key", body, ts)), body, keys, true},
		{"secondary key in the primary header", hdr(ts, sync.SignWebhook("s-key", body, ts), ""), body, keys, false},
		{"rotated: only secondary configured", hdr(ts, sync.SignWebhook("p-key", body, ts), sync.SignWebhook("s-key", body, ts)), body, sync.WebhookKeys{Secondary: "s-key"}, true},
		{"tampered body", hdr(ts, sync.SignWebhook("p-key", body, ts), ""), []byte(`{"type":"webhook_event","id":"w2"}`), keys, false},
		{"timestamp not signed as sent", hdr(now.Format(time.RFC3339), sync.SignWebhook("p-key", body, ts), ""), body, keys, false},
		{"older than 10 minutes", hdr(now.Add(-11*time.Minute).Format(time.RFC3339), sync.SignWebhook("p-key", body, now.Add(-11*time.Minute).Format(time.RFC3339)), ""), body, keys, false},
		{"in the future", hdr(now.Add(5*time.Minute).Format(time.RFC3339), sync.SignWebhook("p-key", body, now.Add(5*time.Minute).Format(time.RFC3339)), ""), body, keys, false},
		{"no signature", hdr(ts, "", ""), body, keys, false},
	}
	for _, tt := range tests {
		err := sync.VerifyWebhook(tt.h, tt.body, tt.keys, now)
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestTranslateWebhook(t *testing.T) {
	tests := []struct {
		body    string
		typ     sync.EventType
		check   func(sync.Event) bool
		ignored bool
		bad     bool
	}{
		{body: `{"type":"webhook_event","id":"w1","trigger":"FOLDER.CREATED","source":{"type":"folder","id":"11","parent":{"type":"folder","id":"0"},"owned_by":{"type":"user","id":"u1"},"can_non_owners_invite":false}}`,
			typ: sync.FolderCreated, check: func(e sync.Event) bool {
				return e.Folder.Parent == "0" && e.Folder.Owner == "u1" && !e.Folder.CanNonOwnersInvite && e.ID == "w1"
			}},
		{body: `{"type":"webhook_event","id":"w2","trigger":"FILE.UPLOADED","source":{"type":"file","id":"22","parent":{"type":"folder","id":"11"},"owned_by":{"type":"user","id":"u1"}}}`,
			typ: sync.FileCreated, check: func(e sync.Event) bool { return e.File.Parent == "11" }},
		{body: `{"type":"webhook_event","id":"w3","trigger":"FILE.MOVED","source":{"type":"file","id":"22","parent":{"type":"folder","id":"12"},"owned_by":{"type":"user","id":"u1"}}}`,
			typ: sync.FileMoved},
		{body: `{"type":"webhook_event","id":"w4","trigger":"FOLDER.TRASHED","source":{"type":"folder","id":"11"}}`, typ: sync.FolderTrashed},
		{body: `{"type":"webhook_event","id":"w5","trigger":"COLLABORATION.CREATED","source":{"type":"collaboration","id":"c1","item":{"type":"folder","id":"11"},"accessible_by":{"type":"group","id":"g1"},"role":"viewer uploader","status":"pending"}}`,
			typ: sync.CollaborationCreated, check: func(e sync.Event) bool {
				return e.Collaboration.Role == schema.RoleViewerUploader && e.Collaboration.Status == "pending" && e.Collaboration.AccessibleBy.Type == "group"
			}},
		{body: `{"type":"webhook_event","id":"w6","trigger":"COLLABORATION.ACCEPTED","source":{"type":"collaboration","id":"c1","item":{"type":"folder","id":"11"},"accessible_by":{"type":"user","id":"u2"},"role":"editor","status":"pending"}}`,
			typ: sync.CollaborationUpdated, check: func(e sync.Event) bool { return e.Collaboration.Status == "accepted" }},
		{body: `{"type":"webhook_event","id":"w7","trigger":"COLLABORATION.REMOVED","source":{"type":"collaboration","id":"c1"}}`, typ: sync.CollaborationDeleted},
		{body: `{"type":"webhook_event","id":"w8","trigger":"SHARED_LINK.CREATED","source":{"type":"file","id":"22","shared_link":{"access":"company","permissions":{"can_download":true,"can_edit":true}}}}`,
			typ: sync.SharedLinkCreated, check: func(e sync.Event) bool { return e.SharedLink.CanEdit && e.SharedLink.Access == "company" }},
		{body: `{"type":"webhook_event","id":"w9","trigger":"SHARED_LINK.DELETED","source":{"type":"folder","id":"11"}}`, typ: sync.SharedLinkDeleted},
		{body: `{"type":"webhook_event","id":"w10","trigger":"FILE.PREVIEWED","source":{"type":"file","id":"22"}}`, ignored: true},
		{body: `{"type":"webhook_event","id":"w11","trigger":"COLLABORATION.CREATED","source":{"type":"collaboration","id":"c2","item":{"type":"file","id":"22"},"accessible_by":{"type":"user","id":"u2"},"role":"co-owner"}}`, bad: true},
		{body: `{"type":"not_a_webhook"}`, bad: true},
	}
	for _, tt := range tests {
		evs, err := sync.TranslateWebhook([]byte(tt.body))
		switch {
		case tt.ignored:
			if !errors.Is(err, sync.ErrIgnoredTrigger) {
				t.Errorf("%s: err = %v, want ignored", tt.body, err)
			}
		case tt.bad:
			if err == nil || errors.Is(err, sync.ErrIgnoredTrigger) {
				t.Errorf("%s: err = %v, want a translation error", tt.body, err)
			}
		default:
			if err != nil || len(evs) == 0 || evs[0].Type != tt.typ || (tt.check != nil && !tt.check(evs[0])) {
				t.Errorf("%s: %+v %v; want %s", tt.body, evs, err, tt.typ)
			}
		}
	}
}
