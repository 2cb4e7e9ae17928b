package sync

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/boxauthz/boxauthz/sync/event"
)

// FileSource mirrors a JSONL file of events (one event per line), or a
// stream such as stdin, resuming from the position committed in SpiceDB.
//
// The committed position names the file it is an offset into (its device
// and inode, and a fingerprint of its first bytes), so a file replaced,
// rewritten or truncated under the same path is never read from an offset
// into another file. A file rotated away by renaming is found next to the
// path and finished first; one that cannot be found stops the source with
// an error (see RestartReplaced). EVENTS.md: events apply in the order they
// arrive, none skipped, and nothing is dropped silently.
type FileSource struct {
	// Path is the file; "-" reads standard input (Stdin).
	Path  string
	Stdin io.Reader
	// Name identifies the source's position in SpiceDB. Default: "file:"
	// and the absolute path, or "stdin".
	Name string
	// DeadLetter is the JSONL file bad events are appended to. Default:
	// Path + ".dead" (stdin: "stdin.dead").
	DeadLetter string
	// Follow keeps reading as the file grows, like tail -f, until ctx ends.
	Follow bool
	// PollInterval is how often a followed file is checked for growth
	// (default 200ms).
	PollInterval time.Duration
	// BatchLines bounds the events applied in one batch (default 500).
	BatchLines int
	// RestartReplaced reads the file at Path from its start when the
	// committed position names another file (Path was replaced, or the
	// file truncated or rewritten) that cannot be found to finish. The
	// unread rest of that file is then given up; events of the new file
	// applied before are skipped as duplicates (within the dedup window).
	// Without it such a run stops with an error and changes nothing.
	RestartReplaced bool
	// RotateWait is how long a file renamed away from Path must have gone
	// unwritten before it counts as finished and the new file at Path is
	// read: a writer may append to the old file until it reopens the path
	// (default 5s, as long as logrotate's usual postrotate signal takes).
	RotateWait time.Duration
	Logger     *slog.Logger
}

// FileStats is what a run did.
type FileStats struct {
	Applied, Duplicates, DeadLetters int
	// Position is the offset, in the file read last, up to which every
	// line was applied or set aside.
	Position int64
}

// DeadLetter is one bad event set aside, as written to the dead-letter file.
type DeadLetter struct {
	Source  string          `json:"source"`
	Offset  int64           `json:"offset"`
	EventID string          `json:"event_id,omitempty"`
	Error   string          `json:"error"`
	Line    json.RawMessage `json:"line,omitempty"`
	Raw     string          `json:"raw,omitempty"`
	At      time.Time       `json:"at"`
}

func (f *FileSource) defaults() error {
	if f.Path == "" {
		return errors.New("file source: no path (use - for standard input)")
	}
	if f.Name == "" {
		if f.Path == "-" {
			f.Name = "stdin"
		} else {
			abs, err := filepath.Abs(f.Path)
			if err != nil {
				return fmt.Errorf("file source %s: %w", f.Path, err)
			}
			f.Name = "file:" + abs
		}
	}
	if f.DeadLetter == "" {
		if f.Path == "-" {
			f.DeadLetter = "stdin.dead"
		} else {
			f.DeadLetter = f.Path + ".dead"
		}
	}
	if f.PollInterval == 0 {
		f.PollInterval = 200 * time.Millisecond
	}
	if f.BatchLines == 0 {
		f.BatchLines = 500
	}
	if f.RotateWait == 0 {
		f.RotateWait = 5 * time.Second
	}
	if f.Logger == nil {
		f.Logger = slog.Default()
	}
	return nil
}

// headBytes bounds a file's fingerprint: the hash of its first bytes, at
// most this many and never past the committed offset, so the bytes hashed
// were read and applied and an appending writer never changes them.
const headBytes = 1024

// filePosition is the committed position of a file source, written as
// "f2|offset|device|inode|head length|head hash". Positions committed
// before files were identified are a bare offset (legacy).
type filePosition struct {
	offset   int64
	dev, ino uint64
	headLen  int64
	head     string
	legacy   bool
}

