package store

import (
	"log/slog"
	"time"
)

const (
	// DefaultGCWindow is how long old revisions stay readable: SpiceDB's
	// own default for --datastore-gc-window.
	DefaultGCWindow = 24 * time.Hour
	// DefaultGCInterval is how often deleted versions older than the window
	// are removed: SpiceDB's default for --datastore-gc-interval.
	DefaultGCInterval = 3 * time.Minute
	// DefaultRevisionQuantization is SpiceDB's default for
	// --datastore-revision-quantization-interval.
	DefaultRevisionQuantization = 5 * time.Second
	// DefaultWatchBufferLength is SpiceDB's default watch buffer length.
	DefaultWatchBufferLength = 1024
	// DefaultWatchBufferWriteTimeout is how long a slow watcher may block
	// before it is disconnected.
	DefaultWatchBufferWriteTimeout = time.Second
	// DefaultWatchPollInterval bounds how late a watcher notices a commit
	// made by another process sharing nothing but the file (never the case
	// today: bbolt locks the file) or a missed notification.
	DefaultWatchPollInterval = 100 * time.Millisecond
	// DefaultOpenTimeout is how long Open waits for the file lock another
	// process holds.
	DefaultOpenTimeout = 5 * time.Second
)

type config struct {
	gcWindow          time.Duration
	gcInterval        time.Duration
	quantization      time.Duration
	watchBufferLength uint16
	watchWriteTimeout time.Duration
	openTimeout       time.Duration
	noSync            bool
	logger            *slog.Logger
}

func defaultConfig() config {
	return config{
		gcWindow:          DefaultGCWindow,
		gcInterval:        DefaultGCInterval,
		quantization:      DefaultRevisionQuantization,
		watchBufferLength: DefaultWatchBufferLength,
		watchWriteTimeout: DefaultWatchBufferWriteTimeout,
		openTimeout:       DefaultOpenTimeout,
		logger:            slog.Default(),
	}
}

// Option configures Open.
type Option func(*config)

// WithGCWindow sets how long revisions stay readable after they are superseded.
func WithGCWindow(d time.Duration) Option { return func(c *config) { c.gcWindow = d } }

// WithGCInterval sets how often the background collector runs; zero or
// negative disables it.
func WithGCInterval(d time.Duration) Option { return func(c *config) { c.gcInterval = d } }

// WithRevisionQuantization sets the bucket OptimizedRevision rounds down to;
// zero disables rounding.
func WithRevisionQuantization(d time.Duration) Option {
	return func(c *config) { c.quantization = d }
}

// WithWatchBufferLength sets the default number of buffered watch events.
func WithWatchBufferLength(n uint16) Option { return func(c *config) { c.watchBufferLength = n } }

// WithWatchBufferWriteTimeout sets how long a full watch buffer may block.
func WithWatchBufferWriteTimeout(d time.Duration) Option {
	return func(c *config) { c.watchWriteTimeout = d }
}

// WithOpenTimeout sets how long Open waits for the data file lock.
func WithOpenTimeout(d time.Duration) Option { return func(c *config) { c.openTimeout = d } }

// WithNoSync skips fsync on commit: for tests and throwaway stores only,
// since a crash may then lose acknowledged writes.
func WithNoSync() Option { return func(c *config) { c.noSync = true } }

// WithLogger sets the logger for background work.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }
