package bench

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/internal/bench/synth"
)

// TestInterleaveAsksEveryWayTheSameQuestions: every target answers every
// question once, errors are left out of latencies and comparisons, and a
// different answer is counted.
func TestInterleaveAsksEveryWayTheSameQuestions(t *testing.T) {
	qs := make([]synth.Question, 50)
	for i := range qs {
		qs[i] = synth.Question{Item: i}
	}
	var mu sync.Mutex
	seen := map[string]map[int]int{}
	way := func(name string, answer func(i int) (bool, error)) target {
		seen[name] = map[int]int{}
		return target{name: name, ask: func(_ context.Context, q synth.Question) (bool, error) {
			mu.Lock()
			seen[name][q.Item]++
			mu.Unlock()
			return answer(q.Item)
		}}
	}
	even := func(i int) (bool, error) { return i%2 == 0, nil }
	targets := []target{
		way("a", even),
		way("b", func(i int) (bool, error) {
			if i == 7 {
				return false, errors.New("unavailable")
			}
			if i == 10 {
				return false, nil // a differs here
			}
			return even(i)
		}),
	}
	ms, asked := interleave(context.Background(), targets, qs, 3, time.Minute)
	if asked != len(qs) {
		t.Fatalf("asked %d of %d", asked, len(qs))
	}
	for name, by := range seen {
		for i := range qs {
			if by[i] != 1 {
				t.Errorf("%s asked question %d %d times, want once", name, i, by[i])
			}
		}
	}
	a, b := ms[0].cell(), ms[1].cell()
	if a.Checks != 50 || a.Granted != 25 || a.Errors != 0 || b.Checks != 49 || b.Errors != 1 || b.Granted != 24 {
		t.Errorf("cells: a %+v, b %+v", a, b)
	}
	if compared, differ := agree(ms[0], ms[1], asked); compared != 49 || differ != 1 {
		t.Errorf("agree: %d compared, %d differ; want 49 and 1", compared, differ)
	}
}

// TestInterleaveStopsAtTheLimit: a row whose time limit passes stops after
// the round, every way having answered the same number of questions; slow
// rounds stay one question a worker.
func TestInterleaveStopsAtTheLimit(t *testing.T) {
	qs := make([]synth.Question, 100)
	slow := func(context.Context, synth.Question) (bool, error) { time.Sleep(time.Millisecond); return true, nil }
	targets := []target{{name: "a", ask: slow}, {name: "b", ask: slow}}
	ms, asked := interleave(context.Background(), targets, qs, 2, 5*time.Millisecond)
	if asked >= len(qs) {
		t.Fatalf("asked %d of %d, want the limit to end it short of all", asked, len(qs))
	}
	if asked > 8 {
		t.Errorf("asked %d: rounds of 2 ms each should have stayed at 2 questions and stopped after 5 ms", asked)
	}
	if len(ms[0].lat) != asked || len(ms[1].lat) != asked {
		t.Errorf("answered %d and %d, want %d each", len(ms[0].lat), len(ms[1].lat), asked)
	}
	if r := ratio(ms[0].cell(), &Cell{}); r != 0 {
		t.Errorf("ratio over a way that answered nothing = %v, want 0", r)
	}
}
