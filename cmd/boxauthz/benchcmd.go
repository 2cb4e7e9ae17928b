package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/boxauthz/boxauthz/internal/bench"
	"github.com/boxauthz/boxauthz/internal/bench/synth"
	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
)

const benchLong = `Generates a deterministic Box-like data set (users, enterprises, groups,
folder trees up to 30 deep, files, collaborations of every role, expiring
ones, shared links, trash), loads it, and measures checks by depth band and
concurrency three ways, interleaved on the same questions: boxauthz's chain
checks, SpiceDB's own CheckPermission on the same schema, and a naive schema
on a second embedded SpiceDB.

By default everything runs in this process, on SpiceDBs in memory. With
--spicedb-endpoint the data set is WRITTEN INTO THAT SpiceDB (about 1M
relationships at the default size, under object IDs like f000123 and
u00042) and stays there; give --yes-write to agree. The naive schema is then
skipped: it needs a SpiceDB of its own. With --data-dir the embedded SpiceDB
with boxauthz's schema runs on boxauthz's durable store in that directory
(docs/store.md; it must not hold a data set yet) and the data set stays
there; the naive schema stays in memory, and is skipped past the size the
in-memory store answers in reasonable time.` + jsonHelp + "the report as one JSON document (rows by depth band and concurrency, each way's latencies and rate; see docs/)."

const benchExample = `  boxauthz bench --size small
  boxauthz bench --size small --cold
  boxauthz bench --data-dir /var/tmp/bench --size x50 --cold --conc 1,8
  boxauthz bench --size tiny --conc 1,4 --checks 200 --json > report.json
  boxauthz bench --spicedb-endpoint spicedb.test:50051 --spicedb-token "$KEY" --yes-write`

// embeddedWarnScale is the data set scale (xN) beyond which bench warns
// that the in-memory datastore is what it measures: past about 100,000
// relationships, as serve warns.
const embeddedWarnScale = 4

// benchFlags are bench's command line.
type benchFlags struct {
	sf                   spicedbFlags
	seed                 *uint64
	size, conc           *string
	yesWrite, cold, json *bool
	checks               *int
	cellTime             *time.Duration
}

func newBenchCmd(a *app) *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:     "bench [flags]",
		Short:   "Measure checks on a generated data set (embedded SpiceDB by default)",
		Long:    benchLong,
		Example: benchExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBench(cmd.Context(), &f, a.stdout, a.logger)
		},
	}
	fs := cmd.Flags()
	f.sf.register(fs, spicedbDirect)
	fs.StringVar(&f.sf.dataDir, "data-dir", "", "run the embedded SpiceDB with boxauthz's schema on boxauthz's durable store in this directory, which keeps the data set (docs/store.md; default: in memory)")
	fs.Lookup("spicedb-endpoint").Usage = "host:port of an external SpiceDB to load the data set into and measure (writes relationships there: needs --yes-write; default: embedded SpiceDBs in memory)"
	f.seed = fs.Uint64("seed", bench.DefaultSeed, "seed of the data set: equal seeds and sizes give equal data sets")
	f.size = fs.String("size", bench.DefaultSize, "data set size: tiny (~3k relationships), small (~20k) or xN (small × N; x50 ≈ 1M)")
	f.yesWrite = fs.Bool("yes-write", false, "agree to write the data set into the external --spicedb-endpoint")
	f.conc = fs.String("conc", joinInts(bench.DefaultConcurrency()), "concurrency levels, comma-separated")
	f.checks = fs.Int("checks", bench.DefaultChecks, "questions per row (depth band × concurrency), asked each way")
	f.cellTime = fs.Duration("cell-time", bench.DefaultCellTime, "time limit of each way in a row")
	f.cold = fs.Bool("cold", false, "start the embedded SpiceDBs with their dispatch cache off, so every sub-problem is computed afresh (default: on, as serve runs it)")
	f.json = fs.Bool("json", false, "print the report as one JSON document")
	return cmd
}