func (p filePosition) String() string {
	if p.legacy {
		return strconv.FormatInt(p.offset, 10)
	}
	return fmt.Sprintf("f2|%d|%d|%d|%d|%s", p.offset, p.dev, p.ino, p.headLen, p.head)
}

func parseFilePosition(s string) (filePosition, error) {
	if !strings.HasPrefix(s, "f2|") {
		off, err := strconv.ParseInt(s, 10, 64)
		if err != nil || off < 0 {
			return filePosition{}, fmt.Errorf("position %q is not a file position (an offset, or f2|offset|device|inode|head length|head hash)", s)
		}
		return filePosition{offset: off, legacy: true}, nil
	}
	parts := strings.Split(s, "|")
	if len(parts) != 6 {
		return filePosition{}, fmt.Errorf("position %q has %d fields, want 6 (f2|offset|device|inode|head length|head hash)", s, len(parts))
	}
	var p filePosition
	var err error
	if p.offset, err = strconv.ParseInt(parts[1], 10, 64); err != nil || p.offset < 0 {
		return filePosition{}, fmt.Errorf("position %q: offset %q is not a byte offset", s, parts[1])
	}
	if p.dev, err = strconv.ParseUint(parts[2], 10, 64); err != nil {
		return filePosition{}, fmt.Errorf("position %q: device %q is not a number", s, parts[2])
	}
	if p.ino, err = strconv.ParseUint(parts[3], 10, 64); err != nil {
		return filePosition{}, fmt.Errorf("position %q: inode %q is not a number", s, parts[3])
	}
	if p.headLen, err = strconv.ParseInt(parts[4], 10, 64); err != nil || p.headLen < 0 || p.headLen > min(headBytes, p.offset) {
		return filePosition{}, fmt.Errorf("position %q: head length %q is not between 0 and %d", s, parts[4], min(headBytes, p.offset))
	}
	p.head = parts[5]
	return p, nil
}

// FileOffset is the byte offset a file source's committed position (as
// Applier.Position returns it) names.
func FileOffset(position string) (int64, error) {
	p, err := parseFilePosition(position)
	return p.offset, err
}

func fingerprint(head []byte) string {
	sum := sha256.Sum256(head)
	return hex.EncodeToString(sum[:16])
}

// fileID is the device and inode of a file; zero where the system has
// none (Windows: the fingerprint alone then tells files apart). Read by
// reflection because syscall.Stat_t exists only on Unix and its fields'
// types differ between systems.
func fileID(fi os.FileInfo) (dev, ino uint64) {
	v := reflect.ValueOf(fi.Sys())
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return 0, 0
	}
	num := func(name string) uint64 {
		f := v.Elem().FieldByName(name)
		switch {
		case f.CanUint():
			return f.Uint()
		case f.CanInt():
			return uint64(f.Int())
		}
		return 0
	}
	return num("Dev"), num("Ino")
}

// mismatch says how the open file fh (fi) differs from the file p is an
// offset into, or "" when it is that file. byInode false accepts a copy
// (copytruncate's): another inode with the same bytes up to the offset as
// far as the fingerprint and the line end tell.
func mismatch(fh *os.File, fi os.FileInfo, p filePosition, byInode bool) string {
	dev, ino := fileID(fi)
	if byInode && !p.legacy && (dev != p.dev || ino != p.ino) {
		return fmt.Sprintf("the path now holds another file (device %d inode %d, not device %d inode %d): it was replaced", dev, ino, p.dev, p.ino)
	}
	if fi.Size() < p.offset {
		return fmt.Sprintf("it holds %d bytes, fewer than the %d already read from it: it was truncated", fi.Size(), p.offset)
	}
	if p.offset == 0 {
		return ""
	}
	if !p.legacy {
		head := make([]byte, p.headLen)
		if _, err := fh.ReadAt(head, 0); err != nil {
			return fmt.Sprintf("its first %d bytes cannot be read (%v)", p.headLen, err)
		}
		if fingerprint(head) != p.head {
			return fmt.Sprintf("its first %d bytes are not those read before: it was rewritten", p.headLen)
		}
	}
	// Positions are committed at line ends; a legacy one may also be the
	// end of a file whose last line had no newline.
	last := make([]byte, 1)
	if _, err := fh.ReadAt(last, p.offset-1); err != nil {
		return fmt.Sprintf("byte %d cannot be read (%v)", p.offset-1, err)
	}
	if last[0] != '\n' && !(p.legacy && p.offset == fi.Size()) {
		return fmt.Sprintf("offset %d does not end a line in it: it was rewritten", p.offset)
	}
	return ""
}

