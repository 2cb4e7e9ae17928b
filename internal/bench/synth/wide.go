package synth

import (
	"fmt"

	"github.com/boxauthz/boxauthz/schema"
)

// addWide makes the last user a viewer of whole trees, in tree order, until
// they hold WideFiles files. It draws nothing at random, so the rest of the
// data set is the same with it or without it.
func (d *Dataset) addWide() {
	d.Wide = len(d.Users) - 1
	if d.Wide < 0 {
		return
	}
	files := map[int]int{} // tree root -> its files outside the trash
	for i := range d.Items {
		if d.Items[i].Type != schema.TypeFile || d.Items[i].Trashed {
			continue
		}
		anc := d.Ancestors(i)
		trashed := false
		for _, a := range anc {
			trashed = trashed || d.Items[a].Trashed
		}
		if !trashed {
			files[anc[len(anc)-1]]++
		}
	}
	held := 0
	for i := range d.Items {
		it := &d.Items[i]
		if it.Parent != -1 || held >= WideFiles || d.collaborates(i, d.Wide) {
			continue
		}
		c := Collab{ID: fmt.Sprintf("cw%05d", len(d.Collabs)), Item: i, Role: schema.RoleViewer, User: d.Wide, Group: -1}
		it.Collabs = append(it.Collabs, len(d.Collabs))
		d.Collabs = append(d.Collabs, c)
		held += files[i]
	}
}

// collaborates tells whether user already has a collaboration of their own
// on item i (one per item and grantee).
func (d *Dataset) collaborates(i, user int) bool {
	for _, ci := range d.Items[i].Collabs {
		if d.Collabs[ci].User == user {
			return true
		}
	}
	return false
}
