package source

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/boxauthz/boxauthz/internal/jsonstrict"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/sync/event"
)

// WebhookKeys are a Box application's two webhook signature keys; either may
// be empty while it is rotated.
type WebhookKeys struct {
	Primary, Secondary string
}

// MaxWebhookAge is how old a delivery's timestamp may be (Box: 10 minutes).
const MaxWebhookAge = 10 * time.Minute

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

// boxFields are the keys of one object of a payload as sent, to tell a
// field Box left out from one it sent as null.
type boxFields map[string]json.RawMessage

// has tells whether the key was sent, null included.
func (f boxFields) has(k string) bool { _, ok := f[k]; return ok }

// stated tells whether the key was sent with a value other than null.
func (f boxFields) stated(k string) bool {
	v, ok := f[k]
	return ok && string(bytes.TrimSpace(v)) != "null"
}

type boxPermissions struct {
	CanDownload *bool `json:"can_download"`
	CanEdit     *bool `json:"can_edit"`
}

type boxSharedLink struct {
	Access      string          `json:"access"`
	UnsharedAt  *string         `json:"unshared_at"`
	Permissions *boxPermissions `json:"permissions"`
}

// boxSource is the part of a webhook's source object boxauthz reads: a file,
// a folder or a collaboration.
type boxSource struct {
	Type                                  string          `json:"type"`
	ID                                    string          `json:"id"`
	Parent                                *boxRef         `json:"parent"`
	OwnedBy                               *boxRef         `json:"owned_by"`
	SharedLink                            json.RawMessage `json:"shared_link"`
	CanNonOwnersInvite                    *bool           `json:"can_non_owners_invite"`
	IsCollaborationRestrictedToEnterprise *bool           `json:"is_collaboration_restricted_to_enterprise"`
	// collaboration
	Item         *boxRef `json:"item"`
	AccessibleBy *boxRef `json:"accessible_by"`
	Role         string  `json:"role"`
	Status       string  `json:"status"`
	ExpiresAt    *string `json:"expires_at"`
	CanViewPath  *bool   `json:"can_view_path"`
}

type boxWebhook struct {
	Type    string          `json:"type"`
	ID      string          `json:"id"`
	Trigger string          `json:"trigger"`
	Source  json.RawMessage `json:"source"`
}

// webhookNamespace keeps webhook ids apart from callers' event ids.
const webhookNamespace = "box-webhook"

// TranslateWebhook turns a Box webhook v2 body into the events it implies.
// The webhook's id, the same on every retry, becomes the event id, so a
// redelivered webhook is skipped as a duplicate; webhook ids are remembered
// apart from the ids of other events, so neither is taken for the other.
//
// A payload never resets what it does not state (docs/decisions.md,
// "Webhooks"): Box sends an item's standard representation, without the
// folder settings, so a webhook about a folder keeps the settings it does
// not carry, and a rename keeps a parent or owner it does not carry (Box
// sends a null parent for a folder reached through a collaboration). A
// field that the trigger is about, or that a new object needs (a move's
// parent, a new item's parent and owner), and a field of a collaboration
// or a link that would otherwise fall back to a default on an update, is
// required: without it the webhook is refused, naming the field.
func TranslateWebhook(body []byte) ([]event.Event, error) {
	tr, err := decodeWebhook(body)
	if err != nil {
		return nil, err
	}
	object, verb, _ := strings.Cut(tr.trigger, ".")
	var evs []event.Event
	switch object {
	case "FOLDER", "FILE":
		evs, err = tr.item(strings.ToLower(object), verb)
	case "COLLABORATION":
		evs, err = tr.collaboration(verb)
	case "SHARED_LINK":
		evs, err = tr.sharedLink(verb)
	default:
		err = ErrIgnoredTrigger
	}
	if errors.Is(err, ErrIgnoredTrigger) {
		return nil, fmt.Errorf("webhook %s: %s: %w", tr.id, tr.trigger, ErrIgnoredTrigger)
	}
	if err != nil {
		return nil, err
	}
	for i := range evs {
		evs[i].Namespace = webhookNamespace
	}
	return evs, nil
}

