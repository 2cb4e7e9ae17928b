package tree

import "slices"

// Item numbers of a forest; the two below zero are parents that are not
// items.
const (
	top      int32 = -1 // a top-level item's parent
	unplaced int32 = -2 // an item the forest knows (trashed) but does not place
)

// forest is the folder tree by item number: every key the index knows is
// numbered once, so walks and chains follow slices instead of hashing keys
// at every step. Numbers of items that are gone are reused.
type forest struct {
	ids      map[string]int32
	keys     []string
	parent   []int32
	children [][]int32
	trashed  []bool
	free     []int32
	placed   int
}

func newForest() *forest { return &forest{ids: map[string]int32{}} }

// id numbers key, giving it a number if it has none.
func (f *forest) id(key string) int32 {
	if n, ok := f.ids[key]; ok {
		return n
	}
	var n int32
	if len(f.free) > 0 {
		n = f.free[len(f.free)-1]
		f.free = f.free[:len(f.free)-1]
		f.keys[n], f.parent[n], f.children[n], f.trashed[n] = key, unplaced, nil, false
	} else {
		n = int32(len(f.keys)) //nolint:gosec // G115: a forest holds far fewer than 2^31 items
		f.keys = append(f.keys, key)
		f.parent = append(f.parent, unplaced)
		f.children = append(f.children, nil)
		f.trashed = append(f.trashed, false)
	}
	f.ids[key] = n
	return n
}

// place puts key under parent ("" for the top level).
func (f *forest) place(key, parent string) {
	n := f.id(key)
	p := top
	if parent != "" {
		p = f.id(parent)
	}
	f.detach(n)
	f.parent[n] = p
	f.placed++
	if p >= 0 {
		f.children[p] = append(f.children[p], n)
	}
}

// unplace forgets where key sits.
func (f *forest) unplace(key string) {
	n, ok := f.ids[key]
	if !ok {
		return
	}
	f.detach(n)
	f.release(n)
}

// detach takes n out of its parent's children.
func (f *forest) detach(n int32) {
	p := f.parent[n]
	if p == unplaced {
		return
	}
	f.placed--
	f.parent[n] = unplaced
	if p >= 0 {
		cs := f.children[p]
		if i := slices.Index(cs, n); i >= 0 {
			cs[i] = cs[len(cs)-1]
			f.children[p] = cs[:len(cs)-1]
		}
		f.release(p)
	}
}

// release frees n's number once nothing of it is left to know.
func (f *forest) release(n int32) {
	if f.parent[n] != unplaced || len(f.children[n]) > 0 || f.trashed[n] {
		return
	}
	delete(f.ids, f.keys[n])
	f.keys[n], f.children[n] = "", nil
	f.free = append(f.free, n)
}

func (f *forest) setTrashed(key string, on bool) {
	if on {
		f.trashed[f.id(key)] = true
		return
	}
	if n, ok := f.ids[key]; ok {
		f.trashed[n] = false
		f.release(n)
	}
}

func (f *forest) isTrashed(key string) bool {
	n, ok := f.ids[key]
	return ok && f.trashed[n]
}

func (f *forest) isPlaced(key string) bool {
	n, ok := f.ids[key]
	return ok && f.parent[n] != unplaced
}

// chain returns key and the keys of every folder above it; ok is false
// when one of them is not placed or the chain is deeper than MaxDepth.
func (f *forest) chain(key string) ([]string, bool) {
	n, ok := f.ids[key]
	if !ok {
		return nil, false
	}
	out := make([]string, 1, 32)
	out[0] = key
	for len(out) <= MaxDepth {
		p := f.parent[n]
		switch p {
		case top:
			return out, true
		case unplaced:
			return nil, false
		}
		out = append(out, f.keys[p])
		n = p
	}
	return nil, false
}
