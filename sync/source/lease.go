package source

import (
	"context"
	"time"

	"github.com/boxauthz/boxauthz/sync"
)

// minLeaseRenewal bounds how often a lease is renewed, whatever its TTL.
const minLeaseRenewal = 10 * time.Millisecond

// leaseReleaseTimeout bounds giving the lease back once a run ends, which
// goes on after the run's context ends (a clean shutdown cancels it).
const leaseReleaseTimeout = 5 * time.Second

// holdLease takes the source's lease for a run and renews it every third
// of its TTL until release, which gives it back. A renewal that fails is
// logged and tried again at the next tick: the lease only informs
// operators, and the position's compare-and-set still guards the writes.
func holdLease(ctx context.Context, a *sync.Applier, name string, o *options) (release func(), err error) {
	h, err := sync.NewLeaseHolder()
	if err != nil {
		return nil, err
	}
	until, err := a.HoldLease(ctx, name, h, o.leaseTTL)
	if err != nil {
		return nil, err
	}
	o.logger.DebugContext(ctx, "holding the source's lease", "source", name, "holder", h.String(), "until", until)
	stop := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(max(o.leaseTTL/3, minLeaseRenewal))
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := a.HoldLease(ctx, name, h, o.leaseTTL); err != nil && ctx.Err() == nil {
				o.logger.WarnContext(ctx, "renewing the source's lease failed; retrying", "source", name, "holder", h.String(), "error", err)
			}
		}
	}()
	return func() {
		close(stop)
		<-stopped
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaseReleaseTimeout)
		defer cancel()
		if err := a.ReleaseLease(rctx, name, h); err != nil {
			o.logger.WarnContext(ctx, "releasing the source's lease failed; it expires by itself", "source", name, "holder", h.String(), "error", err)
		}
	}, nil
}
