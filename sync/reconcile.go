package sync

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/proto"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/schema"
)

// ReconcileClient is what Reconcile needs of the SpiceDB it repairs.
type ReconcileClient interface {
	Client
}

// Drift is the difference between a snapshot and what SpiceDB holds.
type Drift struct {
	// Missing relationships the snapshot implies and SpiceDB lacks (or holds
	// with another caveat or expiry); Extra ones SpiceDB holds and the
	// snapshot does not imply.
	Missing, Extra []*v1.Relationship
}

// modelTypes are the object types whose relationships mirror content; sync's
// own bookkeeping (applied events, positions) is left alone.
var modelTypes = []string{schema.TypeUser, schema.TypeEnterprise, schema.TypeGroup, schema.TypeFolder, schema.TypeFile, schema.TypeCollaboration}

// Reconcile repairs drift from any cause: it builds the relationships a
// snapshot of every current object implies (JSONL, one whole-state event per
// object: user, group, membership, folder, file, collaboration and shared
// link events of type *.created or *.updated, in any order), compares them
// with what target holds, and unless dryRun writes the difference. The
// snapshot is translated by the same code as live events, in a private
// in-memory SpiceDB, so both agree exactly.
func Reconcile(ctx context.Context, target ReconcileClient, snapshot io.Reader, dryRun bool, logger *slog.Logger) (Drift, error) {
	var d Drift
	evs, err := readSnapshot(snapshot)
	if err != nil {
		return d, err
	}
	scratchCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	scratch, err := spicedb.StartEmbedded(scratchCtx, spicedb.EmbeddedConfig{})
	if err != nil {
		return d, fmt.Errorf("starting a scratch spicedb for the snapshot: %w", err)
	}
	defer scratch.Close()
	if _, err := schema.Ensure(ctx, scratch); err != nil {
		return d, err
	}
	a := NewApplier(scratch, WithLogger(logger), WithMaxUpdatesPerWrite(1000))
	for start := 0; start < len(evs); start += 1000 {
		if _, err := a.Apply(ctx, evs[start:min(start+1000, len(evs))]); err != nil {
			return d, fmt.Errorf("snapshot: %w", err)
		}
	}
	want, err := readAll(ctx, scratch)
	if err != nil {
		return d, fmt.Errorf("reading the snapshot's relationships: %w", err)
	}
	have, err := readAll(ctx, target)
	if err != nil {
		return d, fmt.Errorf("reading spicedb's relationships: %w", err)
	}
	for k, w := range want {
		h, ok := have[k]
		if !ok || !sameDetails(h, w) {
			d.Missing = append(d.Missing, w)
		}
	}
	for k, h := range have {
		if _, ok := want[k]; !ok {
			d.Extra = append(d.Extra, h)
		}
	}
	sort.Slice(d.Missing, func(i, j int) bool { return key(d.Missing[i]) < key(d.Missing[j]) })
	sort.Slice(d.Extra, func(i, j int) bool { return key(d.Extra[i]) < key(d.Extra[j]) })
	if dryRun || len(d.Missing)+len(d.Extra) == 0 {
		return d, nil
	}
	var ups []*v1.RelationshipUpdate
	for _, r := range d.Extra {
		ups = append(ups, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_DELETE, Relationship: r})
	}
	ended, err := endedSessions(ctx, target, d)
	if err != nil {
		return d, err
	}
	ups = append(ups, ended...)
	for _, r := range d.Missing {
		ups = append(ups, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: r})
	}
	for start := 0; start < len(ups); start += 1000 {
		if _, err := target.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: ups[start:min(start+1000, len(ups))]}); err != nil {
			return d, fmt.Errorf("writing the repair: %w", err)
		}
	}
	// Every update changes something, so the last one shows the repair.
	if err := spicedb.Settle(ctx, target, ups[len(ups)-1]); err != nil {
		return d, fmt.Errorf("confirming the repair: %w", err)
	}
	logger.InfoContext(ctx, "reconciled", "missing", len(d.Missing), "extra", len(d.Extra))
	return d, nil
}

