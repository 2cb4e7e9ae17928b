package source

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/boxauthz/boxauthz/sync/event"
)

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

// deadLetter is the entry of a bad event of a file source.
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
	return AppendDeadLetters(f.deadLetter, ds, f.logger)
}

// AppendDeadLetters appends entries to a JSONL dead-letter file and syncs it
// before returning, so a position that skips them is committed only after
// they are safe on disk.
func AppendDeadLetters(path string, ds []DeadLetter, logger *slog.Logger) error {
	if len(ds) == 0 {
		return nil
	}
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600) //nolint:gosec // G304: the operator names the dead-letter file
	if err != nil {
		return fmt.Errorf("opening dead-letter file: %w", err)
	}
	enc := json.NewEncoder(fh)
	for _, d := range ds {
		if err := enc.Encode(d); err != nil {
			_ = fh.Close() // the write error is the one to report
			return fmt.Errorf("writing dead-letter file %s: %w", path, err)
		}
		logger.Warn("event set aside", "source", d.Source, "offset", d.Offset, "event_id", d.EventID, "error", d.Error, "dead_letter", path)
	}
	if err := fh.Sync(); err != nil {
		_ = fh.Close() // the sync error is the one to report
		return fmt.Errorf("syncing dead-letter file %s: %w", path, err)
	}
	return fh.Close()
}
