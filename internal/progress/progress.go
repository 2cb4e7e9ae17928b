// Package progress logs how far long work has got: position of a total,
// percent, events per second and an estimate of the time left, at most once
// an interval, and one last line when the work is done. It logs through
// slog at info, so the lines read alike in text and JSON logs.
package progress

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"time"
)

// DefaultInterval is the least time between two progress lines: often
// enough to see work move, rarely enough not to flood the log.
const DefaultInterval = 2 * time.Second

// DefaultFinal is the message of the last line.
const DefaultFinal = "caught up"

// Messages of the progress lines, for log searches.
const msgProgress = "progress"

// Option configures New.
type Option func(*Reporter)

// WithInterval sets the least time between two progress lines
// (DefaultInterval); a non-positive d keeps the default.
func WithInterval(d time.Duration) Option {
	return func(r *Reporter) {
		if d > 0 {
			r.interval = d
		}
	}
}

// WithClock sets the clock rates and intervals are measured by (default
// time.Now), for tests.
func WithClock(now func() time.Time) Option {
	return func(r *Reporter) {
		if now != nil {
			r.now = now
		}
	}
}

// WithUnit names what positions count (default "bytes").
func WithUnit(unit string) Option {
	return func(r *Reporter) {
		if unit != "" {
			r.unit = unit
		}
	}
}

// WithFinal sets the message of the last line (DefaultFinal).
func WithFinal(msg string) Option {
	return func(r *Reporter) {
		if msg != "" {
			r.final = msg
		}
	}
}

// WithAttrs adds attributes to every line (the source's name, say).
func WithAttrs(attrs ...any) Option {
	return func(r *Reporter) { r.attrs = append(r.attrs, attrs...) }
}

// Reporter logs the progress of one piece of work. Its methods may be
// called from several goroutines.
type Reporter struct {
	logger   *slog.Logger
	interval time.Duration
	now      func() time.Time
	unit     string
	final    string
	attrs    []any

	mu      sync.Mutex
	started bool
	start   time.Time
	from    int64 // the first position reported: rates count from it
	last    time.Time
	done    bool
}

// New is a reporter logging to logger (slog.Default() when nil).
func New(logger *slog.Logger, opts ...Option) *Reporter {
	if logger == nil {
		logger = slog.Default()
	}
	r := &Reporter{logger: logger, interval: DefaultInterval, now: time.Now, unit: "bytes", final: DefaultFinal}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Status is where the work stands.
type Status struct {
	// Position is how far the work has got, in the reporter's unit.
	Position int64
	// Total is the position at which it is done; 0 when not known (then
	// no percent and no estimate are logged).
	Total int64
	// Events is how many events were handled so far; negative when the
	// work does not count events (then the rate is of positions).
	Events int64
}

// Report notes s and logs it when the interval has passed since the last
// line (or since the first report). The first report starts the clock.
// Reports after Done are ignored.
func (r *Reporter) Report(ctx context.Context, s Status) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return
	}
	now := r.now()
	if !r.started {
		r.started, r.start, r.last, r.from = true, now, now, s.Position
		return
	}
	if now.Sub(r.last) < r.interval {
		return
	}
	r.last = now
	r.logger.InfoContext(ctx, msgProgress, r.line(now, s, false)...)
}

// Done logs the last line, once: where the work ended, how long it took and
// its rate. Later calls do nothing.
func (r *Reporter) Done(ctx context.Context, s Status) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return
	}
	now := r.now()
	if !r.started {
		r.started, r.start, r.from = true, now, s.Position
	}
	r.done = true
	r.logger.InfoContext(ctx, r.final, r.line(now, s, true)...)
}

// line is the attributes of a line at now.
func (r *Reporter) line(now time.Time, s Status, final bool) []any {
	elapsed := now.Sub(r.start)
	attrs := append([]any(nil), r.attrs...)
	attrs = append(attrs, "position", s.Position, "unit", r.unit)
	if s.Total > 0 {
		attrs = append(attrs, "total", s.Total, "percent", Percent(s.Position, s.Total))
	}
	if s.Events >= 0 {
		attrs = append(attrs, "events", s.Events, "events_per_s", rate(float64(s.Events), elapsed))
	} else {
		attrs = append(attrs, "per_s", rate(float64(s.Position-r.from), elapsed))
	}
	if final {
		return append(attrs, "elapsed", elapsed.Round(time.Millisecond).String())
	}
	if eta, ok := ETA(s.Position-r.from, s.Total-s.Position, elapsed); ok && s.Total > 0 {
		// A string: JSON logs would print a Duration in nanoseconds.
		attrs = append(attrs, "eta", eta.String())
	}
	return attrs
}

// Percent is pos of total in percent, with one decimal, between 0 and 100.
func Percent(pos, total int64) float64 {
	if total <= 0 {
		return 0
	}
	p := float64(pos) / float64(total) * 100
	return math.Round(math.Min(math.Max(p, 0), 100)*10) / 10
}

// ETA is how long the remaining positions take at the rate done took in
// elapsed, rounded to the second; false when no rate is known yet.
func ETA(done, remaining int64, elapsed time.Duration) (time.Duration, bool) {
	if done <= 0 || elapsed <= 0 {
		return 0, false
	}
	if remaining <= 0 {
		return 0, true
	}
	d := time.Duration(float64(elapsed) * float64(remaining) / float64(done))
	return d.Round(time.Second), true
}

// rate is n per second over elapsed, with one decimal; 0 before any time
// passed.
func rate(n float64, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return math.Round(n/elapsed.Seconds()*10) / 10
}
