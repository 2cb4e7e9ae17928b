package sync

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// WebhookKeys are a Box application's two webhook signature keys; either may
// be empty while it is rotated.
type WebhookKeys struct {
	Primary, Secondary string
}

// MaxWebhookAge is how old a delivery's timestamp may be (Box: 10 minutes).
const MaxWebhookAge = 10 * time.Minute

// ErrWebhookSignature is returned for a delivery that is not Box's.
var ErrWebhookSignature = errors.New("webhook signature does not verify")

// VerifyWebhook checks a Box webhook v2 delivery: the signature is
// Base64(HMAC-SHA256(key, body bytes then BOX-DELIVERY-TIMESTAMP bytes)) with
// the primary key in BOX-SIGNATURE-PRIMARY or the secondary key in
// BOX-SIGNATURE-SECONDARY, compared in constant time; the timestamp may be
// neither older than MaxWebhookAge nor in the future.
func VerifyWebhook(h http.Header, body []byte, keys WebhookKeys, now time.Time) error {
	if err := CheckWebhookHeaders(h, keys, now); err != nil {
		return err
	}
	ts := h.Get("BOX-DELIVERY-TIMESTAMP")
	ok := false
	for _, p := range []struct{ key, header string }{{keys.Primary, "BOX-SIGNATURE-PRIMARY"}, {keys.Secondary, "BOX-SIGNATURE-SECONDARY"}} {
		got := h.Get(p.header)
		if p.key == "" || got == "" {
			continue
		}
		mac := hmac.New(sha256.New, []byte(p.key))
		mac.Write(body)
		mac.Write([]byte(ts))
		want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
		if hmac.Equal([]byte(got), []byte(want)) {
			ok = true
		}
	}
	if !ok {
		return ErrWebhookSignature
	}
	return nil
}

// CheckWebhookHeaders is the part of VerifyWebhook that needs no body:
// keys configured, a signature present, version, algorithm and a fresh
// delivery timestamp. A server runs it before reading a body, so that
// unsigned or stale deliveries cost it no more than their headers.
func CheckWebhookHeaders(h http.Header, keys WebhookKeys, now time.Time) error {
	if keys.Primary == "" && keys.Secondary == "" {
		return errors.New("no webhook signature keys configured")
	}
	if h.Get("BOX-SIGNATURE-PRIMARY") == "" && h.Get("BOX-SIGNATURE-SECONDARY") == "" {
		return fmt.Errorf("%w: no BOX-SIGNATURE-PRIMARY or BOX-SIGNATURE-SECONDARY header", ErrWebhookSignature)
	}
	if v := h.Get("BOX-SIGNATURE-VERSION"); v != "" && v != "1" {
		return fmt.Errorf("%w: BOX-SIGNATURE-VERSION %q (want 1)", ErrWebhookSignature, v)
	}
	if a := h.Get("BOX-SIGNATURE-ALGORITHM"); a != "" && a != "HmacSHA256" {
		return fmt.Errorf("%w: BOX-SIGNATURE-ALGORITHM %q (want HmacSHA256)", ErrWebhookSignature, a)
	}
	ts := h.Get("BOX-DELIVERY-TIMESTAMP")
	at, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return fmt.Errorf("%w: BOX-DELIVERY-TIMESTAMP %q is not RFC 3339", ErrWebhookSignature, ts)
	}
	if now.Sub(at) > MaxWebhookAge {
		return fmt.Errorf("%w: delivery timestamp %s is older than %s", ErrWebhookSignature, ts, MaxWebhookAge)
	}
	// A little slack for clock skew: Box's SDKs refuse the future too.
	if at.Sub(now) > time.Minute {
		return fmt.Errorf("%w: delivery timestamp %s is in the future", ErrWebhookSignature, ts)
	}
	return nil
}

