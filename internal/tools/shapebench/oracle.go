package shapebench

import (
	"fmt"

	"github.com/boxauthz/boxauthz/schema"
)

// Holder sets of MODEL.md §2, by the roles (and "owner") that hold them. A
// file's own collaborations are only editor and viewer, which hold the same
// sets on a file as on a folder.
var holders = map[string]map[string]bool{
	"g_all":      set("owner", "co_owner", "editor", "viewer_uploader", "previewer_uploader", "viewer", "previewer", "uploader"),
	"g_preview":  set("owner", "co_owner", "editor", "viewer_uploader", "previewer_uploader", "viewer", "previewer"),
	"g_download": set("owner", "co_owner", "editor", "viewer_uploader", "viewer"),
	"g_upload":   set("owner", "co_owner", "editor", "viewer_uploader", "previewer_uploader", "uploader"),
	"g_edit":     set("owner", "co_owner", "editor", "viewer_uploader"),
	"g_manage":   set("owner", "co_owner", "editor"),
	"g_full":     set("owner", "co_owner"),
	"g_editor":   set("editor"),
	"g_owner":    set("owner"),
}

func set(xs ...string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// Expect answers q from MODEL.md §2-§4 directly, in Go, without SpiceDB: the
// reference the three shapes are also held against.
func (d *Dataset) Expect(q Question) (bool, error) {
	it := d.Items[q.Item]
	path := append([]int{q.Item}, d.Ancestors(q.Item)...)
	for _, p := range path {
		if d.Items[p].Trashed {
			return false, nil
		}
	}
	inGroup := map[int]bool{}
	for _, g := range d.UserGroups[q.User] {
		inGroup[g] = true
	}
	// roles the user holds at item p (ownership counts as "owner").
	rolesAt := func(p int) map[string]bool {
		m := map[string]bool{}
		if d.Items[p].Owner == q.User {
			m["owner"] = true
		}
		for _, ci := range d.Items[p].Collabs {
			c := d.Collabs[ci]
			if !c.ExpiresAt.IsZero() && !Now.Before(c.ExpiresAt) {
				continue
			}
			if c.User == q.User || (c.Group >= 0 && inGroup[c.Group]) {
				m[c.Role.Relation()] = true
			}
		}
		return m
	}
	holds := func(from []int, g string) bool {
		for _, p := range from {
			for r := range rolesAt(p) {
				if holders[g][r] {
					return true
				}
			}
		}
		return false
	}
	linkAt := func(p int, want func(*Link) bool) bool {
		l := d.Items[p].Link
		if l == nil || q.Link != l.ID || !Now.Before(l.UnsharedAt) || !want(l) {
			return false
		}
		if !l.Company {
			return true
		}
		e := d.UserEnt[d.Items[p].Owner]
		return e >= 0 && d.UserEnt[q.User] == e
	}
	linkAny := func(want func(*Link) bool) bool {
		for _, p := range path {
			if linkAt(p, want) {
				return true
			}
		}
		return false
	}
	view := func(*Link) bool { return true }
	download := func(l *Link) bool { return l.Download }
	edit := func(l *Link) bool { return l.Edit }
	inviteOff := false
	for _, p := range path {
		inviteOff = inviteOff || d.Items[p].InviteOff
	}
	parentPath := path[1:]

	switch schema.Action(q.Action) {
	case schema.ActionList:
		return holds(path, "g_all") || linkAny(view), nil
	case schema.ActionPreview:
		return holds(path, "g_preview") || linkAny(view), nil
	case schema.ActionDownload:
		return holds(path, "g_download") || linkAny(download), nil
	case schema.ActionUpload:
		return holds(path, "g_upload"), nil
	case schema.ActionEdit:
		return holds(path, "g_edit") || (it.Type == schema.TypeFile && linkAt(q.Item, edit)), nil
	case schema.ActionRename, schema.ActionSetShareAccess:
		return holds(path, "g_manage"), nil
	case schema.ActionDelete, schema.ActionMove:
		return it.Owner == q.User || holds(parentPath, "g_manage"), nil
	case schema.ActionShare:
		return holds(path, "g_download"), nil
	case schema.ActionInvite:
		return holds(path, "g_full") || (holds(path, "g_editor") && !inviteOff), nil
	case schema.ActionComment:
		return holds(path, "g_preview"), nil
	case schema.ActionChangeSettings:
		return holds(path, "g_full"), nil
	case schema.ActionTransferOwnership:
		return holds(path, "g_owner"), nil
	}
	return false, fmt.Errorf("no reference answer for action %q", q.Action)
}
