package checker

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
	go func() { time.Sleep(2 * time.Millisecond); v.observe(11, nil, false) }()
	if !v.confirm(ctx, "h", now, at(11)) {
		t.Error("not confirmed once the watch caught up")
	}
	v.observe(10, []string{"fam:f"}, false) // reported late: already in the answer at 10
	if !v.known("h", now) {
		t.Error("forgotten for a change at the revision it was found valid at")
	}
	v.remember("k", later, []string{"fam:g", "tok:k"}, now, at(11))
	v.observe(12, []string{"fam:f"}, false)
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
	v.observe(13, nil, true)
	if v.known("h", now) || v.known("k", now) {
		t.Error("a schema change did not forget every token")
	}
	v.remember("h", later, deps, now, at(14))
	v.stop()
	if v.known("h", now) || v.confirm(ctx, "h", now, at(14)) {
		t.Error("vouched for with the watch stopped")
	}
}
