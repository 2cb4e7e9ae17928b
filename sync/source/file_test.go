package source_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/testkit/fixture"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/source"
)

func writeLines(t *testing.T, path string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if _, err := f.WriteString(l + "\n"); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
}

func readDeadLetters(t *testing.T, path string) []source.DeadLetter {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []source.DeadLetter
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var d source.DeadLetter
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("dead-letter line %q: %v", sc.Text(), err)
		}
		out = append(out, d)
	}
	return out
}

func TestFileSourceDeadLettersAndResumes(t *testing.T) {
	c := testenv.SpiceDB(t, testenv.Memory)
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "events.jsonl")
	writeLines(t, path, append(append([]string{}, fixture.BaseTree()...),
		`{"id":"oops", "type":`,
		`{"id":"orphan","type":"file.created","file":{"id":"o","parent":"missing","owner":"alice"}}`,
		"",
		fixture.CollabB,
		`{"id":"late-bad","type":"collaboration.created","collaboration":{"id":"k5","item":{"type":"file","id":"nope"},"accessible_by":{"type":"user","id":"bob"},"role":"viewer"}}`)...)
	src := fileSource(t, path, source.WithBatchSize(3))
	st, err := src.Run(ctx, sync.NewApplier(c))
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if st.Applied != len(fixture.BaseTree())+1 || st.DeadLetters != 3 || st.Position != fi.Size() {
		t.Fatalf("stats %+v; want %d applied, 3 dead letters, position %d", st, len(fixture.BaseTree())+1, fi.Size())
	}
	dl := readDeadLetters(t, path+".dead")
	if len(dl) != 3 || dl[0].Raw == "" || dl[1].EventID != "orphan" || !strings.Contains(dl[1].Error, "file.parent") || dl[2].EventID != "late-bad" || len(dl[2].Line) == 0 {
		t.Fatalf("dead letters = %+v", dl)
	}
	// Again: everything was committed, nothing happens twice.
	st, err = fileSource(t, path).Run(ctx, sync.NewApplier(c))
	if err != nil || st.Applied != 0 || st.DeadLetters != 0 {
		t.Fatalf("second run: %+v %v; want nothing to do", st, err)
	}
	if n := len(readDeadLetters(t, path+".dead")); n != 3 {
		t.Fatalf("second run added dead letters: %d", n)
	}
	// More events appended are picked up from the committed position.
	writeLines(t, path, `{"id":"more","type":"folder.trashed","folder":{"id":"b"}}`)
	st, err = fileSource(t, path).Run(ctx, sync.NewApplier(c))
	if err != nil || st.Applied != 1 {
		t.Fatalf("third run: %+v %v; want the one new event", st, err)
	}
	if !strings.Contains(strings.Join(fixture.Export(t, c), "\n"), "folder:b#trashed@user:*") {
		t.Fatal("appended event not applied")
	}
}

