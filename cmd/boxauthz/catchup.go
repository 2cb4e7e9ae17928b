package main

import (
	"context"
	"fmt"
	"strings"
	gosync "sync"

	"github.com/boxauthz/boxauthz/internal/progress"
	"github.com/boxauthz/boxauthz/sync/source"
)

// catchUp follows the initial catch-up of serve's streaming sources, which
// /readyz waits for: a replica still applying a backlog would answer
// checks from an old state.
type catchUp struct {
	mu      gosync.Mutex
	order   []string
	pending map[string]sourceState // sources not caught up yet, by name
}

// sourceState is how far a source not caught up yet is, and why its last
// run stopped, if it did.
type sourceState struct {
	progress source.Progress
	err      error
}

func newCatchUp() *catchUp { return &catchUp{pending: map[string]sourceState{}} }

// track adds a source to wait for; the function it returns takes the
// source's progress reports.
func (c *catchUp) track(what string) func(source.Progress) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.order = append(c.order, what)
	c.pending[what] = sourceState{}
	return func(p source.Progress) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if _, ok := c.pending[what]; !ok {
			return // caught up once: a later run does not make it unready
		}
		if p.CaughtUp {
			delete(c.pending, what)
			return
		}
		c.pending[what] = sourceState{progress: p}
	}
}

// failed notes that a run of the source stopped with err before it caught
// up (serve starts it again): /readyz says so until it reports again.
func (c *catchUp) failed(what string, err error) {
	if err == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.pending[what]; ok {
		s.err = err
		c.pending[what] = s
	}
}

// ready is nil once every source tracked has caught up.
func (c *catchUp) ready(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pending) == 0 {
		return nil
	}
	e := &catchingUpError{}
	for _, what := range c.order {
		if s, ok := c.pending[what]; ok {
			e.names = append(e.names, what)
			e.states = append(e.states, s)
		}
	}
	return e
}

// catchingUpError is /readyz's answer while sources catch up.
type catchingUpError struct {
	names  []string
	states []sourceState
}

func (e *catchingUpError) Error() string {
	parts := make([]string, len(e.names))
	for i, s := range e.states {
		parts[i] = e.names[i] + ": " + describeProgress(s.progress)
		if s.err != nil {
			parts[i] += ", stopped (retrying): " + s.err.Error()
		}
	}
	return "catching up on the events that were there when serve started (--ready-during-catch-up answers ready meanwhile): " + strings.Join(parts, "; ")
}

// PublicReason is what callers without the admin key read: the sources'
// names may be internal, how far they are is not.
func (e *catchingUpError) PublicReason() string {
	parts := make([]string, len(e.states))
	for i, s := range e.states {
		parts[i] = describeProgress(s.progress)
		if s.err != nil {
			parts[i] += ", stopped (retrying)"
		}
	}
	return fmt.Sprintf("catching up on %d event source(s) before answering: %s", len(e.states), strings.Join(parts, "; "))
}

// describeProgress reads a source's progress: "1200 of 5000 bytes (24%),
// 37 events applied", or "starting" before its first report.
func describeProgress(p source.Progress) string {
	if p.Unit == "" {
		return "starting"
	}
	s := fmt.Sprintf("%d %s read", p.Position, p.Unit)
	if p.Total > 0 {
		s = fmt.Sprintf("%d of %d %s (%.1f%%)", p.Position, p.Total, p.Unit, progress.Percent(p.Position, p.Total))
	}
	return fmt.Sprintf("%s, %d events applied", s, p.Applied)
}
