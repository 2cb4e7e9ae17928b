package sync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/rel"
)

// DefaultLeaseTTL is how long a source's lease lasts unless renewed: a
// writer renews it well within, and one that crashed stops blocking
// `sync position set` this long after its last renewal.
const DefaultLeaseTTL = 30 * time.Second

// leaseIDVersion starts every lease holder's id, so the encoding can change.
const leaseIDVersion = "l1"

// maxLeaseHost bounds the host name kept in a holder's id (SpiceDB bounds
// object ids; host names are far shorter anyway).
const maxLeaseHost = 200

// LeaseHolder names a writer holding a source's lease: the host and process
// it runs as, and a random id telling its runs apart.
type LeaseHolder struct {
	Host string
	PID  int
	// Run is random, one per run, so a run never renews or releases
	// another's lease.
	Run string
}

// NewLeaseHolder is a holder for a run of this process.
func NewLeaseHolder() (LeaseHolder, error) {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return LeaseHolder{}, fmt.Errorf("naming a lease holder: %w", err)
	}
	return LeaseHolder{Host: host, PID: os.Getpid(), Run: hex.EncodeToString(b[:])}, nil
}

// String names the holder for a reader: "host h1 pid 42".
func (h LeaseHolder) String() string {
	return fmt.Sprintf("host %s pid %d", h.Host, h.PID)
}

// id is the holder as a SpiceDB object id: the host escaped, since object
// ids take only letters, digits and _ | - = + /.
func (h LeaseHolder) id() string {
	host := h.Host
	if len(host) > maxLeaseHost {
		host = host[:maxLeaseHost]
	}
	var b strings.Builder
	for i := 0; i < len(host); i++ {
		c := host[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "=%02x", c)
		}
	}
	return strings.Join([]string{leaseIDVersion, b.String(), strconv.Itoa(h.PID), h.Run}, "|")
}

// parseLeaseHolder reads back a holder's id.
func parseLeaseHolder(id string) (LeaseHolder, error) {
	parts := strings.Split(id, "|")
	if len(parts) != 4 || parts[0] != leaseIDVersion {
		return LeaseHolder{}, fmt.Errorf("lease holder %q is not one boxauthz writes", id)
	}
	pid, err := strconv.Atoi(parts[2])
	if err != nil {
		return LeaseHolder{}, fmt.Errorf("lease holder %q: pid %q is not a number", id, parts[2])
	}
	var host strings.Builder
	for s := parts[1]; s != ""; {
		if s[0] != '=' {
			host.WriteByte(s[0])
			s = s[1:]
			continue
		}
		if len(s) < 3 {
			return LeaseHolder{}, fmt.Errorf("lease holder %q: host escape cut short", id)
		}
		c, err := strconv.ParseUint(s[1:3], 16, 8)
		if err != nil {
			return LeaseHolder{}, fmt.Errorf("lease holder %q: host escape %q: %w", id, s[:3], err)
		}
		host.WriteByte(byte(c))
		s = s[3:]
	}
	return LeaseHolder{Host: host.String(), PID: pid, Run: parts[3]}, nil
}

// Lease is a writer's hold on a source, until Expires.
type Lease struct {
	Holder  LeaseHolder
	Expires time.Time
}

func leaseRelationship(source string, h LeaseHolder) *v1.Relationship {
	return &v1.Relationship{
		Resource: rel.RawObject(typeSource, sourceKey(source)),
		Relation: schema.RelationLease,
		Subject:  rel.RawSubject(typeSource, h.id()),
	}
}

// HoldLease takes or renews h's lease on source for ttl (DefaultLeaseTTL
// when not positive) and returns when it ends. A lease does not keep other
// writers out (several writers are correct, only slower); it tells an
// operator about to move the source's position that a writer runs, even
// one with nothing to commit.
func (a *Applier) HoldLease(ctx context.Context, source string, h LeaseHolder, ttl time.Duration) (time.Time, error) {
	if source == "" {
		return time.Time{}, fmt.Errorf("taking a lease: %w", ErrNoSource)
	}
	if ttl <= 0 {
		ttl = DefaultLeaseTTL
	}
	until := a.now().Add(ttl)
	r := rel.WithExpiry(leaseRelationship(source, h), until)
	if _, err := a.client.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{rel.Touch(r)}}); err != nil {
		return time.Time{}, fmt.Errorf("taking the lease of %s for %s: %w", source, h, err)
	}
	return until, nil
}

// ReleaseLease gives h's lease on source back; releasing one not held does
// nothing.
func (a *Applier) ReleaseLease(ctx context.Context, source string, h LeaseHolder) error {
	if _, err := a.client.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: []*v1.RelationshipUpdate{rel.Delete(leaseRelationship(source, h))}}); err != nil {
		return fmt.Errorf("releasing the lease of %s for %s: %w", source, h, err)
	}
	return nil
}

// Leases are the leases on source that have not expired, by this
// Applier's clock: SpiceDB may keep an expired relationship for a while.
func (a *Applier) Leases(ctx context.Context, source string) ([]Lease, error) {
	rs, err := a.store.fetch(ctx, &v1.RelationshipFilter{ResourceType: typeSource, OptionalResourceId: sourceKey(source), OptionalRelation: schema.RelationLease})
	if err != nil {
		return nil, fmt.Errorf("reading the leases of %s: %w", source, err)
	}
	now := a.now()
	var out []Lease
	for _, r := range rs {
		exp := r.GetOptionalExpiresAt()
		if exp == nil || !exp.AsTime().After(now) {
			continue
		}
		h, err := parseLeaseHolder(r.GetSubject().GetObject().GetObjectId())
		if err != nil {
			return nil, fmt.Errorf("reading the leases of %s: %w", source, err)
		}
		out = append(out, Lease{Holder: h, Expires: exp.AsTime()})
	}
	return out, nil
}
