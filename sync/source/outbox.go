package source

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/event"
)

// OutboxDDL creates the transactional outbox: the application inserts each
// event into boxauthz_outbox in the same transaction as the change it
// describes, so an event exists exactly when its change committed. txid
// orders rows by transaction, which, unlike id alone, never lets a row that
// commits late be skipped. Bad events land in boxauthz_dead_letters.
const OutboxDDL = `
CREATE TABLE IF NOT EXISTS boxauthz_outbox (
    id         bigserial   PRIMARY KEY,
    txid       xid8        NOT NULL DEFAULT pg_current_xact_id(),
    event      jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS boxauthz_outbox_order ON boxauthz_outbox (txid, id);
CREATE TABLE IF NOT EXISTS boxauthz_dead_letters (
    id         bigserial   PRIMARY KEY,
    source     text        NOT NULL,
    outbox_id  bigint,
    event_id   text,
    event      text        NOT NULL,
    error      text        NOT NULL,
    at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, outbox_id)
);`

// OutboxSource mirrors the boxauthz_outbox table of a PostgreSQL database.
type OutboxSource struct {
	dsn string // the application database holding the outbox
	options
}

// OutboxStats is what a run did.
type OutboxStats struct {
	Counts
	Position string
	// Lag is how old the oldest row not yet applied was at the last poll,
	// counting committed rows held back behind an older transaction still
	// open anywhere in the PostgreSQL cluster.
	Lag time.Duration
}

// NewOutboxSource is a source of the outbox of the database at dsn.
// Options for file sources only are ignored.
func NewOutboxSource(dsn string, opts ...Option) (*OutboxSource, error) {
	if dsn == "" {
		return nil, ErrNoDSN
	}
	o := &OutboxSource{dsn: dsn, options: newOptions(opts)}
	if o.name == "" {
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("outbox source: parsing DSN: %w", err)
		}
		o.name = fmt.Sprintf("outbox:%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
	}
	return o, nil
}

// Name is the name of the source's position in SpiceDB.
func (o *OutboxSource) Name() string { return o.name }

