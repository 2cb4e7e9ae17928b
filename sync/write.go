package sync

import (
	"context"
	"errors"
	"fmt"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/schema/rel"
)

// batchWrite is one batch being applied: its changes, computed against
// SpiceDB's state plus the batch's earlier events, and how far they are
// written.
type batchWrite struct {
	a    *Applier
	b    Batch
	ov   *overlay
	prev *v1.Relationship // the source's committed position
	res  Result
	// spans are the applied events' slices of ov.log, in order.
	spans []span
	// done counts the spans written whole; from is where the unwritten
	// changes begin; partly says spans[done] is written in part.
	done, from int
	partly     bool
}

// span is one event's slice of the overlay's log.
type span struct {
	start, end int
	ev         int // the event's index in the batch
}

// translate computes the changes of every event not applied before, and
// the marker that remembers its id.
func (w *batchWrite) translate(ctx context.Context) error {
	a, b, ov := w.a, w.b, w.ov
	tr := &translator{ov: ov, now: a.now()}
	seen := map[string]bool{}
	for i, ev := range b.Events {
		// A request given up on stops here, before anything is written.
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("applying events of %s: stopped at event %q (index %d), nothing written: %w", label(b.Source), ev.ID, i, err)
		}
		k := eventKey(ev.DedupKey())
		if a.store.applied[k] || seen[k] {
			w.res.Duplicates++
			continue
		}
		seen[k] = true
		start := ov.mark()
		if err := tr.apply(ctx, ev); err != nil {
			return asEventError(err, i, ev)
		}
		ov.touch(rel.WithExpiry(rel.New(typeEvent, k, relApplied, rel.Subject(typeEvent, k, "")), a.now().Add(a.dedupWindow)))
		w.spans = append(w.spans, span{start: start, end: ov.mark(), ev: i})
		w.res.Applied++
	}
	return nil
}

// fail reports a failure after the writes of spans[:done]: the caller
// learns exactly which events are in SpiceDB, so that sending the batch
// again (which skips them) is an informed choice.
func (w *batchWrite) fail(err error, unknown []span) error {
	pe := &PartialError{Err: err}
	for _, sp := range w.spans[:w.done] {
		pe.Applied = append(pe.Applied, w.b.Events[sp.ev].ID)
	}
	if w.partly && w.done < len(w.spans) {
		pe.Partly = w.b.Events[w.spans[w.done].ev].ID
	}
	for _, sp := range unknown {
		pe.Unknown = append(pe.Unknown, w.b.Events[sp.ev].ID)
	}
	if len(pe.Applied) == 0 && pe.Partly == "" && len(pe.Unknown) == 0 {
		return err // nothing of the batch is in SpiceDB
	}
	return pe
}

// writeAll writes the changes: as many whole events as one SpiceDB write
// takes, each write with its events' ids and the position after its last
// event.
func (w *batchWrite) writeAll(ctx context.Context) error {
	spans, log := w.spans, w.ov.log
	for {
		// Keep room for the position and the writer epoch.
		limit := w.a.maxUpdates - reservedUpdates
		keys := map[string]bool{}
		upTo := w.done
		for ; upTo < len(spans); upTo++ {
			for _, c := range log[max(spans[upTo].start, w.from):spans[upTo].end] {
				keys[rel.Key(c.rel)] = true
			}
			if len(keys) > limit {
				break
			}
		}
		var err error
		switch {
		case upTo == len(spans):
			// The rest, with the batch's end.
			err = w.write(ctx, log[w.from:], upTo, w.b.End, true)
		case upTo > w.done:
			if err = w.write(ctx, log[w.from:spans[upTo-1].end], upTo, w.b.Positions0(spans[upTo-1].ev), true); err == nil {
				w.from = spans[upTo-1].end
			}
		default:
			// An event too large for one write goes in pieces, all but
			// the last without its marker and position (a resumed run
			// completes it); its own order makes every prefix safe.
			for err == nil && spans[w.done].end-w.from > limit {
				if err = w.write(ctx, log[w.from:w.from+limit], w.done, "", false); err == nil {
					w.from += limit
				}
			}
		}
		var tooMany *tooManyUpdatesError
		if errors.As(err, &tooMany) {
			continue // nothing was written: plan again under SpiceDB's limit
		}
		if err != nil {
			return err
		}
		if upTo == len(spans) {
			return nil
		}
	}
}

// write commits log (events spans[done:upTo], or a piece of spans[done]
// when final is false) and the position pos.
func (w *batchWrite) write(ctx context.Context, log []change, upTo int, pos string, final bool) error {
	a, b := w.a, w.b
	if err := ctx.Err(); err != nil {
		return w.fail(fmt.Errorf("writing events of %s: stopped: %w", label(b.Source), err), nil)
	}
	ups := updates(log)
	var pre []*v1.Precondition
	if b.Source != "" && final {
		var posUps []*v1.RelationshipUpdate
		posUps, pre = positionUpdates(b.Source, w.prev, pos)
		ups = append(ups, posUps...)
	}
	if len(ups) == 0 {
		return nil
	}
	epUps, epPre, next, epDone := a.store.epochUpdate()
	ups, pre = append(ups, epUps...), append(pre, epPre...)
	resp, err := a.client.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: ups, OptionalPreconditions: pre})
	if err != nil {
		committed, cerr := a.committed(ctx, next, err)
		if !committed {
			return w.writeFailure(ctx, len(ups), upTo, final, err, cerr)
		}
		// The answer was lost, not the write.
		resp = &v1.WriteRelationshipsResponse{}
	}
	epDone()
	w.res.Writes++
	if tok := resp.GetWrittenAt(); tok != nil {
		w.res.Token = tok
	}
	if b.Source != "" && final {
		w.prev = positionRelationship(b.Source, pos)
	}
	if final {
		w.done, w.partly = upTo, false
	} else {
		w.partly = true
	}
	return nil
}

// writeFailure reports a write of n updates that did not commit, or whose
// outcome is unknown (cerr, SpiceDB could not say): then the events of the
// write may or may not be in SpiceDB, and sending them again is safe
// either way.
func (w *batchWrite) writeFailure(ctx context.Context, n, upTo int, final bool, err, cerr error) error {
	werr := w.a.writeError(ctx, w.b.Source, n, err)
	if cerr == nil {
		return w.fail(werr, nil)
	}
	unknown := w.spans[w.done:upTo]
	if !final {
		unknown = w.spans[w.done : w.done+1]
	}
	return w.fail(fmt.Errorf("%w (whether this write committed is unknown: %w)", werr, cerr), unknown)
}

// settle confirms the batch is written. A caller that stops now (follow
// mode's normal end) must not turn it into a failed batch, so the
// confirmation outlives ctx, within its own bound.
func (w *batchWrite) settle(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	if err := w.a.store.settle(sctx); err != nil {
		return w.fail(fmt.Errorf("confirming the write of events of %s: %w", label(w.b.Source), err), nil)
	}
	if w.res.Token == nil {
		// Every answer was lost, though the writes committed.
		tok, err := w.a.store.token(sctx)
		if err != nil {
			return w.fail(err, nil)
		}
		w.res.Token = tok
	}
	return nil
}