// tail is one input being read: a file (or stdin) and what was read of it.
type tail struct {
	name     string
	fh       *os.File // nil for stdin
	dev, ino uint64
	br       *bufio.Reader
	pos      int64  // just past the last complete line handed out
	pending  []byte // the start of a line no newline has ended yet
	head     []byte // the first min(headBytes, pos) bytes
	// eofEndsLine: the end of a stream ends its last line (stdin); a
	// file's end is only where its writer got to.
	eofEndsLine bool
	legacy      bool // positions are bare offsets (stdin)
	grew        bool // the last drain read something
	quietSince  time.Time
	// copyOfCut: a copy of a file truncated while followed, whose end is
	// the same switch as the truncation, counted once.
	copyOfCut bool
	// The fingerprint of head[:fpLen], hashed once per length rather than
	// once per event.
	fp    string
	fpLen int64
}

func openTail(path string) (*tail, os.FileInfo, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("opening events file: %w", err)
	}
	fi, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, nil, fmt.Errorf("reading events file %s: %w", path, err)
	}
	t := &tail{name: path, fh: fh, br: bufio.NewReaderSize(fh, 1<<20)}
	t.dev, t.ino = fileID(fi)
	return t, fi, nil
}

func (t *tail) close() {
	if t != nil && t.fh != nil {
		t.fh.Close()
	}
}

// seek makes the next line read the one at off, a line end of the file.
func (t *tail) seek(off int64) error {
	if _, err := t.fh.Seek(off, io.SeekStart); err != nil {
		return fmt.Errorf("seeking %s to %d: %w", t.name, off, err)
	}
	t.head = make([]byte, min(headBytes, off))
	if _, err := t.fh.ReadAt(t.head, 0); err != nil {
		return fmt.Errorf("reading the first %d bytes of %s: %w", len(t.head), t.name, err)
	}
	t.br.Reset(t.fh)
	t.pos, t.pending, t.fp = off, nil, ""
	return nil
}

// consume hands out the line at t.pos.
func (t *tail) consume(line []byte) {
	if n := headBytes - len(t.head); n > 0 && int64(len(t.head)) == t.pos {
		t.head = append(t.head, line[:min(n, len(line))]...)
	}
	t.pos += int64(len(line))
}

// position is the committed form of offset off in t.
func (t *tail) position(off int64) filePosition {
	if t.legacy {
		return filePosition{offset: off, legacy: true}
	}
	hl := min(headBytes, off)
	if t.fp == "" || t.fpLen != hl {
		t.fp, t.fpLen = fingerprint(t.head[:hl]), hl
	}
	return filePosition{offset: off, dev: t.dev, ino: t.ino, headLen: hl, head: t.fp}
}

// changed says how the followed file was cut or rewritten in place since
// it was read ("" when it only grew or stayed).
func (t *tail) changed() (string, error) {
	fi, err := t.fh.Stat()
	if err != nil {
		return "", fmt.Errorf("reading events file %s: %w", t.name, err)
	}
	if read := t.pos + int64(len(t.pending)); fi.Size() < read {
		return fmt.Sprintf("it shrank to %d bytes, below the %d already read: it was truncated", fi.Size(), read), nil
	}
	if len(t.head) > 0 {
		now := make([]byte, len(t.head))
		if _, err := t.fh.ReadAt(now, 0); err != nil || !bytes.Equal(now, t.head) {
			return fmt.Sprintf("its first %d bytes changed: it was rewritten in place", len(t.head)), nil
		}
	}
	return "", nil
}