// decodeWebhook reads a webhook body strictly: valid UTF-8, no key given
// twice, an id that is a valid event id, a trigger and a source.
func decodeWebhook(body []byte) (*webhookTranslation, error) {
	// Checked before decoding, which would make U+FFFD of invalid UTF-8
	// and keep only the last of two equal keys.
	if !utf8.Valid(body) {
		return nil, errors.New("webhook body: not valid UTF-8 (RFC 8259 §8.1)")
	}
	var w boxWebhook
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("webhook body: %w", err)
	}
	var de *jsonstrict.DuplicateKeyError
	if errors.As(jsonstrict.CheckDuplicateKeys(body), &de) {
		return nil, fmt.Errorf("webhook body: field %q appears twice", de.Field())
	}
	if w.Type != "webhook_event" {
		return nil, fmt.Errorf("webhook body: type %q, want webhook_event", w.Type)
	}
	if w.ID == "" || w.Trigger == "" {
		return nil, errors.New("webhook body: id and trigger are required")
	}
	if err := event.ValidateID(w.ID); err != nil {
		return nil, fmt.Errorf("webhook body: %w", err)
	}
	if !(boxFields{"source": w.Source}).stated("source") {
		return nil, fmt.Errorf("webhook %s: no source", w.ID)
	}
	var s boxSource
	var fields boxFields
	if err := json.Unmarshal(w.Source, &s); err != nil {
		return nil, fmt.Errorf("webhook %s: source: %w", w.ID, err)
	}
	if err := json.Unmarshal(w.Source, &fields); err != nil {
		return nil, fmt.Errorf("webhook %s: source: %w", w.ID, err)
	}
	return &webhookTranslation{id: w.ID, trigger: w.Trigger, s: &s, fields: fields}, nil
}

// webhookTranslation is one webhook being translated.
type webhookTranslation struct {
	id, trigger string
	s           *boxSource
	fields      boxFields
}

// missing is the error for a payload that leaves out a field its event
// needs.
func (w *webhookTranslation) missing(field, why string) error {
	return fmt.Errorf("webhook %s: %s: field \"source.%s\" is missing (%s); nothing is applied", w.id, w.trigger, field, why)
}

// item translates FOLDER.* and FILE.* triggers.
func (w *webhookTranslation) item(name, verb string) ([]event.Event, error) {
	s := w.s
	var typ event.Type
	var need event.Kept // fields the event must state
	switch verb {
	case "CREATED", "UPLOADED", "COPIED":
		// A new item needs both. These triggers also fire for an item moved
		// into a watched folder (Box's webhook guide), so its settings are
		// kept, not reset.
		typ, need = event.Type(name+".created"), event.KeepParent|event.KeepOwner
	case "RENAMED":
		typ = event.Type(name + ".updated") // a rename moves nothing
	case "MOVED":
		typ, need = event.Type(name+".moved"), event.KeepParent
	case "TRASHED", "RESTORED", "DELETED":
		typ = event.Type(name + "." + strings.ToLower(verb))
		evs, err := w.event(w.id, typ, name, s.ID, "", "", 0)
		if err != nil || verb != "RESTORED" || !w.statedParent() {
			return evs, err
		}
		// A restore also says where the item came back to.
		keep := event.KeepCanNonOwnersInvite | event.KeepIsCollaborationRestrictedToEnterprise
		if !w.statedOwner() {
			keep |= event.KeepOwner
		}
		moved, err := w.event(w.id+"/moved", event.Type(name+".moved"), name, s.ID, s.Parent.ID, w.owner(), keep)
		return append(evs, moved...), err
	default:
		return nil, ErrIgnoredTrigger
	}
	var keep event.Kept
	if !w.statedParent() {
		if need&event.KeepParent != 0 {
			return nil, w.missing("parent", "where the "+name+" is; null is a parent the webhook's user cannot see")
		}
		keep |= event.KeepParent
	}
	if !w.statedOwner() {
		if need&event.KeepOwner != 0 {
			return nil, w.missing("owned_by", "who owns the new "+name)
		}
		keep |= event.KeepOwner
	}
	parent := ""
	if keep&event.KeepParent == 0 {
		parent = s.Parent.ID
	}
	if name == schema.TypeFolder {
		if s.CanNonOwnersInvite == nil {
			keep |= event.KeepCanNonOwnersInvite
		}
		if s.IsCollaborationRestrictedToEnterprise == nil {
			keep |= event.KeepIsCollaborationRestrictedToEnterprise
		}
	}
	return w.event(w.id, typ, name, s.ID, parent, w.owner(), keep)
}

