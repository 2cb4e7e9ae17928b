package synth

import (
	"strings"
	"testing"

	"github.com/boxauthz/boxauthz/schema"
)

func TestSizeConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		trees int
	}{{"tiny", Tiny().Trees}, {"small", Small().Trees}, {"x1", Small().Trees}, {"x3", 3 * Small().Trees}} {
		c, err := SizeConfig(tc.name)
		if err != nil || c.Trees != tc.trees {
			t.Errorf("%s: %d trees, %v; want %d", tc.name, c.Trees, err, tc.trees)
		}
	}
	for _, bad := range []string{"", "huge", "x0", "x-2"} {
		if _, err := SizeConfig(bad); err == nil || !strings.Contains(err.Error(), "tiny, small or xN") {
			t.Errorf("%q: err = %v, want one naming tiny, small or xN", bad, err)
		}
	}
}

// TestSeedDecidesTheDataSet: one seed, one data set; another seed, another.
func TestSeedDecidesTheDataSet(t *testing.T) {
	other := Tiny()
	other.Seed++
	a, b, c := Generate(Tiny()), Generate(Tiny()), Generate(other)
	same := func(x, y *Dataset) bool {
		if len(x.Items) != len(y.Items) || len(x.Collabs) != len(y.Collabs) {
			return false
		}
		for i := range x.Items {
			if x.Items[i].Owner != y.Items[i].Owner || x.Items[i].Parent != y.Items[i].Parent || len(x.Items[i].Collabs) != len(y.Items[i].Collabs) {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Error("two data sets of one config differ")
	}
	if same(a, c) {
		t.Error("another seed gave the same data set")
	}
	qa, qb := NewAsker(a, 5).Draw(20, BucketDeep, CommonActions), NewAsker(b, 5).Draw(20, BucketDeep, CommonActions)
	if len(qa) != 20 || len(qb) != 20 {
		t.Fatalf("drew %d and %d deep questions, want 20", len(qa), len(qb))
	}
	for i := range qa {
		if qa[i] != qb[i] || BucketOf(a.Items[qa[i].Item].Depth) != BucketDeep {
			t.Fatalf("question %d: %+v and %+v (depth %d)", i, qa[i], qb[i], a.Items[qa[i].Item].Depth)
		}
	}
}

// TestWideUserSeesTenThousandFiles: the default data set has a user a
// lookup of 10,000 items is measured for, and the answer is theirs.
func TestWideUserSeesTenThousandFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("generates the 1M-relationship data set")
	}
	d := Generate(Scaled(50))
	seen := 0
	for i, it := range d.Items {
		if it.Type != schema.TypeFile {
			continue
		}
		ok, err := d.Expect(Question{User: d.Wide, Action: string(schema.ActionPreview), Item: i})
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			seen++
		}
	}
	if seen < 10000 {
		t.Fatalf("user %s previews %d files; want at least 10,000", d.Users[d.Wide], seen)
	}
	t.Logf("user %s previews %d files", d.Users[d.Wide], seen)
}
