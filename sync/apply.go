package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	gosync "sync"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Client is what the Applier needs of SpiceDB.
type Client interface {
	Reader
	WriteRelationships(ctx context.Context, in *v1.WriteRelationshipsRequest, opts ...grpc.CallOption) (*v1.WriteRelationshipsResponse, error)
	CheckBulkPermissions(ctx context.Context, in *v1.CheckBulkPermissionsRequest, opts ...grpc.CallOption) (*v1.CheckBulkPermissionsResponse, error)
}

// settleTimeout bounds confirming a batch already written, which goes on
// after the caller's context ends.
const settleTimeout = 30 * time.Second

// Applier applies batches of events to SpiceDB. One Applier serialises its
// batches, so each reads the state the previous one wrote.
type Applier struct {
	client      Client
	log         *slog.Logger
	now         func() time.Time
	dedupWindow time.Duration
	maxUpdates  int
	metrics     *Metrics
	store       *store

	mu gosync.Mutex
}

// Option configures an Applier.
type Option func(*Applier)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(a *Applier) { a.log = l } }

// WithClock sets the clock used for expiry decisions (tests).
func WithClock(now func() time.Time) Option { return func(a *Applier) { a.now = now } }

// WithDedupWindow sets how long applied event ids are remembered (default 30
// days). A redelivery older than the window is applied again.
func WithDedupWindow(d time.Duration) Option { return func(a *Applier) { a.dedupWindow = d } }

// WithMaxUpdatesPerWrite matches SpiceDB's --write-relationships-max-updates-per-call (default 1000).
func WithMaxUpdatesPerWrite(n int) Option { return func(a *Applier) { a.maxUpdates = n } }

// NewApplier returns an Applier writing to c.
func NewApplier(c Client, opts ...Option) *Applier {
	a := &Applier{client: c, log: slog.Default(), now: time.Now, dedupWindow: 30 * 24 * time.Hour, maxUpdates: 1000, store: newStore(c)}
	for _, o := range opts {
		o(a)
	}
	a.store.log = a.log
	return a
}

// Result is what applying a batch did.
type Result struct {
	Applied    int
	Duplicates int
	// Writes is how many SpiceDB write transactions the batch took: 1 unless
	// it was larger than one write takes.
	Writes int
	// Token is a consistency token at least as fresh as the batch's writes:
	// checks made with it see the batch.
	Token *v1.ZedToken
}

// Batch is a run of events from one source.
type Batch struct {
	Events []Event
	// Source names a streaming source (a file, an outbox) whose position is
	// committed in the same SpiceDB transaction as the events it covers; ""
	// for a request that carries no position.
	Source string
	// Positions[i] is the source's position just after Events[i]: a file
	// offset, an outbox key; any string of [A-Za-z0-9_|=+/-].
	Positions []string
	// End is the source's position after the whole batch, which may lie past
	// the last event (bad lines set aside at the end of a read).
	End string
}

// Apply validates and writes events that come with no source position (an
// HTTP request). See ApplyBatch.
func (a *Applier) Apply(ctx context.Context, events []Event) (Result, error) {
	return a.ApplyBatch(ctx, Batch{Events: events})
}

