package bench

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/checker/tree"
	"github.com/boxauthz/boxauthz/internal/bench/synth"
)

// Client is what a run needs of a SpiceDB: checks, the bulk import, the
// schema, and the watch the folder tree index follows.
type Client interface {
	v1.PermissionsServiceClient
	v1.SchemaServiceClient
	v1.WatchServiceClient
}

// Defaults of a run.
const (
	// DefaultSize is the data set: Small scaled 50 times, about 1M
	// relationships, the size of a large enterprise's share of a store.
	DefaultSize = "x50"
	DefaultSeed = 1
	// DefaultChecks is the number of questions per row, asked every way.
	DefaultChecks = 300
	// DefaultCellTime caps the time of each way in a row: a row stops
	// after the round during which len(ways) × DefaultCellTime passed.
	DefaultCellTime = 20 * time.Second
	// warmChecks are asked of every way before the rows, at middle depths
	// the rows never ask, so connection pools and schema caches are set up.
	warmChecks = 10
)

// DefaultConcurrency is the concurrency levels measured by default.
func DefaultConcurrency() []int { return []int{1, 8} }

// Buckets are the depth bands measured: items near the top of their tree
// and items 25 to 30 folders deep.
func Buckets() []string { return []string{synth.BucketShallow, synth.BucketDeep} }

// Option configures Run.
type Option func(*settings)

type settings struct {
	size          string
	seed          uint64
	conc          []int
	checks        int
	cellTime      time.Duration
	store         string
	dispatchCache string
	logger        *slog.Logger
}

// WithSize sets the data set size (DefaultSize): tiny, small or xN.
func WithSize(name string) Option { return func(s *settings) { s.size = name } }

// WithSeed sets the data set's seed (DefaultSeed).
func WithSeed(seed uint64) Option { return func(s *settings) { s.seed = seed } }

// WithConcurrency sets the concurrency levels (DefaultConcurrency).
func WithConcurrency(levels ...int) Option { return func(s *settings) { s.conc = levels } }

// WithChecks sets the questions per row (DefaultChecks).
func WithChecks(n int) Option { return func(s *settings) { s.checks = n } }

// WithCellTime sets the time limit of each way in a row (DefaultCellTime).
func WithCellTime(d time.Duration) Option { return func(s *settings) { s.cellTime = d } }

// WithStore says, for the report, which SpiceDB the real schema runs on and
// how its dispatch cache is set.
func WithStore(store, dispatchCache string) Option {
	return func(s *settings) { s.store, s.dispatchCache = store, dispatchCache }
}

// WithLogger sets where the load's progress and each row go as they are
// measured (default: nowhere).
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.logger = l } }

// Run generates the data set, loads it into primary (which holds boxauthz's
// schema) and, when naive is not nil, into naive (writing the naive schema
// there first), and measures. naive nil reports the naive way as skipped.
func Run(ctx context.Context, primary, naive Client, opts ...Option) (*Report, error) {
	s := settings{
		size: DefaultSize, seed: DefaultSeed, conc: DefaultConcurrency(), checks: DefaultChecks,
		cellTime: DefaultCellTime, logger: slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(&s)
	}
	cfg, err := synth.SizeConfig(s.size)
	if err != nil {
		return nil, err
	}
	if s.checks < 1 || len(s.conc) == 0 {
		return nil, fmt.Errorf("nothing to measure: %d checks per row, %d concurrency levels", s.checks, len(s.conc))
	}
	cfg.Seed = s.seed
	started := time.Now()
	d := synth.Generate(cfg)
	st := d.Stats()
	rep := &Report{
		Size: s.size, Seed: s.seed, SpiceDB: s.store, DispatchCache: s.dispatchCache, CPUs: runtime.NumCPU(),
		Folders: st.Folders, Files: st.Files, Collaborations: st.Collabs, Started: started.UTC(),
	}
	s.logger.InfoContext(ctx, "data set generated", "size", s.size, "seed", s.seed, "relationships", st.Relationships, "folders", st.Folders, "files", st.Files)

	lr, err := load(ctx, primary, d, true, s.logger, "boxauthz schema")
	if err != nil {
		return nil, err
	}
	rep.Relationships, rep.LoadSeconds = lr.relationships, lr.took.Seconds()
	boxauthz, stop, err := startChecker(ctx, primary)
	if err != nil {
		return nil, err
	}
	defer stop()
	targets := []target{chainTarget(d, boxauthz, lr.token), checkTarget(Raw, d, primary, lr.token)}
	var naiveLookups Client
	if naive != nil {
		naiveLookups = naive
		if _, err := naive.WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: synth.NaiveSchema}); err != nil {
			return nil, fmt.Errorf("writing the naive schema: %w", err)
		}
		nl, err := load(ctx, naive, d, false, s.logger, "naive schema")
		if err != nil {
			return nil, err
		}
		rep.NaiveLoadSeconds = nl.took.Seconds()
		targets = append(targets, checkTarget(Naive, d, naive, nl.token))
	} else {
		rep.NaiveSkipped = "the naive schema needs a SpiceDB of its own: measured on the embedded store only"
	}
	rep.MemoryAfterLoad = readMemory()
	if err := warm(ctx, d, targets); err != nil {
		return nil, err
	}
	measureRows(ctx, s, d, targets, rep)
	if rep.Lookups, err = measureLookups(ctx, d, boxauthz, primary, naiveLookups, lr.token); err != nil {
		return nil, err
	}
	s.logger.InfoContext(ctx, "lookups measured", "user", rep.Lookups.User, "items", rep.Lookups.Expected,
		"boxauthz_ms", rep.Lookups.Boxauthz.TotalMs, "raw_ms", rep.Lookups.Raw.TotalMs)
	rep.ChainConfirmed, rep.ChainUnconfirmed = boxauthz.ChainCounts()
	rep.MemoryAtEnd = readMemory()
	rep.TookSeconds = round1(time.Since(started).Seconds())
	return rep, ctx.Err()
}

