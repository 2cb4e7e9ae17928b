package reference_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/checker/tree"
	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
	"github.com/boxauthz/boxauthz/internal/testkit/eventgen"
	"github.com/boxauthz/boxauthz/internal/testkit/reference"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/upgrade"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/event"
)

// The budget (doc.go). Zero means the default, or BOXAUTHZ_DIFF_BUDGET's
// multiple of it.
var (
	flagSeeds   = flag.Int("differential.seeds", 0, "differential test: how many seeds (default 3, times BOXAUTHZ_DIFF_BUDGET)")
	flagEvents  = flag.Int("differential.events", 0, "differential test: events per seed (default 600)")
	flagFirst   = flag.Uint64("differential.seed", 1, "differential test: the first seed")
	flagInvalid = flag.Int("differential.invalid", 8, "differential test: percent of bad events mixed in")
	flagShrink  = flag.Bool("differential.shrink", true, "differential test: shrink a mismatch to a minimal test")
)

const (
	defaultSeeds  = 3
	defaultEvents = 600
	// maxBatch is how many accepted events go to sync in one Apply.
	maxBatch = 200
)

type budget struct {
	seeds, events int
	first         uint64
}

func diffBudget(t *testing.T) budget {
	b := budget{seeds: defaultSeeds, events: defaultEvents, first: *flagFirst}
	if s := os.Getenv("BOXAUTHZ_DIFF_BUDGET"); s != "" {
		k, err := strconv.Atoi(s)
		if err != nil || k < 1 {
			t.Fatalf("BOXAUTHZ_DIFF_BUDGET=%q: want a whole multiple of the default budget, such as 10", s)
		}
		b.seeds *= k
	}
	if *flagSeeds > 0 {
		b.seeds = *flagSeeds
	}
	if *flagEvents > 0 {
		b.events = *flagEvents
	}
	return b
}

// TestDifferential applies seeded random event streams, bad events mixed
// in, through the real sync into real SpiceDB and into the reference model.
// Both must accept and refuse the same events, and afterwards give the same
// answers: checks of every action on every item for a rotating sample of
// users, with and without shared links, and lookups of items and of users.
// A difference is shrunk to a minimal event sequence and printed as a test
// to paste.
func TestDifferential(t *testing.T) {
	b := diffBudget(t)
	t.Logf("%d seeds from %d, %d events each, %d%% bad", b.seeds, b.first, b.events, *flagInvalid)
	for seed := b.first; seed < b.first+uint64(b.seeds); seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { differential(t, seed, b.events) })
	}
}

func differential(t *testing.T, seed uint64, n int) {
	ctx := t.Context()
	gen := eventgen.New(seed, eventgen.WithAllKinds(), eventgen.WithInvalid(*flagInvalid))
	evs := gen.Events(n)
	lines := make([][]byte, len(evs))
	for i, e := range evs {
		lines[i] = e.Line
	}
	began := time.Now()
	r, err := replay(ctx, testenv.SpiceDB(t, testenv.Memory), lines)
	if err != nil {
		t.Fatal(err)
	}
	applied := time.Since(began)

	// The generator and the reference are both written from the spec, apart:
	// where they disagree on what is bad input, one of them misreads it, and
	// the bad events would not test what they claim to.
	kinds := map[string]int{}
	for i := range r.done {
		if refused := r.refErr[i] != nil; refused != (evs[i].Invalid != "") {
			t.Errorf("event %d: generator meant it bad=%q, the reference says %v\n%s", i, evs[i].Invalid, r.refErr[i], lines[i])
		}
		if evs[i].Invalid != "" {
			kinds[evs[i].Invalid]++
		}
	}

	var ms []mismatch
	var stats compareStats
	if r.diverged != nil {
		ms = append(ms, *r.diverged)
	} else {
		began = time.Now()
		ms, stats, err = compare(ctx, r, gen.Users())
		if err != nil {
			t.Fatal(err)
		}
		stats.took = time.Since(began)
	}
	if len(ms) == 0 {
		// A comparison of nothing but "no" (or "yes") would prove little.
		// Streams differ: a trashed top folder can take most items with it
		// (3% yes in one of thirty seeds), so the bound is loose.
		if stats.yes < max(100, stats.checks/50) || stats.yes > stats.checks*19/20 {
			t.Fatalf("%d of %d checks are yes: the stream exercises too little", stats.yes, stats.checks)
		}
		if stats.chained < stats.checks/2 {
			t.Fatalf("only %d of %d checks went as chain checks: the tree index placed too few items", stats.chained, stats.checks)
		}
		dups, inBatch := 0, 0
		for _, b := range r.batches {
			dups += b.dups
			if b.refused && len(b.events) > 1 {
				inBatch++
			}
		}
		t.Logf("%d events (refused by both: %s; %d of them at the end of a batch of good ones; %d redeliveries skipped) applied in %s; %d checks (%d yes; %d also as chain checks), %d item lookups (%d pages), %d user lookups agree, compared in %s",
			len(lines), kindSummary(kinds), inBatch, dups, applied.Round(time.Millisecond), stats.checks, stats.yes, stats.chained, stats.itemLookups, stats.pages, stats.userLookups, stats.took.Round(time.Millisecond))
		return
	}
	for i, m := range ms {
		if i == 10 {
			t.Errorf("... %d mismatches in all", len(ms))
			break
		}
		if m.p.kind == "event" {
			t.Errorf("mismatch: %s\n%s", m, lines[m.p.event])
			continue
		}
		t.Errorf("mismatch: %s", m)
	}
	if !*flagShrink {
		return
	}
	shrinkAndPrint(t, seed, lines, ms[0])
}

