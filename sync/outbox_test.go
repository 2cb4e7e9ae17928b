package sync_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/boxauthz/boxauthz/internal/testenv"
	"github.com/boxauthz/boxauthz/sync"
)

func TestOutboxSource(t *testing.T) {
	appDB := testenv.PostgresDatabase(t)
	ctx := context.Background()
	app, err := pgx.Connect(ctx, appDB)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close(ctx)
	if _, err := app.Exec(ctx, sync.OutboxDDL); err != nil {
		t.Fatal(err)
	}
	insert := func(tx pgx.Tx, ev string) {
		t.Helper()
		if _, err := tx.Exec(ctx, `INSERT INTO boxauthz_outbox (event) VALUES ($1)`, ev); err != nil {
			t.Fatal(err)
		}
	}
	c := testenv.SpiceDB(t, testenv.Memory)
	a := sync.NewApplier(c)
	src := func() *sync.OutboxSource { return &sync.OutboxSource{DSN: appDB, BatchSize: 3} }

	tx, _ := app.Begin(ctx)
	for _, ev := range baseTree {
		insert(tx, ev)
	}
	insert(tx, `{"id":"broken","type":"folder.exploded","folder":{"id":"z"}}`)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := src().Run(ctx, a)
	if err != nil || st.Applied != len(baseTree) || st.DeadLetters != 1 {
		t.Fatalf("first run: %+v %v", st, err)
	}

	// A transaction that inserted first but commits last must not be
	// skipped: rows of a still-open transaction hold back everything after.
	other, err := pgx.Connect(ctx, appDB)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	slow, _ := other.Begin(ctx)
	insert(slow, collabB)
	fast, _ := app.Begin(ctx)
	insert(fast, `{"id":"c-del","type":"collaboration.deleted","collaboration":{"id":"k1"}}`)
	if err := fast.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	st, err = src().Run(ctx, a)
	if err != nil || st.Applied != 0 {
		t.Fatalf("with a transaction open: %+v %v; want nothing applied yet", st, err)
	}
	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	st, err = src().Run(ctx, a)
	if err != nil || st.Applied != 2 {
		t.Fatalf("after commit: %+v %v; want both rows", st, err)
	}
	// The slow transaction's id is older: it applies first, and the
	// collaboration ends deleted, as its transactions ordered it.
	if all := strings.Join(export(t, c), "\n"); strings.Contains(all, "collaboration:k1") {
		t.Fatalf("rows applied out of transaction order:\n%s", all)
	}

	// A stateful bad event goes to the dead-letter table, once, however often
	// the source runs.
	tx, _ = app.Begin(ctx)
	insert(tx, `{"id":"orphan","type":"file.created","file":{"id":"o","parent":"missing","owner":"alice"}}`)
	tx.Commit(ctx)
	for i := 0; i < 2; i++ {
		if _, err := src().Run(ctx, a); err != nil {
			t.Fatal(err)
		}
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