// Run mirrors the source through a until the end of the input (or, with
// Follow, until ctx ends). Every batch commits its position with its writes,
// so a run killed at any moment and started again continues exactly where the
// last committed batch ended. Bad events go to the dead-letter file and are
// counted; nothing is dropped silently.
//
// Without Follow a file is read up to its last complete line: a line its
// writer is still appending is left for the next run.
func (f *FileSource) Run(ctx context.Context, a *Applier) (FileStats, error) {
	var st FileStats
	if err := f.defaults(); err != nil {
		return st, err
	}
	committed, err := a.Position(ctx, f.Name)
	if err != nil {
		return st, err
	}
	if f.Path == "-" {
		return f.runStdin(ctx, a, committed)
	}
	cur, err := f.start(ctx, a, committed, &st)
	defer func() { cur.close() }()
	if err != nil {
		return st, err
	}
	f.Logger.InfoContext(ctx, "mirroring events", "source", f.Name, "file", cur.name, "from", cur.pos, "follow", f.Follow)
	for {
		// drain checks for a cut after every read, the last at the end.
		why, err := f.drain(ctx, a, cur, &st)
		if err != nil {
			return st, err
		}
		if why != "" {
			if cur, err = f.cut(ctx, a, cur, why, &st); err != nil {
				return st, err
			}
			continue
		}
		next, err := f.rotated(ctx, a, cur, &st)
		if err != nil {
			return st, err
		}
		if next != nil {
			cur.close()
			cur = next
			continue
		}
		if !f.Follow {
			if len(cur.pending) > 0 {
				f.Logger.InfoContext(ctx, "last line not complete yet; left for the next run", "source", f.Name, "file", cur.name, "offset", cur.pos, "bytes", len(cur.pending))
			}
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, nil
		case <-time.After(f.PollInterval):
		}
	}
}

// start opens the file the committed position is an offset into: the file
// at Path, or the one it was rotated to, found next to it.
func (f *FileSource) start(ctx context.Context, a *Applier, committed string, st *FileStats) (*tail, error) {
	cur, fi, err := openTail(f.Path)
	if err != nil {
		return nil, err
	}
	if committed == "" {
		a.metrics.fileStopped(f.Name, false)
		return cur, nil
	}
	p, err := parseFilePosition(committed)
	if err != nil {
		cur.close()
		return nil, fmt.Errorf("resuming %s: %w", f.Name, err)
	}
	st.Position = p.offset
	why := mismatch(cur.fh, fi, p, true)
	if why == "" {
		a.metrics.fileStopped(f.Name, false)
		return cur, cur.seek(p.offset)
	}
	if prev, err := f.findPrevious(p, fi); err != nil || prev != nil {
		if err != nil {
			cur.close()
			return nil, err
		}
		f.Logger.WarnContext(ctx, "events file changed since the last run; finishing the previous file first", "source", f.Name,
			"file", f.Path, "change", why, "previous", prev.name, "from", p.offset)
		cur.close()
		a.metrics.fileStopped(f.Name, false)
		return prev, prev.seek(p.offset)
	}
	if f.RestartReplaced {
		f.Logger.WarnContext(ctx, "events file changed since the last run and the previous file is not found; reading the file from its start",
			"source", f.Name, "file", f.Path, "change", why, "position", committed)
		a.metrics.fileSwitched(f.Name, "restarted")
		a.metrics.fileStopped(f.Name, false)
		st.Position = 0
		return cur, nil
	}
	cur.close()
	// Everything at the path is unapplied: the lag says so while the
	// source is stopped (serve retries, logging each time).
	a.metrics.lag(f.Name, fi.Size(), -1)
	a.metrics.fileStopped(f.Name, true)
	where := "no file in " + filepath.Dir(f.Path) + " is it"
	if p.legacy {
		where = "the position, from before positions named their file, cannot tell which file it was"
	}
	err = fmt.Errorf("events file %s is not the file position %s was committed for: %s; the events after offset %d of that file cannot be read and %s (restore it, or run boxauthz sync --restart-replaced to read %s from its start: events already applied are skipped as duplicates)",
		f.Path, committed, why, p.offset, where, f.Path)
	f.Logger.ErrorContext(ctx, "events file source stopped", "source", f.Name, "error", err)
	return nil, err
}