func TestFileSourceFollows(t *testing.T) {
	c := testenv.SpiceDB(t, testenv.Memory)
	dir := t.TempDir()
	path := filepath.Join(dir, "events.jsonl")
	writeLines(t, path, fixture.BaseTree()[:3]...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg := prometheus.NewRegistry()
	m, err := sync.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	a := sync.NewApplier(c, sync.WithMetrics(m))
	done := make(chan source.FileStats, 1)
	go func() {
		st, err := fileSource(t, path, source.WithFollow(true), source.WithPollInterval(10*time.Millisecond)).Run(ctx, a)
		if err != nil {
			t.Error(err)
		}
		done <- st
	}()
	// Half a line first: it must wait for the rest.
	line := fixture.BaseTree()[3]
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(line[:10]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := f.WriteString(line[10:] + "\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	writeLines(t, path, fixture.BaseTree()[4:]...)
	// The committed position shows before Run has counted the batch that
	// carried it; the lag gauge is set once the batch is counted.
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		pos, err := a.Position(context.Background(), "file:"+path)
		off, _ := source.FileOffset(pos)
		if err == nil && off == fi.Size() && lagBytes(t, reg) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("follow did not reach the end: position %s of %d, lag %v bytes", pos, fi.Size(), lagBytes(t, reg))
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	st := <-done
	if st.Applied != len(fixture.BaseTree()) || st.DeadLetters != 0 {
		t.Fatalf("stats %+v, want %d applied and no dead letters (a half-written line is not bad)", st, len(fixture.BaseTree()))
	}
}

// lagBytes is the file source's lag gauge, or -1 before it is set.
func lagBytes(t *testing.T, g prometheus.Gatherer) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "boxauthz_sync_source_lag_bytes" && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}

func TestStdinSourceSkipsCommitted(t *testing.T) {
	c := testenv.SpiceDB(t, testenv.Memory)
	ctx := context.Background()
	a := sync.NewApplier(c)
	dir := t.TempDir()
	input := strings.Join(fixture.BaseTree(), "\n") + "\n"
	st, err := fileSource(t, "-", source.WithStdin(strings.NewReader(input)), source.WithDeadLetter(filepath.Join(dir, "d"))).Run(ctx, a)
	if err != nil || st.Applied != len(fixture.BaseTree()) {
		t.Fatalf("first: %+v %v", st, err)
	}
	input += fixture.CollabB + "\n"
	st, err = fileSource(t, "-", source.WithStdin(strings.NewReader(input)), source.WithDeadLetter(filepath.Join(dir, "d"))).Run(ctx, a)
	if err != nil || st.Applied != 1 || st.Duplicates != 0 {
		t.Fatalf("second: %+v %v; want only the new event", st, err)
	}
}

// userEvents are n user.created events whose ids start with prefix; their
// lengths vary, so an offset into one list falls mid-line in another.
func userEvents(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(`{"id":"%s-%d","type":"user.created","user":{"id":"%s%s-%d","enterprise":"acme"}}`, prefix, i, prefix, strings.Repeat("u", i%7), i)
	}
	return out
}

// hasUsers fails unless SpiceDB holds a user created by each event.
func hasUsers(t *testing.T, c *spicedb.Client, events []string) {
	t.Helper()
	all := strings.Join(fixture.Export(t, c), "\n")
	for _, e := range events {
		var ev struct {
			User struct{ ID string } `json:"user"`
		}
		if err := json.Unmarshal([]byte(e), &ev); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(all, "@user:"+ev.User.ID+"\n") && !strings.HasSuffix(all, "@user:"+ev.User.ID) {
			t.Fatalf("user %s (event %s) not applied", ev.User.ID, e)
		}
	}
}

// replaceFile puts content at path under a new inode, as an exporter that
// writes a temporary file and renames it over the old one does.
func replaceFile(t *testing.T, path string, lines ...string) {
	t.Helper()
	tmp := path + ".tmp"
	writeLines(t, tmp, lines...)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func gauge(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			m := mf.GetMetric()[0]
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	return -1
}

// A file that is not the one the committed position names is never read
// from that position: the run stops, naming the path, the position and what
// changed, and with RestartReplaced reads the new file from its start, so
// no event of it is skipped.
func TestFileSourceRefusesAnotherFile(t *testing.T) {
	old := append([]string{fixture.EntAcme}, userEvents("old", 30)...)
	tests := []struct {
		name   string
		change func(t *testing.T, path string) []string // returns the new content
		reason string
		follow bool
	}{
		{"replaced by a larger file", func(t *testing.T, path string) []string {
			lines := append([]string{fixture.EntAcme}, userEvents("new", 60)...)
			replaceFile(t, path, lines...)
			return lines
		}, "another file", false},
		{"rewritten in place, larger", func(t *testing.T, path string) []string {
			lines := append([]string{fixture.EntAcme}, userEvents("new", 60)...)
			if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return lines
		}, "rewritten", false},
		{"truncated", func(t *testing.T, path string) []string {
			lines := userEvents("new", 3)
			if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return lines
		}, "truncated", false},
		{"truncated, following", func(t *testing.T, path string) []string {
			lines := userEvents("new", 3)
			if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return lines
		}, "truncated", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testenv.SpiceDB(t, testenv.Memory)
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "events.jsonl")
			writeLines(t, path, old...)
			if st, err := fileSource(t, path).Run(ctx, sync.NewApplier(c)); err != nil || st.Applied != len(old) {
				t.Fatalf("first run: %+v %v", st, err)
			}
			committed, err := sync.NewApplier(c).Position(ctx, "file:"+path)
			if err != nil {
				t.Fatal(err)
			}
			lines := tt.change(t, path)
			before := fixture.Export(t, c)

			reg := prometheus.NewRegistry()
			m, err := sync.NewMetrics(reg)
			if err != nil {
				t.Fatal(err)
			}
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			st, err := fileSource(t, path, source.WithFollow(tt.follow), source.WithPollInterval(10*time.Millisecond)).Run(rctx, sync.NewApplier(c, sync.WithMetrics(m)))
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.reason) || !strings.Contains(err.Error(), "--restart-replaced") {
				t.Fatalf("run over a changed file: %+v, error %v; want an error naming %s, %q and how to restart", st, err, path, tt.reason)
			}
			if st.Applied != 0 || st.DeadLetters != 0 {
				t.Fatalf("refusing run did something: %+v", st)
			}
			if got := fixture.Export(t, c); strings.Join(got, "\n") != strings.Join(before, "\n") {
				t.Fatal("refusing run changed SpiceDB")
			}
			if pos, _ := sync.NewApplier(c).Position(ctx, "file:"+path); pos != committed {
				t.Fatalf("refusing run moved the position from %s to %s", committed, pos)
			}
			if n := len(readDeadLetters(t, path+".dead")); n != 0 {
				t.Fatalf("%d dead letters from a refused file", n)
			}
			fi, _ := os.Stat(path)
			if lag := lagBytes(t, reg); lag != float64(fi.Size()) {
				t.Fatalf("lag %v bytes, want the new file's %d", lag, fi.Size())
			}
			if s := gauge(t, reg, "boxauthz_sync_file_stopped"); s != 1 {
				t.Fatalf("stopped gauge %v, want 1", s)
			}

			st, err = fileSource(t, path, source.WithRestartReplaced(true)).Run(ctx, sync.NewApplier(c))
			if err != nil || st.Applied+st.Duplicates != len(lines) || st.DeadLetters != 0 || st.Position != fi.Size() {
				t.Fatalf("restarted run: %+v %v; want all %d events applied or duplicates, none set aside", st, err, len(lines))
			}
			hasUsers(t, c, lines[1:])
			// The position now names the new file: a plain run goes on.
			if st, err := fileSource(t, path).Run(ctx, sync.NewApplier(c)); err != nil || st.Applied != 0 {
				t.Fatalf("run after the restart: %+v %v", st, err)
			}
		})
	}
}

