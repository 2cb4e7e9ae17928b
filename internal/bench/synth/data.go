package synth

import (
	"fmt"
	"math/rand/v2"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/schema"
)

// Config sizes a generated data set. Equal configs generate equal data sets.
type Config struct {
	Seed uint64

	Enterprises int
	Users       int
	Groups      int
	GroupSize   int

	// Trees is the number of folder trees (each under one owner's root). One
	// tree in three goes MaxDepth deep; the others reach a depth drawn
	// uniformly from 1..MaxDepth.
	Trees    int
	MaxDepth int
	// Each folder on a tree's spine gets SideFolders sibling subfolders and
	// FilesPerFolder files; each side folder gets FilesPerFolder files.
	SideFolders    int
	FilesPerFolder int

	// Probabilities per item.
	FolderCollabRate float64 // a folder has a collaboration
	FileCollabRate   float64 // a file has a collaboration
	GroupCollabRate  float64 // a collaboration is for a group rather than a user
	ExpiringRate     float64 // a collaboration has expires_at (half of them lapsed at Now)
	ForeignOwnerRate float64 // an item is owned by someone other than the tree's owner
	FolderTrashRate  float64
	FileTrashRate    float64
	LinkRate         float64 // an item has a shared link
	InviteOffRate    float64 // a folder has can_non_owners_invite = false
}

// Small is the data set of the CI equivalence test and the embedded
// benchmark: about 20k relationships (plus about 100k ancestor relationships
// for the ancestors shape).
func Small() Config {
	return Config{
		Seed:        20261128,
		Enterprises: 4, Users: 300, Groups: 30, GroupSize: 8,
		Trees: 70, MaxDepth: 30, SideFolders: 1, FilesPerFolder: 2,
		FolderCollabRate: 0.08, FileCollabRate: 0.03, GroupCollabRate: 0.3, ExpiringRate: 0.2,
		ForeignOwnerRate: 0.1, FolderTrashRate: 0.01, FileTrashRate: 0.01,
		LinkRate: 0.03, InviteOffRate: 0.02,
	}
}

// Tiny is a quick data set for smoke runs: about 3k relationships.
func Tiny() Config {
	c := Small()
	c.Trees, c.Users, c.Groups = 10, 60, 8
	return c
}

// Scaled is Small with trees (and users and groups) multiplied by f.
func Scaled(f int) Config {
	c := Small()
	c.Trees *= f
	c.Users *= f
	c.Groups *= f
	return c
}

// SizeConfig returns a named size: tiny, small, or xN (Small scaled N times,
// e.g. x15 for about 300k relationships).
func SizeConfig(name string) (Config, error) {
	switch name {
	case "tiny":
		return Tiny(), nil
	case "small", "x1":
		return Small(), nil
	}
	var f int
	if _, err := fmt.Sscanf(name, "x%d", &f); err == nil && f > 0 {
		return Scaled(f), nil
	}
	return Config{}, fmt.Errorf("unknown size %q (tiny, small or xN)", name)
}

// Now is the instant every check is asked at (the caveats' `now`). Expiring
// collaborations and shared links lapse around it. It is far in the future so
// that SpiceDB's own expiration (which follows the wall clock) never hides a
// relationship: lapsing is decided by the caveats only, as boxauthz does.
var Now = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

// Item is a folder or file.
type Item struct {
	Type      string // schema.TypeFolder or schema.TypeFile
	ID        string
	Parent    int // index in Dataset.Items, -1 for a tree root
	Depth     int // 1 for a root folder; an item's depth is its ancestors + 1
	Owner     int // user index
	Trashed   bool
	InviteOff bool
	Link      *Link
	Collabs   []int // indexes in Dataset.Collabs
}

// Link is an item's shared link.
type Link struct {
	ID         string
	Company    bool // company access (else open)
	Download   bool
	Edit       bool // files only
	UnsharedAt time.Time
}

// Collab is an accepted collaboration.
type Collab struct {
	ID        string
	Item      int
	Role      schema.Role
	User      int // user index, or -1
	Group     int // group index, or -1
	ExpiresAt time.Time
}

// Group is a Box group.
type Group struct {
	ID         string
	Enterprise int
	Members    []int
	Admins     []int
}

// Enterprise is a Box enterprise.
type Enterprise struct {
	ID          string
	Admin       int
	CoAdmins    []int
	ViewContent []int // co-admins with the view_content privilege
}