func kindSummary(kinds map[string]int) string {
	var parts []string
	n := 0
	for _, k := range eventgen.InvalidKinds() {
		parts = append(parts, fmt.Sprintf("%s=%d", k, kinds[k]))
		n += kinds[k]
	}
	return fmt.Sprintf("%d: %s", n, strings.Join(parts, " "))
}

// --- replay ---

// run is one replay of an event sequence through sync and the reference.
type run struct {
	ref     *reference.Model
	client  *spicedb.Client
	refErr  []error // the reference's verdict on each event
	batches []batch // the Apply calls, in order
	// diverged is the first event the two judged differently; the replay
	// stops there, since their states part from that event on.
	diverged *mismatch
	done     int // events replayed
}

// batch is one Apply: a run of events the reference accepted, or a refused
// event alone, or a refused event at the end of a run of accepted ones,
// which sync must refuse whole, naming that event.
type batch struct {
	events  []int
	refused bool
	dups    int // accepted: how many are redeliveries sync must skip
}

// replay applies lines to a new reference model and, through a new
// Applier, to c (empty). An error is a failure to run at all.
func replay(ctx context.Context, c *spicedb.Client, lines [][]byte) (*run, error) {
	r := &run{ref: reference.New(), client: c, refErr: make([]error, len(lines))}
	a := sync.NewApplier(c, sync.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	applied := map[string]bool{} // ids of the events applied
	diverge := func(at int, want, got string) {
		r.diverged = &mismatch{p: probe{kind: "event", event: at, id: eventID(lines[at])}, want: want, got: got}
	}
	send := func(idx []int, refused bool) error {
		bt := batch{events: idx, refused: refused}
		var body [][]byte
		for _, i := range idx {
			body = append(body, lines[i])
		}
		if !refused {
			for _, i := range idx {
				if id := eventID(lines[i]); applied[id] {
					bt.dups++
				} else {
					applied[id] = true
				}
			}
		}
		r.batches = append(r.batches, bt)
		evs, err := event.DecodeEvents(bytes.Join(body, []byte("\n")), true)
		var res sync.Result
		if err == nil {
			res, err = a.Apply(ctx, evs)
		}
		var ee *event.Error
		last := idx[len(idx)-1]
		switch {
		case err != nil && !errors.As(err, &ee):
			return fmt.Errorf("applying events %d to %d: %w", idx[0], last, err)
		case err != nil && (ee.Index < 0 || ee.Index >= len(idx)):
			return fmt.Errorf("applying events %d to %d: an error for no event of the batch: %w", idx[0], last, err)
		case refused && err == nil:
			diverge(last, "refused: "+r.refErr[last].Error(), "applied")
		case err != nil && (!refused || idx[ee.Index] != last):
			diverge(idx[ee.Index], "applied", "refused: "+err.Error())
		case !refused && res.Duplicates != bt.dups:
			// Skipping more than the redeliveries means an earlier refused
			// batch left event ids behind: it was half applied.
			diverge(last, fmt.Sprintf("applied, %d of the batch skipped as redeliveries", bt.dups), fmt.Sprintf("skipped %d of the batch", res.Duplicates))
		}
		return nil
	}
	var pending []int
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		err := send(pending, false)
		pending = nil
		return err
	}
	refusals := 0
	for i, l := range lines {
		r.done = i + 1
		if r.refErr[i] = r.ref.Apply(l); r.refErr[i] == nil {
			if pending = append(pending, i); len(pending) == maxBatch {
				if err := flush(); err != nil || r.diverged != nil {
					return r, err
				}
			}
			continue
		}
		// Every other refused event rides at the end of the batch before
		// it: docs/events.md has a batch with a bad event refused whole, so the
		// batch then goes again without it.
		if refusals++; refusals%2 == 0 && len(pending) > 0 {
			if err := send(append(slices.Clone(pending), i), true); err != nil || r.diverged != nil {
				return r, err
			}
			if err := flush(); err != nil || r.diverged != nil {
				return r, err
			}
			continue
		}
		if err := flush(); err != nil || r.diverged != nil {
			return r, err
		}
		if err := send([]int{i}, true); err != nil || r.diverged != nil {
			return r, err
		}
	}
	return r, flush()
}

