package reference_test

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/internal/eventgen"
	"github.com/boxauthz/boxauthz/internal/reference"
	"github.com/boxauthz/boxauthz/internal/testenv"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/sync"
)

// TestDifferential applies seeded random event streams through the real
// sync into real SpiceDB and into the reference model, then compares every
// action for every item for a sample of users, with and without shared links.
func TestDifferential(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { differential(t, seed, 800) })
	}
}

type question struct {
	user, action, item, link string
}

func differential(t *testing.T, seed uint64, n int) {
	ctx := context.Background()
	gen := eventgen.New(seed)
	lines := gen.Stream(n)
	ref := reference.New()
	for i, l := range lines {
		if err := ref.Apply(l); err != nil {
			t.Fatalf("reference refuses event %d %s: %v", i, l, err)
		}
	}
	c := testenv.SpiceDB(t, testenv.Memory)
	evs, err := sync.DecodeEvents(bytes.Join(lines, []byte("\n")), true)
	if err != nil {
		t.Fatal(err)
	}
	a := sync.NewApplier(c)
	var token string
	for s := 0; s < len(evs); s += 200 {
		res, err := a.Apply(ctx, evs[s:min(s+200, len(evs))])
		if err != nil {
			t.Fatalf("sync refuses a batch the reference took: %v", err)
		}
		token = res.Token.GetToken()
	}
	ch, err := checker.New(c)
	if err != nil {
		t.Fatal(err)
	}
	users := append([]string{""}, gen.Users()[:5]...)
	items := ref.Items()
	sort.Strings(items)
	var qs []question
	for _, it := range items {
		for _, u := range users {
			for _, act := range reference.Actions() {
				qs = append(qs, question{u, act, it, ""})
			}
		}
	}
	links := ref.Links()
	sort.Strings(links)
	for i, it := range items {
		// The links that reach the item, and one that does not.
		presented := ref.LinksOn(it)
		if len(links) > 0 {
			presented = append(presented, links[i%len(links)])
		}
		for _, l := range presented {
			for _, u := range users[:3] {
				for _, act := range []string{"list", "preview", "download", "edit", "comment"} {
					qs = append(qs, question{u, act, it, l})
				}
			}
		}
	}
	mism, allowed := 0, 0
	for s := 0; s < len(qs); s += 1000 {
		part := qs[s:min(s+1000, len(qs))]
		cq := make([]checker.Question, len(part))
		for i, q := range part {
			typ, id, _ := strings.Cut(q.item, ":")
			cq[i] = checker.Question{User: q.user, Action: schema.Action(q.action), Item: checker.ItemRef{Type: typ, ID: id}}
			if q.link != "" {
				lt, lid, _ := strings.Cut(q.link, ":")
				cq[i].SharedLink = &checker.ItemRef{Type: lt, ID: lid}
			}
		}
		as, err := ch.CheckBulk(ctx, cq, checker.Consistency{Token: token})
		if err != nil {
			t.Fatal(err)
		}
		for i, q := range part {
			want := ref.Can(q.user, q.action, q.item, q.link)
			if want {
				allowed++
			}
			if as[i].Allowed != want {
				mism++
				if mism <= 10 {
					t.Errorf("user %q %s %s link %q: spicedb %v, reference %v", q.user, q.action, q.item, q.link, as[i].Allowed, want)
				}
			}
		}
	}
	if mism > 0 {
		t.Fatalf("%d of %d answers differ", mism, len(qs))
	}
	// A comparison of nothing but "no" would prove little.
	if allowed < len(qs)/20 || allowed > len(qs)*19/20 {
		t.Fatalf("only %d of %d answers are yes: the stream exercises too little", allowed, len(qs))
	}
	t.Logf("%d answers agree, %d of them yes (%d items, %d links)", len(qs), allowed, len(items), len(links))
}
