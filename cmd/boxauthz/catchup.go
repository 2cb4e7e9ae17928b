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
	pending map[string]source.Progress // sources not caught up yet, by name
}

func newCatchUp() *catchUp { return &catchUp{pending: map[string]source.Progress{}} }

// track adds a source to wait for; the function it returns takes the
// source's progress reports.
func (c *catchUp) track(what string) func(source.Progress) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.order = append(c.order, what)
	c.pending[what] = source.Progress{}
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
		c.pending[what] = p
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
		if p, ok := c.pending[what]; ok {
			e.names = append(e.names, what)
			e.states = append(e.states, p)
		}
	}
	return e
}

// catchingUpError is /readyz's answer while sources catch up.
type catchingUpError struct {
	names  []string
	states []source.Progress
}

func (e *catchingUpError) Error() string {
	parts := make([]string, len(e.names))
	for i, p := range e.states {
		parts[i] = e.names[i] + ": " + describeProgress(p)
	}
	return "catching up on the events that were there when serve started (--ready-during-catch-up answers ready meanwhile): " + strings.Join(parts, "; ")
}

// PublicReason is what callers without the admin key read: the sources'
// names may be internal, how far they are is not.
func (e *catchingUpError) PublicReason() string {
	parts := make([]string, len(e.states))
	for i, p := range e.states {
		parts[i] = describeProgress(p)
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
