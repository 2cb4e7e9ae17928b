package source

import (
	"context"
	"errors"
	"time"

	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/event"
)

// Counts is what a run of a source did.
type Counts struct {
	Applied, Duplicates, DeadLetters int
}

// feed is one source's side of the follow loop: where its batches come
// from and where its bad events go.
type feed interface {
	// read reads the next batch. caughtUp says the source has nothing more
	// to read now; b is nil when there is nothing to apply or commit.
	read(ctx context.Context) (b *pending, caughtUp bool, err error)
	// setAside records bad events, durably, before a position that skips
	// them is committed.
	setAside(ctx context.Context, bad []rejected) error
	// committed runs once b is applied and its position committed.
	committed(b *pending)
	// idle runs when the source is caught up. again says to read at once
	// (the file was rotated); otherwise the loop waits or ends.
	idle(ctx context.Context) (again bool, err error)
	// progress is where the run stands against what the source held when
	// it started; CaughtUp when it has read all of that. The loop fills in
	// the counts.
	progress() Progress
}

// pending is a batch read from a source and not applied yet.
type pending struct {
	batch sync.Batch
	// raws are the batch's events as read, to set aside those the state
	// refuses: raws[i] is batch.Events[i].
	raws []rejected
	// bad are the events that did not decode.
	bad []rejected
}

// rejected is a bad event: where it was in its source (a file offset, an
// outbox row id), as read, and why it is bad.
type rejected struct {
	at  int64
	raw []byte
	err error
}

// follow is the loop of every source: read a batch, apply it with its
// position, and when caught up wait for more (follow) or return. Every
// batch commits its position with its writes, so a run stopped at any
// moment continues exactly after the last batch it committed.
func follow(ctx context.Context, a *sync.Applier, f feed, o *options, c *Counts) error {
	rp := &runProgress{o: o, f: f, c: c}
	rp.report(false)
	for {
		b, caughtUp, err := f.read(ctx)
		if err != nil {
			return err
		}
		if b != nil {
			if err := apply(ctx, a, f, b, c); err != nil {
				return err
			}
			f.committed(b)
			rp.report(false)
		}
		if !caughtUp {
			continue
		}
		again, err := f.idle(ctx)
		if err != nil {
			return err
		}
		if again {
			continue
		}
		rp.idle()
		if !o.follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(o.pollInterval):
		}
	}
}

// apply sets the batch's undecodable events aside and writes the rest; an
// event the state refuses is set aside too and the batch applied again
// without it. A batch left without events still commits its position.
func apply(ctx context.Context, a *sync.Applier, f feed, p *pending, c *Counts) error {
	if err := f.setAside(ctx, p.bad); err != nil {
		return err
	}
	a.Metrics().DeadLettered(p.batch.Source, len(p.bad))
	c.DeadLetters += len(p.bad)
	if len(p.batch.Events) == 0 && len(p.bad) == 0 {
		return nil
	}
	b := p.batch
	raws := p.raws
	for {
		res, err := a.ApplyBatch(ctx, b)
		var ee *event.Error
		if errors.As(err, &ee) && ee.Index >= 0 && ee.Index < len(b.Events) {
			i := ee.Index
			r := raws[i]
			r.err = err
			if err := f.setAside(ctx, []rejected{r}); err != nil {
				return err
			}
			a.Metrics().DeadLettered(b.Source, 1)
			c.DeadLetters++
			b.Events = append(b.Events[:i:i], b.Events[i+1:]...)
			b.Positions = append(b.Positions[:i:i], b.Positions[i+1:]...)
			raws = append(raws[:i:i], raws[i+1:]...)
			continue
		}
		if err != nil {
			return err
		}
		c.Applied += res.Applied
		c.Duplicates += res.Duplicates
		return nil
	}
}