// eventID is the id of an event, or what stands for it in a line without one.
func eventID(line []byte) string {
	var e struct {
		ID any `json:"id"`
	}
	if json.Unmarshal(line, &e) != nil || e.ID == nil {
		return "(no id)"
	}
	return fmt.Sprint(e.ID)
}

// --- comparison ---

// probe is one question asked of both sides.
type probe struct {
	kind   string // "event", "check", "items" (lookup), "users" (lookup)
	event  int    // "event": the index of the event
	id     string // "event": its id, for people
	user   string // "check", "items"; "" is anonymous
	action string
	item   string // "check", "users": "type:id"
	link   string // "check": the link presented, "type:id" or ""
	typ    string // "items"
	limit  int    // "items": the page size
}

func (p probe) String() string {
	switch p.kind {
	case "event":
		return fmt.Sprintf("event %q", p.id)
	case "check":
		s := fmt.Sprintf("check user %q %s %s", p.user, p.action, p.item)
		if p.link != "" {
			s += " presenting the link of " + p.link
		}
		return s
	case "items":
		return fmt.Sprintf("lookup of the %ss user %q may %s (pages of %d)", p.typ, p.user, p.action, p.limit)
	}
	return fmt.Sprintf("lookup of the users who may %s %s", p.action, p.item)
}

// mismatch is a probe both sides answered differently.
type mismatch struct {
	p         probe
	want, got string // the reference's answer, sync + SpiceDB's
}

func (m mismatch) String() string {
	return fmt.Sprintf("%s: reference (docs/model.md) %s, sync+spicedb %s", m.p, m.want, m.got)
}

type compareStats struct {
	checks, yes, itemLookups, pages, userLookups int
	// chained is how many checks went as confirmed chain checks too.
	chained int
	took    time.Duration
}

// probes lists what to ask after a replay. Every action is asked of every
// item, for a sample of users that rotates with the item so that each user
// is asked about some; lookups rotate through actions the same way. The
// sample is sized to what each question costs SpiceDB: a check about a
// millisecond, a lookup of users as much, a page of a lookup of items tens.
func probes(r *run, users []string) []probe {
	items := r.ref.Items()
	slices.Sort(items)
	links := r.ref.Links()
	slices.Sort(links)
	actions := reference.Actions()
	var ps []probe
	for i, it := range items {
		// Anonymous, someone who holds some grant on the item (most users
		// hold none, and "no" for them says little), and two users in turn.
		asked := []string{""}
		if holders := r.ref.LookupUsers(it, "list"); len(holders) > 0 {
			asked = append(asked, holders[i%len(holders)])
		}
		for k := 0; len(asked) < 4; k++ {
			if u := users[(i+k*5)%len(users)]; !slices.Contains(asked, u) {
				asked = append(asked, u)
			}
		}
		for _, u := range asked {
			for _, act := range actions {
				ps = append(ps, probe{kind: "check", user: u, action: act, item: it})
			}
		}
		// The nearest and the farthest link that reach the item, and one
		// that does not.
		presented := r.ref.LinksOn(it)
		if len(presented) > 2 {
			presented = []string{presented[0], presented[len(presented)-1]}
		}
		if len(links) > 0 {
			presented = append(presented, links[i%len(links)])
		}
		for _, l := range presented {
			for _, u := range []string{"", asked[len(asked)-1]} {
				for _, act := range []string{"list", "preview", "download", "edit", "comment"} {
					ps = append(ps, probe{kind: "check", user: u, action: act, item: it, link: l})
				}
			}
		}
		for k := range 4 {
			ps = append(ps, probe{kind: "users", action: actions[(i+k*4)%len(actions)], item: it})
		}
	}
	for i, u := range append([]string{""}, users...) {
		for j, typ := range []string{"folder", "file"} {
			for k := range 2 {
				// Mostly one page; every third lookup in pages of 10, so that
				// paging is compared too.
				limit := checker.DefaultLookupLimit
				if (i+j+k)%3 == 0 {
					limit = 10
				}
				ps = append(ps, probe{kind: "items", user: u, typ: typ, action: actions[(i*2+j*7+k)%len(actions)], limit: limit})
			}
		}
	}
	return ps
}