// Run mirrors the outbox through a. Each batch commits its position (the
// last row's transaction id and row id) with its writes, so a run stopped at
// any moment continues exactly after the last batch it committed. Only rows of
// transactions older than every running one are read: a transaction still
// open may yet commit rows that sort before them.
func (o *OutboxSource) Run(ctx context.Context, a *sync.Applier) (OutboxStats, error) {
	var st OutboxStats
	conn, err := pgx.Connect(ctx, o.dsn)
	if err != nil {
		return st, fmt.Errorf("connecting to the outbox database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := ensureTables(ctx, conn); err != nil {
		return st, err
	}
	// The lease first: a position read before it could be moved by an
	// operator who saw no writer.
	release, err := holdLease(ctx, a, o.name, &o.options)
	if err != nil {
		return st, err
	}
	defer release()
	pos, err := a.Position(ctx, o.name)
	if err != nil {
		return st, err
	}
	if pos == "" {
		pos = "0-0"
	}
	op, err := ParseOutboxPosition(pos)
	if err != nil {
		return st, fmt.Errorf("the position committed for %s: %w", o.name, err)
	}
	st.Position = pos
	o.logger.InfoContext(ctx, "mirroring outbox", "source", o.name, "from", pos, "follow", o.follow)
	of := &outboxFeed{o: o, a: a, conn: conn, st: &st, txid: op.TxID, id: op.ID}
	if err := of.target(ctx); err != nil {
		return st, err
	}
	err = follow(ctx, a, of, &o.options, &st.Counts)
	return st, err
}

// ensureTables creates the outbox tables where one is missing: CREATE
// INDEX would wait for every open transaction that wrote to the outbox.
func ensureTables(ctx context.Context, conn *pgx.Conn) error {
	var missing bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('boxauthz_outbox') IS NULL OR to_regclass('boxauthz_dead_letters') IS NULL`).Scan(&missing); err != nil {
		return fmt.Errorf("looking for the outbox tables: %w", err)
	}
	if missing {
		if _, err := conn.Exec(ctx, OutboxDDL); err != nil {
			return fmt.Errorf("creating the outbox tables: %w", err)
		}
	}
	return nil
}

// outboxFeed is an outbox source's side of the follow loop: the rows after
// (txid, id), the last row read.
type outboxFeed struct {
	o        *OutboxSource
	a        *sync.Applier
	conn     *pgx.Conn
	st       *OutboxStats
	txid, id string
	n        int  // rows read by the last read
	holding  bool // rows wait behind an older open transaction
	// rows the run has read; total the rows after the committed position
	// when it started, and maxID the largest row id then: reading up to it
	// catches the run up.
	rows, total, maxID, lastID int64
}

// target counts the rows after the committed position, and finds the
// largest row id, as the run starts.
func (of *outboxFeed) target(ctx context.Context) error {
	err := of.conn.QueryRow(ctx, `
SELECT count(*), coalesce(max(id), 0)
  FROM boxauthz_outbox
 WHERE (txid, id) > ($1::text::xid8, $2::bigint)`, of.txid, of.id).Scan(&of.total, &of.maxID)
	if err != nil {
		return fmt.Errorf("counting the outbox rows to mirror: %w", err)
	}
	return nil
}

func (of *outboxFeed) progress() Progress {
	return Progress{
		Source: of.o.name, Position: of.rows, Total: of.total, Unit: UnitRows,
		CaughtUp: of.maxID == 0 || of.lastID >= of.maxID,
	}
}

var _ feed = (*outboxFeed)(nil)

// readFailed wraps a failed read of the outbox. A read cut short by the
// end of ctx may fail as a network timeout (the driver ends the connection's
// I/O by its deadline): it is reported as the cancellation it is.
func readFailed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("reading the outbox: %w", ctx.Err())
	}
	return fmt.Errorf("reading the outbox: %w", err)
}

// read reads the next rows below the horizon, up to a batch.
func (of *outboxFeed) read(ctx context.Context) (*pending, bool, error) {
	o := of.o
	rows, err := of.conn.Query(ctx, `
SELECT txid::text, id, event::text, extract(epoch from now() - created_at)
  FROM boxauthz_outbox
 WHERE (txid, id) > ($1::text::xid8, $2::bigint)
   AND txid < pg_snapshot_xmin(pg_current_snapshot())
 ORDER BY txid, id
 LIMIT $3`, of.txid, of.id, o.batchSize)
	if err != nil {
		return nil, false, readFailed(ctx, err)
	}
	defer rows.Close()
	p := &pending{batch: sync.Batch{Source: o.name}}
	of.st.Lag, of.n = 0, 0
	for rows.Next() {
		var (
			rowTx string
			rowID int64
			ev    string
			age   float64
		)
		if err := rows.Scan(&rowTx, &rowID, &ev, &age); err != nil {
			return nil, false, readFailed(ctx, err)
		}
		if of.n == 0 {
			of.st.Lag = time.Duration(age * float64(time.Second))
		}
		of.n++
		of.rows++
		of.lastID = max(of.lastID, rowID)
		of.txid, of.id = rowTx, strconv.FormatInt(rowID, 10)
		e, derr := event.DecodeEvent([]byte(ev), int(rowID))
		if derr != nil {
			p.bad = append(p.bad, rejected{at: rowID, raw: []byte(ev), err: derr})
			continue
		}
		p.batch.Events = append(p.batch.Events, e)
		p.batch.Positions = append(p.batch.Positions, of.txid+"-"+of.id)
		p.raws = append(p.raws, rejected{at: rowID, raw: []byte(ev)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, false, readFailed(ctx, err)
	}
	p.batch.End = of.txid + "-" + of.id
	of.a.Metrics().Lag(o.name, -1, of.st.Lag)
	caughtUp := of.n < o.batchSize
	if of.n == 0 {
		return nil, caughtUp, nil
	}
	return p, caughtUp, nil
}

func (of *outboxFeed) committed(p *pending) { of.st.Position = p.batch.End }

// idle reports rows past the horizon: committed, but a transaction older
// than them is still open (in any database of the cluster: xids are
// cluster-wide). They wait for it, and show in the lag.
func (of *outboxFeed) idle(ctx context.Context) (bool, error) {
	o := of.o
	held, err := o.heldBack(ctx, of.conn, of.txid, of.id)
	if err != nil {
		return false, err
	}
	if held > 0 {
		of.st.Lag = held
		of.a.Metrics().Lag(o.name, -1, held)
		if !of.holding {
			o.logger.InfoContext(ctx, "outbox rows wait for an older transaction still open in the cluster", "source", o.name, "oldest_waiting", held.Round(time.Millisecond))
		}
	}
	of.holding = held > 0
	return false, nil
}

func (of *outboxFeed) setAside(ctx context.Context, bad []rejected) error {
	for _, r := range bad {
		if err := of.o.deadLetter(ctx, of.conn, r); err != nil {
			return err
		}
	}
	return nil
}

// heldBack is the age of the oldest row after (txid, id) that the horizon
// keeps back, or 0 when there is none.
func (o *OutboxSource) heldBack(ctx context.Context, conn *pgx.Conn, txid, id string) (time.Duration, error) {
	var age float64
	err := conn.QueryRow(ctx, `
SELECT extract(epoch from now() - created_at)
  FROM boxauthz_outbox
 WHERE (txid, id) > ($1::text::xid8, $2::bigint)
 ORDER BY txid, id
 LIMIT 1`, txid, id).Scan(&age)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, readFailed(ctx, err)
	}
	return max(time.Duration(age*float64(time.Second)), time.Nanosecond), nil
}

// deadLetter writes the row of a bad event to boxauthz_dead_letters.
func (o *OutboxSource) deadLetter(ctx context.Context, conn *pgx.Conn, r rejected) error {
	var eventID *string
	var ee *event.Error
	if errors.As(r.err, &ee) && ee.EventID != "" {
		eventID = &ee.EventID
	}
	if _, err := conn.Exec(ctx, `INSERT INTO boxauthz_dead_letters (source, outbox_id, event_id, event, error) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (source, outbox_id) DO NOTHING`,
		o.name, r.at, eventID, string(r.raw), r.err.Error()); err != nil {
		return fmt.Errorf("writing dead letter for outbox row %d: %w", r.at, err)
	}
	o.logger.Warn("event set aside", "source", o.name, "outbox_id", r.at, "error", strings.TrimSpace(r.err.Error()))
	return nil
}