// startChecker starts a folder tree index of c, waits until it has loaded,
// and returns a checker asking chain checks with it, and the index's stop.
func startChecker(ctx context.Context, c Client) (*checker.Checker, func(), error) {
	idx := tree.New(c)
	ictx, cancel := context.WithCancel(ctx)
	go func() { _ = idx.Run(ictx) }()
	for !idx.Ready() {
		select {
		case <-ctx.Done():
			cancel()
			return nil, nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	// The data set's clock: its expiring collaborations lapse around
	// synth.Now, which lookups (asked without a caveat context) need.
	ch, err := checker.New(c, checker.WithTree(idx), checker.WithClock(func() time.Time { return synth.Now }))
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("starting the checker: %w", err)
	}
	return ch, cancel, nil
}

// warm asks every target a few questions the rows never ask.
func warm(ctx context.Context, d *synth.Dataset, targets []target) error {
	a := synth.NewAsker(d, d.Config.Seed+7)
	var mid []synth.Question
	for _, q := range a.Draw(20*warmChecks, "", synth.CommonActions) {
		if synth.BucketOf(d.Items[q.Item].Depth) == "" && len(mid) < warmChecks {
			mid = append(mid, q)
		}
	}
	for _, t := range targets {
		for _, q := range mid {
			if _, err := t.ask(ctx, q); err != nil {
				return fmt.Errorf("warming up %s: %w", t.name, err)
			}
		}
	}
	return nil
}

// measureRows fills rep's rows: every depth band and concurrency, every
// target asked the same questions, none asked twice.
func measureRows(ctx context.Context, s settings, d *synth.Dataset, targets []target, rep *Report) {
	asker := synth.NewAsker(d, d.Config.Seed+100)
	for _, bucket := range Buckets() {
		for _, conc := range s.conc {
			qs := asker.Draw(s.checks, bucket, synth.CommonActions)
			ms, asked := interleave(ctx, targets, qs, conc, s.cellTime*time.Duration(len(targets)))
			row := Row{
				Depth: bucket, Concurrency: conc, Questions: asked, CutShort: asked < len(qs),
				Boxauthz: ms[0].cell(), Raw: ms[1].cell(),
			}
			row.VsRaw = ratio(row.Boxauthz, row.Raw)
			c, diff := agree(ms[0], ms[1], asked)
			rep.Agreement.Raw.Compared += c
			rep.Agreement.Raw.Differ += diff
			if len(ms) > 2 {
				row.Naive = ms[2].cell()
				row.VsNaive = ratio(row.Boxauthz, row.Naive)
				c, diff := agree(ms[0], ms[2], asked)
				rep.Agreement.Naive.Compared += c
				rep.Agreement.Naive.Differ += diff
			}
			rep.Rows = append(rep.Rows, row)
			s.logger.InfoContext(ctx, "row measured", "depth", bucket, "concurrency", conc, "questions", asked,
				"boxauthz_per_s", row.Boxauthz.PerSec, "raw_per_s", row.Raw.PerSec, "boxauthz_per_raw", row.VsRaw)
		}
	}
}

// ratio is a's throughput over b's, 0 when b answered nothing.
func ratio(a, b *Cell) float64 {
	if b.PerSec <= 0 {
		return 0
	}
	return float64(int64(a.PerSec/b.PerSec*100+0.5)) / 100
}