// A file rotated by renaming while no sync ran is found by its inode next
// to the path, finished, and only then the new file is read from its start.
func TestFileSourceFinishesRotatedFile(t *testing.T) {
	c := testenv.SpiceDB(t, testenv.Memory)
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "events.jsonl")
	first := append([]string{fixture.EntAcme}, userEvents("a", 20)...)
	writeLines(t, path, first...)
	if st, err := fileSource(t, path).Run(ctx, sync.NewApplier(c)); err != nil || st.Applied != len(first) {
		t.Fatalf("first run: %+v %v", st, err)
	}
	// More events, the last creating the folder the new file's first event
	// needs: applied out of order, that one would be set aside.
	late := append(userEvents("b", 5), fixture.RootA)
	writeLines(t, path, late...)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	next := append([]string{fixture.SubB}, userEvents("c", 10)...)
	writeLines(t, path, next...)
	old := time.Now().Add(-time.Minute)
	if err := os.Chtimes(path+".1", old, old); err != nil {
		t.Fatal(err)
	}

	st, err := fileSource(t, path).Run(ctx, sync.NewApplier(c))
	if err != nil || st.Applied != len(late)+len(next) || st.Duplicates != 0 || st.DeadLetters != 0 {
		t.Fatalf("run after the rotation: %+v %v; want the %d late events of the old file and the %d of the new one", st, err, len(late), len(next))
	}
	hasUsers(t, c, append(late[:5:5], next[1:]...))
	if !strings.Contains(strings.Join(fixture.Export(t, c), "\n"), "folder:b#parent@folder:a") {
		t.Fatal("the new file's folder was not applied after the old file's")
	}
	fi, _ := os.Stat(path)
	if st.Position != fi.Size() {
		t.Fatalf("position %d, want the end of the new file, %d", st.Position, fi.Size())
	}
}

