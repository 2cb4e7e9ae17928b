package synth

import (
	"fmt"

	"github.com/boxauthz/boxauthz/schema"
)

// Holder sets of docs/model.md §2, by the roles (and "owner") that hold them. A
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

// Expect answers q from docs/model.md §2-§4 directly, in Go, without SpiceDB: the
// reference the three shapes are also held against.
func (d *Dataset) Expect(q Question) (bool, error) {
	it := d.Items[q.Item]
	path := append([]int{q.Item}, d.Ancestors(q.Item)...)
	for _, p := range path {
		if d.Items[p].Trashed {
			return false, nil
		}
	}
	o := oracle{d: d, q: q, path: path, inGroup: map[int]bool{}}
	for _, g := range d.UserGroups[q.User] {
		o.inGroup[g] = true
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
		return o.holds(path, "g_all") || o.linkAny(view), nil
	case schema.ActionPreview:
		return o.holds(path, "g_preview") || o.linkAny(view), nil
	case schema.ActionDownload:
		return o.holds(path, "g_download") || o.linkAny(download), nil
	case schema.ActionUpload:
		return o.holds(path, "g_upload"), nil
	case schema.ActionEdit:
		return o.holds(path, "g_edit") || (it.Type == schema.TypeFile && o.linkAt(q.Item, edit)), nil
	case schema.ActionRename, schema.ActionSetShareAccess:
		return o.holds(path, "g_manage"), nil
	case schema.ActionDelete, schema.ActionMove:
		return it.Owner == q.User || o.holds(parentPath, "g_manage"), nil
	case schema.ActionShare:
		return o.holds(path, "g_download"), nil
	case schema.ActionInvite:
		return o.holds(path, "g_full") || (o.holds(path, "g_editor") && !inviteOff), nil
	case schema.ActionComment:
		return o.holds(path, "g_preview"), nil
	case schema.ActionChangeSettings:
		return o.holds(path, "g_full"), nil
	case schema.ActionTransferOwnership:
		return o.holds(path, "g_owner"), nil
	}
	return false, fmt.Errorf("no reference answer for action %q", q.Action)
}

// oracle is one question being answered by Expect: the item's path (it
// and its ancestors) and the groups the user is in.
type oracle struct {
	d       *Dataset
	q       Question
	path    []int
	inGroup map[int]bool
}

// rolesAt is the roles the user holds at item p (ownership counts as
// "owner").
func (o *oracle) rolesAt(p int) map[string]bool {
	m := map[string]bool{}
	if o.d.Items[p].Owner == o.q.User {
		m["owner"] = true
	}
	for _, ci := range o.d.Items[p].Collabs {
		c := o.d.Collabs[ci]
		if !c.ExpiresAt.IsZero() && !Now.Before(c.ExpiresAt) {
			continue
		}
		if c.User == o.q.User || (c.Group >= 0 && o.inGroup[c.Group]) {
			m[c.Role.Relation()] = true
		}
	}
	return m
}

// holds reports whether a role the user holds on one of from is in holder
// set g.
func (o *oracle) holds(from []int, g string) bool {
	for _, p := range from {
		for r := range o.rolesAt(p) {
			if holders[g][r] {
				return true
			}
		}
	}
	return false
}

// linkAt reports whether the question's shared link is item p's, live, of
// the kind want accepts, and open to the user.
func (o *oracle) linkAt(p int, want func(*Link) bool) bool {
	l := o.d.Items[p].Link
	if l == nil || o.q.Link != l.ID || !Now.Before(l.UnsharedAt) || !want(l) {
		return false
	}
	if !l.Company {
		return true
	}
	e := o.d.UserEnt[o.d.Items[p].Owner]
	return e >= 0 && o.d.UserEnt[o.q.User] == e
}

// linkAny is linkAt on any item of the path.
func (o *oracle) linkAny(want func(*Link) bool) bool {
	for _, p := range o.path {
		if o.linkAt(p, want) {
			return true
		}
	}
	return false
}