func compare(ctx context.Context, r *run, users []string) ([]mismatch, compareStats, error) {
	var st compareStats
	ch, err := checker.New(r.client)
	if err != nil {
		return nil, st, err
	}
	ps := probes(r, users)
	var checks []probe
	var ms []mismatch
	for _, p := range ps {
		if p.kind == "check" {
			checks = append(checks, p)
			continue
		}
		m, pages, err := ask(ctx, ch, r, p)
		if err != nil {
			return nil, st, err
		}
		if m != nil {
			ms = append(ms, *m)
		}
		if p.kind == "items" {
			st.itemLookups++
			st.pages += pages
		} else {
			st.userLookups++
		}
	}
	as, err := ch.CheckBulk(ctx, checkQuestions(checks), checker.Consistency{})
	if err != nil {
		return nil, st, err
	}
	// The same checks as chain checks, the ancestor chains from a tree
	// index loaded after the last event: every answer is the reference's.
	chained, confirmed, err := chainChecks(ctx, r, checks)
	if err != nil {
		return nil, st, err
	}
	for i, p := range checks {
		want := r.ref.Can(p.user, p.action, p.item, p.link)
		if want {
			st.yes++
		}
		if as[i].Allowed != want {
			ms = append(ms, mismatch{p: p, want: fmt.Sprint(want), got: fmt.Sprint(as[i].Allowed)})
		}
		if chained[i].Allowed != want {
			ms = append(ms, mismatch{p: p, want: fmt.Sprint(want), got: fmt.Sprint(chained[i].Allowed) + " (chain check)"})
		}
	}
	st.checks = len(checks)
	st.chained = int(confirmed)
	// Checks first: a wrong check explains a wrong lookup, not the reverse.
	slices.SortStableFunc(ms, func(a, b mismatch) int {
		return boolInt(a.p.kind != "check") - boolInt(b.p.kind != "check")
	})
	return ms, st, nil
}