// findPrevious looks next to Path for the file position p is an offset
// into: the same inode renamed (logrotate's default, or a rename into
// place), or else a copy holding the same first bytes (copytruncate's).
// Path's own file (at) and the dead-letter file are not candidates.
func (f *FileSource) findPrevious(p filePosition, at os.FileInfo) (*tail, error) {
	if p.legacy {
		return nil, nil
	}
	dir := filepath.Dir(f.Path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("looking for the previous events file in %s: %w", dir, err)
	}
	dead, _ := os.Stat(f.DeadLetter)
	var best *tail
	var bestSize int64
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		name := filepath.Join(dir, e.Name())
		fi, err := os.Stat(name)
		if err != nil || os.SameFile(fi, at) || (dead != nil && os.SameFile(fi, dead)) || fi.Size() < p.offset {
			continue
		}
		dev, ino := fileID(fi)
		sameInode := ino != 0 && dev == p.dev && ino == p.ino
		if !sameInode && (p.offset == 0 || (best != nil && fi.Size() <= bestSize)) {
			// At offset 0 there is no fingerprint to know a copy by.
			continue
		}
		t, tfi, err := openTail(name)
		if err != nil {
			continue
		}
		if mismatch(t.fh, tfi, p, sameInode) != "" {
			t.close()
			continue
		}
		best.close()
		best, bestSize = t, tfi.Size()
		if sameInode {
			break
		}
	}
	return best, nil
}

// cut handles a followed file truncated or rewritten in place: what was
// applied stays applied; the rest of the old content is read from a copy
// next to it when there is one (copytruncate), else it is lost, which is
// logged and counted; the new content is read from its start.
func (f *FileSource) cut(ctx context.Context, a *Applier, cur *tail, why string, st *FileStats) (*tail, error) {
	a.metrics.fileSwitched(f.Name, "truncated")
	p := cur.position(cur.pos)
	fi, err := cur.fh.Stat()
	if err != nil {
		return cur, fmt.Errorf("reading events file %s: %w", cur.name, err)
	}
	prev, err := f.findPrevious(p, fi)
	if err != nil {
		return cur, err
	}
	if prev != nil {
		f.Logger.WarnContext(ctx, "events file truncated; finishing its old content from the copy, then reading it from its start",
			"source", f.Name, "file", cur.name, "change", why, "copy", prev.name, "from", p.offset)
		cur.close()
		prev.copyOfCut = true
		return prev, prev.seek(p.offset)
	}
	f.Logger.WarnContext(ctx, "events file truncated and no copy of its old content found; reading it from its start: events written after the offset and before the truncation are lost",
		"source", f.Name, "file", cur.name, "change", why, "offset", p.offset, "lost_partial_line_bytes", len(cur.pending))
	if len(cur.pending) > 0 {
		d := deadLetter(f.Name, cur.pos, cur.pending, fmt.Errorf("line at offset %d of %s cut by the truncation of the file (%s)", cur.pos, cur.name, why))
		if err := f.deadLetters([]DeadLetter{d}); err != nil {
			return cur, err
		}
		a.metrics.deadLettered(f.Name, 1)
		st.DeadLetters++
	}
	if err := cur.seek(0); err != nil {
		return cur, err
	}
	return cur, f.commitStart(ctx, a, cur, st)
}