// Dataset is a generated Box content model.
type Dataset struct {
	Config      Config
	Users       []string
	UserEnt     []int // enterprise index per user, -1 for an external user
	Enterprises []Enterprise
	Groups      []Group
	UserGroups  [][]int // groups a user is a member or admin of
	Items       []Item
	Collabs     []Collab
	Links       []int // items that have a link
	// Wide is the user who sees the most: a viewer of whole trees holding
	// at least WideFiles files (all of them in a smaller data set), the
	// user a lookup of items is measured for.
	Wide int
}

// WideFiles is how many files outside the trash the trees Dataset.Wide
// views hold at least.
const WideFiles = 10000

// Generate builds the data set of cfg.
func Generate(cfg Config) *Dataset {
	r := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	d := &Dataset{Config: cfg}
	for i := 0; i < cfg.Users; i++ {
		d.Users = append(d.Users, fmt.Sprintf("u%05d", i))
		e := -1
		if cfg.Enterprises > 0 && r.Float64() < 0.85 {
			e = r.IntN(cfg.Enterprises)
		}
		d.UserEnt = append(d.UserEnt, e)
	}
	d.UserGroups = make([][]int, cfg.Users)
	byEnt := make([][]int, cfg.Enterprises)
	for u, e := range d.UserEnt {
		if e >= 0 {
			byEnt[e] = append(byEnt[e], u)
		}
	}
	for e := 0; e < cfg.Enterprises; e++ {
		ent := Enterprise{ID: fmt.Sprintf("e%02d", e), Admin: -1}
		if m := byEnt[e]; len(m) > 0 {
			ent.Admin = m[0]
			for i := 1; i < len(m) && i <= 2; i++ {
				ent.CoAdmins = append(ent.CoAdmins, m[i])
			}
			if len(ent.CoAdmins) > 0 {
				ent.ViewContent = []int{ent.CoAdmins[0]}
			}
		}
		d.Enterprises = append(d.Enterprises, ent)
	}
	for g := 0; g < cfg.Groups; g++ {
		d.Groups = append(d.Groups, d.newGroup(r, g, byEnt))
	}
	for t := 0; t < cfg.Trees; t++ {
		d.addTree(r, t)
	}
	d.addWide()
	return d
}

// newGroup draws group g, mostly of members of its enterprise (byEnt lists
// each enterprise's users).
func (d *Dataset) newGroup(r *rand.Rand, g int, byEnt [][]int) Group {
	cfg := d.Config
	grp := Group{ID: fmt.Sprintf("g%04d", g), Enterprise: -1}
	if cfg.Enterprises > 0 {
		grp.Enterprise = r.IntN(cfg.Enterprises)
	}
	seen := map[int]bool{}
	for i := 0; i < cfg.GroupSize; i++ {
		var u int
		if grp.Enterprise >= 0 && len(byEnt[grp.Enterprise]) > 0 && r.Float64() < 0.9 {
			m := byEnt[grp.Enterprise]
			u = m[r.IntN(len(m))]
		} else {
			u = r.IntN(cfg.Users)
		}
		if seen[u] {
			continue
		}
		seen[u] = true
		if i == 0 {
			grp.Admins = append(grp.Admins, u)
		} else {
			grp.Members = append(grp.Members, u)
		}
		d.UserGroups[u] = append(d.UserGroups[u], g)
	}
	return grp
}

// addTree adds folder tree t: a spine of folders, each with files and side
// folders, one tree in three MaxDepth deep.
func (d *Dataset) addTree(r *rand.Rand, t int) {
	cfg := d.Config
	owner := r.IntN(cfg.Users)
	depth := cfg.MaxDepth
	if t%3 != 0 {
		depth = 1 + r.IntN(cfg.MaxDepth)
	}
	parent := -1
	for lvl := 1; lvl <= depth; lvl++ {
		f := d.addItem(r, schema.TypeFolder, parent, owner)
		if lvl < cfg.MaxDepth {
			for i := 0; i < cfg.FilesPerFolder; i++ {
				d.addItem(r, schema.TypeFile, f, owner)
			}
			for s := 0; s < cfg.SideFolders; s++ {
				sf := d.addItem(r, schema.TypeFolder, f, owner)
				if lvl+1 < cfg.MaxDepth {
					for i := 0; i < cfg.FilesPerFolder; i++ {
						d.addItem(r, schema.TypeFile, sf, owner)
					}
				}
			}
		}
		parent = f
	}
}

