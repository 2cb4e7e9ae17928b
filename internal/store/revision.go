package store

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/authzed/spicedb/pkg/datastore"
)

// Revision is a commit's position: Unix nanoseconds of the commit, forced
// strictly above the previous commit so it is a monotonic counter that also
// says when it was written (which the GC window and quantization need).
type Revision uint64

var _ datastore.Revision = Revision(0)

func asRevision(r datastore.Revision) Revision {
	switch v := r.(type) {
	case Revision:
		return v
	case nil:
		return 0
	default:
		if r == datastore.NoRevision {
			return 0
		}
		// A revision from another datastore compares as its decimal form.
		p, err := strconv.ParseUint(r.String(), 10, 64)
		if err != nil {
			return 0
		}
		return Revision(p)
	}
}

// Equal reports whether both name the same commit.
func (r Revision) Equal(o datastore.Revision) bool { return r == asRevision(o) }

// GreaterThan reports whether r is later than o.
func (r Revision) GreaterThan(o datastore.Revision) bool { return r > asRevision(o) }

// LessThan reports whether r is earlier than o.
func (r Revision) LessThan(o datastore.Revision) bool { return r < asRevision(o) }

// ByteSortable is true: the big-endian encoding sorts like the number.
func (Revision) ByteSortable() bool { return true }

func (r Revision) String() string { return strconv.FormatUint(uint64(r), 10) }

// Time is when the revision was committed (approximately, see Revision).
func (r Revision) Time() time.Time { return time.Unix(0, fromBits(uint64(r))) }

func (r Revision) bytes() []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(r))
	return b[:]
}

func revisionFromBytes(b []byte) Revision { return Revision(binary.BigEndian.Uint64(b)) }

// ParseRevision parses the decimal form String produces.
func ParseRevision(s string) (Revision, error) {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse revision %q: %w", s, err)
	}
	return Revision(v), nil
}

func revisionForTime(t time.Time) Revision { return Revision(bitsOf(t.UnixNano())) }
