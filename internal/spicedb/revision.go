package spicedb

import (
	"errors"
	"fmt"
	"strconv"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/zedtoken"
)

// MemoryRevision places a zedtoken of the in-memory datastore in that
// datastore's order of revisions: a later revision gives a larger number.
// The in-memory store's revisions are its commits' wall-clock nanoseconds,
// one total order. Use it for the in-memory store only: PostgreSQL's
// revisions are transaction snapshots, ordered only partially, and other
// datastores' revisions mean other things. It refuses any revision that is
// not a plain integer.
func MemoryRevision(zt *v1.ZedToken) (int64, error) {
	if zt.GetToken() == "" {
		return 0, errors.New("ordering a zedtoken: empty")
	}
	d, err := zedtoken.Decode(zt)
	if err != nil {
		return 0, fmt.Errorf("ordering a zedtoken: %w", err)
	}
	rev := d.GetV1().GetRevision()
	n, err := strconv.ParseInt(rev, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("ordering zedtoken revision %q: not an in-memory datastore's revision: %w", rev, err)
	}
	return n, nil
}
