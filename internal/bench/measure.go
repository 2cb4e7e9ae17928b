package bench

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

// Names of the three ways a question is asked, as the report names them.
const (
	Boxauthz = "boxauthz"
	Raw      = "raw"
	Naive    = "naive"
)

// checkTimeout bounds one check: a SpiceDB that stops answering fails the
// check instead of hanging the run.
const checkTimeout = time.Minute

// target is one way of asking a question.
type target struct {
	name string
	ask  func(ctx context.Context, q synth.Question) (bool, error)
}

// atLeastAsFresh is the consistency every target asks at: no older than
// the load, as boxauthz asks with a token from an event apply.
func atLeastAsFresh(token *v1.ZedToken) *v1.Consistency {
	return &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: token}}
}

// chainTarget asks as boxauthz does: ch's chain checks.
func chainTarget(d *synth.Dataset, ch *checker.Checker, token *v1.ZedToken) target {
	return target{name: Boxauthz, ask: func(ctx context.Context, q synth.Question) (bool, error) {
		it, err := d.BulkItem(q)
		if err != nil {
			return false, err
		}
		got, _, err := ch.CheckItems(ctx, []*v1.CheckBulkPermissionsRequestItem{it}, checker.Consistency{Token: token.GetToken()})
		if err != nil {
			return false, err
		}
		return got[0], nil
	}}
}

// checkTarget asks SpiceDB's CheckPermission of the question's action
// itself: the schema's recursive permission.
func checkTarget(name string, d *synth.Dataset, c Client, token *v1.ZedToken) target {
	return target{name: name, ask: func(ctx context.Context, q synth.Question) (bool, error) {
		req, err := d.Request(q, atLeastAsFresh(token))
		if err != nil {
			return false, err
		}
		resp, err := c.CheckPermission(ctx, req)
		if err != nil {
			return false, err
		}
		return resp.GetPermissionship() == v1.CheckPermissionResponse_PERMISSIONSHIP_HAS_PERMISSION, nil
	}}
}

// Answers of one question, kept to compare the targets.
const (
	answerError int8 = iota
	answerNo
	answerYes
)

// measured is one target's share of a row.
type measured struct {
	lat     []time.Duration
	wall    time.Duration
	granted int
	errors  int
	answers []int8 // by question
}

// interleave asks qs of every target: the questions go in rounds, and each
// round is asked of every target in turn, the order rotating from round to
// round, so a change in the machine's load hits every target alike and every
// target answers the same questions. It stops after the round during which
// limit passed, and returns the number of questions asked.
//
// A round is conc questions (one a worker) until rounds prove quick, then
// fastRound × conc, which smooths out the wait for a round's slowest check.
// Starting small keeps a store whose checks take seconds (the in-memory
// datastore with a million relationships) from overshooting limit by a
// whole long round.
func interleave(ctx context.Context, targets []target, qs []synth.Question, conc int, limit time.Duration) ([]*measured, int) {
	out := make([]*measured, len(targets))
	for i := range out {
		out[i] = &measured{answers: make([]int8, len(qs))}
	}
	start := time.Now()
	asked, per := 0, 1
	for r := 0; asked < len(qs) && ctx.Err() == nil; r++ {
		lo, hi := asked, min(asked+per*conc, len(qs))
		roundStart := time.Now()
		for k := range targets {
			i := (r + k) % len(targets)
			askAll(ctx, targets[i], qs, lo, hi, conc, out[i])
		}
		asked = hi
		if time.Since(start) > limit {
			break
		}
		per = 1
		if time.Since(roundStart) < limit/quickRound {
			per = fastRound
		}
	}
	return out, asked
}

// fastRound is the questions per worker of a round once rounds are quick:
// a round then shorter than limit/quickRound grows at most fastRound times.
const (
	fastRound  = 8
	quickRound = 16
)

// askAll asks qs[lo:hi] of t with conc workers, adding to m.
func askAll(ctx context.Context, t target, qs []synth.Question, lo, hi, conc int, m *measured) {
	lat := make([]time.Duration, hi-lo)
	var next, granted, errs atomic.Int64
	next.Store(int64(lo))
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= hi {
					return
				}
				cctx, cancel := context.WithTimeout(ctx, checkTimeout)
				t0 := time.Now()
				yes, err := t.ask(cctx, qs[i])
				lat[i-lo] = time.Since(t0)
				cancel()
				switch {
				case err != nil:
					errs.Add(1)
					m.answers[i] = answerError
					lat[i-lo] = -1
				case yes:
					granted.Add(1)
					m.answers[i] = answerYes
				default:
					m.answers[i] = answerNo
				}
			}
		}()
	}
	wg.Wait()
	m.wall += time.Since(start)
	for _, l := range lat {
		if l >= 0 {
			m.lat = append(m.lat, l)
		}
	}
	m.granted += int(granted.Load())
	m.errors += int(errs.Load())
}

// cell sums up m.
func (m *measured) cell() *Cell {
	c := &Cell{Checks: len(m.lat), Granted: m.granted, Errors: m.errors}
	sort.Slice(m.lat, func(x, y int) bool { return m.lat[x] < m.lat[y] })
	if c.Checks > 0 {
		c.P50Ms = millis(m.lat[(c.Checks-1)*50/100])
		c.P95Ms = millis(m.lat[(c.Checks-1)*95/100])
		c.PerSec = round1(float64(c.Checks) / m.wall.Seconds())
	}
	return c
}

// agree counts the questions of the first n both a and b answered, and
// those they answered differently.
func agree(a, b *measured, n int) (compared, differ int) {
	for i := 0; i < n; i++ {
		if a.answers[i] == answerError || b.answers[i] == answerError {
			continue
		}
		compared++
		if a.answers[i] != b.answers[i] {
			differ++
		}
	}
	return compared, differ
}

func millis(d time.Duration) float64 {
	return float64(d.Round(time.Microsecond)) / float64(time.Millisecond)
}

func round1(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }
