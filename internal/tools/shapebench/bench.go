package shapebench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/checker/tree"
	"github.com/boxauthz/boxauthz/internal/bench/synth"
	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
)

// RunConfig says what a benchmark run measures.
type RunConfig struct {
	// MemSize is the data set size for the in-memory datastore ("" skips it).
	MemSize string
	// PGDSN is the PostgreSQL server to use ("" skips PostgreSQL); its user
	// needs CREATEDB: each shape gets a fresh database shapebench_<shape>.
	PGDSN  string
	PGSize string
	// PGDatabasePrefix names the databases: prefix + shape.
	PGDatabasePrefix string
	// PGQueryChecks, when positive, is how many checks per shape and
	// depth bucket are counted in PostgreSQL queries before the benchmark.
	PGQueryChecks int

	Shapes      []Shape
	Caches      []bool // SpiceDB dispatch caches: false = cold, true = on
	Concurrency []int
	Buckets     []string
	// Checks is the number of questions per row (store × cache × depth ×
	// concurrency), asked of every shape. CellTime × len(Shapes) caps a row's
	// duration: a row that hits it reports fewer checks (the same number for
	// every shape).
	Checks   int
	CellTime time.Duration

	Equivalence EquivalenceOptions
	// PGEquivalence sizes the proof on PostgreSQL, whose bulk checks over a
	// large data set are much slower than in memory.
	PGEquivalence EquivalenceOptions
	// SkipEquivalence skips the proof (benchmark only).
	SkipEquivalence bool

	Log io.Writer
}

// DefaultRunConfig is the run docs/schema.md reports.
func DefaultRunConfig() RunConfig {
	return RunConfig{
		MemSize:          "small",
		PGSize:           "x15",
		PGDatabasePrefix: "shapebench_",
		Shapes:           Shapes(),
		Caches:           []bool{false, true},
		Concurrency:      []int{1, 8},
		Buckets:          []string{synth.BucketShallow, synth.BucketDeep},
		Checks:           200,
		CellTime:         20 * time.Second,
		Equivalence:      EquivalenceOptions{Panel: 2, Deep: -1, Shallow: 200, Granted: 300, Random: 60},
		PGEquivalence:    EquivalenceOptions{Panel: 2, Deep: 200, Shallow: 100, Granted: 300, Random: 40},
		Log:              io.Discard,
	}
}

// LoadRow is one data load.
type LoadRow struct {
	Store, Shape  string
	Relationships int
	Duration      time.Duration
}

// Cell is one measurement: one shape on one datastore, cache mode, depth
// bucket and concurrency.
type Cell struct {
	Store    string
	Cache    bool
	Bucket   string
	Conc     int
	Shape    Shape
	N        int
	P50, P95 time.Duration
	PerSec   float64
	Granted  int
	Errors   int
	CutShort bool // CellTime ended it before Checks checks
}

// Report is a run's outcome.
type Report struct {
	Config      RunConfig
	Machine     Machine
	DataStats   map[string]synth.Stats // by store
	Loads       []LoadRow
	Cells       []Cell
	Equivalence map[string]EquivalenceResult // by store
	Started     time.Time
	Took        time.Duration
	LoadAvg     []string // /proc/loadavg at the start and end of each phase
}

// shapeServers are the SpiceDBs one shape is measured on, by cache mode.
type shapeServers struct {
	conns  map[bool]Conn
	tokens map[bool]*v1.ZedToken // snapshot to check at, by cache mode
	close  func() error
	// checkers ask chain checks, by cache mode (startChain).
	checkers map[bool]*checker.Checker
}

// startChain starts a folder tree index of each SpiceDB and a checker that
// asks chain checks with it, and waits until every index has loaded.
func (ss *shapeServers) startChain(ctx context.Context) error {
	if ss.checkers != nil {
		return nil
	}
	ss.checkers = map[bool]*checker.Checker{}
	for cache, c := range ss.conns {
		tc, ok := c.(tree.Client)
		if !ok {
			return fmt.Errorf("chain checks need a SpiceDB client that watches, not %T", c)
		}
		idx := tree.New(tc)
		ictx, cancel := context.WithCancel(context.Background())
		go func() { _ = idx.Run(ictx) }()
		prev := ss.close
		ss.close = func() error { cancel(); return prev() }
		for !idx.Ready() {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
		}
		ch, err := checker.New(c, checker.WithTree(idx))
		if err != nil {
			return err
		}
		ss.checkers[cache] = ch
	}
	return nil
}

