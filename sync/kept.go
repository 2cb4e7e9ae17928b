package sync

import (
	"context"

	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/rel"
	"github.com/boxauthz/boxauthz/sync/event"
)

// resolveKept fills in what an event keeps (a webhook's payload that does
// not state a field) from the state the translator sees, so that it is a
// whole state again and applies like any other event. A new item has
// nothing to keep: it takes docs/events.md's defaults for its settings, and
// cannot do without a parent or an owner.
func (t *translator) resolveKept(ctx context.Context, ev *event.Event) error {
	typ := ev.Type.Object()
	var keep event.Kept
	var id string
	switch {
	case ev.Folder != nil:
		keep, id = ev.Folder.Keep, ev.Folder.ID
	case ev.File != nil:
		keep, id = ev.File.Keep, ev.File.ID
	}
	if keep == 0 {
		return nil
	}
	have, err := t.ov.read(ctx, rel.Filter(typ, id, ""))
	if err != nil {
		return err
	}
	exists, parent, owner, inviteOff, restricted := false, schema.RootID, "", false, false
	for _, r := range have {
		switch r.GetRelation() {
		case relExists:
			exists = true
		case relParent:
			parent = schema.DecodeID(r.GetSubject().GetObject().GetObjectId())
		case relOwner:
			owner = schema.DecodeID(r.GetSubject().GetObject().GetObjectId())
		case relInviteOff:
			inviteOff = true
		case relCollabRestr:
			restricted = true
		}
	}
	for _, k := range []struct {
		bit   event.Kept
		field string
	}{{event.KeepParent, "parent"}, {event.KeepOwner, "owner"}} {
		if keep&k.bit == 0 {
			continue
		}
		if !exists {
			return badField(typ+"."+k.field, "%s %q does not exist, and the event does not state its %s (nothing to keep)", typ, id, k.field)
		}
		if k.bit == event.KeepOwner && owner == "" {
			return badField(typ+".owner", "%s %q has no owner, and the event does not state one (nothing to keep)", typ, id)
		}
	}
	if ev.File != nil {
		f := *ev.File
		if keep&event.KeepParent != 0 {
			f.Parent = parent
		}
		if keep&event.KeepOwner != 0 {
			f.Owner = owner
		}
		f.Keep = 0
		ev.File = &f
		return nil
	}
	f := *ev.Folder // a copy: the caller's event stays as it was
	if keep&event.KeepParent != 0 {
		f.Parent = parent
	}
	if keep&event.KeepOwner != 0 {
		f.Owner = owner
	}
	if keep&event.KeepCanNonOwnersInvite != 0 {
		f.CanNonOwnersInvite = !(exists && inviteOff)
	}
	if keep&event.KeepIsCollaborationRestrictedToEnterprise != 0 {
		f.IsCollaborationRestrictedToEnterprise = exists && restricted
	}
	f.Keep = 0
	ev.Folder = &f
	return nil
}
