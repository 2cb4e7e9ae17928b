package shapebench

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/boxauthz/boxauthz/internal/bench/synth"
)

// countQueries asks n questions of every shape on PostgreSQL one at a time,
// per depth bucket, and logs how many PostgreSQL transactions each question
// took on average: SpiceDB runs each read of relationships as one, so it is
// the number of queries a check costs. It reads the shape's database's
// pg_stat_database.xact_commit before and after, waiting out the
// statistics' flush interval.
func (r *run) countQueries(ctx context.Context, d *synth.Dataset, servers map[Shape]*shapeServers, n int) {
	asker := synth.NewAsker(d, d.Config.Seed+300)
	for _, bucket := range r.cfg.Buckets {
		qs := asker.Draw(n, bucket, synth.CommonActions)
		for _, shape := range r.cfg.Shapes {
			db := r.cfg.PGDatabasePrefix + string(shape)
			if shape == Chain && servers[Separated] == servers[Chain] {
				db = r.cfg.PGDatabasePrefix + string(Separated)
			}
			cache := r.cfg.Caches[0]
			t := target{conn: servers[shape].conns[cache], token: servers[shape].tokens[cache]}
			if shape == Chain {
				t.checker = servers[shape].checkers[cache]
			}
			before, err := xacts(ctx, r.cfg.PGDSN, db)
			if err != nil {
				r.logf("postgres query counts: %v", err)
				return
			}
			for _, q := range qs {
				if _, err := t.check(ctx, d, q); err != nil {
					r.logf("postgres query counts: %s: %v", shape, err)
					return
				}
			}
			after, err := xacts(ctx, r.cfg.PGDSN, db)
			if err != nil {
				r.logf("postgres query counts: %v", err)
				return
			}
			r.logf("postgres query counts: depth %s %-9s %.1f queries per check (%d checks, one at a time)", bucket, shape, float64(after-before)/float64(len(qs)), len(qs))
		}
	}
}

// xacts reads db's committed transactions, once the statistics of the
// last second are flushed.
func xacts(ctx context.Context, dsn, db string) (int64, error) {
	time.Sleep(1500 * time.Millisecond)
	out, err := exec.CommandContext(ctx, "psql", dsn, "-X", "-q", "-t", "-A", "-c",
		fmt.Sprintf("SELECT pg_stat_clear_snapshot(); SELECT xact_commit FROM pg_stat_database WHERE datname = '%s'", db)).Output()
	if err != nil {
		return 0, fmt.Errorf("reading pg_stat_database: %w", err)
	}
	lines := strings.Fields(strings.TrimSpace(string(out)))
	if len(lines) == 0 {
		return 0, fmt.Errorf("no statistics for database %s", db)
	}
	return strconv.ParseInt(lines[len(lines)-1], 10, 64)
}