// rotated returns the file now at Path once cur, which is no longer there,
// is finished: read to its end and not written for RotateWait (its writer
// has moved to the new file). A last line still incomplete then is set
// aside. nil: cur is still the file to read.
func (f *FileSource) rotated(ctx context.Context, a *Applier, cur *tail, st *FileStats) (*tail, error) {
	fi, err := os.Stat(f.Path)
	if errors.Is(err, os.ErrNotExist) {
		// Renamed and not created again yet: the open file is all there is.
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading events file %s: %w", f.Path, err)
	}
	cfi, err := cur.fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading events file %s: %w", cur.name, err)
	}
	if os.SameFile(fi, cfi) {
		return nil, nil
	}
	if cur.grew || cur.quietSince.IsZero() {
		cur.quietSince = time.Now()
	}
	if time.Since(cfi.ModTime()) < f.RotateWait || (f.Follow && time.Since(cur.quietSince) < f.RotateWait) {
		// Both files' unread bytes wait.
		a.metrics.lag(f.Name, cfi.Size()-cur.pos+fi.Size(), -1)
		if !f.Follow {
			f.Logger.InfoContext(ctx, "previous events file written too recently to be finished; left for the next run", "source", f.Name,
				"previous", cur.name, "file", f.Path, "offset", cur.pos, "rotate_wait", f.RotateWait)
		}
		return nil, nil
	}
	if len(cur.pending) > 0 {
		d := deadLetter(f.Name, cur.pos, cur.pending, fmt.Errorf("last line of %s, at offset %d, never completed: the file was rotated away from %s", cur.name, cur.pos, f.Path))
		if err := f.deadLetters([]DeadLetter{d}); err != nil {
			return nil, err
		}
		a.metrics.deadLettered(f.Name, 1)
		st.DeadLetters++
	}
	next, _, err := openTail(f.Path)
	if err != nil {
		return nil, err
	}
	f.Logger.InfoContext(ctx, "events file rotated; finished the previous file, reading the new one from its start", "source", f.Name,
		"previous", cur.name, "previous_end", cur.pos, "file", f.Path)
	if !cur.copyOfCut {
		a.metrics.fileSwitched(f.Name, "rotated")
	}
	if err := f.commitStart(ctx, a, next, st); err != nil {
		next.close()
		return nil, err
	}
	return next, nil
}

// commitStart commits the start of t as the position, so a restart reads t
// from there even if the file it leaves is gone by then.
func (f *FileSource) commitStart(ctx context.Context, a *Applier, t *tail, st *FileStats) error {
	st.Position = 0
	_, err := a.ApplyBatch(ctx, Batch{Source: f.Name, End: t.position(0).String()})
	return err
}

// runStdin mirrors standard input. A stream cannot be identified nor
// sought: its position is the count of bytes applied, and its end (the
// writer closed it) ends its last line.
func (f *FileSource) runStdin(ctx context.Context, a *Applier, committed string) (FileStats, error) {
	var st FileStats
	var pos int64
	if committed != "" {
		p, err := parseFilePosition(committed)
		if err != nil || !p.legacy {
			return st, fmt.Errorf("position %q committed for %s is not a stream offset", committed, f.Name)
		}
		pos = p.offset
	}
	st.Position = pos
	if f.Stdin == nil {
		f.Stdin = os.Stdin
	}
	if _, err := io.CopyN(io.Discard, f.Stdin, pos); err != nil {
		return st, fmt.Errorf("skipping %d committed bytes of stdin: %w", pos, err)
	}
	t := &tail{name: "stdin", br: bufio.NewReaderSize(f.Stdin, 1<<20), pos: pos, eofEndsLine: true, legacy: true}
	f.Logger.InfoContext(ctx, "mirroring events", "source", f.Name, "from", pos, "follow", f.Follow)
	for {
		if _, err := f.drain(ctx, a, t, &st); err != nil {
			return st, err
		}
		if !f.Follow {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, nil
		case <-time.After(f.PollInterval):
		}
	}
}