// SignWebhook computes the signature Box would send (tests, tools).
func SignWebhook(key string, body []byte, timestamp string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	mac.Write([]byte(timestamp))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// boxRef is Box's {type, id} mini object.
type boxRef struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

type boxSharedLink struct {
	Access      string `json:"access"`
	UnsharedAt  string `json:"unshared_at"`
	Permissions *struct {
		CanDownload bool `json:"can_download"`
		CanEdit     bool `json:"can_edit"`
	} `json:"permissions"`
}

// boxSource is the part of a webhook's source object boxauthz reads: a file,
// a folder or a collaboration.
type boxSource struct {
	Type                                  string         `json:"type"`
	ID                                    string         `json:"id"`
	Parent                                *boxRef        `json:"parent"`
	OwnedBy                               *boxRef        `json:"owned_by"`
	SharedLink                            *boxSharedLink `json:"shared_link"`
	CanNonOwnersInvite                    *bool          `json:"can_non_owners_invite"`
	IsCollaborationRestrictedToEnterprise *bool          `json:"is_collaboration_restricted_to_enterprise"`
	// collaboration
	Item         *boxRef `json:"item"`
	AccessibleBy *boxRef `json:"accessible_by"`
	Role         string  `json:"role"`
	Status       string  `json:"status"`
	ExpiresAt    string  `json:"expires_at"`
	CanViewPath  bool    `json:"can_view_path"`
}

type boxWebhook struct {
	Type    string     `json:"type"`
	ID      string     `json:"id"`
	Trigger string     `json:"trigger"`
	Source  *boxSource `json:"source"`
}

// ErrIgnoredTrigger marks a webhook whose trigger changes no permission
// (FILE.PREVIEWED, COMMENT.CREATED ...).
var ErrIgnoredTrigger = errors.New("trigger changes no permission")

// TranslateWebhook turns a Box webhook v2 body into the events it implies.
// The webhook's id, the same on every retry, becomes the event id, so a
// redelivered webhook is skipped as a duplicate.
func TranslateWebhook(body []byte) ([]Event, error) {
	var w boxWebhook
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("webhook body: %w", err)
	}
	if w.Type != "webhook_event" {
		return nil, fmt.Errorf("webhook body: type %q, want webhook_event", w.Type)
	}
	if w.ID == "" || w.Trigger == "" {
		return nil, errors.New("webhook body: id and trigger are required")
	}
	if w.Source == nil {
		return nil, fmt.Errorf("webhook %s: no source", w.ID)
	}
	s := w.Source
	object, verb, _ := strings.Cut(w.Trigger, ".")
	var typ string
	payload := map[string]any{}
	owner := func() string {
		if s.OwnedBy != nil {
			return s.OwnedBy.ID
		}
		return ""
	}
	parent := func() string {
		if s.Parent != nil && s.Parent.ID != "" {
			return s.Parent.ID
		}
		return "0"
	}
	item := func() map[string]any { return map[string]any{"id": s.ID, "parent": parent(), "owner": owner()} }
	switch object {
	case "FOLDER", "FILE":
		name := strings.ToLower(object)
		switch verb {
		case "CREATED", "UPLOADED", "COPIED":
			typ = name + ".created"
		case "RENAMED":
			typ = name + ".updated"
		case "MOVED":
			typ = name + ".moved"
		case "TRASHED", "RESTORED", "DELETED":
			typ = name + "." + strings.ToLower(verb)
			payload = map[string]any{"id": s.ID}
		default:
			return nil, fmt.Errorf("webhook %s: %s: %w", w.ID, w.Trigger, ErrIgnoredTrigger)
		}
		if len(payload) == 0 {
			payload = item()
			if name == "folder" {
				if s.CanNonOwnersInvite != nil {
					payload["can_non_owners_invite"] = *s.CanNonOwnersInvite
				}
				if s.IsCollaborationRestrictedToEnterprise != nil {
					payload["is_collaboration_restricted_to_enterprise"] = *s.IsCollaborationRestrictedToEnterprise
				}
			}
		}
		return decodeTranslated(w.ID, typ, name, payload, w.Trigger == "FILE.RESTORED" || w.Trigger == "FOLDER.RESTORED", s)
	case "COLLABORATION":
		switch verb {
		case "CREATED":
			typ = "collaboration.created"
		case "ACCEPTED", "REJECTED", "UPDATED":
			typ = "collaboration.updated"
		case "REMOVED":
			return decodeTranslated(w.ID, "collaboration.deleted", "collaboration", map[string]any{"id": s.ID}, false, s)
		default:
			return nil, fmt.Errorf("webhook %s: %s: %w", w.ID, w.Trigger, ErrIgnoredTrigger)
		}
		if s.Item == nil || s.AccessibleBy == nil {
			return nil, fmt.Errorf("webhook %s: %s: the collaboration's item and accessible_by are required", w.ID, w.Trigger)
		}
		payload = map[string]any{"id": s.ID, "item": s.Item, "accessible_by": s.AccessibleBy, "role": s.Role}
		switch {
		case verb == "ACCEPTED":
			payload["status"] = "accepted"
		case verb == "REJECTED":
			payload["status"] = "rejected"
		case s.Status != "":
			payload["status"] = s.Status
		}
		if s.ExpiresAt != "" {
			payload["expires_at"] = s.ExpiresAt
		}
		if s.CanViewPath {
			payload["can_view_path"] = true
		}
		return decodeTranslated(w.ID, typ, "collaboration", payload, false, s)
	case "SHARED_LINK":
		ref := map[string]any{"type": strings.ToLower(s.Type), "id": s.ID}
		if verb == "DELETED" || s.SharedLink == nil {
			return decodeTranslated(w.ID, "shared_link.deleted", "shared_link", map[string]any{"item": ref}, false, s)
		}
		if verb != "CREATED" && verb != "UPDATED" {
			return nil, fmt.Errorf("webhook %s: %s: %w", w.ID, w.Trigger, ErrIgnoredTrigger)
		}
		payload = map[string]any{"item": ref, "access": s.SharedLink.Access}
		if p := s.SharedLink.Permissions; p != nil {
			perms := map[string]any{"can_download": p.CanDownload}
			if ref["type"] == "file" {
				perms["can_edit"] = p.CanEdit
			}
			payload["permissions"] = perms
		}
		if s.SharedLink.UnsharedAt != "" {
			payload["unshared_at"] = s.SharedLink.UnsharedAt
		}
		return decodeTranslated(w.ID, "shared_link."+strings.ToLower(verb), "shared_link", payload, false, s)
	}
	return nil, fmt.Errorf("webhook %s: %s: %w", w.ID, w.Trigger, ErrIgnoredTrigger)
}

// decodeTranslated builds the event through the strict decoder, so a webhook
// is held to exactly the rules of every other source. A restore also states
// where the item came back to, when Box says.
func decodeTranslated(id, typ, payloadName string, payload map[string]any, restored bool, s *boxSource) ([]Event, error) {
	var out []Event
	one := func(evID, typ string, payload map[string]any) error {
		b, err := json.Marshal(map[string]any{"id": evID, "type": typ, payloadName: payload})
		if err != nil {
			return err
		}
		ev, err := DecodeEvent(b, 0)
		if err != nil {
			return err
		}
		out = append(out, ev)
		return nil
	}
	if err := one(id, typ, payload); err != nil {
		return nil, err
	}
	if restored && s.Parent != nil && s.OwnedBy != nil {
		p := map[string]any{"id": s.ID, "parent": s.Parent.ID, "owner": s.OwnedBy.ID}
		if err := one(id+"/moved", payloadName+".moved", p); err != nil {
			return nil, err
		}
	}
	return out, nil
}