// chainChecks asks checks through a checker with a tree index of the
// replay's SpiceDB, and reports how many went as confirmed chain checks.
func chainChecks(ctx context.Context, r *run, checks []probe) ([]checker.Answer, uint64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	idx := tree.New(r.client)
	go func() { _ = idx.Run(ctx) }()
	for !idx.Ready() {
		select {
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	ch, err := checker.New(r.client, checker.WithTree(idx))
	if err != nil {
		return nil, 0, err
	}
	as, err := ch.CheckBulk(ctx, checkQuestions(checks), checker.Consistency{})
	if err != nil {
		return nil, 0, fmt.Errorf("chain checks: %w", err)
	}
	confirmed, unconfirmed := ch.ChainCounts()
	if unconfirmed != 0 {
		return nil, 0, fmt.Errorf("chain checks: %d of %d found their chain moved, with no write under way", unconfirmed, confirmed+unconfirmed)
	}
	return as, confirmed, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func itemRef(k string) schema.ItemRef {
	typ, id, _ := strings.Cut(k, ":")
	return schema.ItemRef{Type: typ, ID: id}
}

func checkQuestions(ps []probe) []checker.Question {
	qs := make([]checker.Question, len(ps))
	for i, p := range ps {
		qs[i] = checker.Question{User: p.user, Action: schema.Action(p.action), Item: itemRef(p.item)}
		if p.link != "" {
			l := itemRef(p.link)
			qs[i].SharedLink = &l
		}
	}
	return qs
}

// ask puts one probe to both sides; it returns the mismatch, if any, and
// for an item lookup the pages it took.
func ask(ctx context.Context, ch *checker.Checker, r *run, p probe) (*mismatch, int, error) {
	switch p.kind {
	case "check":
		as, err := ch.CheckBulk(ctx, checkQuestions([]probe{p}), checker.Consistency{})
		if err != nil {
			return nil, 0, err
		}
		if want := r.ref.Can(p.user, p.action, p.item, p.link); as[0].Allowed != want {
			return &mismatch{p: p, want: fmt.Sprint(want), got: fmt.Sprint(as[0].Allowed)}, 0, nil
		}
		return nil, 0, nil
	case "items":
		got, pages, err := lookupItems(ctx, ch, p)
		if err != nil {
			return nil, pages, err
		}
		if want := r.ref.LookupItems(p.user, p.action, p.typ); !slices.Equal(got, want) {
			return &mismatch{p: p, want: goList(want), got: goList(got)}, pages, nil
		}
		return nil, pages, nil
	case "users":
		got, pages, err := lookupUsers(ctx, ch, p)
		if err != nil {
			return nil, pages, err
		}
		if want := r.ref.LookupUsers(p.item, p.action); !slices.Equal(got, want) {
			return &mismatch{p: p, want: goList(want), got: goList(got)}, pages, nil
		}
		return nil, pages, nil
	}
	return nil, 0, fmt.Errorf("probe kind %q cannot be asked after a replay", p.kind)
}

// lookupItems reads every page. A page that repeats an id or comes out of
// order is a mismatch of its own, so it is reported as the list it gave.
func lookupItems(ctx context.Context, ch *checker.Checker, p probe) ([]string, int, error) {
	got := []string{}
	cursor := ""
	for pages := 1; ; pages++ {
		page, err := ch.LookupItems(ctx, p.user, schema.Action(p.action), p.typ, p.limit, cursor, checker.Consistency{})
		if err != nil {
			return nil, pages, fmt.Errorf("%s, page %d: %w", p, pages, err)
		}
		got = append(got, page.Items...)
		if cursor = page.Cursor; cursor == "" {
			return got, pages, nil
		}
		if pages > 10000 {
			return nil, pages, fmt.Errorf("%s: still a cursor after %d pages", p, pages)
		}
	}
}

// lookupUsers pages through a user lookup, two at a time, so that every
// longer answer goes through signed cursors.
func lookupUsers(ctx context.Context, ch *checker.Checker, p probe) ([]string, int, error) {
	got := []string{}
	cursor := ""
	for pages := 1; ; pages++ {
		page, err := ch.LookupUsers(ctx, itemRef(p.item), schema.Action(p.action), 2, cursor, checker.Consistency{})
		if err != nil {
			return nil, pages, fmt.Errorf("%s, page %d: %w", p, pages, err)
		}
		got = append(got, page.Users...)
		if cursor = page.Cursor; cursor == "" {
			return got, pages, nil
		}
		if pages > 10000 {
			return nil, pages, fmt.Errorf("%s: still a cursor after %d pages", p, pages)
		}
	}
}

// --- shrinking ---

// entry is one event of the original stream; shrinking keeps the index so
// that a mismatch on event i stays about that event.
type entry struct {
	index int
	line  []byte
}

// reproduces replays es on a fresh in-memory SpiceDB and tells whether m
// still happens: the same event judged the same two ways, or, with no event
// judged differently on the way, the same check answered the same two ways,
// or the same lookup answered differently. It also returns the replay and
// the mismatch as it now stands (a lookup's lists change as events go).
func reproduces(ctx context.Context, es []entry, m mismatch) (bool, *run, mismatch, error) {
	c, stop, err := freshSpiceDB(ctx)
	if err != nil {
		return false, nil, m, err
	}
	defer stop()
	lines := make([][]byte, len(es))
	for i, e := range es {
		lines[i] = e.line
	}
	r, err := replay(ctx, c, lines)
	if err != nil {
		return false, nil, m, err
	}
	if m.p.kind == "event" {
		d := r.diverged
		if d == nil || es[d.p.event].index != m.p.event || firstWord(d.got) != firstWord(m.got) {
			return false, r, m, nil
		}
		return true, r, *d, nil
	}
	if r.diverged != nil {
		return false, r, m, nil
	}
	ch, err := checker.New(c)
	if err != nil {
		return false, nil, m, err
	}
	now, _, err := ask(ctx, ch, r, m.p)
	if err != nil || now == nil {
		return false, r, m, err
	}
	return m.p.kind != "check" || now.got == m.got, r, *now, nil
}

// firstWord is what sync did with an event: "applied", "refused" or
// "skipped", the reason aside.
func firstWord(s string) string {
	w, _, _ := strings.Cut(s, " ")
	return strings.TrimSuffix(w, ":")
}

func freshSpiceDB(ctx context.Context) (*spicedb.Client, func(), error) {
	sctx, cancel := context.WithCancel(ctx)
	c, err := embedded.Start(sctx)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("starting a scratch spicedb: %w", err)
	}
	stop := func() {
		_ = c.Close()
		cancel()
	}
	if _, err := upgrade.Ensure(ctx, c); err != nil {
		stop()
		return nil, nil, fmt.Errorf("writing the schema to a scratch spicedb: %w", err)
	}
	return c, stop, nil
}

// shrinkAndPrint shrinks the stream to the fewest events that still show m
// and prints a test to paste, and writes it to a file as well.
func shrinkAndPrint(t *testing.T, seed uint64, lines [][]byte, m mismatch) {
	ctx := t.Context()
	es := make([]entry, len(lines))
	for i, l := range lines {
		es[i] = entry{index: i, line: l}
	}
	if m.p.kind == "event" {
		es = es[:m.p.event+1] // nothing after the event can matter
	}
	began := time.Now()
	if ok, _, _, err := reproduces(ctx, es, m); err != nil || !ok {
		t.Fatalf("%s does not happen again on a fresh spicedb (%v): not shrinking", m, err)
	}
	tries := 0
	small, err := reference.Shrink(ctx, es, func(ctx context.Context, es []entry) (bool, error) {
		tries++
		ok, _, _, err := reproduces(ctx, es, m)
		return ok, err
	})
	if err != nil {
		t.Errorf("shrinking stopped early (%v); printing the best so far", err)
	}
	// Once more for the batches and the answers of the small stream, which
	// go in the test.
	ok, r, final, err := reproduces(ctx, small, m)
	if err != nil || !ok {
		t.Fatalf("the shrunk stream no longer shows %s (%v)", m, err)
	}
	src := reproTest(seed, len(lines), small, r, final)
	path := filepath.Join(os.TempDir(), fmt.Sprintf("boxauthz-differential-seed%d_test.go.txt", seed))
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Errorf("writing %s: %v", path, err)
	}
	t.Errorf("shrunk %d events to %d in %d replays (%s); the test below is also in %s", len(lines), len(small), tries, time.Since(began).Round(time.Second), path)
	fmt.Printf("\n---- 8< ---- shrunk test (seed %d) ----\n%s---- >8 ----\n\n", seed, src)
}

// reproTest writes a Go test that replays the shrunk events through sync
// exactly as the replay did (same batches) and asks the one question, with
// the reference's answer as the expectation. It needs only the module's
// own packages, so it can go next to the code at fault.
func reproTest(seed uint64, total int, small []entry, r *run, m mismatch) string {
	var b strings.Builder
	name := fmt.Sprintf("TestShrunkSeed%d%s", seed, strings.ToUpper(m.p.kind[:1])+m.p.kind[1:])
	imports := "context, testing, github.com/boxauthz/boxauthz/{checker,internal/testenv,sync}"
	if m.p.kind == "items" || m.p.kind == "users" {
		imports = "context, slices, testing, github.com/boxauthz/boxauthz/{checker,internal/testenv,sync}"
	}
	if m.p.kind == "event" {
		imports = "context, testing, github.com/boxauthz/boxauthz/{internal/testenv,sync}"
	}
	fmt.Fprintf(&b, "// %s was shrunk by TestDifferential from seed %d (%d events) to %d.\n", name, seed, total, len(small))
	fmt.Fprintf(&b, "// %s.\n// Imports: %s.\n", m, imports)
	fmt.Fprintf(&b, "func %s(t *testing.T) {\n\tctx := context.Background()\n\tc := testenv.SpiceDB(t, testenv.Memory)\n\ta := sync.NewApplier(c)\n", name)
	b.WriteString("\tfor _, b := range []struct {\n\t\trefused bool // docs/events.md refuses the batch for its last event\n\t\tdups    int  // redeliveries to skip\n\t\tjsonl   string\n\t}{\n")
	for _, bt := range r.batches {
		var ls []string
		for _, i := range bt.events {
			ls = append(ls, string(small[i].line))
		}
		fmt.Fprintf(&b, "\t\t{%v, %d, %s},\n", bt.refused, bt.dups, goString(strings.Join(ls, "\n")))
	}
	b.WriteString("\t} {\n\t\tevs, err := sync.DecodeEvents([]byte(b.jsonl), true)\n\t\tvar res sync.Result\n\t\tif err == nil {\n\t\t\tres, err = a.Apply(ctx, evs)\n\t\t}\n")
	b.WriteString("\t\tif (err != nil) != b.refused || res.Duplicates != b.dups {\n\t\t\tt.Fatalf(\"applying %s\\nerror: %v, %d skipped as redeliveries; want refused=%v, %d skipped\", b.jsonl, err, res.Duplicates, b.refused, b.dups)\n\t\t}\n\t}\n")
	if m.p.kind == "event" {
		b.WriteString("}\n")
		return b.String()
	}
	b.WriteString("\tch, err := checker.New(c)\n\tif err != nil {\n\t\tt.Fatal(err)\n\t}\n")
	typ, id, _ := strings.Cut(m.p.item, ":")
	switch m.p.kind {
	case "check":
		link := ""
		if m.p.link != "" {
			lt, lid, _ := strings.Cut(m.p.link, ":")
			link = fmt.Sprintf(", SharedLink: &schema.ItemRef{Type: %q, ID: %q}", lt, lid)
		}
		fmt.Fprintf(&b, "\tgot, err := ch.Check(ctx, checker.Question{User: %q, Action: %q, Item: schema.ItemRef{Type: %q, ID: %q}%s}, checker.Consistency{})\n", m.p.user, m.p.action, typ, id, link)
		fmt.Fprintf(&b, "\tif err != nil {\n\t\tt.Fatal(err)\n\t}\n\tif want := %s; got.Allowed != want {\n", m.want)
		fmt.Fprintf(&b, "\t\tt.Errorf(%q, got.Allowed, want)\n\t}\n", m.p.String()+": spicedb says %v, docs/model.md %v")
	case "items":
		fmt.Fprintf(&b, "\tgot := []string{}\n\tfor cursor := \"\"; ; {\n\t\tpage, err := ch.LookupItems(ctx, %q, %q, %q, %d, cursor, checker.Consistency{})\n", m.p.user, m.p.action, m.p.typ, m.p.limit)
		b.WriteString("\t\tif err != nil {\n\t\t\tt.Fatal(err)\n\t\t}\n\t\tgot = append(got, page.Items...)\n\t\tif cursor = page.Cursor; cursor == \"\" {\n\t\t\tbreak\n\t\t}\n\t}\n")
		fmt.Fprintf(&b, "\tif want := []string{%s}; !slices.Equal(got, want) {\n", strings.Trim(m.want, "[]"))
		fmt.Fprintf(&b, "\t\tt.Errorf(%q, got, want)\n\t}\n", m.p.String()+": spicedb says %q, docs/model.md %q")
	case "users":
		fmt.Fprintf(&b, "\tgot, err := ch.LookupUsers(ctx, schema.ItemRef{Type: %q, ID: %q}, %q, checker.Consistency{})\n", typ, id, m.p.action)
		fmt.Fprintf(&b, "\tif err != nil {\n\t\tt.Fatal(err)\n\t}\n\tif want := []string{%s}; !slices.Equal(got, want) {\n", strings.Trim(m.want, "[]"))
		fmt.Fprintf(&b, "\t\tt.Errorf(%q, got, want)\n\t}\n", m.p.String()+": spicedb says %q, docs/model.md %q")
	}
	b.WriteString("}\n")
	return b.String()
}

// goList writes ids as the inside of a Go []string literal, in brackets.
func goList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// goString quotes s as a raw string when it can, for events that read as
// they were sent.
func goString(s string) string {
	if strings.Contains(s, "`") || !strconv.CanBackquote(strings.ReplaceAll(s, "\n", "")) {
		return strconv.Quote(s)
	}
	return "`" + s + "`"
}
