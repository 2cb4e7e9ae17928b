package oauth

import (
	"context"
	"strconv"
	"testing"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
)

// TestValidityRules: the rules that keep a remembered token from outliving
// a deletion, on the memory alone (revisions as plain numbers).
func TestValidityRules(t *testing.T) {
	order := func(zt *v1.ZedToken) (int64, error) { return strconv.ParseInt(zt.GetToken(), 10, 64) }
	at := func(n int64) *v1.ZedToken { return &v1.ZedToken{Token: strconv.FormatInt(n, 10)} }
	now := time.Unix(1000, 0)
	later := now.Add(time.Hour)
	ctx := context.Background()
	deps := []string{"fam:f", "tok:h"}

	v := newValidity()
	v.remember("h", later, deps, now, at(5))
	if v.known("h", now) {
		t.Fatal("remembered with no watch running")
	}
	v.start(order, 10)
	v.remember("h", later, deps, now, at(9))
	if v.known("h", now) {
		t.Error("remembered validity found before the watch began")
	}
	v.remember("h", later, deps, now, at(10))
	if !v.known("h", now) || v.known("h", later) {
		t.Error("not remembered until its expiry")
	}
	if !v.confirm(ctx, "h", now, at(10)) {
		t.Error("not confirmed at a revision the watch has shown")
	}
	if v.confirm(ctx, "h", now, at(10), at(11)) {
		t.Error("confirmed at a revision the watch has not shown")
	}
	// Long enough that a loaded machine cannot make the wait run out
	// before the watch catches up.
	v.fenceWait = time.Minute
	go func() { time.Sleep(2 * time.Millisecond); v.observe(11, nil) }()
	if !v.confirm(ctx, "h", now, at(11)) {
		t.Error("not confirmed once the watch caught up")
	}
	v.fenceWait = fenceWait
	v.observe(10, []string{"fam:f"}) // reported late: already in the answer at 10
	if !v.known("h", now) {
		t.Error("forgotten for a change at the revision it was found valid at")
	}
	v.remember("k", later, []string{"fam:g", "tok:k"}, now, at(11))
	v.observe(12, []string{"fam:f"})
	if v.known("h", now) || v.confirm(ctx, "h", now, at(12)) {
		t.Error("still vouched for after a deletion on its family")
	}
	if !v.known("k", now) {
		t.Error("a deletion elsewhere forgot an unrelated token")
	}
	v.remember("h", later, deps, now, at(11))
	if v.known("h", now) {
		t.Error("remembered validity found before a deletion the watch showed")
	}
	v.remember("h", later, deps, now, at(12))
	if !v.known("h", now) {
		t.Error("not remembered when found valid after the deletion")
	}
	v.stop()
	if v.known("h", now) || v.confirm(ctx, "h", now, at(14)) {
		t.Error("vouched for with the watch stopped")
	}
}

// TestValidityLate: once a decision waited in vain for the watch, later
// decisions stop waiting (nothing is vouched for) until the watch reaches
// the revision it waited for; how long it has been behind is what restarts
// a stalled watch.
func TestValidityLate(t *testing.T) {
	order := func(zt *v1.ZedToken) (int64, error) { return strconv.ParseInt(zt.GetToken(), 10, 64) }
	at := func(n int64) *v1.ZedToken { return &v1.ZedToken{Token: strconv.FormatInt(n, 10)} }
	now := time.Now()
	later := now.Add(time.Hour)
	ctx := context.Background()

	v := newValidity()
	v.start(order, 10)
	v.remember("h", later, []string{"tok:h"}, now, at(10))
	if v.stalledFor(now) != 0 {
		t.Fatal("behind before any decision waited")
	}
	if v.confirm(ctx, "h", now, at(12)) {
		t.Fatal("confirmed past what the watch has shown")
	}
	if v.late.Load() != 1 || v.known("h", now) {
		t.Fatalf("late %d, known %v: want 1 and nothing vouched for while behind", v.late.Load(), v.known("h", now))
	}
	if d := v.stalledFor(time.Now().Add(time.Minute)); d < time.Minute {
		t.Errorf("behind for %s, want at least a minute later", d)
	}
	v.observe(11, nil)
	if v.known("h", now) {
		t.Error("vouched for before the watch reached the revision a decision waited for")
	}
	v.observe(12, nil)
	if !v.known("h", now) || v.stalledFor(time.Now()) != 0 {
		t.Error("still behind once the watch caught up")
	}
	v.confirm(ctx, "h", now, at(13))
	v.stop()
	v.start(order, 20)
	if v.stalledFor(time.Now()) != 0 {
		t.Error("a restarted watch starts behind")
	}
}

// TestValidityFull: a full memory does not sweep on every token.
func TestValidityFull(t *testing.T) {
	order := func(zt *v1.ZedToken) (int64, error) { return strconv.ParseInt(zt.GetToken(), 10, 64) }
	now := time.Now()
	v := newValidity()
	v.start(order, 1)
	for i := range validityMax {
		h := strconv.Itoa(i)
		exp := now.Add(time.Hour)
		if i < 10 {
			exp = now.Add(-time.Second) // a few expired
		}
		v.remember(h, exp, []string{"tok:" + h}, now, &v1.ZedToken{Token: "1"})
	}
	v.remember("new", now.Add(time.Hour), []string{"tok:new"}, now, &v1.ZedToken{Token: "1"})
	if n := len(v.valid); n > validityMax*9/10 {
		t.Fatalf("%d remembered after filling up, want at most %d so the next ones need no sweep", n, validityMax*9/10)
	}
	if !v.known("new", now) {
		t.Error("the token remembered when full is not")
	}
	if len(v.by) != len(v.valid) {
		t.Errorf("%d dependency entries for %d tokens", len(v.by), len(v.valid))
	}
}

func TestGrantApp(t *testing.T) {
	for _, c := range []struct {
		grant, app string
		ok         bool
	}{
		{"acme|g1|ent|n", "acme|g1", true},
		{"default|builtin|e|x", "default|builtin", true},
		{"", "", false},
		{"nobar", "", false},
		{"a|b", "", false},
		{"|g|e|n", "", false},
	} {
		app, ok := grantApp(c.grant)
		if app != c.app || ok != c.ok {
			t.Errorf("grantApp(%q) = %q, %v; want %q, %v", c.grant, app, ok, c.app, c.ok)
		}
	}
}
