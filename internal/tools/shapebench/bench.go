package shapebench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

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
		Buckets:          []string{BucketShallow, BucketDeep},
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
	DataStats   map[string]Stats // by store
	Loads       []LoadRow
	Cells       []Cell
	Equivalence map[string]EquivalenceResult // by store
	Started     time.Time
	Took        time.Duration
	LoadAvg     []string // /proc/loadavg at the start and end of each phase
}

// Machine describes where a run ran.
type Machine struct {
	NumCPU                       int
	CPU, Memory, Go, SpiceDB, OS string
}

func readMachine() Machine {
	m := Machine{NumCPU: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				m.CPU = strings.TrimSpace(l[strings.Index(l, ":")+1:])
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "MemTotal:") {
				var kb int64
				fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "MemTotal:")), "%d", &kb)
				m.Memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "PRETTY_NAME=") {
				m.OS = strings.Trim(strings.TrimPrefix(l, "PRETTY_NAME="), `"`)
			}
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range bi.Deps {
			if dep.Path == "github.com/authzed/spicedb" {
				m.SpiceDB = dep.Version
			}
		}
	}
	return m
}

func loadAvg(phase string) string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return phase + ": ?"
	}
	f := strings.Fields(string(b))
	if len(f) >= 3 {
		return fmt.Sprintf("%s: %s %s %s", phase, f[0], f[1], f[2])
	}
	return phase + ": " + strings.TrimSpace(string(b))
}

// shapeServers are the SpiceDBs one shape is measured on, by cache mode.
type shapeServers struct {
	conns  map[bool]Conn
	tokens map[bool]*v1.ZedToken // snapshot to check at, by cache mode
	close  func() error
}

