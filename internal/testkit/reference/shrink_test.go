package reference_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/boxauthz/boxauthz/internal/testkit/reference"
)

// contains tells whether xs holds every one of want.
func contains(xs []int, want ...int) bool {
	for _, w := range want {
		if !slices.Contains(xs, w) {
			return false
		}
	}
	return true
}

func seq(n int) []int {
	xs := make([]int, n)
	for i := range xs {
		xs[i] = i
	}
	return xs
}

// TestShrinkFindsTheCulprits: a failure that needs four scattered elements
// of a thousand shrinks to exactly those four, in order, each candidate asked
// once, in far fewer questions than there are subsets.
func TestShrinkFindsTheCulprits(t *testing.T) {
	culprits := []int{17, 503, 504, 880}
	seen := map[string]bool{}
	calls := 0
	got, err := reference.Shrink(context.Background(), seq(1000), func(_ context.Context, xs []int) (bool, error) {
		calls++
		k := fmt.Sprint(xs)
		if seen[k] {
			t.Errorf("candidate of %d asked twice", len(xs))
		}
		seen[k] = true
		return contains(xs, culprits...), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, culprits) {
		t.Fatalf("shrunk to %v, want %v", got, culprits)
	}
	if calls > 250 {
		t.Errorf("%d questions to find 4 of 1000: delta debugging should need far fewer", calls)
	}
	t.Logf("%d questions", calls)
}

// TestShrinkIsOneMinimal: with a predicate where several small answers
// exist (any two of a set, plus an anchor), the result loses the failure
// when any one element is removed.
func TestShrinkIsOneMinimal(t *testing.T) {
	fails := func(_ context.Context, xs []int) (bool, error) {
		n := 0
		for _, x := range xs {
			if x%37 == 5 {
				n++
			}
		}
		return n >= 2 && slices.Contains(xs, 300), nil
	}
	got, err := reference.Shrink(context.Background(), seq(600), fails)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("shrunk to %v, want the anchor and two of the set", got)
	}
	for i := range got {
		less := slices.Delete(slices.Clone(got), i, i+1)
		if ok, _ := fails(context.Background(), less); ok {
			t.Errorf("%v still fails without %d", less, got[i])
		}
	}
}

// TestShrinkOrderMatters: the predicate sees candidates in the original
// order, so a failure that needs "b after a" keeps both.
func TestShrinkOrderMatters(t *testing.T) {
	got, err := reference.Shrink(context.Background(), seq(200), func(_ context.Context, xs []int) (bool, error) {
		a, b := slices.Index(xs, 150), slices.Index(xs, 40)
		return a >= 0 && b >= 0 && b < a, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []int{40, 150}) {
		t.Fatalf("shrunk to %v", got)
	}
}

// TestShrinkNotFailing: a sequence that does not fail comes back whole.
func TestShrinkNotFailing(t *testing.T) {
	got, err := reference.Shrink(context.Background(), seq(10), func(context.Context, []int) (bool, error) { return false, nil })
	if err != nil || len(got) != 10 {
		t.Fatalf("got %v, %v; want the 10 elements back", got, err)
	}
}

// TestShrinkStopsOnError: a predicate that cannot run ends the search with
// its error, and the best sequence so far, which still fails.
func TestShrinkStopsOnError(t *testing.T) {
	boom := errors.New("spicedb went away")
	calls := 0
	got, err := reference.Shrink(context.Background(), seq(100), func(_ context.Context, xs []int) (bool, error) {
		calls++
		if calls == 5 {
			return false, boom
		}
		return slices.Contains(xs, 42), nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want %v", err, boom)
	}
	if !slices.Contains(got, 42) {
		t.Fatalf("best so far %v lost the failure", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := reference.Shrink(ctx, seq(100), func(context.Context, []int) (bool, error) { return true, nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: error %v", err)
	}
}
