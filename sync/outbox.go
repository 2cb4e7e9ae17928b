package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

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
	// DSN is the application database holding the outbox.
	DSN string
	// Name identifies the source's position in SpiceDB. Default: "outbox:"
	// and the DSN's host, port and database.
	Name string
	// Follow keeps polling for new rows until ctx ends.
	Follow bool
	// PollInterval is how often a followed outbox is polled (default 200ms).
	PollInterval time.Duration
	// BatchSize bounds the rows applied in one batch (default 500).
	BatchSize int
	Logger    *slog.Logger
}

// OutboxStats is what a run did.
type OutboxStats struct {
	Applied, Duplicates, DeadLetters int
	Position                         string
	// Lag is how old the oldest row not yet applied was at the last poll,
	// counting committed rows held back behind an older transaction still
	// open anywhere in the PostgreSQL cluster.
	Lag time.Duration
}

var positionRE = regexp.MustCompile(`^(\d+)-(\d+)$`)

func (o *OutboxSource) defaults() error {
	if o.DSN == "" {
		return errors.New("outbox source: no DSN")
	}
	if o.Name == "" {
		cfg, err := pgx.ParseConfig(o.DSN)
		if err != nil {
			return fmt.Errorf("outbox source: parsing DSN: %w", err)
		}
		o.Name = fmt.Sprintf("outbox:%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
	}
	if o.PollInterval == 0 {
		o.PollInterval = 200 * time.Millisecond
	}
	if o.BatchSize == 0 {
		o.BatchSize = 500
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// Run mirrors the outbox through a. Each batch commits its position (the
// last row's transaction id and row id) with its writes, so a run stopped at
// any moment continues exactly after the last batch it committed. Only rows of
// transactions older than every running one are read: a transaction still
// open may yet commit rows that sort before them.
func (o *OutboxSource) Run(ctx context.Context, a *Applier) (OutboxStats, error) {
	var st OutboxStats
	if err := o.defaults(); err != nil {
		return st, err
	}
	conn, err := pgx.Connect(ctx, o.DSN)
	if err != nil {
		return st, fmt.Errorf("connecting to the outbox database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// The DDL only where a table is missing: CREATE INDEX would wait for
	// every open transaction that wrote to the outbox.
	var missing bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('boxauthz_outbox') IS NULL OR to_regclass('boxauthz_dead_letters') IS NULL`).Scan(&missing); err != nil {
		return st, fmt.Errorf("looking for the outbox tables: %w", err)
	}
	if missing {
		if _, err := conn.Exec(ctx, OutboxDDL); err != nil {
			return st, fmt.Errorf("creating the outbox tables: %w", err)
		}
	}
	pos, err := a.Position(ctx, o.Name)
	if err != nil {
		return st, err
	}
	if pos == "" {
		pos = "0-0"
	}
	m := positionRE.FindStringSubmatch(pos)
	if m == nil {
		return st, fmt.Errorf("position %q committed for %s is not an outbox position", pos, o.Name)
	}
	txid, id := m[1], m[2]
	st.Position = pos
	o.Logger.InfoContext(ctx, "mirroring outbox", "source", o.Name, "from", pos, "follow", o.Follow)
	holding := false
	for {
		rows, err := conn.Query(ctx, `
SELECT txid::text, id, event::text, extract(epoch from now() - created_at)
  FROM boxauthz_outbox
 WHERE (txid, id) > ($1::text::xid8, $2::bigint)
   AND txid < pg_snapshot_xmin(pg_current_snapshot())
 ORDER BY txid, id
 LIMIT $3`, txid, id, o.BatchSize)
		if err != nil {
			return st, fmt.Errorf("reading the outbox: %w", err)
		}
		var (
			batch = Batch{Source: o.Name}
			raws  []string
			ids   []int64
			bad   []deadRow
			n     int
		)
		st.Lag = 0
		for rows.Next() {
			var (
				rowTx string
				rowID int64
				ev    string
				age   float64
			)
			if err := rows.Scan(&rowTx, &rowID, &ev, &age); err != nil {
				rows.Close()
				return st, fmt.Errorf("reading the outbox: %w", err)
			}
			if n == 0 {
				st.Lag = time.Duration(age * float64(time.Second))
			}
			n++
			txid, id = rowTx, strconv.FormatInt(rowID, 10)
			p := txid + "-" + id
			e, derr := event.DecodeEvent([]byte(ev), int(rowID))
			if derr != nil {
				bad = append(bad, deadRow{outboxID: rowID, event: ev, err: derr})
				continue
			}
			batch.Events = append(batch.Events, e)
			batch.Positions = append(batch.Positions, p)
			raws = append(raws, ev)
			ids = append(ids, rowID)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return st, fmt.Errorf("reading the outbox: %w", err)
		}
		batch.End = txid + "-" + id
		a.metrics.lag(o.Name, -1, st.Lag)
		if n > 0 {
			if err := o.deadLetters(ctx, conn, bad); err != nil {
				return st, err
			}
			a.metrics.deadLettered(o.Name, len(bad))
			st.DeadLetters += len(bad)
			for {
				res, err := a.ApplyBatch(ctx, batch)
				var ee *event.Error
				if errors.As(err, &ee) && ee.Index >= 0 && ee.Index < len(batch.Events) {
					i := ee.Index
					if err := o.deadLetters(ctx, conn, []deadRow{{outboxID: ids[i], event: raws[i], err: err}}); err != nil {
						return st, err
					}
					st.DeadLetters++
					a.metrics.deadLettered(o.Name, 1)
					batch.Events = append(batch.Events[:i:i], batch.Events[i+1:]...)
					batch.Positions = append(batch.Positions[:i:i], batch.Positions[i+1:]...)
					raws = append(raws[:i:i], raws[i+1:]...)
					ids = append(ids[:i:i], ids[i+1:]...)
					continue
				}
				if err != nil {
					return st, err
				}
				st.Applied += res.Applied
				st.Duplicates += res.Duplicates
				break
			}
			st.Position = batch.End
		}
		if n == o.BatchSize {
			continue
		}
		// Rows past the horizon: committed, but a transaction older than
		// them is still open (in any database of the cluster: xids are
		// cluster-wide). They wait for it, and show in the lag.
		held, err := o.heldBack(ctx, conn, txid, id)
		if err != nil {
			return st, err
		}
		if held > 0 {
			st.Lag = held
			a.metrics.lag(o.Name, -1, held)
			if !holding {
				o.Logger.InfoContext(ctx, "outbox rows wait for an older transaction still open in the cluster", "source", o.Name, "oldest_waiting", held.Round(time.Millisecond))
			}
		}
		holding = held > 0
		if !o.Follow {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, nil
		case <-time.After(o.PollInterval):
		}
	}
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
		return 0, fmt.Errorf("reading the outbox: %w", err)
	}
	return max(time.Duration(age*float64(time.Second)), time.Nanosecond), nil
}

type deadRow struct {
	outboxID int64
	event    string
	err      error
}

func (o *OutboxSource) deadLetters(ctx context.Context, conn *pgx.Conn, rows []deadRow) error {
	for _, r := range rows {
		var eventID *string
		var ee *event.Error
		if errors.As(r.err, &ee) && ee.EventID != "" {
			eventID = &ee.EventID
		}
		if _, err := conn.Exec(ctx, `INSERT INTO boxauthz_dead_letters (source, outbox_id, event_id, event, error) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (source, outbox_id) DO NOTHING`,
			o.Name, r.outboxID, eventID, r.event, r.err.Error()); err != nil {
			return fmt.Errorf("writing dead letter for outbox row %d: %w", r.outboxID, err)
		}
		o.Logger.Warn("event set aside", "source", o.Name, "outbox_id", r.outboxID, "error", strings.TrimSpace(r.err.Error()))
	}
	return nil
}
