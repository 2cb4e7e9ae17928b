package reference

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Shrink returns a subsequence of xs for which fails still holds and from
// which no single element can be removed without it passing (1-minimal),
// by delta debugging: it removes chunks, halving their size from half the
// sequence down to single elements, and repeats the single-element pass
// until nothing more goes. fails(xs) is expected to hold; when it does not,
// Shrink returns xs unchanged.
//
// Candidates keep the order of xs. None is asked twice, since each may
// cost a fresh SpiceDB and a replay. An error from fails ends the search:
// a predicate that cannot run says nothing about the candidate.
func Shrink[T any](ctx context.Context, xs []T, fails func(context.Context, []T) (bool, error)) ([]T, error) {
	asked := map[string]bool{}
	test := func(idx []int) (bool, error) {
		k := key(idx)
		if v, ok := asked[k]; ok {
			return v, nil
		}
		if err := ctx.Err(); err != nil {
			return false, fmt.Errorf("shrinking: %w", err)
		}
		cand := make([]T, len(idx))
		for i, j := range idx {
			cand[i] = xs[j]
		}
		v, err := fails(ctx, cand)
		if err != nil {
			return false, fmt.Errorf("shrinking, trying %d of %d: %w", len(idx), len(xs), err)
		}
		asked[k] = v
		return v, nil
	}
	cur := make([]int, len(xs))
	for i := range cur {
		cur[i] = i
	}
	pick := func() []T {
		out := make([]T, len(cur))
		for i, j := range cur {
			out[i] = xs[j]
		}
		return out
	}
	if ok, err := test(cur); err != nil || !ok {
		return xs, err
	}
	size := max(len(cur)/2, 1)
	for len(cur) > 0 {
		removed := false
		for start := 0; start < len(cur); {
			end := min(start+size, len(cur))
			cand := append(append([]int{}, cur[:start]...), cur[end:]...)
			ok, err := test(cand)
			if err != nil {
				return pick(), err
			}
			if ok {
				// The next chunk has slid into place: try it from the same start.
				cur, removed = cand, true
				continue
			}
			start = end
		}
		switch {
		case size > 1:
			size = max(min(size/2, len(cur)/2), 1)
		case !removed:
			return pick(), nil // a whole pass of single removals changed nothing
		}
	}
	return pick(), nil
}

func key(idx []int) string {
	var b strings.Builder
	for _, i := range idx {
		b.WriteString(strconv.Itoa(i))
		b.WriteByte(',')
	}
	return b.String()
}
