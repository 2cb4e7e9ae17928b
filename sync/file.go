package sync

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// FileSource mirrors a JSONL file of events (one event per line), or a
// stream such as stdin, resuming from the position committed in SpiceDB.
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
	Logger     *slog.Logger
}

// FileStats is what a run did.
type FileStats struct {
	Applied, Duplicates, DeadLetters int
	Position                         int64
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
	if f.Logger == nil {
		f.Logger = slog.Default()
	}
	return nil
}

// Run mirrors the source through a until the end of the input (or, with
// Follow, until ctx ends). Every batch commits its position with its writes,
// so a run killed at any moment and started again continues exactly where the
// last committed batch ended. Bad events go to the dead-letter file and are
// counted; nothing is dropped silently.
func (f *FileSource) Run(ctx context.Context, a *Applier) (FileStats, error) {
	var st FileStats
	if err := f.defaults(); err != nil {
		return st, err
	}
	committed, err := a.Position(ctx, f.Name)
	if err != nil {
		return st, err
	}
	var pos int64
	if committed != "" {
		if pos, err = strconv.ParseInt(committed, 10, 64); err != nil || pos < 0 {
			return st, fmt.Errorf("position %q committed for %s is not a file offset", committed, f.Name)
		}
	}
	st.Position = pos
	var r io.Reader
	if f.Path == "-" {
		if f.Stdin == nil {
			f.Stdin = os.Stdin
		}
		// A stream cannot seek: skip what was already committed.
		if _, err := io.CopyN(io.Discard, f.Stdin, pos); err != nil {
			return st, fmt.Errorf("skipping %d committed bytes of stdin: %w", pos, err)
		}
		r = f.Stdin
	} else {
		fh, err := os.Open(f.Path)
		if err != nil {
			return st, fmt.Errorf("opening events file: %w", err)
		}
		defer fh.Close()
		if fi, err := fh.Stat(); err == nil && fi.Size() < pos {
			return st, fmt.Errorf("events file %s is %d bytes but %d were already applied from it: it was truncated or replaced; move the position by hand or use a new file", f.Path, fi.Size(), pos)
		}
		if _, err := fh.Seek(pos, io.SeekStart); err != nil {
			return st, fmt.Errorf("seeking %s to %d: %w", f.Path, pos, err)
		}
		r = fh
	}
	f.Logger.InfoContext(ctx, "mirroring events", "source", f.Name, "from", pos, "follow", f.Follow)

	br := bufio.NewReaderSize(r, 1<<20)
	var pending []byte // a line not yet ended by a newline
	for {
		var batch Batch
		batch.Source = f.Name
		var bad []DeadLetter
		var raws [][]byte
		var starts []int64
		lineStart := pos
		atEOF := false
		for len(batch.Events) < f.BatchLines {
			chunk, err := br.ReadBytes('\n')
			pending = append(pending, chunk...)
			if errors.Is(err, io.EOF) {
				atEOF = true
				if f.Follow || len(pending) == 0 {
					break
				}
				// The end of a finished file ends its last line.
			} else if err != nil {
				return st, fmt.Errorf("reading %s: %w", f.Path, err)
			}
			line := pending
			pending = nil
			lineStart, pos = pos, pos+int64(len(line))
			trimmed := bytes.TrimSpace(line)
			if len(trimmed) == 0 {
				continue
			}
			ev, derr := DecodeEvent(trimmed, int(lineStart))
			if derr != nil {
				bad = append(bad, deadLetter(f.Name, lineStart, trimmed, derr))
				continue
			}
			batch.Events = append(batch.Events, ev)
			batch.Positions = append(batch.Positions, strconv.FormatInt(pos, 10))
			raws = append(raws, trimmed)
			starts = append(starts, lineStart)
			if atEOF {
				break
			}
		}
		batch.End = strconv.FormatInt(pos, 10)
		if err := f.deadLetters(bad); err != nil {
			return st, err
		}
		a.metrics.deadLettered(f.Name, len(bad))
		st.DeadLetters += len(bad)
		if len(batch.Events) > 0 || len(bad) > 0 {
			n, err := f.apply(ctx, a, batch, raws, starts, &st)
			if err != nil {
				return st, err
			}
			a.metrics.deadLettered(f.Name, n)
			st.DeadLetters += n
		}
		st.Position = pos
		if sizer, ok := r.(interface{ Stat() (os.FileInfo, error) }); ok {
			if fi, err := sizer.Stat(); err == nil {
				a.metrics.lag(f.Name, fi.Size()-pos, -1)
			}
		}
		if atEOF {
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
}

// apply writes a batch; an event the state refuses goes to the dead-letter
// file and the rest is applied without it.
func (f *FileSource) apply(ctx context.Context, a *Applier, b Batch, raws [][]byte, starts []int64, st *FileStats) (int, error) {
	dead := 0
	for {
		res, err := a.ApplyBatch(ctx, b)
		var ee *EventError
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
	var ee *EventError
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
