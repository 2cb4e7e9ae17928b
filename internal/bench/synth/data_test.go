package synth

import (
	"strings"
	"testing"
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
