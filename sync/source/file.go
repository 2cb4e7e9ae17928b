package source

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/boxauthz/boxauthz/sync"
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
// an error (see WithRestartReplaced). docs/events.md: events apply in the order
// they arrive, none skipped, and nothing is dropped silently.
type FileSource struct {
	path string // Stdin reads standard input
	options
}

// FileStats is what a run did.
type FileStats struct {
	Counts
	// Position is the offset, in the file read last, up to which every
	// line was applied or set aside.
	Position int64
}

// NewFileSource is a source of the JSONL file at path; Stdin reads
// standard input.
func NewFileSource(path string, opts ...Option) (*FileSource, error) {
	if path == "" {
		return nil, ErrNoPath
	}
	f := &FileSource{path: path, options: newOptions(opts)}
	if f.name == "" {
		if path == Stdin {
			f.name = StdinName
		} else {
			abs, err := filepath.Abs(path)
			if err != nil {
				return nil, fmt.Errorf("file source %s: %w", path, err)
			}
			f.name = "file:" + abs
		}
	}
	if f.deadLetter == "" {
		if path == Stdin {
			f.deadLetter = StdinName + DeadLetterSuffix
		} else {
			f.deadLetter = path + DeadLetterSuffix
		}
	}
	return f, nil
}

// Name is the name of the source's position in SpiceDB.
func (f *FileSource) Name() string { return f.name }

// Run mirrors the source through a until the end of the input (or, with
// WithFollow, until ctx ends). Every batch commits its position with its
// writes, so a run killed at any moment and started again continues exactly
// where the last committed batch ended. Bad events go to the dead-letter
// file and are counted; nothing is dropped silently.
//
// Without WithFollow a file is read up to its last complete line: a line
// its writer is still appending is left for the next run.
func (f *FileSource) Run(ctx context.Context, a *sync.Applier) (FileStats, error) {
	var st FileStats
	// The lease first: a position read before it could be moved by an
	// operator who saw no writer.
	release, err := holdLease(ctx, a, f.name, &f.options)
	if err != nil {
		return st, err
	}
	defer release()
	committed, err := a.Position(ctx, f.name)
	if err != nil {
		return st, err
	}
	if f.path == Stdin {
		return f.runStdin(ctx, a, committed)
	}
	cur, err := f.start(ctx, a, committed, &st)
	if err != nil {
		return st, err
	}
	ff := &fileFeed{f: f, a: a, cur: cur, st: &st}
	defer func() { ff.cur.close() }()
	ff.target()
	f.logger.InfoContext(ctx, "mirroring events", "source", f.name, "file", cur.name, "from", cur.pos, "follow", f.follow)
	err = follow(ctx, a, ff, &f.options, &st.Counts)
	return st, err
}