// drain applies every complete line of t from t.pos to its end, in
// batches, each committing the position after it. It returns how the file
// was cut (truncated or rewritten in place) when that happened before the
// lines of a batch were read: that batch is then given back unapplied.
func (f *FileSource) drain(ctx context.Context, a *Applier, t *tail, st *FileStats) (string, error) {
	t.grew = false
	for {
		pos0, pending0, head0 := t.pos, append([]byte(nil), t.pending...), len(t.head)
		var batch Batch
		batch.Source = f.Name
		var bad []DeadLetter
		var raws [][]byte
		var starts []int64
		atEOF := false
		for len(batch.Events) < f.BatchLines {
			chunk, err := t.br.ReadBytes('\n')
			if len(chunk) > 0 {
				t.grew = true
			}
			t.pending = append(t.pending, chunk...)
			if errors.Is(err, io.EOF) {
				atEOF = true
				if !t.eofEndsLine || len(t.pending) == 0 {
					break
				}
			} else if err != nil {
				return "", fmt.Errorf("reading %s: %w", t.name, err)
			}
			line := t.pending
			t.pending = nil
			lineStart := t.pos
			t.consume(line)
			trimmed := bytes.TrimSpace(line)
			if len(trimmed) == 0 {
				continue
			}
			ev, derr := event.DecodeEvent(trimmed, int(lineStart))
			if derr != nil {
				bad = append(bad, deadLetter(f.Name, lineStart, trimmed, derr))
				continue
			}
			batch.Events = append(batch.Events, ev)
			batch.Positions = append(batch.Positions, t.position(t.pos).String())
			raws = append(raws, trimmed)
			starts = append(starts, lineStart)
			if atEOF {
				break
			}
		}
		if t.fh != nil {
			// Checked after reading: had the file been cut before, its
			// size would be below what was read, or its head new.
			why, err := t.changed()
			if err != nil {
				return "", err
			}
			if why != "" {
				t.pos, t.pending, t.head = pos0, pending0, t.head[:head0]
				return why, nil
			}
		}
		batch.End = t.position(t.pos).String()
		if err := f.deadLetters(bad); err != nil {
			return "", err
		}
		a.metrics.deadLettered(f.Name, len(bad))
		st.DeadLetters += len(bad)
		if len(batch.Events) > 0 || len(bad) > 0 {
			n, err := f.apply(ctx, a, batch, raws, starts, st)
			if err != nil {
				return "", err
			}
			a.metrics.deadLettered(f.Name, n)
			st.DeadLetters += n
		}
		st.Position = t.pos
		if t.fh != nil {
			if fi, err := t.fh.Stat(); err == nil {
				a.metrics.lag(f.Name, fi.Size()-t.pos, -1)
			}
		}
		if atEOF {
			return "", nil
		}
	}
}

// apply writes a batch; an event the state refuses goes to the dead-letter
// file and the rest is applied without it.
func (f *FileSource) apply(ctx context.Context, a *Applier, b Batch, raws [][]byte, starts []int64, st *FileStats) (int, error) {
	dead := 0
	for {
		res, err := a.ApplyBatch(ctx, b)
		var ee *event.Error
		if errors.As(err, &ee) && ee.Index >= 0 && ee.Index < len(b.Events) {
			i := ee.Index
			if err := f.deadLetters([]DeadLetter{deadLetter(f.Name, starts[i], raws[i], err)}); err != nil {
				return dead, err
			}
			dead++
			b.Events = append(b.Events[:i:i], b.Events[i+1:]...)
			b.Positions = append(b.Positions[:i:i], b.Positions[i+1:]...)
			raws = append(raws[:i:i], raws[i+1:]...)
			starts = append(starts[:i:i], starts[i+1:]...)
			continue
		}
		if err != nil {
			return dead, err
		}
		st.Applied += res.Applied
		st.Duplicates += res.Duplicates
		return dead, nil
	}
}

func deadLetter(source string, offset int64, line []byte, err error) DeadLetter {
	d := DeadLetter{Source: source, Offset: offset, Error: err.Error(), At: time.Now().UTC()}
	var ee *event.Error
	if errors.As(err, &ee) {
		d.EventID = ee.EventID
	}
	if json.Valid(line) {
		d.Line = json.RawMessage(line)
	} else {
		d.Raw = string(line)
	}
	return d
}

// deadLetters appends entries to the source's dead-letter file.
func (f *FileSource) deadLetters(ds []DeadLetter) error {
	return AppendDeadLetters(f.DeadLetter, ds, f.Logger)
}

// AppendDeadLetters appends entries to a JSONL dead-letter file and syncs it
// before returning, so a position that skips them is committed only after
// they are safe on disk.
func AppendDeadLetters(path string, ds []DeadLetter, logger *slog.Logger) error {
	if len(ds) == 0 {
		return nil
	}
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("opening dead-letter file: %w", err)
	}
	enc := json.NewEncoder(fh)
	for _, d := range ds {
		if err := enc.Encode(d); err != nil {
			fh.Close()
			return fmt.Errorf("writing dead-letter file %s: %w", path, err)
		}
		logger.Warn("event set aside", "source", d.Source, "offset", d.Offset, "event_id", d.EventID, "error", d.Error, "dead_letter", path)
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return fmt.Errorf("syncing dead-letter file %s: %w", path, err)
	}
	return fh.Close()
}
