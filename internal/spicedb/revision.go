package spicedb

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	implv1 "github.com/authzed/spicedb/pkg/proto/impl/v1"
)

// Revision returns the datastore revision a ZedToken carries, or an error
// when the token is not one SpiceDB gives out. A ZedToken is base64 of
// SpiceDB's DecodedZedToken message; decoding it here needs only that
// message, not SpiceDB's datastore packages, which would link the whole
// server into every client.
func Revision(zt *v1.ZedToken) (string, error) {
	if zt.GetToken() == "" {
		return "", errors.New("decoding a zedtoken: empty")
	}
	b, err := base64.StdEncoding.DecodeString(zt.GetToken())
	if err != nil {
		return "", fmt.Errorf("decoding a zedtoken: %w", err)
	}
	var d implv1.DecodedZedToken
	if err := d.UnmarshalVT(b); err != nil {
		return "", fmt.Errorf("decoding a zedtoken: %w", err)
	}
	if rev := d.GetV1().GetRevision(); rev != "" {
		return rev, nil
	}
	if z := d.GetDeprecatedV1Zookie(); z != nil {
		return strconv.FormatUint(z.GetRevision(), 10), nil
	}
	return "", errors.New("decoding a zedtoken: no revision in it")
}

// MemoryRevision places a zedtoken of the in-memory datastore in that
// datastore's order of revisions: a later revision gives a larger number.
// The in-memory store's revisions are its commits' wall-clock nanoseconds,
// one total order. Use it for the in-memory store only: PostgreSQL's
// revisions are transaction snapshots, ordered only partially, and other
// datastores' revisions mean other things. It refuses any revision that is
// not a plain integer.
func MemoryRevision(zt *v1.ZedToken) (int64, error) {
	rev, err := Revision(zt)
	if err != nil {
		return 0, fmt.Errorf("ordering a zedtoken: %w", err)
	}
	n, err := strconv.ParseInt(rev, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("ordering zedtoken revision %q: not an in-memory datastore's revision: %w", rev, err)
	}
	return n, nil
}
