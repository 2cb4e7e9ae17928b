package source_test

import (
	"context"
	"errors"
	"path/filepath"
	gosync "sync"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/source"
)

// progressLog collects what a run reports.
type progressLog struct {
	mu  gosync.Mutex
	all []source.Progress
}

func (l *progressLog) add(p source.Progress) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, p)
}

func (l *progressLog) get() []source.Progress {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]source.Progress(nil), l.all...)
}

// A file run reports its start, each batch and being caught up at the
// file's size when it started, and holds the source's lease meanwhile.
func TestFileSourceProgressAndLease(t *testing.T) {
	c := testenv.SpiceDB(t, testenv.Memory)
	a := sync.NewApplier(c)
	path := filepath.Join(t.TempDir(), "events.jsonl")
	writeLines(t, path, userEvents("p", 10)...)
	total := size(t, path)
	var log progressLog
	var leasesSeen [][]sync.Lease
	src := fileSource(t, path, source.WithBatchSize(4), source.WithProgress(func(p source.Progress) {
		log.add(p)
		ls, err := a.Leases(context.Background(), "file:"+path)
		if err != nil {
			t.Error(err)
		}
		leasesSeen = append(leasesSeen, ls)
	}))
	st, err := src.Run(context.Background(), a)
	if err != nil || st.Applied != 10 {
		t.Fatalf("run: %+v %v", st, err)
	}
	got := log.get()
	// Start, three batches (4, 4, 2); the last batch reaches the size.
	if len(got) != 4 {
		t.Fatalf("%d reports, want 4: %+v", len(got), got)
	}
	first, last := got[0], got[len(got)-1]
	if first.Position != 0 || first.Total != total || first.CaughtUp || first.Unit != source.UnitBytes || first.Source != "file:"+path {
		t.Errorf("first report %+v, want position 0 of %d, not caught up", first, total)
	}
	if got[1].Applied != 4 || got[1].CaughtUp || got[1].Position <= 0 {
		t.Errorf("second report %+v, want 4 applied, not caught up", got[1])
	}
	if last.Position != total || last.Total != total || !last.CaughtUp || last.Applied != 10 {
		t.Errorf("last report %+v, want caught up at %d with 10 applied", last, total)
	}
	for i, ls := range leasesSeen {
		if len(ls) != 1 {
			t.Fatalf("report %d: %d leases while running, want 1", i, len(ls))
		}
	}
	if ls, err := a.Leases(context.Background(), "file:"+path); err != nil || len(ls) != 0 {
		t.Fatalf("leases after the run: %v (%v), want none", ls, err)
	}
	// Nothing new: caught up from the first report.
	log = progressLog{}
	leasesSeen = nil
	if _, err := src.Run(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if got := log.get(); len(got) == 0 || !got[0].CaughtUp {
		t.Fatalf("a run with nothing new reports %+v, want caught up at once", got)
	}
}

// A followed file that keeps growing is caught up once its size at the
// start is applied; an empty one at its first poll. The lease is held
// while following and released when the run ends.
func TestFollowedFileCatchesUp(t *testing.T) {
	c := testenv.SpiceDB(t, testenv.Memory)
	a := sync.NewApplier(c)
	dir := t.TempDir()
	for _, n := range []int{0, 6} {
		path := filepath.Join(dir, "events"+string(rune('a'+n))+".jsonl")
		writeLines(t, path, userEvents("f"+string(rune('a'+n)), n)...)
		if n == 0 {
			writeLines(t, path)
		}
		caught := make(chan source.Progress, 1)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := fileSource(t, path, source.WithFollow(true), source.WithBatchSize(2), source.WithPollInterval(10*time.Millisecond),
				source.WithProgress(func(p source.Progress) {
					if p.CaughtUp {
						select {
						case caught <- p:
						default:
						}
					}
				})).Run(ctx, a)
			done <- err
		}()
		var p source.Progress
		select {
		case p = <-caught:
		case <-time.After(20 * time.Second):
			t.Fatalf("%d events: never caught up", n)
		}
		if p.Applied != n {
			t.Errorf("%d events: caught up with %+v", n, p)
		}
		if ls, err := a.Leases(context.Background(), "file:"+path); err != nil || len(ls) != 1 {
			t.Errorf("%d events: leases while following %v (%v), want 1", n, ls, err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if ls, err := a.Leases(context.Background(), "file:"+path); err != nil || len(ls) != 0 {
			t.Errorf("%d events: leases after a clean stop %v (%v), want none", n, ls, err)
		}
	}
}

// An outbox run counts the rows after its position as it starts, and is
// caught up once it has read up to the largest row id then.
func TestOutboxSourceProgressAndLease(t *testing.T) {
	ctx := context.Background()
	dsn, app := outboxDB(t)
	for _, ev := range userEvents("o", 7) {
		if _, err := app.Exec(ctx, `INSERT INTO boxauthz_outbox (event) VALUES ($1)`, ev); err != nil {
			t.Fatal(err)
		}
	}
	a := sync.NewApplier(testenv.SpiceDB(t, testenv.Memory))
	var log progressLog
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	src := outboxSource(t, dsn, source.WithBatchSize(3), source.WithFollow(true), source.WithPollInterval(10*time.Millisecond), source.WithProgress(log.add))
	done := make(chan error, 1)
	go func() { _, err := src.Run(rctx, a); done <- err }()
	// Another test's transaction open in the cluster may hold rows back
	// for a while: wait for all seven.
	var last source.Progress
	for deadline := time.Now().Add(30 * time.Second); last.Applied < 7; time.Sleep(20 * time.Millisecond) {
		if got := log.get(); len(got) > 0 {
			last = got[len(got)-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s: %+v", log.get())
		}
	}
	got := log.get()
	if first := got[0]; first.Total != 7 || first.Position != 0 || first.CaughtUp || first.Unit != source.UnitRows {
		t.Errorf("first report %+v, want 0 of 7 rows, not caught up", first)
	}
	if !last.CaughtUp || last.Position != 7 || last.Total != 7 {
		t.Errorf("report with every row applied %+v, want caught up at 7 of 7", last)
	}
	if ls, err := a.Leases(ctx, src.Name()); err != nil || len(ls) != 1 {
		t.Errorf("leases while following %v (%v), want 1", ls, err)
	}
	cancel()
	// Stopped mid-poll, the run ends with the cancellation.
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if ls, err := a.Leases(ctx, src.Name()); err != nil || len(ls) != 0 {
		t.Errorf("leases after a clean stop %v (%v), want none", ls, err)
	}
}
