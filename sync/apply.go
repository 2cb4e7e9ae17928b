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
)

// Client is what the Applier needs of SpiceDB.
type Client interface {
	Reader
	WriteRelationships(ctx context.Context, in *v1.WriteRelationshipsRequest, opts ...grpc.CallOption) (*v1.WriteRelationshipsResponse, error)
	CheckBulkPermissions(ctx context.Context, in *v1.CheckBulkPermissionsRequest, opts ...grpc.CallOption) (*v1.CheckBulkPermissionsResponse, error)
}

// Applier applies batches of events to SpiceDB. One Applier serialises its
// batches, so each reads the state the previous one wrote.
type Applier struct {
	client      Client
	log         *slog.Logger
	now         func() time.Time
	dedupWindow time.Duration
	maxUpdates  int

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
	a := &Applier{client: c, log: slog.Default(), now: time.Now, dedupWindow: 30 * 24 * time.Hour, maxUpdates: 1000}
	for _, o := range opts {
		o(a)
	}
	return a
}

// Result is what applying a batch did.
type Result struct {
	Applied    int
	Duplicates int
	// Token is a consistency token at least as fresh as the batch's writes:
	// checks made with it see the batch.
	Token *v1.ZedToken
}

// Apply validates every event of the batch against the state SpiceDB holds
// (plus the batch's earlier events) and then writes the whole batch. A bad
// event fails the batch with an *EventError and nothing is written. Events
// whose id was applied before are skipped and counted.
func (a *Applier) Apply(ctx context.Context, events []Event) (Result, error) {
	a.mu.Lock()
	defer a.mu.Unlock()

	dup, token, err := a.applied(ctx, events)
	if err != nil {
		return Result{}, err
	}
	ov := newOverlay(a.client)
	tr := &translator{ov: ov, now: a.now()}
	var res Result
	seen := map[string]bool{}
	for i, ev := range events {
		if dup[ev.ID] || seen[ev.ID] {
			res.Duplicates++
			continue
		}
		seen[ev.ID] = true
		if err := tr.apply(ctx, ev); err != nil {
			return Result{}, asEventError(err, i, ev)
		}
		ov.touch(withExpiry(rel(typeEvent, eventKey(ev.ID), relApplied, subj(typeEvent, eventKey(ev.ID), "")), a.now().Add(a.dedupWindow)))
		res.Applied++
	}
	res.Token = token
	if res.Applied == 0 {
		return res, nil
	}
	updates := ov.updates()
	// The batch is one transaction when it fits one call. A larger one is
	// written in calls of at most maxUpdates, the applied-event markers
	// last, so an interrupted batch is not marked applied and a redelivery
	// applies it again (events state whole objects, so that is safe).
	for start := 0; start < len(updates); start += a.maxUpdates {
		end := min(start+a.maxUpdates, len(updates))
		resp, err := a.client.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: updates[start:end]})
		if err != nil {
			return Result{}, fmt.Errorf("writing %d relationship updates for %d events: %w", end-start, res.Applied, err)
		}
		res.Token = resp.GetWrittenAt()
	}
	a.log.InfoContext(ctx, "applied events", "applied", res.Applied, "duplicates", res.Duplicates, "updates", len(updates))
	return res, nil
}

// applied tells which event ids SpiceDB already records as applied.
func (a *Applier) applied(ctx context.Context, events []Event) (map[string]bool, *v1.ZedToken, error) {
	items := make([]*v1.CheckBulkPermissionsRequestItem, 0, len(events))
	for _, ev := range events {
		k := eventKey(ev.ID)
		items = append(items, &v1.CheckBulkPermissionsRequestItem{Resource: obj(typeEvent, k), Permission: relApplied, Subject: subj(typeEvent, k, "")})
	}
	if len(items) == 0 {
		return nil, nil, nil
	}
	dup := map[string]bool{}
	var token *v1.ZedToken
	for start := 0; start < len(items); start += 1000 {
		end := min(start+1000, len(items))
		resp, err := a.client.CheckBulkPermissions(ctx, &v1.CheckBulkPermissionsRequest{
			Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
			Items:       items[start:end],
		})
		if err != nil {
			return nil, nil, fmt.Errorf("looking up applied event ids: %w", err)
		}
		for i, p := range resp.GetPairs() {
			if p.GetError() != nil {
				return nil, nil, fmt.Errorf("looking up applied event id %q: %s", events[start+i].ID, p.GetError().GetMessage())
			}
			if p.GetItem().GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION {
				dup[events[start+i].ID] = true
			}
		}
		token = resp.GetCheckedAt()
	}
	return dup, token, nil
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