func (w *webhookTranslation) statedParent() bool { return w.s.Parent != nil && w.s.Parent.ID != "" }
func (w *webhookTranslation) statedOwner() bool  { return w.s.OwnedBy != nil && w.s.OwnedBy.ID != "" }

func (w *webhookTranslation) owner() string {
	if w.statedOwner() {
		return w.s.OwnedBy.ID
	}
	return ""
}

// event builds one folder or file event and holds it to the rules of every
// other event (event.Validate).
func (w *webhookTranslation) event(id string, typ event.Type, name, itemID, parent, owner string, keep event.Kept) ([]event.Event, error) {
	ev := event.Event{ID: id, Type: typ}
	if typ.Full() {
		if keep&event.KeepParent != 0 {
			parent = ""
		}
		if keep&event.KeepOwner != 0 {
			owner = ""
		}
	}
	if name == schema.TypeFolder {
		f := &event.Folder{ID: itemID}
		if typ.Full() {
			f.Parent, f.Owner, f.Keep = parent, owner, keep
			if keep&event.KeepCanNonOwnersInvite == 0 {
				f.CanNonOwnersInvite = w.s.CanNonOwnersInvite == nil || *w.s.CanNonOwnersInvite
			}
			if keep&event.KeepIsCollaborationRestrictedToEnterprise == 0 {
				f.IsCollaborationRestrictedToEnterprise = w.s.IsCollaborationRestrictedToEnterprise != nil && *w.s.IsCollaborationRestrictedToEnterprise
			}
		}
		ev.Folder = f
	} else {
		f := &event.File{ID: itemID}
		if typ.Full() {
			f.Parent, f.Owner, f.Keep = parent, owner, keep&(event.KeepParent|event.KeepOwner)
		}
		ev.File = f
	}
	var fe *event.FieldError
	if errors.As(event.Validate(&ev), &fe) {
		return nil, &event.Error{EventID: id, Field: fe.Field, Reason: fe.Reason}
	}
	return []event.Event{ev}, nil
}

// collaboration translates COLLABORATION.* triggers.
func (w *webhookTranslation) collaboration(verb string) ([]event.Event, error) {
	s := w.s
	var typ event.Type
	switch verb {
	case "CREATED":
		typ = event.CollaborationCreated
	case "ACCEPTED", "REJECTED", "UPDATED":
		typ = event.CollaborationUpdated
	case "REMOVED":
		return w.decode(w.id, event.CollaborationDeleted, "collaboration", map[string]any{"id": s.ID})
	default:
		return nil, ErrIgnoredTrigger
	}
	for _, f := range []string{"item", "accessible_by", "role"} {
		if !w.fields.stated(f) {
			return nil, w.missing(f, "a collaboration is its item, grantee and role")
		}
	}
	payload := map[string]any{"id": s.ID, "item": s.Item, "accessible_by": s.AccessibleBy, "role": s.Role}
	// A new collaboration takes docs/events.md's defaults for what it does not
	// state; an update that left status or expires_at out would reset them
	// (a pending collaboration to accepted, an expiring one to never).
	switch {
	case verb == "ACCEPTED":
		payload["status"] = "accepted"
	case verb == "REJECTED":
		payload["status"] = "rejected"
	case w.fields.stated("status"):
		payload["status"] = s.Status
	case verb != "CREATED":
		return nil, w.missing("status", "an update without it would make the collaboration accepted")
	}
	switch {
	case s.ExpiresAt != nil:
		payload["expires_at"] = *s.ExpiresAt
	case verb != "CREATED" && !w.fields.has("expires_at"):
		return nil, w.missing("expires_at", "null for none; an update without it would end the collaboration's expiry")
	}
	// can_view_path grants nothing (docs/decisions.md): its default
	// changes no permission.
	if s.CanViewPath != nil && *s.CanViewPath {
		payload["can_view_path"] = true
	}
	return w.decode(w.id, typ, "collaboration", payload)
}

