package source

import (
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/boxauthz/boxauthz/sync"
)

// Defaults of the file and outbox sources.
const (
	// DefaultBatchSize bounds the events applied in one batch.
	DefaultBatchSize = 500
	// DefaultPollInterval is how often a followed source is checked for
	// new events.
	DefaultPollInterval = 200 * time.Millisecond
	// DefaultRotateWait is how long a file renamed away from a file
	// source's path must have gone unwritten before it counts as finished:
	// as long as logrotate's usual postrotate signal takes.
	DefaultRotateWait = 5 * time.Second
	// DeadLetterSuffix makes a file source's dead-letter file of its path:
	// events.jsonl sets bad events aside in events.jsonl.dead.
	DeadLetterSuffix = ".dead"
	// Stdin is the path of a file source that reads standard input.
	Stdin = "-"
	// StdinName is the default name of a file source reading standard
	// input; its dead-letter file is StdinName + DeadLetterSuffix.
	StdinName = "stdin"
)

// Option configures a FileSource or an OutboxSource.
type Option func(*options)

// options are the settings of a source; zero values stand for the
// defaults, filled in once by newOptions.
type options struct {
	name         string
	follow       bool
	pollInterval time.Duration
	batchSize    int
	logger       *slog.Logger
	leaseTTL     time.Duration
	progress     func(Progress)

	// File sources only.
	deadLetter      string
	stdin           io.Reader
	restartReplaced bool
	rotateWait      time.Duration
}

func newOptions(opts []Option) options {
	o := options{
		pollInterval: DefaultPollInterval, batchSize: DefaultBatchSize, rotateWait: DefaultRotateWait,
		logger: slog.Default(), stdin: os.Stdin, leaseTTL: sync.DefaultLeaseTTL, progress: func(Progress) {},
	}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithName names the source's position in SpiceDB. Default: for a file
// "file:" and its absolute path (StdinName for standard input), for an
// outbox "outbox:" and the DSN's host, port and database. "" keeps the
// default.
func WithName(name string) Option { return func(o *options) { o.name = name } }

// WithFollow keeps the source reading as it grows, like tail -f, until the
// context of Run ends. Without it Run returns at the end of the input.
func WithFollow(follow bool) Option { return func(o *options) { o.follow = follow } }

// WithPollInterval sets how often a followed source is checked for new
// events (DefaultPollInterval); a non-positive d keeps the default.
func WithPollInterval(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.pollInterval = d
		}
	}
}

// WithBatchSize bounds the events applied in one batch (DefaultBatchSize);
// a non-positive n keeps the default.
func WithBatchSize(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.batchSize = n
		}
	}
}

// WithLogger sets where the source logs (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithLeaseTTL sets how long the lease a run holds on its source lasts
// unless renewed (sync.DefaultLeaseTTL); a run renews it every third of
// that. A non-positive d keeps the default.
func WithLeaseTTL(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.leaseTTL = d
		}
	}
}

// WithProgress calls fn with where a run stands: once when it starts,
// after every batch it commits, and once it has caught up (see Progress).
// fn runs on the run's goroutine, between batches, so it should be quick.
func WithProgress(fn func(Progress)) Option {
	return func(o *options) {
		if fn != nil {
			o.progress = fn
		}
	}
}

// WithDeadLetter sets the JSONL file a file source appends bad events to.
// Default: its path and DeadLetterSuffix. "" keeps the default.
func WithDeadLetter(path string) Option { return func(o *options) { o.deadLetter = path } }

// WithStdin sets what a file source of path Stdin reads (default
// os.Stdin).
func WithStdin(r io.Reader) Option {
	return func(o *options) {
		if r != nil {
			o.stdin = r
		}
	}
}

// WithRestartReplaced makes a file source read the file at its path from
// its start when the committed position names another file (the path was
// replaced, or the file truncated or rewritten) that cannot be found to
// finish. The unread rest of that file is then given up; events of the new
// file applied before are skipped as duplicates (within the dedup window).
// Without it such a run stops with an error and changes nothing.
func WithRestartReplaced(restart bool) Option {
	return func(o *options) { o.restartReplaced = restart }
}

// WithRotateWait sets how long a file renamed away from a file source's
// path must have gone unwritten before it counts as finished and the new
// file at the path is read: a writer may append to the old file until it
// reopens the path (DefaultRotateWait). A non-positive d keeps the default.
func WithRotateWait(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.rotateWait = d
		}
	}
}
