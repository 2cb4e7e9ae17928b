package tree

import (
	"log/slog"
	"time"
)

const (
	// DefaultPageSize is how many placements one read of the initial load
	// asks for: SpiceDB's default limit of a read.
	DefaultPageSize = 1000
	// DefaultRetry is the first wait after a failed load or watch; it
	// doubles up to MaxRetry.
	DefaultRetry = 500 * time.Millisecond
	// MaxRetry bounds the wait between attempts.
	MaxRetry = 10 * time.Second
	// MaxDepth is the deepest chain the index answers; a deeper item is
	// checked the recursive way.
	MaxDepth = 256
)

// Option configures an Index.
type Option func(*Index)

// WithLogger sets where the index reports loads and watch failures.
func WithLogger(l *slog.Logger) Option { return func(x *Index) { x.logger = l } }

// WithPageSize sets how many placements one read of the load asks for.
func WithPageSize(n uint32) Option { return func(x *Index) { x.pageSize = n } }

// WithRetry sets the first wait after a failure.
func WithRetry(d time.Duration) Option { return func(x *Index) { x.retry = d } }