func runBench(ctx context.Context, f *benchFlags, stdout io.Writer, logger *slog.Logger) error {
	sf, seed, size, yesWrite, conc, checks, cellTime, cold, asJSON := f.sf, f.seed, f.size, f.yesWrite, f.conc, f.checks, f.cellTime, f.cold, f.json
	dc, err := synth.SizeConfig(*size)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("--size: %w", err)}
	}
	levels, err := parseInts(*conc)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("--conc: %w", err)}
	}
	external := sf.endpoint != ""
	if external && !*yesWrite {
		return &exitError{code: 2, err: fmt.Errorf("--spicedb-endpoint %s: bench writes its data set into that SpiceDB; give --yes-write to agree", sf.endpoint)}
	}
	if external && sf.dataDir != "" {
		return &exitError{code: 2, err: errors.New("--data-dir is for the embedded SpiceDB: leave it out with --spicedb-endpoint, whose datastore keeps the data")}
	}
	if external && *cold {
		return &exitError{code: 2, err: errors.New("--cold sets the embedded SpiceDBs' dispatch cache; an external SpiceDB's is its own setting")}
	}

	large := dc.Trees > embeddedWarnScale*synth.Small().Trees
	if !external && sf.dataDir == "" && large {
		logger.Warn("the in-memory datastore scans every relationship of a type and relation on each read: at this size deep checks take seconds and the run a long while; --size small, or --spicedb-endpoint with a SpiceDB on PostgreSQL, measure the schema rather than the scans", "size", *size)
	}
	// The naive schema has only the in-memory store: past the size it
	// answers deep checks in seconds, it would take the run hours.
	withNaive := sf.dataDir == "" || !large
	primary, naive, store, cache, err := benchSpiceDBs(ctx, &sf, *cold, withNaive, logger)
	if err != nil {
		return err
	}
	defer func() {
		_ = primary.Close()
		if naive != nil {
			_ = naive.Close()
		}
	}()
	opts := []bench.Option{
		bench.WithSize(*size), bench.WithSeed(*seed), bench.WithConcurrency(levels...),
		bench.WithChecks(*checks), bench.WithCellTime(*cellTime), bench.WithStore(store, cache), bench.WithLogger(logger),
	}
	var naiveClient bench.Client
	if naive != nil {
		naiveClient = naive
	}
	rep, err := bench.Run(ctx, primary, naiveClient, opts...)
	if err != nil {
		return err
	}
	if naive == nil && !external {
		rep.NaiveSkipped = fmt.Sprintf("at %s the naive schema's SpiceDB, in memory, would scan every relationship of a type on each read and take hours; it runs with --data-dir up to x%d", *size, embeddedWarnScale)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.WriteText(stdout)
}

// benchSpiceDBs starts the SpiceDBs bench measures: the one holding
// boxauthz's schema (embedded, or the external endpoint) and, embedded
// only, a second one for the naive schema. store and cache describe them.
func benchSpiceDBs(ctx context.Context, sf *spicedbFlags, cold, withNaive bool, logger *slog.Logger) (primary, naive *spicedb.Client, store, cache string, err error) {
	if sf.endpoint != "" {
		if primary, err = sf.dial(); err != nil {
			return nil, nil, "", "", err
		}
		store, cache = sf.endpoint, "as the server sets it"
	} else {
		eopts := []embedded.Option{embedded.WithDispatchCache(!cold)}
		store = "embedded (in memory)"
		if sf.dataDir != "" {
			eopts = append(eopts, embedded.WithDataDir(sf.dataDir))
			store = "embedded (data dir " + sf.dataDir + ")"
		}
		if primary, err = embedded.Start(ctx, eopts...); err != nil {
			return nil, nil, "", "", fmt.Errorf("starting the embedded SpiceDB: %w", err)
		}
		if withNaive {
			if naive, err = embedded.Start(ctx, embedded.WithDispatchCache(!cold)); err != nil {
				_ = primary.Close()
				return nil, nil, "", "", err
			}
		}
		cache = "on"
		if cold {
			cache = "off (cold)"
		}
	}
	if _, err := ensureSchema(ctx, primary, logger); err != nil {
		_ = primary.Close()
		if naive != nil {
			_ = naive.Close()
		}
		return nil, nil, "", "", err
	}
	return primary, naive, store, cache, nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func joinInts(xs []int) string {
	var parts []string
	for _, x := range xs {
		parts = append(parts, strconv.Itoa(x))
	}
	return strings.Join(parts, ",")
}