// readSnapshot decodes the snapshot and orders it so every object comes
// after what it refers to: principals, then folders parent first, then files,
// collaborations and links.
func readSnapshot(r io.Reader) ([]Event, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var evs []Event
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(trimSpace(b)) == 0 {
			continue
		}
		ev, err := DecodeEvent(b, line)
		if err != nil {
			return nil, fmt.Errorf("snapshot line %d: %w", line, err)
		}
		if v := ev.Type.Verb(); v != "created" && v != "updated" {
			return nil, fmt.Errorf("snapshot line %d: %s: a snapshot states current objects (*.created or *.updated)", line, ev.Type)
		}
		evs = append(evs, ev)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading snapshot: %w", err)
	}
	rank := map[string]int{"user": 0, "group": 1, "group_membership": 2, "folder": 3, "file": 4, "collaboration": 5, "shared_link": 6}
	depth := map[string]int{}
	parent := map[string]string{}
	for _, e := range evs {
		if e.Folder != nil {
			parent[e.Folder.ID] = e.Folder.Parent
		}
	}
	var depthOf func(id string, n int) int
	depthOf = func(id string, n int) int {
		if d, ok := depth[id]; ok {
			return d
		}
		p, ok := parent[id]
		if !ok || p == schema.RootID || n > len(parent) {
			return 0
		}
		d := depthOf(p, n+1) + 1
		depth[id] = d
		return d
	}
	sort.SliceStable(evs, func(i, j int) bool {
		ri, rj := rank[evs[i].Type.Object()], rank[evs[j].Type.Object()]
		if ri != rj {
			return ri < rj
		}
		if evs[i].Folder != nil && evs[j].Folder != nil {
			return depthOf(evs[i].Folder.ID, 0) < depthOf(evs[j].Folder.ID, 0)
		}
		return false
	})
	// Snapshot lines need no ids of their own: number them.
	for i := range evs {
		evs[i].ID = fmt.Sprintf("snapshot-%d-%s", i, evs[i].ID)
	}
	return evs, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	return b
}

func readAll(ctx context.Context, c Reader) (map[string]*v1.Relationship, error) {
	out := map[string]*v1.Relationship{}
	for _, typ := range modelTypes {
		rs, _, err := spicedb.ReadAll(ctx, c, &v1.ReadRelationshipsRequest{
			Consistency:        &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
			RelationshipFilter: &v1.RelationshipFilter{ResourceType: typ},
		})
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			if r.GetRelation() == schema.RelationTokenSession {
				// Sync's bookkeeping of the user's tokens, not content: a
				// snapshot names none, and the one in SpiceDB stays.
				continue
			}
			out[key(r)] = r
		}
	}
	return out, nil
}

func sameDetails(a, b *v1.Relationship) bool {
	return proto.Equal(a.GetOptionalCaveat(), b.GetOptionalCaveat()) && proto.Equal(a.GetOptionalExpiresAt(), b.GetOptionalExpiresAt())
}

// String renders a relationship as zed does, for --dry-run output.
func RelationshipString(r *v1.Relationship) string {
	s := key(r)
	if c := r.GetOptionalCaveat(); c != nil {
		s += "[" + c.GetCaveatName() + "]"
	}
	return s
}

// endedSessions ends the token sessions of every user the repair removes or
// moves to another enterprise (MODEL.md §6), as sync does for user.deleted
// and a move: a drift repair must not leave their tokens working.
func endedSessions(ctx context.Context, target Reader, d Drift) ([]*v1.RelationshipUpdate, error) {
	users := map[string]bool{}
	for _, r := range d.Extra {
		if r.GetResource().GetObjectType() == schema.TypeUser && (r.GetRelation() == "exists" || r.GetRelation() == relEnterprise) {
			users[r.GetResource().GetObjectId()] = true
		}
	}
	var ups []*v1.RelationshipUpdate
	for u := range users {
		rs, _, err := spicedb.ReadAll(ctx, target, &v1.ReadRelationshipsRequest{
			Consistency: &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
			RelationshipFilter: &v1.RelationshipFilter{ResourceType: schema.TypeUser, OptionalResourceId: u,
				OptionalRelation: schema.RelationTokenSession},
		})
		if err != nil {
			return nil, fmt.Errorf("reading the token sessions of user %q: %w", schema.DecodeID(u), err)
		}
		ids := []string{schema.LegacyUserSessionID(schema.DecodeID(u))}
		for _, r := range rs {
			ids = append(ids, r.GetSubject().GetObject().GetObjectId())
			ups = append(ups, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_DELETE, Relationship: r})
		}
		for _, id := range ids {
			ups = append(ups, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_DELETE, Relationship: sessionLive(id)})
		}
	}
	return ups, nil
}
