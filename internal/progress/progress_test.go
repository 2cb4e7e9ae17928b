package progress

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time           { return c.t }
func (c *fakeClock) add(d time.Duration)      { c.t = c.t.Add(d) }
func newClock() *fakeClock                    { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }
func jsonLogger(b *bytes.Buffer) *slog.Logger { return slog.New(slog.NewJSONHandler(b, nil)) }

// lines decodes the JSON log lines in b.
func lines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestReportThrottles(t *testing.T) {
	ctx := context.Background()
	var buf bytes.Buffer
	clk := newClock()
	r := New(jsonLogger(&buf), WithClock(clk.now), WithInterval(2*time.Second), WithAttrs("source", "file:/e"))
	r.Report(ctx, Status{Position: 0, Total: 1000, Events: 0}) // starts the clock, logs nothing
	for i := 1; i <= 10; i++ {
		clk.add(500 * time.Millisecond)
		r.Report(ctx, Status{Position: int64(i * 50), Total: 1000, Events: int64(i * 10)})
	}
	got := lines(t, &buf)
	// 5 s of reports every 0.5 s, at most one line per 2 s: at 2 s and 4 s.
	if len(got) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(got), buf.String())
	}
	first := got[0]
	want := map[string]any{
		"msg": "progress", "level": "INFO", "source": "file:/e", "unit": "bytes",
		"position": 200.0, "total": 1000.0, "percent": 20.0,
		"events": 40.0, "events_per_s": 20.0, "eta": "8s",
	}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("first line %s = %v, want %v (%v)", k, first[k], v, first)
		}
	}
	r.Done(ctx, Status{Position: 1000, Total: 1000, Events: 200})
	r.Done(ctx, Status{Position: 1000, Total: 1000, Events: 200})
	r.Report(ctx, Status{Position: 1000, Total: 1000, Events: 200})
	got = lines(t, &buf)
	if len(got) != 3 {
		t.Fatalf("%d lines after Done twice and a report, want 3:\n%s", len(got), buf.String())
	}
	last := got[2]
	for k, v := range map[string]any{"msg": "caught up", "percent": 100.0, "events": 200.0, "events_per_s": 40.0, "elapsed": "5s"} {
		if last[k] != v {
			t.Errorf("last line %s = %v, want %v (%v)", k, last[k], v, last)
		}
	}
	if _, ok := last["eta"]; ok {
		t.Errorf("the last line has an eta: %v", last)
	}
}

// Without a total there is no percent nor estimate; without events the
// rate is of positions.
func TestReportWithoutTotalOrEvents(t *testing.T) {
	ctx := context.Background()
	var buf bytes.Buffer
	clk := newClock()
	r := New(jsonLogger(&buf), WithClock(clk.now), WithUnit("updates"), WithFinal("repair written"))
	r.Report(ctx, Status{Position: 100, Events: -1})
	clk.add(DefaultInterval)
	r.Report(ctx, Status{Position: 1100, Events: -1})
	clk.add(time.Second)
	r.Done(ctx, Status{Position: 1600, Events: -1})
	got := lines(t, &buf)
	if len(got) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(got), buf.String())
	}
	for _, k := range []string{"total", "percent", "eta", "events", "events_per_s"} {
		if _, ok := got[0][k]; ok {
			t.Errorf("progress line has %s: %v", k, got[0])
		}
	}
	if got[0]["per_s"] != 500.0 || got[0]["unit"] != "updates" {
		t.Errorf("progress line %v, want 500 updates/s", got[0])
	}
	if got[1]["msg"] != "repair written" || got[1]["per_s"] != 500.0 {
		t.Errorf("last line %v, want repair written at 500/s", got[1])
	}
}

// Done before any report still logs its one line, in text too.
func TestDoneAlone(t *testing.T) {
	var buf bytes.Buffer
	r := New(slog.New(slog.NewTextHandler(&buf, nil)), WithClock(newClock().now))
	r.Done(context.Background(), Status{Position: 42, Total: 42, Events: 3})
	if s := buf.String(); !strings.Contains(s, `msg="caught up"`) || !strings.Contains(s, "percent=100") || !strings.Contains(s, "events=3") {
		t.Fatalf("text line %q", s)
	}
}

func TestPercentAndETA(t *testing.T) {
	tests := []struct {
		pos, total int64
		want       float64
	}{
		{0, 0, 0}, {1, 3, 33.3}, {2, 3, 66.7}, {5, 3, 100}, {-1, 3, 0}, {999, 1000, 99.9},
	}
	for _, tt := range tests {
		if got := Percent(tt.pos, tt.total); got != tt.want {
			t.Errorf("Percent(%d, %d) = %v, want %v", tt.pos, tt.total, got, tt.want)
		}
	}
	etas := []struct {
		done, remaining int64
		elapsed         time.Duration
		want            time.Duration
		ok              bool
	}{
		{0, 10, time.Second, 0, false},
		{10, 10, 0, 0, false},
		{10, 0, time.Second, 0, true},
		{10, 30, 2 * time.Second, 6 * time.Second, true},
		{3, 1, time.Second, 0, true}, // a third of a second rounds to 0
	}
	for _, tt := range etas {
		got, ok := ETA(tt.done, tt.remaining, tt.elapsed)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ETA(%d, %d, %s) = %s %v, want %s %v", tt.done, tt.remaining, tt.elapsed, got, ok, tt.want, tt.ok)
		}
	}
}
