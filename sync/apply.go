package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/sync/event"
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

// reservedUpdates are the updates of a write that are not events': the
// source position and the writer epoch, each a touch and a delete.
const reservedUpdates = 4

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

// WithMaxUpdatesPerWrite sets how many relationship updates one write may
// carry, SpiceDB's --write-relationships-max-updates-per-call. The default,
// spicedb.MaxUpdatesPerWrite, is what every SpiceDB boxauthz starts is given;
// a SpiceDB that takes fewer says so when it refuses a write (which then
// changed nothing), and the Applier keeps to its limit from then on.
func WithMaxUpdatesPerWrite(n int) Option { return func(a *Applier) { a.maxUpdates = n } }

// NewApplier returns an Applier writing to c.
func NewApplier(c Client, opts ...Option) *Applier {
	a := &Applier{client: c, log: slog.Default(), now: time.Now, dedupWindow: 30 * 24 * time.Hour, maxUpdates: spicedb.MaxUpdatesPerWrite, store: newStore(c)}
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
	Events []event.Event
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
func (a *Applier) Apply(ctx context.Context, events []event.Event) (Result, error) {
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
// so a crash between them resumes exactly after the last one written; a
// failure after some of them is a *PartialError naming the events written.
// An event that alone is larger than one write (deleting a big folder) is
// written in several; its first write puts the folder in the trash, so
// nobody gains or keeps access while the rest is removed, and a resumed run
// removes what is left.
//
// A cancelled ctx stops the batch before its next event (nothing written)
// or its next write.
func (a *Applier) ApplyBatch(ctx context.Context, b Batch) (Result, error) {
	if err := b.check(); err != nil {
		return Result{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	began := time.Now()

	w := &batchWrite{a: a, b: b, ov: newOverlay(a.store)}
	if b.Source != "" {
		var err error
		if w.prev, err = a.positionRel(ctx, b.Source); err != nil {
			return w.res, err
		}
	}
	if err := a.store.load(ctx); err != nil {
		a.store.reset()
		return w.res, err
	}
	committed := false
	defer func() {
		if !committed {
			a.store.reset()
		}
	}()
	if err := w.translate(ctx); err != nil {
		return Result{}, err
	}
	if w.res.Applied == 0 && (b.Source == "" || positionOf(w.prev) == b.End) {
		// Nothing to write: the token is SpiceDB's present, which covers
		// the earlier writes of these events.
		tok, err := a.store.token(ctx)
		if err != nil {
			return w.res, err
		}
		w.res.Token = tok
		committed = true
		a.metrics.observeBatch(b.Source, w.res, time.Since(began))
		return w.res, nil
	}
	if err := w.writeAll(ctx); err != nil {
		return w.res, err
	}
	if err := w.settle(ctx); err != nil {
		return w.res, err
	}
	a.store.fold(w.ov.log)
	committed = true
	a.metrics.observeBatch(b.Source, w.res, time.Since(began))
	first, last := "", ""
	if len(b.Events) > 0 {
		first, last = b.Events[0].ID, b.Events[len(b.Events)-1].ID
	}
	a.log.InfoContext(ctx, "applied events", "source", label(b.Source), "applied", w.res.Applied, "duplicates", w.res.Duplicates,
		"writes", w.res.Writes, "first_event", first, "last_event", last, "position", b.End)
	return w.res, nil
}

// check checks a batch's positions.
func (b Batch) check() error {
	if b.Source == "" {
		return nil
	}
	if len(b.Positions) != len(b.Events) {
		return fmt.Errorf("batch from %s: %d positions for %d events", b.Source, len(b.Positions), len(b.Events))
	}
	if err := validPosition(b.End); err != nil {
		return fmt.Errorf("batch from %s: %w", b.Source, err)
	}
	for _, p := range b.Positions {
		if err := validPosition(p); err != nil {
			return fmt.Errorf("batch from %s: %w", b.Source, err)
		}
	}
	return nil
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

// writeError describes a failed write. A write refused for its size lowers
// the Applier's limit to SpiceDB's, so that the batch is planned again.
func (a *Applier) writeError(ctx context.Context, source string, n int, err error) error {
	st, _ := status.FromError(err)
	switch st.Code() {
	case codes.InvalidArgument:
		for _, d := range st.Details() {
			info, ok := d.(*errdetails.ErrorInfo)
			if !ok || info.GetReason() != v1.ErrorReason_ERROR_REASON_TOO_MANY_UPDATES_IN_REQUEST.String() {
				continue
			}
			m, perr := strconv.Atoi(info.GetMetadata()["maximum_updates_allowed"])
			if perr != nil || m <= reservedUpdates || m >= a.maxUpdates {
				break
			}
			a.log.WarnContext(ctx, "spicedb takes fewer relationship updates per write than assumed: batches larger than that are written in several transactions (raise spicedb's --write-relationships-max-updates-per-call)",
				"assumed", a.maxUpdates, "spicedb_max", m)
			a.maxUpdates = m
			return &tooManyUpdatesError{max: m, err: err}
		}
	case codes.FailedPrecondition:
		return fmt.Errorf("writing events of %s: another writer changed spicedb meanwhile (retry: the state is read again): %w", label(source), err)
	case codes.Aborted:
		// A SpiceDB told to take more updates than its datastore can
		// write at once (PostgreSQL: 7,281 touches) refuses the write
		// whole: halve it.
		if strings.Contains(st.Message(), "exceeds the maximum size supported by this datastore") && n/2 > reservedUpdates && n/2 < a.maxUpdates {
			a.log.WarnContext(ctx, "spicedb's datastore refused a write as too large: writing fewer relationship updates at a time",
				"updates", n, "now", n/2)
			a.maxUpdates = n / 2
			return &tooManyUpdatesError{max: n / 2, err: err}
		}
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("writing %d relationship updates: %w: %w", n, cerr, err)
	}
	return fmt.Errorf("writing %d relationship updates: %w", n, err)
}

// committed tells whether a write that failed with err committed after
// all (its answer lost), by whether SpiceDB holds the writer epoch it set.
// A refusal is certain; otherwise SpiceDB is asked, and cerr says it could
// not answer.
func (a *Applier) committed(ctx context.Context, next *v1.Relationship, err error) (ok bool, cerr error) {
	switch status.Code(err) {
	case codes.InvalidArgument, codes.FailedPrecondition, codes.PermissionDenied, codes.Unauthenticated, codes.AlreadyExists, codes.NotFound:
		return false, nil
	}
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	ep, rerr := a.store.fetch(qctx, epochFilter())
	if rerr != nil {
		return false, rerr
	}
	return len(ep) == 1 && positionOf(ep[0]) == positionOf(next), nil
}
