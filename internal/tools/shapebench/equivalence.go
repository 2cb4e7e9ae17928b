package shapebench

import (
	"context"
	"fmt"
	"strings"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/internal/bench/synth"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
)

// EquivalenceSet is the question set of the equivalence proof.
type EquivalenceSet struct {
	// Common are asked of every shape: the actions all three define.
	Common []synth.Question
	// Rest are the other actions of the real schema, asked of the separated
	// and ancestors shapes only (naive does not define them).
	Rest []synth.Question
	// DeepItems is the number of items 25 or more deep in the grid.
	DeepItems int
}

// EquivalenceOptions size the proof's question set.
type EquivalenceOptions struct {
	// Panel is the number of (user, presented link) pairs of the grid.
	Panel int
	// Deep is how many items 25 or more deep the grid covers; -1 (or 0) for
	// all of them.
	Deep int
	// Shallow is how many items less than 25 deep the grid covers; -1 for
	// all.
	Shallow int
	// Granted adds, for each panel member, up to this many items the member
	// can list (by the Go reference), so that the grid holds many yes answers
	// and not only no's.
	Granted int
	// Random is the number of extra questions, each drawn with its own user
	// for a random item and action.
	Random int
}

// NewEquivalenceSet builds the proof's questions. Two parts:
//
//   - a grid: a panel of users (collaborators found along deep paths, members
//     of collaborating groups, owners, a colleague of a company link's owner,
//     strangers), some presenting a shared link, asked every action on o.Deep
//     items 25 or more deep (all by default) and o.Shallow others; SpiceDB answers a
//     panel member's questions in bulk, so a grid is cheap per question;
//   - o.Random questions, each by a user drawn for its item (half of them
//     collaborators on the item's path).
func NewEquivalenceSet(d *synth.Dataset, o EquivalenceOptions) EquivalenceSet {
	a := synth.NewAsker(d, d.Config.Seed+1)
	var rest []string
	for _, act := range AllActions() {
		if !contains(synth.CommonActions, act) {
			rest = append(rest, act)
		}
	}
	var deep, shallow []int
	for i, it := range d.Items {
		if it.Depth >= 25 {
			deep = append(deep, i)
		} else {
			shallow = append(shallow, i)
		}
	}
	sample := func(xs []int, n int) []int {
		if n < 0 || n >= len(xs) {
			return xs
		}
		var out []int
		for _, k := range a.Perm(len(xs))[:n] {
			out = append(out, xs[k])
		}
		return out
	}
	deepN := o.Deep
	if deepN == 0 {
		deepN = -1
	}
	items := append(sample(deep, deepN), sample(shallow, o.Shallow)...)
	es := EquivalenceSet{DeepItems: len(sample(deep, deepN))}
	for _, p := range a.Panel(o.Panel) {
		mine := items
		if o.Granted > 0 {
			inGrid := map[int]bool{}
			for _, i := range items {
				inGrid[i] = true
			}
			mine = append([]int{}, items...)
			added := 0
			for _, k := range a.Perm(len(d.Items)) {
				if added >= o.Granted {
					break
				}
				if inGrid[k] {
					continue
				}
				if ok, _ := d.Expect(synth.Question{User: p.User, Item: k, Action: "list", Link: p.Link}); ok {
					mine = append(mine, k)
					added++
				}
			}
		}
		for _, i := range mine {
			for _, act := range synth.CommonActions {
				es.Common = append(es.Common, synth.Question{User: p.User, Item: i, Action: act, Link: p.Link})
			}
			for _, act := range rest {
				es.Rest = append(es.Rest, synth.Question{User: p.User, Item: i, Action: act, Link: p.Link})
			}
		}
	}
	for _, q := range a.Draw(o.Random, "", AllActions()) {
		if contains(synth.CommonActions, q.Action) {
			es.Common = append(es.Common, q)
		} else {
			es.Rest = append(es.Rest, q)
		}
	}
	return es
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Answers are one shape's answers to an EquivalenceSet.
type Answers struct {
	Common, Rest []v1.CheckPermissionResponse_Permissionship
}

// AnswerSet asks a shape's SpiceDB the questions of es it can answer.
func AnswerSet(ctx context.Context, c Conn, shape Shape, d *synth.Dataset, es EquivalenceSet) (Answers, error) {
	var a Answers
	var err error
	if a.Common, err = Answer(ctx, c, d, es.Common); err != nil {
		return a, fmt.Errorf("%s: %w", shape, err)
	}
	if shape != Naive {
		if a.Rest, err = Answer(ctx, c, d, es.Rest); err != nil {
			return a, fmt.Errorf("%s: %w", shape, err)
		}
	}
	return a, nil
}

// EquivalenceResult is the outcome of comparing the shapes' answers.
type EquivalenceResult struct {
	Questions    int // (user, item, action, link) questions asked
	DeepItems    int // items 25 or more deep in the grid: each asked every action by every panel member
	AllDeepItems int // items 25 or more deep in the data set
	Compared     map[string]int
	Mismatches   map[string][]string // by comparison, the first few differing questions
	Granted      int                 // questions the reference answers yes to
	ByAction     map[string]int
	Conditional  int // answers that were neither yes nor no (must be 0)
	MismatchSeen int
}

// OK tells whether every comparison agreed.
func (r EquivalenceResult) OK() bool { return r.MismatchSeen == 0 && r.Conditional == 0 }

// Summary is a one-paragraph account of the result.
func (r EquivalenceResult) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d questions (%d granted by the reference; %d of the data set's %d items 25+ deep asked every action by every panel member); ", r.Questions, r.Granted, r.DeepItems, r.AllDeepItems)
	var parts []string
	for _, k := range []string{"separated = naive", "ancestors = naive", "ancestors = separated", "chain = naive", "chain = separated", "naive = reference", "separated = reference", "ancestors = reference", "chain = reference"} {
		if n, ok := r.Compared[k]; ok {
			parts = append(parts, fmt.Sprintf("%s: %d compared, %d differ", k, n, len(r.Mismatches[k])))
		}
	}
	b.WriteString(strings.Join(parts, "; "))
	if r.Conditional > 0 {
		fmt.Fprintf(&b, "; %d conditional answers", r.Conditional)
	}
	return b.String()
}

// CompareShapes compares the answers of every shape in answers to each other
// and to the Go reference (synth.Dataset.Expect).
func CompareShapes(d *synth.Dataset, es EquivalenceSet, answers map[Shape]Answers) (EquivalenceResult, error) {
	r := EquivalenceResult{Compared: map[string]int{}, Mismatches: map[string][]string{}, ByAction: map[string]int{}}
	r.Questions = len(es.Common) + len(es.Rest)
	r.DeepItems = es.DeepItems
	for _, it := range d.Items {
		if it.Depth >= 25 {
			r.AllDeepItems++
		}
	}
	yes := v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION
	no := v1.CheckPermissionResponse_PERMISSIONSHIP_NO_PERMISSION
	note := func(k string, q synth.Question, got, want v1.CheckPermissionResponse_Permissionship) {
		r.Compared[k]++
		if got != want {
			r.MismatchSeen++
			if len(r.Mismatches[k]) < 20 {
				r.Mismatches[k] = append(r.Mismatches[k], fmt.Sprintf("%s: %s vs %s", d.String(q), got, want))
			} else {
				r.Mismatches[k] = append(r.Mismatches[k], "")
			}
		}
	}
	check := func(qs []synth.Question, pick func(Answers) []v1.CheckPermissionResponse_Permissionship, shapes []Shape) error {
		for i, q := range qs {
			ok, err := d.Expect(q)
			if err != nil {
				return err
			}
			ref := no
			if ok {
				ref = yes
				r.Granted++
				r.ByAction[q.Action]++
			}
			for _, s := range shapes {
				a, have := answers[s]
				if !have {
					continue
				}
				got := pick(a)[i]
				if got != yes && got != no {
					r.Conditional++
				}
				note(string(s)+" = reference", q, got, ref)
			}
			if a, ok := answers[Naive]; ok {
				for _, s := range []Shape{Separated, Ancestors, Chain} {
					if b, ok := answers[s]; ok && len(pick(a)) > 0 {
						note(string(s)+" = naive", q, pick(b)[i], pick(a)[i])
					}
				}
			}
			if a, ok := answers[Separated]; ok {
				if b, ok := answers[Ancestors]; ok {
					note("ancestors = separated", q, pick(b)[i], pick(a)[i])
				}
				if b, ok := answers[Chain]; ok {
					note("chain = separated", q, pick(b)[i], pick(a)[i])
				}
			}
		}
		return nil
	}
	if err := check(es.Common, func(a Answers) []v1.CheckPermissionResponse_Permissionship { return a.Common }, Shapes()); err != nil {
		return r, err
	}
	if err := check(es.Rest, func(a Answers) []v1.CheckPermissionResponse_Permissionship { return a.Rest }, []Shape{Separated, Ancestors, Chain}); err != nil {
		return r, err
	}
	return r, nil
}

// ChainAnswerSet answers es as AnswerSet does, through ch's chain checks,
// fully consistent, 100 questions to a call.
func ChainAnswerSet(ctx context.Context, ch *checker.Checker, d *synth.Dataset, es EquivalenceSet) (Answers, error) {
	answer := func(qs []synth.Question) ([]v1.CheckPermissionResponse_Permissionship, error) {
		out := make([]v1.CheckPermissionResponse_Permissionship, 0, len(qs))
		for lo := 0; lo < len(qs); lo += 100 {
			var items []*v1.CheckBulkPermissionsRequestItem
			for _, q := range qs[lo:min(lo+100, len(qs))] {
				it, err := d.BulkItem(q)
				if err != nil {
					return nil, err
				}
				items = append(items, it)
			}
			got, _, err := ch.CheckItems(ctx, items, checker.Consistency{})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", Chain, err)
			}
			for _, ok := range got {
				p := v1.CheckPermissionResponse_PERMISSIONSHIP_NO_PERMISSION
				if ok {
					p = v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION
				}
				out = append(out, p)
			}
		}
		return out, nil
	}
	var a Answers
	var err error
	if a.Common, err = answer(es.Common); err != nil {
		return a, err
	}
	a.Rest, err = answer(es.Rest)
	return a, err
}