// Following, a rename rotation is drained to its end, including what its
// writer appends before reopening the path, before the new file is read
// from its start; a copytruncate rotation finishes the old content from the
// copy; a plain truncation sets aside the line it cut. Every event exactly
// once, in order, and the switch logged and counted.
func TestFileSourceFollowsRotation(t *testing.T) {
	straggler := userEvents("s", 2)
	tests := []struct {
		name string
		// rotate moves the file away or cuts it; after runs once the new
		// file is at path.
		rotate, after func(t *testing.T, path string)
		stragglers    []string // written to the old file after the rotation
		settle        bool     // the late events are applied before rotate
		halfLine      bool     // half a line is read before rotate
		dead          int
		log, reason   string
	}{
		{name: "rename", rotate: func(t *testing.T, path string) {
			if err := os.Rename(path, path+".1"); err != nil {
				t.Fatal(err)
			}
			// The writer has not reopened the path yet.
			writeLines(t, path+".1", straggler[0])
		}, after: func(t *testing.T, path string) {
			// Well after the source has seen the new file, well inside
			// RotateWait.
			time.Sleep(100 * time.Millisecond)
			writeLines(t, path+".1", straggler[1])
		}, stragglers: straggler, log: "rotated", reason: "rotated"},
		{name: "copytruncate", rotate: func(t *testing.T, path string) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path+".1", b, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
		}, log: "truncated", reason: "truncated"},
		{name: "truncate without a copy", rotate: func(t *testing.T, path string) {
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
		}, settle: true, halfLine: true, dead: 1, log: "lost", reason: "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testenv.SpiceDB(t, testenv.Memory)
			dir := t.TempDir()
			path := filepath.Join(dir, "events.jsonl")
			first := append([]string{fixture.EntAcme}, userEvents("a", 10)...)
			writeLines(t, path, first...)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			reg := prometheus.NewRegistry()
			m, err := sync.NewMetrics(reg)
			if err != nil {
				t.Fatal(err)
			}
			a := sync.NewApplier(c, sync.WithMetrics(m))
			logs := &testenv.LockedBuffer{}
			done := make(chan source.FileStats, 1)
			src := fileSource(t, path, source.WithFollow(true), source.WithPollInterval(10*time.Millisecond), source.WithRotateWait(time.Second),
				source.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
			go func() {
				st, err := src.Run(ctx, a)
				if err != nil {
					t.Error(err)
				}
				done <- st
			}()
			waitPosition(t, a, path, size(t, path))
			// Late events, perhaps not read before the rotation; the
			// last creates the folder the new file's first event needs.
			late := append(userEvents("b", 5), fixture.RootA)
			writeLines(t, path, late...)
			if tt.settle {
				waitPosition(t, a, path, size(t, path))
			}
			if tt.halfLine {
				f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.WriteString(fixture.CollabB[:20]); err != nil {
					t.Fatal(err)
				}
				if err := f.Close(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(100 * time.Millisecond)
			}
			tt.rotate(t, path)
			next := append([]string{fixture.SubB}, userEvents("c", 10)...)
			writeLines(t, path, next...)
			if tt.after != nil {
				tt.after(t, path)
			}
			waitPosition(t, a, path, size(t, path))
			if !strings.Contains(strings.Join(fixture.Export(t, c), "\n"), "folder:b#parent@folder:a") {
				t.Fatal("the new file's folder was not applied")
			}
			cancel()
			st := <-done
			total := len(first) + len(late) + len(tt.stragglers) + len(next)
			if st.Applied != total || st.Duplicates != 0 || st.DeadLetters != tt.dead {
				t.Fatalf("stats %+v; want all %d events applied once, in order, and %d dead letters", st, total, tt.dead)
			}
			hasUsers(t, c, append(append(append(first[1:], late[:5]...), tt.stragglers...), next[1:]...))
			if dl := readDeadLetters(t, path+".dead"); len(dl) != tt.dead || (tt.dead > 0 && !strings.Contains(dl[0].Error, "truncation")) {
				t.Fatalf("dead letters %+v, want %d naming the truncation", dl, tt.dead)
			}
			if !strings.Contains(logs.String(), tt.log) {
				t.Fatalf("no log of the rotation (%q):\n%s", tt.log, logs.String())
			}
			if n := counter(t, reg, "boxauthz_sync_file_switches_total", tt.reason); n != 1 {
				t.Fatalf("%s switches counted %v, want 1", tt.reason, n)
			}
			// The position names the new file, so a restart needs the old
			// one no more.
			os.Remove(path + ".1")
			if st, err := fileSource(t, path).Run(context.Background(), sync.NewApplier(c)); err != nil || st.Applied != 0 {
				t.Fatalf("restart without the old file: %+v %v", st, err)
			}
		})
	}
}