// Run runs the benchmark and the equivalence proof of cfg.
func Run(ctx context.Context, cfg RunConfig) (*Report, error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	r := &run{
		cfg: cfg,
		rep: &Report{Config: cfg, Machine: readMachine(), DataStats: map[string]synth.Stats{}, Equivalence: map[string]EquivalenceResult{}, Started: time.Now()},
	}
	var stores []store
	if cfg.MemSize != "" {
		stores = append(stores, store{"memory", cfg.MemSize})
	}
	if cfg.PGDSN != "" {
		stores = append(stores, store{"postgres", cfg.PGSize})
	}
	for _, st := range stores {
		if err := r.store(ctx, st); err != nil {
			return r.rep, err
		}
	}
	r.rep.Took = time.Since(r.rep.Started)
	return r.rep, nil
}

// store is one datastore a run measures, with the data set size on it.
type store struct{ name, size string }

// run is one Run in progress.
type run struct {
	cfg RunConfig
	rep *Report
}

func (r *run) logf(format string, args ...any) {
	fmt.Fprintf(r.cfg.Log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// store loads the data set into every shape on st, proves them equivalent
// and measures them.
func (r *run) store(ctx context.Context, st store) error {
	dc, err := synth.SizeConfig(st.size)
	if err != nil {
		return err
	}
	d := synth.Generate(dc)
	stats := d.Stats()
	r.rep.DataStats[st.name] = stats
	r.logf("%s: data set %s: %d relationships (+%d ancestor), %d folders, %d files", st.name, st.size, stats.Relationships, stats.AncestorRels, stats.Folders, stats.Files)
	r.rep.LoadAvg = append(r.rep.LoadAvg, loadAvg(st.name+" start"))

	servers := map[Shape]*shapeServers{}
	defer func() {
		for shape, s := range servers {
			if shape == Chain && servers[Separated] == s {
				continue
			}
			_ = s.close()
		}
	}()
	for _, shape := range r.cfg.Shapes {
		var ss *shapeServers
		var lr LoadResult
		if shape == Chain && servers[Separated] != nil {
			// The same SpiceDB and data as separated, asked another way.
			if err := servers[Separated].startChain(ctx); err != nil {
				return fmt.Errorf("%s %s: %w", st.name, shape, err)
			}
			servers[Chain] = servers[Separated]
			continue
		}
		if st.name == "memory" {
			ss, lr, err = setupMemory(ctx, shape, d, r.cfg.Caches)
		} else {
			ss, lr, err = setupPostgres(ctx, r.cfg.PGDSN, r.cfg.PGDatabasePrefix+string(shape), shape, d, r.cfg.Caches, r.logf)
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", st.name, shape, err)
		}
		if shape == Chain {
			if err := ss.startChain(ctx); err != nil {
				_ = ss.close()
				return fmt.Errorf("%s %s: %w", st.name, shape, err)
			}
		}
		servers[shape] = ss
		r.rep.Loads = append(r.rep.Loads, LoadRow{Store: st.name, Shape: string(shape), Relationships: lr.Relationships, Duration: lr.Duration})
		r.logf("%s %s: loaded %d relationships in %v", st.name, shape, lr.Relationships, lr.Duration.Round(time.Millisecond))
	}
	if !r.cfg.SkipEquivalence {
		if err := r.prove(ctx, st, d, servers); err != nil {
			return err
		}
	}
	r.rep.LoadAvg = append(r.rep.LoadAvg, loadAvg(st.name+" before checks"))
	if st.name == "postgres" && r.cfg.PGQueryChecks > 0 {
		r.countQueries(ctx, d, servers, r.cfg.PGQueryChecks)
	}
	r.measure(ctx, st, d, dc.Seed, servers)
	r.rep.LoadAvg = append(r.rep.LoadAvg, loadAvg(st.name+" end"))
	return nil
}

// prove asks every shape on st the equivalence set and compares the
// answers.
func (r *run) prove(ctx context.Context, st store, d *synth.Dataset, servers map[Shape]*shapeServers) error {
	eo := r.cfg.Equivalence
	if st.name == "postgres" {
		eo = r.cfg.PGEquivalence
	}
	es := NewEquivalenceSet(d, eo)
	answers := map[Shape]Answers{}
	for _, shape := range r.cfg.Shapes {
		start := time.Now()
		cache := r.cfg.Caches[len(r.cfg.Caches)-1]
		var (
			a   Answers
			err error
		)
		if shape == Chain {
			a, err = ChainAnswerSet(ctx, servers[shape].checkers[cache], d, es)
		} else {
			a, err = AnswerSet(ctx, servers[shape].conns[cache], shape, d, es)
		}
		if err != nil {
			return fmt.Errorf("%s equivalence: %w", st.name, err)
		}
		answers[shape] = a
		r.logf("%s %s: answered the equivalence set in %v", st.name, shape, time.Since(start).Round(time.Millisecond))
	}
	res, err := CompareShapes(d, es, answers)
	if err != nil {
		return err
	}
	r.rep.Equivalence[st.name] = res
	r.logf("%s equivalence: %s", st.name, res.Summary())
	return nil
}

// measure fills the report's cells for st: every cache mode, depth bucket
// and concurrency, each shape asked the same questions.
func (r *run) measure(ctx context.Context, st store, d *synth.Dataset, seed uint64, servers map[Shape]*shapeServers) {
	for _, cache := range r.cfg.Caches {
		// One asker per cache mode: every shape gets the same questions,
		// and no question repeats within a server.
		asker := synth.NewAsker(d, seed+100)
		for _, bucket := range r.cfg.Buckets {
			for _, conc := range r.cfg.Concurrency {
				if r.cfg.Checks <= 0 {
					continue
				}
				qs := asker.Draw(r.cfg.Checks, bucket, synth.CommonActions)
				targets := map[Shape]target{}
				for _, shape := range r.cfg.Shapes {
					targets[shape] = target{conn: servers[shape].conns[cache], token: servers[shape].tokens[cache]}
					if shape == Chain {
						targets[shape] = target{conn: servers[shape].conns[cache], token: servers[shape].tokens[cache], checker: servers[shape].checkers[cache]}
					}
				}
				cells := measureInterleaved(ctx, d, r.cfg.Shapes, targets, qs, conc, r.cfg.CellTime*time.Duration(len(r.cfg.Shapes)))
				for _, shape := range r.cfg.Shapes {
					cell := cells[shape]
					cell.Store, cell.Cache, cell.Bucket, cell.Shape = st.name, cache, bucket, shape
					r.rep.Cells = append(r.rep.Cells, cell)
					r.logf("%s cache=%v depth %s conc %d %-9s n=%d p50=%v p95=%v %.0f/s granted %d errors %d",
						st.name, cache, bucket, conc, shape, cell.N, cell.P50.Round(10*time.Microsecond), cell.P95.Round(10*time.Microsecond), cell.PerSec, cell.Granted, cell.Errors)
				}
			}
		}
	}
}

func setupMemory(ctx context.Context, shape Shape, d *synth.Dataset, caches []bool) (*shapeServers, LoadResult, error) {
	ss := &shapeServers{conns: map[bool]Conn{}}
	ss.close = func() error {
		var err error
		for _, c := range ss.conns {
			err = errors.Join(err, c.Close())
		}
		return err
	}
	var first LoadResult
	for k, cache := range caches {
		// Each in-memory SpiceDB has a datastore of its own: load each.
		c, err := StartMemory(ctx, Options{Cache: cache})
		if err != nil {
			_ = ss.close()
			return nil, first, err
		}
		ss.conns[cache] = c
		lr, err := Load(ctx, c, shape, d)
		if err != nil {
			_ = ss.close()
			return nil, first, err
		}
		if k == 0 {
			first = lr
		}
		ss.tokenFor(cache, lr.Token)
		if err := warm(ctx, c, d, lr.Token); err != nil {
			_ = ss.close()
			return nil, first, err
		}
	}
	return ss, first, nil
}

func setupPostgres(ctx context.Context, dsn, db string, shape Shape, d *synth.Dataset, caches []bool, logf func(string, ...any)) (*shapeServers, LoadResult, error) {
	if err := CreatePostgresDatabase(ctx, dsn, db); err != nil {
		return nil, LoadResult{}, err
	}
	uri, err := PostgresDSN(dsn, db)
	if err != nil {
		return nil, LoadResult{}, err
	}
	if err := embedded.MigratePostgres(ctx, uri); err != nil {
		return nil, LoadResult{}, err
	}
	ss := &shapeServers{conns: map[bool]Conn{}}
	ss.close = func() error {
		var err error
		for _, c := range ss.conns {
			err = errors.Join(err, c.Close())
		}
		return err
	}
	var lr LoadResult
	for k, cache := range caches {
		// Both SpiceDBs of a shape share its database: load once.
		c, err := StartPostgres(ctx, uri, Options{Cache: cache})
		if err != nil {
			_ = ss.close()
			return nil, lr, err
		}
		ss.conns[cache] = c
		if k == 0 {
			if lr, err = Load(ctx, c, shape, d); err != nil {
				_ = ss.close()
				return nil, lr, err
			}
			// Fresh planner statistics, as autovacuum would soon have.
			if err := psqlExec(ctx, uri, "ANALYZE"); err != nil {
				logf("postgres %s: ANALYZE failed: %v", shape, err)
			}
		}
		ss.tokenFor(cache, lr.Token)
		if err := warm(ctx, c, d, lr.Token); err != nil {
			_ = ss.close()
			return nil, lr, err
		}
	}
	return ss, lr, nil
}

// tokenFor records the snapshot to check at. The memory servers of one
// shape each hold their own datastore; their tokens differ.
func (ss *shapeServers) tokenFor(cache bool, t *v1.ZedToken) {
	if ss.tokens == nil {
		ss.tokens = map[bool]*v1.ZedToken{}
	}
	ss.tokens[cache] = t
}
