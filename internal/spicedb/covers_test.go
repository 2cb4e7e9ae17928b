package spicedb_test

import (
	"encoding/base64"
	"errors"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	implv1 "github.com/authzed/spicedb/pkg/proto/impl/v1"
	"github.com/authzed/spicedb/pkg/zedtoken"

	"github.com/boxauthz/boxauthz/internal/spicedb"
)

func token(t *testing.T, rev string) *v1.ZedToken {
	t.Helper()
	zt, err := zedtoken.Encode(&implv1.DecodedZedToken{VersionOneof: &implv1.DecodedZedToken_V1{V1: &implv1.DecodedZedToken_V1ZedToken{Revision: rev}}})
	if err != nil {
		t.Fatal(err)
	}
	return zt
}

// pgRev is a PostgreSQL snapshot revision as SpiceDB encodes it.
func pgRev(t *testing.T, xmin, xmax uint64, xip ...uint64) string {
	t.Helper()
	p := &implv1.PostgresRevision{Xmin: xmin, RelativeXmax: int64(xmax - xmin)}
	for _, x := range xip {
		p.RelativeXips = append(p.RelativeXips, int64(x-xmin))
	}
	b, err := p.MarshalVT()
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func TestCovers(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{"memory: later covers earlier", "200", "100", true},
		{"memory: earlier misses later", "100", "200", false},
		{"memory: equal", "100", "100", true},
		{"pg: equal", pgRev(t, 10, 12, 11), pgRev(t, 10, 12, 11), true},
		{"pg: later covers earlier", pgRev(t, 20, 20), pgRev(t, 10, 12, 11), true},
		{"pg: earlier misses later", pgRev(t, 10, 12, 11), pgRev(t, 20, 20), false},
		{"pg: in progress here, settled there", pgRev(t, 10, 15, 11), pgRev(t, 10, 15), false},
		{"pg: settled here, in progress there", pgRev(t, 10, 15), pgRev(t, 10, 15, 11), true},
		{"pg: concurrent, one way", pgRev(t, 10, 15, 11), pgRev(t, 10, 14, 12), false},
		{"pg: concurrent, other way", pgRev(t, 10, 14, 12), pgRev(t, 10, 15, 11), false},
		{"pg: beyond xmax only in progress there", pgRev(t, 10, 12), pgRev(t, 10, 14, 12, 13), true},
		{"pg: beyond xmax one settled there", pgRev(t, 10, 12), pgRev(t, 10, 14, 13), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := spicedb.Covers(token(t, tt.a), token(t, tt.b))
			if err != nil || got != tt.want {
				t.Fatalf("Covers = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestCoversRefusesUnknownOrders(t *testing.T) {
	for _, pair := range [][2]string{{"5.0000000001", "6.0000000001"}, {"100", pgRev(t, 10, 12)}} {
		if _, err := spicedb.Covers(token(t, pair[0]), token(t, pair[1])); !errors.Is(err, spicedb.ErrIncomparable) {
			t.Errorf("Covers(%q, %q) error %v; want ErrIncomparable", pair[0], pair[1], err)
		}
	}
}
