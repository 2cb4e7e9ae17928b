package spicedb

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	implv1 "github.com/authzed/spicedb/pkg/proto/impl/v1"
)

// ErrIncomparable is returned by Covers for revisions whose order it does
// not know: those of a datastore other than the in-memory one and
// PostgreSQL, or of two different datastores.
var ErrIncomparable = errors.New("revisions of a datastore whose order is not known here")

// Covers reports whether every write revision b has seen is seen at
// revision a too: a read at a is at least as fresh as b. It knows the
// in-memory datastore's revisions (one total order of integers) and
// PostgreSQL's (transaction snapshots, ordered partially: two snapshots may
// each see a transaction the other does not, and then neither covers the
// other). Any other revision is ErrIncomparable; callers then must not
// assume an order.
func Covers(a, b *v1.ZedToken) (bool, error) {
	ra, err := Revision(a)
	if err != nil {
		return false, err
	}
	rb, err := Revision(b)
	if err != nil {
		return false, err
	}
	if ra == rb {
		return true, nil
	}
	// A PostgreSQL revision is base64 of a message whose first byte is 0x08
	// (field 1, xmin): it starts with "C" and never reads as a number.
	na, errA := strconv.ParseInt(ra, 10, 64)
	nb, errB := strconv.ParseInt(rb, 10, 64)
	if errA == nil && errB == nil {
		return na >= nb, nil
	}
	sa, errA := parseSnapshot(ra)
	sb, errB := parseSnapshot(rb)
	if errA != nil || errB != nil {
		return false, fmt.Errorf("comparing revisions %q and %q: %w", ra, rb, ErrIncomparable)
	}
	return !sa.missesAnyOf(sb), nil
}

// snapshot is a PostgreSQL transaction snapshot: every transaction below
// xmin has settled, none from xmax on has, and xip lists those between
// that were still in progress.
type snapshot struct {
	xmin, xmax uint64
	xip        []uint64 // sorted
}

func parseSnapshot(rev string) (snapshot, error) {
	b, err := base64.StdEncoding.DecodeString(rev)
	if err != nil {
		return snapshot{}, err
	}
	var p implv1.PostgresRevision
	if err := p.UnmarshalVT(b); err != nil {
		return snapshot{}, err
	}
	if p.GetXmin() == 0 {
		return snapshot{}, errors.New("no xmin")
	}
	s := snapshot{xmin: p.GetXmin(), xmax: offset(p.GetXmin(), p.GetRelativeXmax())}
	for _, d := range p.GetRelativeXips() {
		s.xip = append(s.xip, offset(p.GetXmin(), d))
	}
	slices.Sort(s.xip)
	return s, nil
}

// offset is xmin+d, as the snapshot encodes its other transaction ids
// (two's complement wraps the same way for a negative d).
func offset(xmin uint64, d int64) uint64 { return xmin + uint64(d) } //nolint:gosec // G115: the encoding's own arithmetic

// settled tells whether transaction x had ended when s was taken.
func (s snapshot) settled(x uint64) bool {
	if x >= s.xmax {
		return false
	}
	_, inProgress := slices.BinarySearch(s.xip, x)
	return x < s.xmin || !inProgress
}

// missesAnyOf reports whether o knows a transaction to have ended that s
// does not: then a read at s may miss one of o's writes.
func (s snapshot) missesAnyOf(o snapshot) bool {
	for _, x := range s.xip {
		if o.settled(x) {
			return true
		}
	}
	// Transactions from s.xmax up to o.xmax are unknown to s; o has settled
	// any of them it does not list in progress.
	if o.xmax > s.xmax {
		inProgress := 0
		for _, x := range o.xip {
			if x >= s.xmax {
				inProgress++
			}
		}
		if uint64(inProgress) < o.xmax-s.xmax {
			return true
		}
	}
	return false
}
