package shapebench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/authzed/spicedb/pkg/schemadsl/compiler"
	"github.com/authzed/spicedb/pkg/schemadsl/input"

	"github.com/boxauthz/boxauthz/internal/bench/synth"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/schema"
)

func TestShapeSchemasCompile(t *testing.T) {
	for _, s := range Shapes() {
		text, err := s.SchemaText()
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if _, err := compiler.Compile(compiler.InputSchema{Source: input.Source(s), SchemaString: text}, compiler.AllowUnprefixedObjectType()); err != nil {
			t.Fatalf("%s schema does not compile: %v", s, err)
		}
	}
}

func TestAncestorsSchemaHasNoParentWalk(t *testing.T) {
	text, err := Ancestors.SchemaText()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(text, "\n") {
		m := waterfallRe.FindStringSubmatch(line)
		if m != nil && m[2] == m[4] {
			t.Errorf("ancestors schema still walks the parent chain: %s", strings.TrimSpace(line))
		}
	}
	for _, want := range []string{"relation ancestor: folder", "permission g_preview = g_preview_direct + ancestor->g_preview_direct", "permission trashed_any = trashed_any_direct + ancestor->trashed_any_direct"} {
		if !strings.Contains(text, want) {
			t.Errorf("ancestors schema lacks %q", want)
		}
	}
	if strings.Contains(schema.Text(), "relation ancestor") {
		t.Errorf("the real schema already has ancestor relations: the derivation needs a look")
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, b := synth.Generate(synth.Tiny()), synth.Generate(synth.Tiny())
	if a.Stats().Relationships != b.Stats().Relationships || len(a.Items) != len(b.Items) || len(a.Collabs) != len(b.Collabs) {
		t.Fatal("two data sets of one config differ")
	}
	for i := range a.Items {
		if a.Items[i].ID != b.Items[i].ID || a.Items[i].Owner != b.Items[i].Owner || a.Items[i].Parent != b.Items[i].Parent {
			t.Fatalf("item %d differs", i)
		}
	}
	if st := a.Stats(); st.MaxDepth != 30 || st.ItemsByBucket[synth.BucketDeep] == 0 {
		t.Fatalf("tiny data set reaches depth %d with %d deep items; want 30 and some", st.MaxDepth, st.ItemsByBucket[synth.BucketDeep])
	}
}

// equivalenceSize picks the data set of the equivalence tests: tiny (about
// 2.6k relationships, 1100 items, trees 30 deep) unless SHAPEBENCH_SIZE says.
func equivalenceSize(t *testing.T) (synth.Config, string) {
	size := "tiny"
	if s := os.Getenv("SHAPEBENCH_SIZE"); s != "" {
		size = s
	}
	cfg, err := synth.SizeConfig(size)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, size
}

// TestShapesEquivalent loads one data set into boxauthz's embedded SpiceDB
// (internal/spicedb.StartEmbedded, in memory) once per shape and checks that the
// separated (real) and ancestors shapes answer exactly like the naive one,
// and all three like a Go reading of docs/model.md (synth.Dataset.Expect), on thousands
// of questions: every item 25 or more deep asked every action by every panel
// member, plus shallower items and random questions.
func TestShapesEquivalent(t *testing.T) {
	cfg, size := equivalenceSize(t)
	d := synth.Generate(cfg)
	st := d.Stats()
	t.Logf("data set %s: %d relationships (+%d ancestor relationships), %d folders, %d files, %d collaborations (%d group), depth up to %d",
		size, st.Relationships, st.AncestorRels, st.Folders, st.Files, st.Collabs, st.GroupCollabs, st.MaxDepth)
	es := NewEquivalenceSet(d, EquivalenceOptions{Panel: 3, Shallow: 100, Granted: 100, Random: 30})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	answers := map[Shape]Answers{}
	for _, s := range Shapes() {
		start := time.Now()
		c, err := StartMemory(ctx, Options{Cache: true})
		if err != nil {
			t.Fatal(err)
		}
		lr, err := Load(ctx, c, s, d)
		if err != nil {
			c.Close()
			t.Fatalf("%s: %v", s, err)
		}
		loaded := time.Since(start)
		var a Answers
		if s == Chain {
			a, err = chainAnswers(ctx, c, d, es)
		} else {
			a, err = AnswerSet(ctx, c, s, d, es)
			c.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
		answers[s] = a
		t.Logf("%s: loaded %d relationships in %v, answered in %v", s, lr.Relationships, loaded.Round(time.Millisecond), (time.Since(start) - loaded).Round(time.Millisecond))
	}
	res, err := CompareShapes(d, es, answers)
	if err != nil {
		t.Fatal(err)
	}
	checkEquivalence(t, res)
}

// chainAnswers answers es by chain checks on c, and closes c. Every one of
// them must go as a confirmed chain check: the index loaded after the data.
func chainAnswers(ctx context.Context, c Conn, d *synth.Dataset, es EquivalenceSet) (Answers, error) {
	ss := &shapeServers{conns: map[bool]Conn{true: c}, close: c.Close}
	defer func() { _ = ss.close() }()
	if err := ss.startChain(ctx); err != nil {
		return Answers{}, err
	}
	a, err := ChainAnswerSet(ctx, ss.checkers[true], d, es)
	if err != nil {
		return a, err
	}
	confirmed, unconfirmed := ss.checkers[true].ChainCounts()
	if want := uint64(len(es.Common) + len(es.Rest)); confirmed != want || unconfirmed != 0 {
		return a, fmt.Errorf("chain checks: %d confirmed, %d unconfirmed of %d questions", confirmed, unconfirmed, want)
	}
	return a, nil
}

func checkEquivalence(t *testing.T, res EquivalenceResult) {
	t.Helper()
	t.Log(res.Summary())
	for k, ms := range res.Mismatches {
		for _, m := range ms {
			if m != "" {
				t.Errorf("%s differs: %s", k, m)
			}
		}
	}
	if res.Conditional > 0 {
		t.Errorf("%d answers were conditional: a caveat lacked context", res.Conditional)
	}
	if res.Granted == 0 || res.Granted == res.Questions {
		t.Errorf("the reference grants %d of %d questions: the question set proves nothing", res.Granted, res.Questions)
	}
	for _, act := range AllActions() {
		if res.ByAction[act] == 0 {
			t.Errorf("no question about %s is granted: the question set does not exercise it", act)
		}
	}
	for _, k := range []string{"separated = naive", "ancestors = naive", "ancestors = separated"} {
		if res.Compared[k] == 0 {
			t.Errorf("nothing compared for %s", k)
		}
	}
}

// TestShapesEquivalentPostgres is TestShapesEquivalent on SpiceDB's
// PostgreSQL datastore, in fresh databases (dropped at the end) on the server
// of BOXAUTHZ_PG_DSN (`BOXAUTHZ_PG_DSN=$(scripts/pg-local start)`). It skips
// without one, unless BOXAUTHZ_REQUIRE_PG=1 (scripts/test sets it).
func TestShapesEquivalentPostgres(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	_, size := equivalenceSize(t)
	var b [4]byte
	_, _ = rand.Read(b[:])
	prefix := "t_shapes_" + hex.EncodeToString(b[:]) + "_"
	cfg := DefaultRunConfig()
	cfg.MemSize, cfg.PGDSN, cfg.PGSize, cfg.PGDatabasePrefix = "", dsn, size, prefix
	cfg.Caches, cfg.Buckets, cfg.Concurrency = []bool{true}, nil, nil
	cfg.PGEquivalence = EquivalenceOptions{Panel: 2, Deep: 100, Shallow: 60, Granted: 60, Random: 20}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		for _, s := range Shapes() {
			_ = psqlExec(context.Background(), dsn, "DROP DATABASE IF EXISTS "+prefix+string(s)+" WITH (FORCE)")
		}
	})
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range rep.Loads {
		t.Logf("postgres %s: loaded %d relationships in %v", l.Shape, l.Relationships, l.Duration.Round(time.Millisecond))
	}
	checkEquivalence(t, rep.Equivalence["postgres"])
}
