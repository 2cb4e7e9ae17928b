package sync_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/boxauthz/boxauthz/internal/testenv"
	"github.com/boxauthz/boxauthz/sync"
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

func readDeadLetters(t *testing.T, path string) []sync.DeadLetter {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []sync.DeadLetter
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var d sync.DeadLetter
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
	writeLines(t, path, append(append([]string{}, baseTree...),
		`{"id":"oops", "type":`,
		`{"id":"orphan","type":"file.created","file":{"id":"o","parent":"missing","owner":"alice"}}`,
		"",
		collabB,
		`{"id":"late-bad","type":"collaboration.created","collaboration":{"id":"k5","item":{"type":"file","id":"nope"},"accessible_by":{"type":"user","id":"bob"},"role":"viewer"}}`)...)
	src := &sync.FileSource{Path: path, BatchLines: 3}
	st, err := src.Run(ctx, sync.NewApplier(c))
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if st.Applied != len(baseTree)+1 || st.DeadLetters != 3 || st.Position != fi.Size() {
		t.Fatalf("stats %+v; want %d applied, 3 dead letters, position %d", st, len(baseTree)+1, fi.Size())
	}
	dl := readDeadLetters(t, path+".dead")
	if len(dl) != 3 || dl[0].Raw == "" || dl[1].EventID != "orphan" || !strings.Contains(dl[1].Error, "file.parent") || dl[2].EventID != "late-bad" || len(dl[2].Line) == 0 {
		t.Fatalf("dead letters = %+v", dl)
	}
	// Again: everything was committed, nothing happens twice.
	st, err = (&sync.FileSource{Path: path}).Run(ctx, sync.NewApplier(c))
	if err != nil || st.Applied != 0 || st.DeadLetters != 0 {
		t.Fatalf("second run: %+v %v; want nothing to do", st, err)
	}
	if n := len(readDeadLetters(t, path+".dead")); n != 3 {
		t.Fatalf("second run added dead letters: %d", n)
	}
	// More events appended are picked up from the committed position.
	writeLines(t, path, `{"id":"more","type":"folder.trashed","folder":{"id":"b"}}`)
	st, err = (&sync.FileSource{Path: path}).Run(ctx, sync.NewApplier(c))
	if err != nil || st.Applied != 1 {
		t.Fatalf("third run: %+v %v; want the one new event", st, err)
	}
	if !strings.Contains(strings.Join(export(t, c), "\n"), "folder:b#trashed@user:*") {
		t.Fatal("appended event not applied")
	}
}

func TestFileSourceFollows(t *testing.T) {
	c := testenv.SpiceDB(t, testenv.Memory)
	dir := t.TempDir()
	path := filepath.Join(dir, "events.jsonl")
	writeLines(t, path, baseTree[:3]...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg := prometheus.NewRegistry()
	m, err := sync.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	a := sync.NewApplier(c, sync.WithMetrics(m))
	done := make(chan sync.FileStats, 1)
	go func() {
		st, err := (&sync.FileSource{Path: path, Follow: true, PollInterval: 10 * time.Millisecond}).Run(ctx, a)
		if err != nil {
			t.Error(err)
		}
		done <- st
	}()
	// Half a line first: it must wait for the rest.
	line := baseTree[3]
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(line[:10])
	time.Sleep(50 * time.Millisecond)
	f.WriteString(line[10:] + "\n")
	f.Close()
	writeLines(t, path, baseTree[4:]...)
	// The committed position shows before Run has counted the batch that
	// carried it; the lag gauge is set once the batch is counted.
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		pos, err := a.Position(context.Background(), "file:"+path)
		if err == nil && pos == strconv.FormatInt(fi.Size(), 10) && lagBytes(t, reg) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("follow did not reach the end: position %s of %d, lag %v bytes", pos, fi.Size(), lagBytes(t, reg))
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	st := <-done
	if st.Applied != len(baseTree) || st.DeadLetters != 0 {
		t.Fatalf("stats %+v, want %d applied and no dead letters (a half-written line is not bad)", st, len(baseTree))
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
	input := strings.Join(baseTree, "\n") + "\n"
	st, err := (&sync.FileSource{Path: "-", Stdin: strings.NewReader(input), DeadLetter: filepath.Join(dir, "d")}).Run(ctx, a)
	if err != nil || st.Applied != len(baseTree) {
		t.Fatalf("first: %+v %v", st, err)
	}
	input += collabB + "\n"
	st, err = (&sync.FileSource{Path: "-", Stdin: strings.NewReader(input), DeadLetter: filepath.Join(dir, "d")}).Run(ctx, a)
	if err != nil || st.Applied != 1 || st.Duplicates != 0 {
		t.Fatalf("second: %+v %v; want only the new event", st, err)
	}
}
