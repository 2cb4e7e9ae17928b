package shapebench

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/internal/bench/synth"
)

// warm asks a few questions (never asked again: another seed, middle
// depths) so connection pools and schema caches are set up.
func warm(ctx context.Context, c Conn, d *synth.Dataset, token *v1.ZedToken) error {
	a := synth.NewAsker(d, d.Config.Seed+7)
	var mid []synth.Question
	for _, q := range a.Draw(200, "", synth.CommonActions) {
		if it := d.Items[q.Item]; synth.BucketOf(it.Depth) == "" {
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

type target struct {
	conn  Conn
	token *v1.ZedToken
	// checker, when set, asks as boxauthz does (the chain shape), at
	// least as fresh as token.
	checker *checker.Checker
}

// check asks one question of t.
func (t target) check(ctx context.Context, d *synth.Dataset, q synth.Question) (bool, error) {
	if t.checker != nil {
		it, err := d.BulkItem(q)
		if err != nil {
			return false, err
		}
		got, _, err := t.checker.CheckItems(ctx, []*v1.CheckBulkPermissionsRequestItem{it}, checker.Consistency{Token: t.token.GetToken()})
		if err != nil {
			return false, err
		}
		return got[0], nil
	}
	req, err := d.Request(q, snapshot(t.token))
	if err != nil {
		return false, err
	}
	resp, err := t.conn.CheckPermission(ctx, req)
	if err != nil {
		return false, err
	}
	return resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION, nil
}

// measureInterleaved asks qs of every shape, interleaved: the questions go in
// rounds of 8 × conc, and each round is asked of every shape in turn (the
// order rotating from round to round), so a change in the machine's load
// hits every shape alike and every shape answers the same questions. It
// stops after the round during which limit passed.
func measureInterleaved(ctx context.Context, d *synth.Dataset, shapes []Shape, targets map[Shape]target, qs []synth.Question, conc int, limit time.Duration) map[Shape]Cell {
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
func askAll(ctx context.Context, d *synth.Dataset, t target, qs []synth.Question, conc int) ([]time.Duration, time.Duration, int, int) {
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
				cctx, cancel := context.WithTimeout(ctx, time.Minute)
				t0 := time.Now()
				yes, err := t.check(cctx, d, qs[i])
				lat[i] = time.Since(t0)
				cancel()
				if err != nil {
					errs.Add(1)
					continue
				}
				ok[i] = true
				if yes {
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
