package synth

import (
	"fmt"
	"math/rand/v2"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/caveats"

	"github.com/boxauthz/boxauthz/schema"
)

// Question is one permission check: may User do Action on Item, presenting
// Link (empty for none)?
type Question struct {
	User   int
	Item   int
	Action string
	Link   string
}

type qkey struct {
	u, i int
	a, l string
}

// Asker draws questions from a data set and never draws the same one twice,
// so that checks asked of one SpiceDB never repeat.
type Asker struct {
	d    *Dataset
	r    *rand.Rand
	seen map[qkey]bool
}

// NewAsker returns an Asker drawing from d with its own seed.
func NewAsker(d *Dataset, seed uint64) *Asker {
	return &Asker{d: d, r: rand.New(rand.NewPCG(seed, 0xa5c)), seen: map[qkey]bool{}}
}

// Perm is a random permutation of 0..n-1 drawn from the asker's own
// stream, so that a question set built around the asker's questions (an
// equivalence grid) is as deterministic as they are.
func (a *Asker) Perm(n int) []int { return a.r.Perm(n) }

// userFor picks who asks about item i: a user with a reason to hold something
// on it (a collaborator, a member of a collaborating group or an owner on its
// path) half of the time, anyone otherwise.
func (a *Asker) userFor(i int) int {
	d, r := a.d, a.r
	if r.Float64() < 0.5 {
		path := append([]int{i}, d.Ancestors(i)...)
		var collabs []int
		for _, p := range path {
			collabs = append(collabs, d.Items[p].Collabs...)
		}
		if len(collabs) > 0 && r.Float64() < 0.8 {
			c := d.Collabs[collabs[r.IntN(len(collabs))]]
			if c.User >= 0 {
				return c.User
			}
			g := d.Groups[c.Group]
			all := append(append([]int{}, g.Members...), g.Admins...)
			if len(all) > 0 {
				return all[r.IntN(len(all))]
			}
		}
		return d.Items[path[r.IntN(len(path))]].Owner
	}
	return r.IntN(len(d.Users))
}

// linkFor picks the shared link presented with a question about item i:
// none most of the time, else a link on its path or some other link.
func (a *Asker) linkFor(i int) string {
	d, r := a.d, a.r
	if len(d.Links) == 0 || r.Float64() >= 0.15 {
		return ""
	}
	var onPath []string
	for _, p := range append([]int{i}, d.Ancestors(i)...) {
		if l := d.Items[p].Link; l != nil {
			onPath = append(onPath, l.ID)
		}
	}
	if len(onPath) > 0 && r.Float64() < 0.8 {
		return onPath[r.IntN(len(onPath))]
	}
	return d.Items[d.Links[r.IntN(len(d.Links))]].Link.ID
}

// Ask draws a new question about item i and action act. ok is false when 50
// draws gave only questions already asked.
func (a *Asker) Ask(i int, act string) (Question, bool) {
	for try := 0; try < 50; try++ {
		q := Question{User: a.userFor(i), Item: i, Action: act, Link: a.linkFor(i)}
		k := qkey{q.User, q.Item, q.Action, q.Link}
		if !a.seen[k] {
			a.seen[k] = true
			return q, true
		}
	}
	return Question{}, false
}

// Draw returns n new questions about items whose depth is in bucket ("" for
// any depth), with actions drawn from acts.
func (a *Asker) Draw(n int, bucket string, acts []string) []Question {
	var items []int
	for i, it := range a.d.Items {
		if bucket == "" || BucketOf(it.Depth) == bucket {
			items = append(items, i)
		}
	}
	if len(items) == 0 {
		return nil
	}
	var out []Question
	for misses := 0; len(out) < n && misses < 10*n+100; {
		q, ok := a.Ask(items[a.r.IntN(len(items))], acts[a.r.IntN(len(acts))])
		if !ok {
			misses++
			continue
		}
		out = append(out, q)
	}
	return out
}

// Panel returns n (user, presented link) pairs for the equivalence grid:
// collaborators on the deepest paths (direct and through groups, expiring
// ones included), owners, a colleague of a company link's owner, strangers;
// about one in three presents a shared link.
func (a *Asker) Panel(n int) []Question {
	d, r := a.d, a.r
	var out []Question
	seen := map[qkey]bool{}
	add := func(u int, link string) {
		k := qkey{u: u, l: link}
		if u >= 0 && !seen[k] && len(out) < n {
			seen[k] = true
			out = append(out, Question{User: u, Item: -1, Link: link})
		}
	}
	var deep []int
	for i, it := range d.Items {
		if it.Depth >= 25 {
			deep = append(deep, i)
		}
	}
	for tries := 0; len(out) < n && tries < 20*n; tries++ {
		link := ""
		if len(d.Links) > 0 && r.IntN(3) == 0 {
			link = d.Items[d.Links[r.IntN(len(d.Links))]].Link.ID
		}
		switch k := tries % 6; {
		case k <= 2 && len(deep) > 0:
			// Someone with a grant on the path of a deep item.
			i := deep[r.IntN(len(deep))]
			a.r = r
			add(a.userFor(i), link)
		case k == 3 && len(d.Links) > 0:
			// A colleague of the owner of a company link, presenting it.
			var company []int
			for _, li := range d.Links {
				if d.Items[li].Link.Company && d.UserEnt[d.Items[li].Owner] >= 0 {
					company = append(company, li)
				}
			}
			if len(company) == 0 {
				continue
			}
			li := company[r.IntN(len(company))]
			e := d.UserEnt[d.Items[li].Owner]
			for u := range d.Users {
				if d.UserEnt[u] == e && u != d.Items[li].Owner {
					add(u, d.Items[li].Link.ID)
					break
				}
			}
		case k == 4:
			add(d.Items[r.IntN(len(d.Items))].Owner, link)
		default:
			add(r.IntN(len(d.Users)), link)
		}
	}
	return out
}

// CheckContext is the caveat context of a question: the checker's `now` and
// the presented link.
func CheckContext(q Question) (map[string]any, error) {
	return map[string]any{"now": Now.Format(time.RFC3339), "presented_link": q.Link}, nil
}

// Request returns the SpiceDB check of q.
func (d *Dataset) Request(q Question, cons *v1.Consistency) (*v1.CheckPermissionRequest, error) {
	m, _ := CheckContext(q)
	ctx, err := caveats.ConvertContextToStruct(m)
	if err != nil {
		return nil, fmt.Errorf("caveat context: %w", err)
	}
	it := d.Items[q.Item]
	return &v1.CheckPermissionRequest{
		Consistency: cons,
		Resource:    &v1.ObjectReference{ObjectType: it.Type, ObjectId: it.ID},
		Permission:  q.Action,
		Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: schema.TypeUser, ObjectId: d.Users[q.User]}},
		Context:     ctx,
	}, nil
}

// BulkItem returns q as an item of a CheckBulkPermissions request.
func (d *Dataset) BulkItem(q Question) (*v1.CheckBulkPermissionsRequestItem, error) {
	req, err := d.Request(q, nil)
	if err != nil {
		return nil, err
	}
	return &v1.CheckBulkPermissionsRequestItem{Resource: req.Resource, Permission: req.Permission, Subject: req.Subject, Context: req.Context}, nil
}

// String names q for failure messages.
func (d *Dataset) String(q Question) string {
	it := d.Items[q.Item]
	s := fmt.Sprintf("%s:%s#%s@user:%s (depth %d)", it.Type, it.ID, q.Action, d.Users[q.User], it.Depth)
	if q.Link != "" {
		s += " presenting " + q.Link
	}
	return s
}
