package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/boxauthz/boxauthz/internal/tools/shapebench"
)

func main() {
	cfg := shapebench.DefaultRunConfig()
	flag.StringVar(&cfg.MemSize, "mem-size", cfg.MemSize, "data set for the in-memory datastore: tiny, small (~20k relationships) or xN (small × N); empty skips it")
	flag.StringVar(&cfg.PGDSN, "pg", os.Getenv("BOXAUTHZ_PG_DSN"), "PostgreSQL DSN (user needs CREATEDB; databases shapebench_<shape> are dropped and recreated); empty skips PostgreSQL")
	flag.StringVar(&cfg.PGSize, "pg-size", cfg.PGSize, "data set for PostgreSQL (x15 ≈ 300k relationships, x50 ≈ 1M)")
	shapes := flag.String("shapes", "naive,separated,ancestors", "shapes to measure")
	caches := flag.String("caches", "off,on", "SpiceDB dispatch cache modes: off (cold), on")
	conc := flag.String("conc", "1,8", "concurrency levels")
	flag.IntVar(&cfg.Checks, "checks", cfg.Checks, "questions per row (cache × depth × concurrency), asked of every shape; 0 skips the benchmark")
	flag.DurationVar(&cfg.CellTime, "cell-time", cfg.CellTime, "time limit per shape and row")
	flag.IntVar(&cfg.Equivalence.Panel, "equiv-panel", cfg.Equivalence.Panel, "equivalence grid: panel users")
	flag.IntVar(&cfg.Equivalence.Deep, "equiv-deep", cfg.Equivalence.Deep, "equivalence grid: items 25+ deep (-1: all)")
	flag.IntVar(&cfg.Equivalence.Shallow, "equiv-shallow", cfg.Equivalence.Shallow, "equivalence grid: items under depth 25 (-1: all)")
	flag.IntVar(&cfg.Equivalence.Granted, "equiv-granted", cfg.Equivalence.Granted, "equivalence grid: items each panel member can list, added")
	flag.IntVar(&cfg.Equivalence.Random, "equiv-random", cfg.Equivalence.Random, "equivalence: extra random questions")
	flag.IntVar(&cfg.PGEquivalence.Panel, "pg-equiv-panel", cfg.PGEquivalence.Panel, "equivalence on PostgreSQL: panel users")
	flag.IntVar(&cfg.PGEquivalence.Deep, "pg-equiv-deep", cfg.PGEquivalence.Deep, "equivalence on PostgreSQL: items 25+ deep (-1: all)")
	flag.IntVar(&cfg.PGEquivalence.Shallow, "pg-equiv-shallow", cfg.PGEquivalence.Shallow, "equivalence on PostgreSQL: items under depth 25 (-1: all)")
	flag.IntVar(&cfg.PGEquivalence.Granted, "pg-equiv-granted", cfg.PGEquivalence.Granted, "equivalence on PostgreSQL: items each panel member can list, added")
	flag.IntVar(&cfg.PGEquivalence.Random, "pg-equiv-random", cfg.PGEquivalence.Random, "equivalence on PostgreSQL: extra random questions")
	flag.StringVar(&cfg.PGDatabasePrefix, "pg-db-prefix", cfg.PGDatabasePrefix, "PostgreSQL databases are named prefix+shape")
	flag.BoolVar(&cfg.SkipEquivalence, "no-equiv", false, "skip the equivalence proof")
	flag.IntVar(&cfg.PGQueryChecks, "pg-queries", 0, "on PostgreSQL, count the queries of this many checks per shape and depth first (0: skip)")
	out := flag.String("out", "", "also write the markdown report to this file")
	quiet := flag.Bool("q", false, "no progress log on stderr")
	flag.Parse()

	cfg.Shapes = nil
	for _, s := range strings.Split(*shapes, ",") {
		cfg.Shapes = append(cfg.Shapes, shapebench.Shape(strings.TrimSpace(s)))
	}
	cfg.Caches = nil
	for _, s := range strings.Split(*caches, ",") {
		switch strings.TrimSpace(s) {
		case "off":
			cfg.Caches = append(cfg.Caches, false)
		case "on":
			cfg.Caches = append(cfg.Caches, true)
		default:
			fail(fmt.Errorf("-caches: %q is neither off nor on", s))
		}
	}
	cfg.Concurrency = nil
	for _, s := range strings.Split(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fail(fmt.Errorf("-conc: %q", s))
		}
		cfg.Concurrency = append(cfg.Concurrency, n)
	}
	if !*quiet {
		cfg.Log = os.Stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	rep, err := shapebench.Run(ctx, cfg)
	if rep != nil && (len(rep.Cells) > 0 || len(rep.Equivalence) > 0) {
		md := fmt.Sprintf("Command: `%s`\n\n%s", strings.Join(os.Args, " "), rep.Markdown())
		fmt.Print(md)
		if *out != "" {
			// The report is timings for docs/schema.md, nothing secret: it is
			// as readable as any file the shell's > would write.
			if werr := os.WriteFile(*out, []byte(md), 0o644); werr != nil { //nolint:gosec // G306: see above
				fail(werr)
			}
		}
	}
	if err != nil {
		fail(err)
	}
	for _, e := range rep.Equivalence {
		if !e.OK() {
			fail(fmt.Errorf("the shapes do not answer alike (after %v)", time.Since(start).Round(time.Second)))
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "shapebench:", err)
	os.Exit(1)
}