// start opens the file the committed position is an offset into: the file
// at Path, or the one it was rotated to, found next to it.
func (f *FileSource) start(ctx context.Context, a *sync.Applier, committed string, st *FileStats) (*tail, error) {
	cur, fi, err := openTail(f.path)
	if err != nil {
		return nil, err
	}
	if committed == "" {
		a.Metrics().FileStopped(f.name, false)
		return cur, nil
	}
	p, err := parseFilePosition(committed)
	if err != nil {
		cur.close()
		return nil, fmt.Errorf("resuming %s: %w", f.name, err)
	}
	st.Position = p.offset
	why := mismatch(cur.fh, fi, p, true)
	if why == "" {
		a.Metrics().FileStopped(f.name, false)
		return cur, cur.seek(p.offset)
	}
	if prev, err := f.findPrevious(p, fi); err != nil || prev != nil {
		if err != nil {
			cur.close()
			return nil, err
		}
		f.logger.WarnContext(ctx, "events file changed since the last run; finishing the previous file first", "source", f.name,
			"file", f.path, "change", why, "previous", prev.name, "from", p.offset)
		cur.close()
		a.Metrics().FileStopped(f.name, false)
		return prev, prev.seek(p.offset)
	}
	if f.restartReplaced {
		f.logger.WarnContext(ctx, "events file changed since the last run and the previous file is not found; reading the file from its start",
			"source", f.name, "file", f.path, "change", why, "position", committed)
		a.Metrics().FileSwitched(f.name, "restarted")
		a.Metrics().FileStopped(f.name, false)
		st.Position = 0
		return cur, nil
	}
	cur.close()
	// Everything at the path is unapplied: the lag says so while the
	// source is stopped (serve retries, logging each time).
	a.Metrics().Lag(f.name, fi.Size(), -1)
	a.Metrics().FileStopped(f.name, true)
	where := "no file in " + filepath.Dir(f.path) + " is it"
	if p.legacy {
		where = "the position, from before positions named their file, cannot tell which file it was"
	}
	err = fmt.Errorf("events file %s is not the file position %s was committed for: %s; the events after offset %d of that file cannot be read and %s (restore it, or run boxauthz sync --restart-replaced to read %s from its start: events already applied are skipped as duplicates, or move the position with boxauthz sync position set --source %s)",
		f.path, committed, why, p.offset, where, f.path, f.name)
	f.logger.ErrorContext(ctx, "events file source stopped", "source", f.name, "error", err)
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
	dir := filepath.Dir(f.path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("looking for the previous events file in %s: %w", dir, err)
	}
	dead, _ := os.Stat(f.deadLetter)
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
func (f *FileSource) cut(ctx context.Context, a *sync.Applier, cur *tail, why string, st *FileStats) (*tail, error) {
	a.Metrics().FileSwitched(f.name, "truncated")
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
		f.logger.WarnContext(ctx, "events file truncated; finishing its old content from the copy, then reading it from its start",
			"source", f.name, "file", cur.name, "change", why, "copy", prev.name, "from", p.offset)
		cur.close()
		prev.copyOfCut = true
		return prev, prev.seek(p.offset)
	}
	f.logger.WarnContext(ctx, "events file truncated and no copy of its old content found; reading it from its start: events written after the offset and before the truncation are lost",
		"source", f.name, "file", cur.name, "change", why, "offset", p.offset, "lost_partial_line_bytes", len(cur.pending))
	if len(cur.pending) > 0 {
		d := deadLetter(f.name, cur.pos, cur.pending, fmt.Errorf("line at offset %d of %s cut by the truncation of the file (%s)", cur.pos, cur.name, why))
		if err := f.deadLetters([]DeadLetter{d}); err != nil {
			return cur, err
		}
		a.Metrics().DeadLettered(f.name, 1)
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
func (f *FileSource) rotated(ctx context.Context, a *sync.Applier, cur *tail, st *FileStats) (*tail, error) {
	fi, err := os.Stat(f.path)
	if errors.Is(err, os.ErrNotExist) {
		// Renamed and not created again yet: the open file is all there is.
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading events file %s: %w", f.path, err)
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
	if time.Since(cfi.ModTime()) < f.rotateWait || (f.follow && time.Since(cur.quietSince) < f.rotateWait) {
		// Both files' unread bytes wait.
		a.Metrics().Lag(f.name, cfi.Size()-cur.pos+fi.Size(), -1)
		if !f.follow {
			f.logger.InfoContext(ctx, "previous events file written too recently to be finished; left for the next run", "source", f.name,
				"previous", cur.name, "file", f.path, "offset", cur.pos, "rotate_wait", f.rotateWait)
		}
		return nil, nil
	}
	if len(cur.pending) > 0 {
		d := deadLetter(f.name, cur.pos, cur.pending, fmt.Errorf("last line of %s, at offset %d, never completed: the file was rotated away from %s", cur.name, cur.pos, f.path))
		if err := f.deadLetters([]DeadLetter{d}); err != nil {
			return nil, err
		}
		a.Metrics().DeadLettered(f.name, 1)
		st.DeadLetters++
	}
	next, _, err := openTail(f.path)
	if err != nil {
		return nil, err
	}
	f.logger.InfoContext(ctx, "events file rotated; finished the previous file, reading the new one from its start", "source", f.name,
		"previous", cur.name, "previous_end", cur.pos, "file", f.path)
	if !cur.copyOfCut {
		a.Metrics().FileSwitched(f.name, "rotated")
	}
	if err := f.commitStart(ctx, a, next, st); err != nil {
		next.close()
		return nil, err
	}
	return next, nil
}

// commitStart commits the start of t as the position, so a restart reads t
// from there even if the file it leaves is gone by then.
func (f *FileSource) commitStart(ctx context.Context, a *sync.Applier, t *tail, st *FileStats) error {
	st.Position = 0
	_, err := a.ApplyBatch(ctx, sync.Batch{Source: f.name, End: t.position(0).String()})
	return err
}

// runStdin mirrors standard input. A stream cannot be identified nor
// sought: its position is the count of bytes applied, and its end (the
// writer closed it) ends its last line.
func (f *FileSource) runStdin(ctx context.Context, a *sync.Applier, committed string) (FileStats, error) {
	var st FileStats
	var pos int64
	if committed != "" {
		p, err := parseFilePosition(committed)
		if err != nil || !p.legacy {
			return st, fmt.Errorf("position %q committed for %s is not a stream offset", committed, f.name)
		}
		pos = p.offset
	}
	st.Position = pos
	if _, err := io.CopyN(io.Discard, f.stdin, pos); err != nil {
		return st, fmt.Errorf("skipping %d committed bytes of stdin: %w", pos, err)
	}
	t := &tail{name: StdinName, br: bufio.NewReaderSize(f.stdin, 1<<20), pos: pos, eofEndsLine: true, legacy: true}
	f.logger.InfoContext(ctx, "mirroring events", "source", f.name, "from", pos, "follow", f.follow)
	err := follow(ctx, a, &fileFeed{f: f, a: a, cur: t, st: &st, stream: true}, &f.options, &st.Counts)
	return st, err
}

// fileFeed is a file source's side of the follow loop: the file being
// read, cur, and, when it is caught up, the rotation and truncation of the
// file at the path.
type fileFeed struct {
	f      *FileSource
	a      *sync.Applier
	cur    *tail
	st     *FileStats
	stream bool // standard input: neither rotated nor truncated
	// start is the file read first and total its size then; reading it
	// that far catches the run up when it is the file at the path
	// (startAtPath), not one rotated away and left to finish.
	start       *tail
	total       int64
	startAtPath bool
}

// read reads the complete lines of cur from cur.pos, up to a batch. A file
// cut (truncated or rewritten in place) before the lines were read gives
// them back unread, and the cut is handled: what was applied stays applied
// and reading goes on where cut says.
func (ff *fileFeed) read(ctx context.Context) (*pending, bool, error) {
	f, t := ff.f, ff.cur
	pos0, pending0, head0 := t.pos, append([]byte(nil), t.pending...), len(t.head)
	p, atEOF, err := ff.readLines()
	if err != nil {
		return nil, false, err
	}
	if t.fh != nil {
		// Checked after reading: had the file been cut before, its
		// size would be below what was read, or its head new.
		why, err := t.changed()
		if err != nil {
			return nil, false, err
		}
		if why != "" {
			t.pos, t.pending, t.head = pos0, pending0, t.head[:head0]
			if ff.cur, err = f.cut(ctx, ff.a, t, why, ff.st); err != nil {
				return nil, false, err
			}
			ff.cur.grew = false
			return nil, false, nil
		}
	}
	p.batch.End = t.position(t.pos).String()
	return p, atEOF, nil
}

// readLines reads up to a batch of lines of cur, decoding each.
func (ff *fileFeed) readLines() (*pending, bool, error) {
	f, t := ff.f, ff.cur
	p := &pending{batch: sync.Batch{Source: f.name}}
	for len(p.batch.Events) < f.batchSize {
		chunk, err := t.br.ReadBytes('\n')
		if len(chunk) > 0 {
			t.grew = true
		}
		t.pending = append(t.pending, chunk...)
		atEOF := errors.Is(err, io.EOF)
		if atEOF && (!t.eofEndsLine || len(t.pending) == 0) {
			return p, true, nil
		}
		if err != nil && !atEOF {
			return nil, false, fmt.Errorf("reading %s: %w", t.name, err)
		}
		line := t.pending
		t.pending = nil
		lineStart := t.pos
		t.consume(line)
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) > 0 {
			ev, derr := event.DecodeEvent(trimmed, int(lineStart))
			if derr != nil {
				p.bad = append(p.bad, rejected{at: lineStart, raw: trimmed, err: derr})
			} else {
				p.batch.Events = append(p.batch.Events, ev)
				p.batch.Positions = append(p.batch.Positions, t.position(t.pos).String())
				p.raws = append(p.raws, rejected{at: lineStart, raw: trimmed})
			}
		}
		if atEOF {
			return p, true, nil
		}
	}
	return p, false, nil
}

func (ff *fileFeed) setAside(_ context.Context, bad []rejected) error {
	ds := make([]DeadLetter, 0, len(bad))
	for _, r := range bad {
		ds = append(ds, deadLetter(ff.f.name, r.at, r.raw, r.err))
	}
	return ff.f.deadLetters(ds)
}

func (ff *fileFeed) committed(*pending) {
	t := ff.cur
	ff.st.Position = t.pos
	if t.fh != nil {
		if fi, err := t.fh.Stat(); err == nil {
			ff.a.Metrics().Lag(ff.f.name, fi.Size()-t.pos, -1)
		}
	}
}

// idle moves on to the file now at the path once the one being read was
// rotated away and is finished.
func (ff *fileFeed) idle(ctx context.Context) (bool, error) {
	if ff.stream {
		return false, nil
	}
	f, cur := ff.f, ff.cur
	next, err := f.rotated(ctx, ff.a, cur, ff.st)
	cur.grew = false
	if err != nil {
		return false, err
	}
	if next != nil {
		cur.close()
		ff.cur = next
		return true, nil
	}
	if !f.follow && len(cur.pending) > 0 {
		f.logger.InfoContext(ctx, "last line not complete yet; left for the next run", "source", f.name, "file", cur.name, "offset", cur.pos, "bytes", len(cur.pending))
	}
	return false, nil
}
