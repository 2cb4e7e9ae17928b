package source

import (
	"context"
	"errors"
	"os"
	"testing"
)

// TestOutboxReadCutShortIsACancellation: when a run is stopped mid-read the
// driver may fail the read as an I/O timeout; the run must still end with
// the cancellation, not an error an operator would chase.
func TestOutboxReadCutShortIsACancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	timeout := os.ErrDeadlineExceeded
	if err := readFailed(ctx, timeout); !errors.Is(err, context.Canceled) {
		t.Fatalf("stopped run: %v; want context.Canceled", err)
	}
	if err := readFailed(context.Background(), timeout); !errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.Canceled) {
		t.Fatalf("running: %v; want the timeout itself", err)
	}
}
