package modeltest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
	"github.com/boxauthz/boxauthz/schema/upgrade"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/event"
)

// Runner runs test files, each test on SpiceDB embedded in this process,
// in memory, holding boxauthz's schema.
type Runner struct {
	log    *slog.Logger
	ensure []upgrade.Option
}

// Option configures a Runner.
type Option func(*Runner)

// WithLogger sets the logger of event application (default: none).
func WithLogger(l *slog.Logger) Option { return func(r *Runner) { r.log = l } }

// WithSchemaOptions passes options to the schema write of every test's
// SpiceDB: upgrade.WithExtension adds a schema extension to boxauthz's.
func WithSchemaOptions(opts ...upgrade.Option) Option {
	return func(r *Runner) { r.ensure = append(r.ensure, opts...) }
}

// NewRunner returns a Runner.
func NewRunner(opts ...Option) *Runner {
	r := &Runner{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Run runs every test of s, in order. Tests without events of their own
// share one SpiceDB holding the file's events: they only read it. A test
// with events gets a fresh SpiceDB with the file's events and its own, so
// no test sees another's. The error, a *FileError, is a file that cannot
// be run (an event that does not apply); failed assertions are in the
// result.
func (r *Runner) Run(ctx context.Context, s *Suite) (FileResult, error) {
	res := FileResult{File: s.File, Name: s.Name, Tests: []TestResult{}}
	var shared *store
	defer func() {
		if shared != nil {
			shared.close()
		}
	}()
	for _, t := range s.Tests {
		st := shared
		if len(t.Events) > 0 {
			own, err := r.open(ctx, s.Events, t.Events)
			if err != nil {
				return res, err
			}
			st = own
		} else if st == nil {
			own, err := r.open(ctx, s.Events)
			if err != nil {
				return res, err
			}
			shared, st = own, own
		}
		tr, err := r.runTest(ctx, st.client, s.File, t)
		if st != shared {
			st.close()
		}
		if err != nil {
			return res, &FileError{File: s.File, Line: t.Line, Err: fmt.Errorf("test %q: %w", t.Name, err)}
		}
		res.Tests = append(res.Tests, tr)
	}
	return res, nil
}

// store is one in-memory SpiceDB of a run.
type store struct {
	client *spicedb.Client
	// cancel ends the context the server was started with, which the
	// server watches until it ends.
	cancel context.CancelFunc
}

func (s *store) close() {
	_ = s.client.Close()
	s.cancel()
}

// open starts an in-memory SpiceDB with the schema and applies batches of
// events to it, in order.
func (r *Runner) open(ctx context.Context, batches ...[]Event) (*store, error) {
	ctx, cancel := context.WithCancel(ctx)
	c, err := embedded.Start(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	st := &store{client: c, cancel: cancel}
	if _, err := upgrade.Ensure(ctx, c, r.ensure...); err != nil {
		st.close()
		return nil, fmt.Errorf("writing the schema: %w", err)
	}
	a := sync.NewApplier(c, sync.WithLogger(r.log))
	for _, b := range batches {
		if len(b) == 0 {
			continue
		}
		evs := make([]event.Event, len(b))
		for i, e := range b {
			evs[i] = e.Event
		}
		if _, err := a.Apply(ctx, evs); err != nil {
			st.close()
			var ee *event.Error
			if errors.As(err, &ee) && ee.Index >= 0 && ee.Index < len(b) {
				return nil, eventError(b[ee.Index], err)
			}
			return nil, &FileError{File: b[0].File, Line: b[0].Line, Err: fmt.Errorf("applying events: %w", err)}
		}
	}
	return st, nil
}

// runTest asks the test's questions of c, at the test's time.
func (r *Runner) runTest(ctx context.Context, c *spicedb.Client, file string, t Test) (TestResult, error) {
	var opts []checker.Option
	if !t.At.IsZero() {
		at := t.At
		opts = append(opts, checker.WithClock(func() time.Time { return at }))
	}
	ch, err := checker.New(c, opts...)
	if err != nil {
		return TestResult{}, err
	}
	tr := TestResult{Name: t.Name, Line: t.Line, Assertions: t.Assertions(), Failures: []Failure{}}
	if len(t.Checks) > 0 {
		qs := make([]checker.Question, len(t.Checks))
		for i, ck := range t.Checks {
			qs[i] = ck.Question
		}
		// One bulk call answers every check as the service would; only
		// the checks whose reasons matter are explained.
		answers, err := ch.CheckBulk(ctx, qs, checker.Consistency{})
		if err != nil {
			return TestResult{}, fmt.Errorf("checking: %w", err)
		}
		for i, ck := range t.Checks {
			f, err := checkOne(ctx, ch, file, ck, answers[i].Allowed)
			if err != nil {
				return TestResult{}, err
			}
			if f != nil {
				tr.Failures = append(tr.Failures, *f)
			}
		}
	}
	for _, l := range t.ItemLookups {
		f, err := lookupItems(ctx, ch, file, l)
		if err != nil {
			return TestResult{}, err
		}
		if f != nil {
			tr.Failures = append(tr.Failures, *f)
		}
	}
	for _, l := range t.UserLookups {
		f, err := lookupUsers(ctx, ch, file, l)
		if err != nil {
			return TestResult{}, err
		}
		if f != nil {
			tr.Failures = append(tr.Failures, *f)
		}
	}
	// In the file's order, whatever order the kinds of assertion ran in.
	slices.SortStableFunc(tr.Failures, func(a, b Failure) int { return cmp.Compare(a.Line, b.Line) })
	tr.Passed = len(tr.Failures) == 0
	return tr, nil
}