// Run runs the benchmark and the equivalence proof of cfg.
func Run(ctx context.Context, cfg RunConfig) (*Report, error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	rep := &Report{Config: cfg, Machine: readMachine(), DataStats: map[string]Stats{}, Equivalence: map[string]EquivalenceResult{}, Started: time.Now()}
	logf := func(format string, args ...any) {
		fmt.Fprintf(cfg.Log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
	type store struct{ name, size string }
	var stores []store
	if cfg.MemSize != "" {
		stores = append(stores, store{"memory", cfg.MemSize})
	}
	if cfg.PGDSN != "" {
		stores = append(stores, store{"postgres", cfg.PGSize})
	}
	for _, st := range stores {
		dc, err := SizeConfig(st.size)
		if err != nil {
			return rep, err
		}
		d := Generate(dc)
		stats := d.Stats()
		rep.DataStats[st.name] = stats
		logf("%s: data set %s: %d relationships (+%d ancestor), %d folders, %d files", st.name, st.size, stats.Relationships, stats.AncestorRels, stats.Folders, stats.Files)
		rep.LoadAvg = append(rep.LoadAvg, loadAvg(st.name+" start"))

		servers := map[Shape]*shapeServers{}
		closeAll := func() {
			for _, s := range servers {
				_ = s.close()
			}
		}
		for _, shape := range cfg.Shapes {
			var ss *shapeServers
			var lr LoadResult
			var err error
			if st.name == "memory" {
				ss, lr, err = setupMemory(ctx, shape, d, cfg.Caches)
			} else {
				ss, lr, err = setupPostgres(ctx, cfg.PGDSN, cfg.PGDatabasePrefix+string(shape), shape, d, cfg.Caches, logf)
			}
			if err != nil {
				closeAll()
				return rep, fmt.Errorf("%s %s: %w", st.name, shape, err)
			}
			servers[shape] = ss
			rep.Loads = append(rep.Loads, LoadRow{Store: st.name, Shape: string(shape), Relationships: lr.Relationships, Duration: lr.Duration})
			logf("%s %s: loaded %d relationships in %v", st.name, shape, lr.Relationships, lr.Duration.Round(time.Millisecond))
		}

		if !cfg.SkipEquivalence {
			eo := cfg.Equivalence
			if st.name == "postgres" {
				eo = cfg.PGEquivalence
			}
			es := NewEquivalenceSet(d, eo)
			answers := map[Shape]Answers{}
			for _, shape := range cfg.Shapes {
				start := time.Now()
				c := servers[shape].conns[cfg.Caches[len(cfg.Caches)-1]]
				a, err := AnswerSet(ctx, c, shape, d, es)
				if err != nil {
					closeAll()
					return rep, fmt.Errorf("%s equivalence: %w", st.name, err)
				}
				answers[shape] = a
				logf("%s %s: answered the equivalence set in %v", st.name, shape, time.Since(start).Round(time.Millisecond))
			}
			res, err := CompareShapes(d, es, answers)
			if err != nil {
				closeAll()
				return rep, err
			}
			rep.Equivalence[st.name] = res
			logf("%s equivalence: %s", st.name, res.Summary())
		}
		rep.LoadAvg = append(rep.LoadAvg, loadAvg(st.name+" before checks"))

		for _, cache := range cfg.Caches {
			// One asker per cache mode: every shape gets the same questions,
			// and no question repeats within a server.
			asker := NewAsker(d, dc.Seed+100)
			for _, bucket := range cfg.Buckets {
				for _, conc := range cfg.Concurrency {
					if cfg.Checks <= 0 {
						continue
					}
					qs := asker.Draw(cfg.Checks, bucket, CommonActions)
					targets := map[Shape]target{}
					for _, shape := range cfg.Shapes {
						targets[shape] = target{conn: servers[shape].conns[cache], token: servers[shape].tokens[cache]}
					}
					cells := measureInterleaved(ctx, d, cfg.Shapes, targets, qs, conc, cfg.CellTime*time.Duration(len(cfg.Shapes)))
					for _, shape := range cfg.Shapes {
						cell := cells[shape]
						cell.Store, cell.Cache, cell.Bucket, cell.Shape = st.name, cache, bucket, shape
						rep.Cells = append(rep.Cells, cell)
						logf("%s cache=%v depth %s conc %d %-9s n=%d p50=%v p95=%v %.0f/s granted %d errors %d",
							st.name, cache, bucket, conc, shape, cell.N, cell.P50.Round(10*time.Microsecond), cell.P95.Round(10*time.Microsecond), cell.PerSec, cell.Granted, cell.Errors)
					}
				}
			}
		}
		rep.LoadAvg = append(rep.LoadAvg, loadAvg(st.name+" end"))
		closeAll()
	}
	rep.Took = time.Since(rep.Started)
	return rep, nil
}

// warm asks a few questions (never asked again: another seed, middle
// depths) so connection pools and schema caches are set up.
func warm(ctx context.Context, c Conn, d *Dataset, token *v1.ZedToken) error {
	a := NewAsker(d, d.Config.Seed+7)
	var mid []Question
	for _, q := range a.Draw(200, "", CommonActions) {
		if it := d.Items[q.Item]; BucketOf(it.Depth) == "" {
			mid = append(mid, q)
		}
		if len(mid) == 10 {
			break
		}
	}
	for _, q := range mid {
		req, err := d.Request(q, snapshot(token))
		if err != nil {
			return err
		}
		if _, err := c.CheckPermission(ctx, req); err != nil {
			return err
		}
	}
	return nil
}

func snapshot(token *v1.ZedToken) *v1.Consistency {
	return &v1.Consistency{Requirement: &v1.Consistency_AtExactSnapshot{AtExactSnapshot: token}}
}

func setupMemory(ctx context.Context, shape Shape, d *Dataset, caches []bool) (*shapeServers, LoadResult, error) {
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

func setupPostgres(ctx context.Context, dsn, db string, shape Shape, d *Dataset, caches []bool, logf func(string, ...any)) (*shapeServers, LoadResult, error) {
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

type target struct {
	conn  Conn
	token *v1.ZedToken
}

// measureInterleaved asks qs of every shape, interleaved: the questions go in
// rounds of 8 × conc, and each round is asked of every shape in turn (the
// order rotating from round to round), so a change in the machine's load
// hits every shape alike and every shape answers the same questions. It
// stops after the round during which limit passed.
func measureInterleaved(ctx context.Context, d *Dataset, shapes []Shape, targets map[Shape]target, qs []Question, conc int, limit time.Duration) map[Shape]Cell {
	round := 8 * conc
	type acc struct {
		lat             []time.Duration
		wall            time.Duration
		granted, errors int
	}
	accs := map[Shape]*acc{}
	for _, s := range shapes {
		accs[s] = &acc{}
	}
	start := time.Now()
	asked := 0
	for r := 0; r*round < len(qs); r++ {
		part := qs[r*round : min((r+1)*round, len(qs))]
		for k := range shapes {
			s := shapes[(r+k)%len(shapes)]
			lat, wall, granted, errs := askAll(ctx, d, targets[s], part, conc)
			a := accs[s]
			a.lat = append(a.lat, lat...)
			a.wall += wall
			a.granted += granted
			a.errors += errs
		}
		asked += len(part)
		if time.Since(start) > limit {
			break
		}
	}
	out := map[Shape]Cell{}
	for _, s := range shapes {
		a := accs[s]
		c := Cell{Conc: conc, N: len(a.lat), Granted: a.granted, Errors: a.errors, CutShort: asked < len(qs)}
		sort.Slice(a.lat, func(x, y int) bool { return a.lat[x] < a.lat[y] })
		if c.N > 0 {
			c.P50 = a.lat[(c.N-1)*50/100]
			c.P95 = a.lat[(c.N-1)*95/100]
			c.PerSec = float64(c.N) / a.wall.Seconds()
		}
		out[s] = c
	}
	return out
}

// askAll asks qs of one SpiceDB with conc workers and returns the latencies,
// the wall time, and how many were granted and failed.
func askAll(ctx context.Context, d *Dataset, t target, qs []Question, conc int) ([]time.Duration, time.Duration, int, int) {
	lat := make([]time.Duration, len(qs))
	ok := make([]bool, len(qs))
	var next, granted, errs atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(qs) {
					return
				}
				req, err := d.Request(qs[i], snapshot(t.token))
				if err != nil {
					errs.Add(1)
					continue
				}
				cctx, cancel := context.WithTimeout(ctx, time.Minute)
				t0 := time.Now()
				resp, err := t.conn.CheckPermission(cctx, req)
				lat[i] = time.Since(t0)
				cancel()
				if err != nil {
					errs.Add(1)
					continue
				}
				ok[i] = true
				if resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION {
					granted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	var out []time.Duration
	for i := range qs {
		if ok[i] {
			out = append(out, lat[i])
		}
	}
	return out, wall, int(granted.Load()), int(errs.Load())
}
