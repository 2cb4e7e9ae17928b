package source_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boxauthz/boxauthz/internal/testkit/fixture"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/source"
)

// outboxDB is a fresh database holding the outbox tables, and a connection
// to it as the application's.
func outboxDB(t *testing.T) (dsn string, app *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	dsn = testenv.PostgresDatabase(t)
	app, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close(ctx) })
	if _, err := app.Exec(ctx, source.OutboxDDL); err != nil {
		t.Fatal(err)
	}
	return dsn, app
}

func TestOutboxSource(t *testing.T) {
	ctx := context.Background()
	appDB, app := outboxDB(t)
	insert := func(tx pgx.Tx, ev string) {
		t.Helper()
		if _, err := tx.Exec(ctx, `INSERT INTO boxauthz_outbox (event) VALUES ($1)`, ev); err != nil {
			t.Fatal(err)
		}
	}
	c := testenv.SpiceDB(t, testenv.Memory)
	a := sync.NewApplier(c)
	src := func() *source.OutboxSource { return outboxSource(t, appDB, source.WithBatchSize(3)) }
	// runUntil runs the source until the stats summed over runs satisfy
	// done: a transaction open elsewhere in the cluster (another test's)
	// may hold rows back for a while.
	runUntil := func(what string, done func(source.OutboxStats) bool) source.OutboxStats {
		t.Helper()
		var sum source.OutboxStats
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			st, err := src().Run(ctx, a)
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			sum.Applied += st.Applied
			sum.Duplicates += st.Duplicates
			sum.DeadLetters += st.DeadLetters
			if done(sum) {
				return sum
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %+v after 30 s", what, sum)
			}
		}
	}

	tx, _ := app.Begin(ctx)
	for _, ev := range fixture.BaseTree() {
		insert(tx, ev)
	}
	insert(tx, `{"id":"broken","type":"folder.exploded","folder":{"id":"z"}}`)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	st := runUntil("first run", func(st source.OutboxStats) bool { return st.Applied+st.DeadLetters >= len(fixture.BaseTree())+1 })
	if st.Applied != len(fixture.BaseTree()) || st.DeadLetters != 1 {
		t.Fatalf("first run: %+v", st)
	}

	// A transaction that inserted first but commits last must not be
	// skipped: rows of a still-open transaction hold back everything after.
	other, err := pgx.Connect(ctx, appDB)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	slow, _ := other.Begin(ctx)
	insert(slow, fixture.CollabB)
	fast, _ := app.Begin(ctx)
	insert(fast, `{"id":"c-del","type":"collaboration.deleted","collaboration":{"id":"k1"}}`)
	if err := fast.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	st, err = src().Run(ctx, a)
	if err != nil || st.Applied != 0 {
		t.Fatalf("with a transaction open: %+v %v; want nothing applied yet", st, err)
	}
	if st.Lag <= 0 {
		t.Errorf("with a transaction open: lag %s, want the committed row held back to show", st.Lag)
	}
	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if st := runUntil("after commit", func(st source.OutboxStats) bool { return st.Applied >= 2 }); st.Applied != 2 {
		t.Fatalf("after commit: %+v; want both rows", st)
	}
	// The slow transaction's id is older: it applies first, and the
	// collaboration ends deleted, as its transactions ordered it.
	if all := strings.Join(fixture.Export(t, c), "\n"); strings.Contains(all, "collaboration:k1") {
		t.Fatalf("rows applied out of transaction order:\n%s", all)
	}

	// A stateful bad event goes to the dead-letter table, once, however often
	// the source runs.
	tx, _ = app.Begin(ctx)
	insert(tx, `{"id":"orphan","type":"file.created","file":{"id":"o","parent":"missing","owner":"alice"}}`)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	runUntil("the orphan", func(st source.OutboxStats) bool { return st.DeadLetters >= 1 })
	if _, err := src().Run(ctx, a); err != nil {
		t.Fatal(err)
	}
	var n int
	var msg string
	if err := app.QueryRow(ctx, `SELECT count(*), max(error) FILTER (WHERE event_id = 'orphan') FROM boxauthz_dead_letters`).Scan(&n, &msg); err != nil {
		t.Fatal(err)
	}
	if n != 2 || !strings.Contains(msg, "file.parent") {
		t.Fatalf("dead letters: %d, %q; want the broken row and the orphan, once each", n, msg)
	}
}

// TestOutboxWaitsForTransactionsElsewhere: xids are cluster-wide, so a
// transaction open in another database of the same PostgreSQL holds the
// outbox back too. Rows committed meanwhile wait (they are not skipped),
// show in the lag, and are applied once it ends.
func TestOutboxWaitsForTransactionsElsewhere(t *testing.T) {
	ctx := context.Background()
	appDB, app := outboxDB(t)
	other, err := pgx.Connect(ctx, testenv.PostgresDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	long, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := long.Exec(ctx, `SELECT pg_current_xact_id()`); err != nil { // takes an xid, as a writer does
		t.Fatal(err)
	}
	for _, ev := range fixture.BaseTree()[:3] {
		if _, err := app.Exec(ctx, `INSERT INTO boxauthz_outbox (event) VALUES ($1)`, ev); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(20 * time.Millisecond)
	a := sync.NewApplier(testenv.SpiceDB(t, testenv.Memory))
	src := outboxSource(t, appDB)
	st, err := src.Run(ctx, a)
	if err != nil || st.Applied != 0 || st.Lag < 20*time.Millisecond {
		t.Fatalf("with a transaction open in another database: %+v %v; want nothing applied and the rows' wait in the lag", st, err)
	}
	if err := long.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// Other tests' transactions may hold the rows back a little longer.
	applied := 0
	for deadline := time.Now().Add(30 * time.Second); applied < 3; time.Sleep(50 * time.Millisecond) {
		st, err = src.Run(ctx, a)
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("once it ended: %+v %v, %d applied; want the 3 rows applied", st, err, applied)
		}
		applied += st.Applied
	}
	if applied != 3 {
		t.Fatalf("once it ended: %d applied, want 3", applied)
	}
	st, err = src.Run(ctx, a)
	if err != nil || st.Applied != 0 || st.Lag != 0 {
		t.Fatalf("after: %+v %v; want nothing left and no lag", st, err)
	}
}