// sharedLink translates SHARED_LINK.* triggers. The source is the item;
// its shared_link is the link's state, null when it has none.
func (w *webhookTranslation) sharedLink(verb string) ([]event.Event, error) {
	s := w.s
	ref := map[string]any{"type": strings.ToLower(s.Type), "id": s.ID}
	switch verb {
	case "DELETED":
		return w.decode(w.id, event.SharedLinkDeleted, "shared_link", map[string]any{"item": ref})
	case "CREATED", "UPDATED":
	default:
		return nil, ErrIgnoredTrigger
	}
	if !w.fields.has("shared_link") {
		return nil, w.missing("shared_link", "the link's state, null when the item has none")
	}
	if !w.fields.stated("shared_link") {
		return w.decode(w.id, event.SharedLinkDeleted, "shared_link", map[string]any{"item": ref})
	}
	var l boxSharedLink
	var lf boxFields
	if err := json.Unmarshal(s.SharedLink, &l); err != nil {
		return nil, fmt.Errorf("webhook %s: source.shared_link: %w", w.id, err)
	}
	if err := json.Unmarshal(s.SharedLink, &lf); err != nil {
		return nil, fmt.Errorf("webhook %s: source.shared_link: %w", w.id, err)
	}
	if !lf.stated("access") {
		return nil, w.missing("shared_link.access", "who the link is for")
	}
	payload := map[string]any{"item": ref, "access": l.Access}
	// As for collaborations: a new link takes the defaults, an update must
	// state what it would otherwise reset.
	update := verb == "UPDATED"
	if p := l.Permissions; p != nil {
		perms := map[string]any{}
		switch {
		case p.CanDownload != nil:
			perms["can_download"] = *p.CanDownload
		case update:
			return nil, w.missing("shared_link.permissions.can_download", "an update without it would turn downloads off")
		}
		if ref["type"] == schema.TypeFile {
			switch {
			case p.CanEdit != nil:
				perms["can_edit"] = *p.CanEdit
			case update:
				return nil, w.missing("shared_link.permissions.can_edit", "an update without it would turn editing off")
			}
		}
		payload["permissions"] = perms
	} else if update {
		return nil, w.missing("shared_link.permissions", "an update without them would turn downloads off")
	}
	switch {
	case l.UnsharedAt != nil:
		payload["unshared_at"] = *l.UnsharedAt
	case update && !lf.has("unshared_at"):
		return nil, w.missing("shared_link.unshared_at", "null for never; an update without it would end the link's expiry")
	}
	return w.decode(w.id, event.Type("shared_link."+strings.ToLower(verb)), "shared_link", payload)
}

// decode builds the event through the strict decoder, so a webhook is held
// to exactly the rules of every other source.
func (w *webhookTranslation) decode(id string, typ event.Type, payloadName string, payload map[string]any) ([]event.Event, error) {
	b, err := json.Marshal(map[string]any{"id": id, "type": typ, payloadName: payload})
	if err != nil {
		return nil, fmt.Errorf("webhook %s: %w", w.id, err)
	}
	ev, err := event.DecodeEvent(b, 0)
	if err != nil {
		return nil, err
	}
	return []event.Event{ev}, nil
}
