package sync_test

import (
	"context"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/sync"
)

func TestLeases(t *testing.T) {
	for _, ds := range testenv.Datastores() {
		t.Run(string(ds), func(t *testing.T) {
			ctx := context.Background()
			c := testenv.SpiceDB(t, ds)
			a := sync.NewApplier(c)
			const src = "file:/tmp/lease.jsonl"
			if ls, err := a.Leases(ctx, src); err != nil || len(ls) != 0 {
				t.Fatalf("leases of a source nobody writes: %v (%v)", ls, err)
			}
			// A host name with characters SpiceDB ids do not take.
			h := sync.LeaseHolder{Host: "db-1.example.com@x=y|z", PID: 4242, Run: "r1"}
			until, err := a.HoldLease(ctx, src, h, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			other := sync.LeaseHolder{Host: "other", PID: 7, Run: "r2"}
			if _, err := a.HoldLease(ctx, src, other, time.Minute); err != nil {
				t.Fatal(err)
			}
			ls, err := a.Leases(ctx, src)
			if err != nil || len(ls) != 2 {
				t.Fatalf("leases = %v (%v), want both holders", ls, err)
			}
			var got sync.Lease
			for _, l := range ls {
				if l.Holder.Run == "r1" {
					got = l
				}
			}
			if got.Holder != h || got.Expires.Sub(until).Abs() > time.Millisecond {
				t.Fatalf("lease %+v, want %+v until %s", got, h, until)
			}
			if s := got.Holder.String(); s != "host db-1.example.com@x=y|z pid 4242" {
				t.Errorf("holder reads %q", s)
			}
			if ls, _ := a.Leases(ctx, "file:/tmp/another"); len(ls) != 0 {
				t.Errorf("another source's leases: %v", ls)
			}
			// Renewing moves the end; releasing ends only the holder's own.
			later, err := a.HoldLease(ctx, src, h, 2*time.Minute)
			if err != nil || !later.After(until) {
				t.Fatalf("renewed until %s (%v), want after %s", later, err, until)
			}
			if err := a.ReleaseLease(ctx, src, other); err != nil {
				t.Fatal(err)
			}
			if err := a.ReleaseLease(ctx, src, other); err != nil {
				t.Fatalf("releasing twice: %v", err)
			}
			if ls, err := a.Leases(ctx, src); err != nil || len(ls) != 1 || ls[0].Holder != h {
				t.Fatalf("leases after a release = %v (%v), want %v's alone", ls, err, h)
			}
			// Past its end a lease no longer counts, by the reader's clock.
			future := sync.NewApplier(c, sync.WithClock(func() time.Time { return time.Now().Add(3 * time.Minute) }))
			if ls, err := future.Leases(ctx, src); err != nil || len(ls) != 0 {
				t.Fatalf("leases 3 minutes on = %v (%v), want none", ls, err)
			}
		})
	}
}

// A lease not renewed ends by itself, on SpiceDB's clock as on ours.
func TestLeaseExpires(t *testing.T) {
	ctx := context.Background()
	a := sync.NewApplier(testenv.SpiceDB(t, testenv.Memory))
	h, err := sync.NewLeaseHolder()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.HoldLease(ctx, "stdin", h, time.Second); err != nil {
		t.Fatal(err)
	}
	if ls, err := a.Leases(ctx, "stdin"); err != nil || len(ls) != 1 || ls[0].Holder != h {
		t.Fatalf("leases = %v (%v), want %v", ls, err, h)
	}
	time.Sleep(1500 * time.Millisecond)
	if ls, err := a.Leases(ctx, "stdin"); err != nil || len(ls) != 0 {
		t.Fatalf("leases past the ttl = %v (%v), want none", ls, err)
	}
}