// ApplyBatch validates every event of the batch against the state SpiceDB
// holds (plus the batch's earlier events) and then writes the batch. A bad
// event fails the batch with an *EventError and nothing is written. Events
// whose id was applied before are skipped and counted.
//
// A batch that fits one SpiceDB write (maxUpdates) is one transaction. A
// larger one is written in transactions that end at event boundaries, each
// with the ids of its events and the source position after its last event,
// so a crash between them resumes exactly after the last one written. An
// event that alone is larger than one write (deleting a big folder) is
// written in several; its first write puts the folder in the trash, so
// nobody gains or keeps access while the rest is removed, and a resumed run
// removes what is left.
func (a *Applier) ApplyBatch(ctx context.Context, b Batch) (Result, error) {
	if b.Source != "" {
		if len(b.Positions) != len(b.Events) {
			return Result{}, fmt.Errorf("batch from %s: %d positions for %d events", b.Source, len(b.Positions), len(b.Events))
		}
		if err := validPosition(b.End); err != nil {
			return Result{}, fmt.Errorf("batch from %s: %w", b.Source, err)
		}
		for _, p := range b.Positions {
			if err := validPosition(p); err != nil {
				return Result{}, fmt.Errorf("batch from %s: %w", b.Source, err)
			}
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	began := time.Now()

	var res Result
	var prev *v1.Relationship
	if b.Source != "" {
		var err error
		if prev, err = a.positionRel(ctx, b.Source); err != nil {
			return res, err
		}
	}
	if err := a.store.load(ctx); err != nil {
		a.store.reset()
		return res, err
	}
	committed := false
	defer func() {
		if !committed {
			a.store.reset()
		}
	}()

	ov := newOverlay(a.store)
	tr := &translator{ov: ov, now: a.now()}
	type span struct {
		start, end int // the event's slice of ov.log
		ev         int
	}
	var spans []span
	seen := map[string]bool{}
	for i, ev := range b.Events {
		if a.store.applied[ev.dedupKey()] || seen[ev.dedupKey()] {
			res.Duplicates++
			continue
		}
		seen[ev.dedupKey()] = true
		start := ov.mark()
		if err := tr.apply(ctx, ev); err != nil {
			return Result{}, asEventError(err, i, ev)
		}
		ov.touch(withExpiry(rel(typeEvent, ev.dedupKey(), relApplied, subj(typeEvent, ev.dedupKey(), "")), a.now().Add(a.dedupWindow)))
		spans = append(spans, span{start: start, end: ov.mark(), ev: i})
		res.Applied++
	}
	if res.Applied == 0 && (b.Source == "" || positionOf(prev) == b.End) {
		// Nothing to write: the token is SpiceDB's present, which covers
		// the earlier writes of these events.
		tok, err := a.store.token(ctx)
		if err != nil {
			return res, err
		}
		res.Token = tok
		committed = true
		a.metrics.observeBatch(b.Source, res, time.Since(began))
		return res, nil
	}

	// Group events into writes of at most maxUpdates, one slot kept for the
	// position.
	// Keep room for the position and the writer epoch.
	limit := a.maxUpdates - 4
	write := func(log []change, pos string, final bool) error {
		ups := updates(log)
		var pre []*v1.Precondition
		if b.Source != "" && final {
			var posUps []*v1.RelationshipUpdate
			posUps, pre = positionUpdates(b.Source, prev, pos)
			ups = append(ups, posUps...)
		}
		if len(ups) == 0 {
			return nil
		}
		epUps, epPre, epDone := a.store.epochUpdate()
		ups, pre = append(ups, epUps...), append(pre, epPre...)
		resp, err := a.client.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: ups, OptionalPreconditions: pre})
		if err != nil {
			if status.Code(err) == codes.FailedPrecondition {
				return fmt.Errorf("writing events of %s: another writer changed spicedb meanwhile (retry: the state is read again): %w", label(b.Source), err)
			}
			return fmt.Errorf("writing %d relationship updates: %w", len(ups), err)
		}
		epDone()
		res.Writes++
		res.Token = resp.GetWrittenAt()
		if b.Source != "" && final {
			prev = positionRelationship(b.Source, pos)
		}
		return nil
	}
	chunkStart := 0
	inChunk := map[string]bool{}
	for k, sp := range spans {
		fresh := map[string]bool{}
		for _, c := range ov.log[sp.start:sp.end] {
			if k := key(c.rel); !inChunk[k] {
				fresh[k] = true
			}
		}
		if len(inChunk)+len(fresh) <= limit {
			for k := range fresh {
				inChunk[k] = true
			}
			continue
		}
		// Commit the events before this one, if any.
		if sp.start > chunkStart {
			if err := write(ov.log[chunkStart:sp.start], b.Positions0(spans[k-1].ev), true); err != nil {
				return res, err
			}
			chunkStart = sp.start
		}
		// An event too large for one write goes in pieces; only the last
		// piece carries its marker and position.
		for sp.end-chunkStart > limit {
			if err := write(ov.log[chunkStart:chunkStart+limit], "", false); err != nil {
				return res, err
			}
			chunkStart += limit
		}
		inChunk = map[string]bool{}
		for _, c := range ov.log[chunkStart:sp.end] {
			inChunk[key(c.rel)] = true
		}
	}
	end := b.End
	if err := write(ov.log[chunkStart:], end, true); err != nil {
		return res, err
	}
	// The batch is written. A caller that stops now (follow mode's normal
	// end) must not turn it into a failed batch, so the confirmation
	// outlives ctx, within its own bound.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	err := a.store.settle(sctx)
	cancel()
	if err != nil {
		return res, fmt.Errorf("confirming the write of events of %s: %w", label(b.Source), err)
	}
	a.store.fold(ov.log)
	committed = true
	a.metrics.observeBatch(b.Source, res, time.Since(began))
	first, last := "", ""
	if len(b.Events) > 0 {
		first, last = b.Events[0].ID, b.Events[len(b.Events)-1].ID
	}
	a.log.InfoContext(ctx, "applied events", "source", label(b.Source), "applied", res.Applied, "duplicates", res.Duplicates,
		"writes", res.Writes, "first_event", first, "last_event", last, "position", b.End)
	return res, nil
}

// Positions0 is the position after event i, or "" without a source.
func (b Batch) Positions0(i int) string {
	if b.Source == "" {
		return ""
	}
	return b.Positions[i]
}

// eventKey maps an event id (any printable text) to a SpiceDB object id.
func eventKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:16])
}

func asEventError(err error, index int, ev Event) error {
	if ee, ok := err.(*EventError); ok {
		ee.Index, ee.EventID = index, ev.ID
		return ee
	}
	if fe, ok := err.(*fieldError); ok {
		return &EventError{Index: index, EventID: ev.ID, Field: fe.field, Reason: fe.reason}
	}
	return fmt.Errorf("applying event %q (index %d): %w", ev.ID, index, err)
}

// fieldError is a stateful rule broken by an event (the parent does not
// exist, a move makes a cycle ...).
type fieldError struct {
	field, reason string
}

func (e *fieldError) Error() string { return fmt.Sprintf("field %q: %s", e.field, e.reason) }

func badField(field, format string, args ...any) error {
	return &fieldError{field: field, reason: fmt.Sprintf(format, args...)}
}