func (d *Dataset) addItem(r *rand.Rand, typ string, parent, treeOwner int) int {
	cfg := d.Config
	idx := len(d.Items)
	it := Item{Type: typ, Parent: parent, Depth: 1, Owner: treeOwner}
	if typ == schema.TypeFolder {
		it.ID = fmt.Sprintf("f%06d", idx)
	} else {
		it.ID = fmt.Sprintf("d%06d", idx)
	}
	if parent >= 0 {
		it.Depth = d.Items[parent].Depth + 1
		if r.Float64() < cfg.ForeignOwnerRate {
			it.Owner = r.IntN(cfg.Users)
		}
	}
	if typ == schema.TypeFolder {
		it.Trashed = r.Float64() < cfg.FolderTrashRate
		it.InviteOff = r.Float64() < cfg.InviteOffRate
	} else {
		it.Trashed = r.Float64() < cfg.FileTrashRate
	}
	if r.Float64() < cfg.LinkRate {
		l := &Link{
			ID: fmt.Sprintf("L%06d", idx), Company: r.Float64() < 0.4, Download: r.Float64() < 0.5,
			UnsharedAt: Now.AddDate(10, 0, 0),
		}
		if typ == schema.TypeFile {
			l.Edit = r.Float64() < 0.3
		}
		if r.Float64() < 0.2 {
			l.UnsharedAt = Now.Add(-24 * time.Hour)
		}
		it.Link = l
		d.Links = append(d.Links, idx)
	}
	d.Items = append(d.Items, it)
	rate := cfg.FolderCollabRate
	if typ == schema.TypeFile {
		rate = cfg.FileCollabRate
	}
	if r.Float64() < rate {
		c := Collab{ID: fmt.Sprintf("c%06d", len(d.Collabs)), Item: idx, User: -1, Group: -1}
		if typ == schema.TypeFile {
			c.Role = []schema.Role{schema.RoleEditor, schema.RoleViewer}[r.IntN(2)]
		} else {
			roles := schema.Roles()
			c.Role = roles[r.IntN(len(roles))]
		}
		if cfg.Groups > 0 && r.Float64() < cfg.GroupCollabRate {
			c.Group = r.IntN(cfg.Groups)
		} else {
			c.User = r.IntN(cfg.Users)
		}
		if r.Float64() < cfg.ExpiringRate {
			// Half lapse before Now, half after.
			c.ExpiresAt = Now.Add(time.Duration(r.IntN(2*365*24)-365*24) * time.Hour)
		}
		d.Items[idx].Collabs = append(d.Items[idx].Collabs, len(d.Collabs))
		d.Collabs = append(d.Collabs, c)
	}
	return idx
}

// Ancestors returns the ancestor folders of item i, nearest first.
func (d *Dataset) Ancestors(i int) []int {
	var out []int
	for p := d.Items[i].Parent; p >= 0; p = d.Items[p].Parent {
		out = append(out, p)
	}
	return out
}

// Stats counts what the data set holds.
type Stats struct {
	Users, Groups, Folders, Files, Collabs, GroupCollabs, Trashed, Links int
	Relationships, AncestorRels                                          int
	MaxDepth                                                             int
	ItemsByBucket                                                        map[string]int
}

// Stats counts the data set.
func (d *Dataset) Stats() Stats {
	s := Stats{Users: len(d.Users), Groups: len(d.Groups), Collabs: len(d.Collabs), Links: len(d.Links), ItemsByBucket: map[string]int{}}
	for i, it := range d.Items {
		if it.Type == schema.TypeFolder {
			s.Folders++
		} else {
			s.Files++
		}
		if it.Trashed {
			s.Trashed++
		}
		s.AncestorRels += it.Depth - 1
		s.MaxDepth = max(s.MaxDepth, it.Depth)
		if b := BucketOf(it.Depth); b != "" {
			s.ItemsByBucket[b]++
		}
		_ = i
	}
	for _, c := range d.Collabs {
		if c.Group >= 0 {
			s.GroupCollabs++
		}
	}
	_ = d.EachRelationship(false, false, func(*v1.Relationship) error { s.Relationships++; return nil })
	return s
}

// Depth buckets reported by the benchmark.
const (
	BucketShallow = "1-5"
	BucketDeep    = "25-30"
)

// BucketOf returns the depth bucket of an item depth, or "" for the middle.
func BucketOf(depth int) string {
	switch {
	case depth >= 1 && depth <= 5:
		return BucketShallow
	case depth >= 25 && depth <= 30:
		return BucketDeep
	}
	return ""
}