func size(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// counter is the total of a counter's series whose labels include value.
func counter(t *testing.T, g prometheus.Gatherer, name, value string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == value {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

// waitPosition waits until the committed position of the file at path is
// offset in the file now at path.
func waitPosition(t *testing.T, a *sync.Applier, path string, offset int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pos, err := a.Position(context.Background(), "file:"+path)
		if err == nil && pos != "" {
			if off, err := source.FileOffset(pos); err == nil && off == offset {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("position %q (%v), want offset %d", pos, err, offset)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Without Follow, a line a writer has only half written is neither applied
// nor set aside: the next run applies it once it is complete.
func TestFileSourceLeavesPartialLine(t *testing.T) {
	c := testenv.SpiceDB(t, testenv.Memory)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.jsonl")
	writeLines(t, path, fixture.BaseTree()[:3]...)
	complete, _ := os.Stat(path)
	line := fixture.BaseTree()[3]
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line[:len(line)/2]); err != nil {
		t.Fatal(err)
	}
	st, err := fileSource(t, path).Run(ctx, sync.NewApplier(c))
	if err != nil || st.Applied != 3 || st.DeadLetters != 0 || st.Position != complete.Size() {
		t.Fatalf("run over half a line: %+v %v; want 3 applied, none set aside, position %d", st, err, complete.Size())
	}
	if _, err := f.WriteString(line[len(line)/2:] + "\n"); err != nil {
		t.Fatal(err)
	}
	st, err = fileSource(t, path).Run(ctx, sync.NewApplier(c))
	if err != nil || st.Applied != 1 || st.DeadLetters != 0 {
		t.Fatalf("run once the line is complete: %+v %v; want it applied", st, err)
	}
	if !strings.Contains(strings.Join(fixture.Export(t, c), "\n"), "folder:a#owner@user:alice") {
		t.Fatal("the completed line was not applied")
	}
}

// A position committed before positions named their file (an offset only)
// is trusted where it still ends a line of the file, and refused elsewhere.
func TestFileSourceLegacyPosition(t *testing.T) {
	lines := fixture.BaseTree()[:3]
	lineEnd := int64(len(lines[0]) + 1)
	tests := []struct {
		name    string
		offset  int64
		applied int
		refused bool
	}{
		{"at a line end", lineEnd, 2, false},
		{"mid-line", lineEnd + 5, 0, true},
		{"past the end", 1 << 20, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testenv.SpiceDB(t, testenv.Memory)
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "events.jsonl")
			writeLines(t, path, lines...)
			a := sync.NewApplier(c)
			if _, err := a.ApplyBatch(ctx, sync.Batch{Source: "file:" + path, End: strconv.FormatInt(tt.offset, 10)}); err != nil {
				t.Fatal(err)
			}
			st, err := fileSource(t, path).Run(ctx, a)
			if (err != nil) != tt.refused || st.Applied != tt.applied {
				t.Fatalf("%+v %v; want %d applied, refused %v", st, err, tt.applied, tt.refused)
			}
		})
	}
}

// Without Follow, a file rotated away whose writer may still be appending
// (written within RotateWait) is read but not left for the new file; once
// it has gone quiet, a last line its writer never finished is set aside.
func TestFileSourceWaitsForRotatedWriter(t *testing.T) {
	c := testenv.SpiceDB(t, testenv.Memory)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.jsonl")
	first := append([]string{fixture.EntAcme}, userEvents("a", 4)...)
	writeLines(t, path, first...)
	if st, err := fileSource(t, path).Run(ctx, sync.NewApplier(c)); err != nil || st.Applied != len(first) {
		t.Fatalf("first run: %+v %v", st, err)
	}
	late := userEvents("b", 2)
	writeLines(t, path, late...)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	next := userEvents("c", 3)
	writeLines(t, path, next...)
	f, err := os.OpenFile(path+".1", os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(fixture.CollabB[:20]); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	st, err := fileSource(t, path, source.WithRotateWait(time.Hour)).Run(ctx, sync.NewApplier(c))
	if err != nil || st.Applied != len(late) || st.DeadLetters != 0 {
		t.Fatalf("run while the old file is fresh: %+v %v; want its %d late events only", st, err, len(late))
	}
	st, err = fileSource(t, path, source.WithRotateWait(time.Nanosecond)).Run(ctx, sync.NewApplier(c))
	if err != nil || st.Applied != len(next) || st.DeadLetters != 1 {
		t.Fatalf("run once the old file is quiet: %+v %v; want the new file's %d events and the fragment set aside", st, err, len(next))
	}
	if dl := readDeadLetters(t, path+".dead"); len(dl) != 1 || dl[0].Raw != fixture.CollabB[:20] || !strings.Contains(dl[0].Error, "never completed") {
		t.Fatalf("dead letters %+v, want the unfinished line", dl)
	}
	hasUsers(t, c, append(late, next...))
}
