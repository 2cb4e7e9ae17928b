package reconcile

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/proto"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/rel"
	"github.com/boxauthz/boxauthz/sync"
)

// Client is what Reconcile needs of the SpiceDB it repairs.
type Client interface {
	sync.Client
}

// Drift is the difference between a snapshot and what SpiceDB holds.
type Drift struct {
	// Missing relationships the snapshot implies and SpiceDB lacks (or holds
	// with another caveat or expiry); Extra ones SpiceDB holds and the
	// snapshot does not imply.
	Missing, Extra []*v1.Relationship
	// Kept are restrictions SpiceDB holds that the snapshot does not
	// address: left as they are.
	Kept []*v1.Relationship
}

// restrictions are the relations that take access away (each one is on the
// subtracted side of an exclusion in schema.zed): trash, invites turned off
// for non-owners, collaboration restricted to the enterprise, and the flags
// that keep admins and service accounts from being acted as. Reconcile
// removes one only where the snapshot states the object and says it is not
// so; everything else is a grant, safe to remove.
var restrictions = map[string][]string{
	schema.TypeFolder: {schema.RelationTrashed, schema.RelationInviteOff, schema.RelationCollaborationRestricted},
	schema.TypeFile:   {schema.RelationTrashed},
	schema.TypeUser:   {schema.RelationPrivileged, schema.RelationServiceAccount},
}

func isRestriction(r *v1.Relationship) bool {
	return slices.Contains(restrictions[r.GetResource().GetObjectType()], r.GetRelation())
}

// restrictionKey names one restriction of one object, as snapshot lines
// address it.
func restrictionKey(typ, id, relation string) string {
	return typ + ":" + schema.EncodeID(id) + "#" + relation
}

// noOwner stands in, while the snapshot is applied, for the owner of an item
// the snapshot says has none ("owner": null); its owner relationship is then
// dropped. Any valid id would do: only the items stated ownerless lose it.
const noOwner = "boxauthz-snapshot-no-owner"

// maxUpdatesPerWrite is SpiceDB's default bound on one WriteRelationships.
const maxUpdatesPerWrite = 1000

// Reconcile repairs drift from any cause: it builds the relationships a
// snapshot of every current object implies (JSONL, one whole-state event per
// object: user, group, membership, folder, file, collaboration and shared
// link events of type *.created or *.updated, in any order; a folder or file
// line may also say "trashed": true or false, and "owner": null for an item
// whose owner was deleted), compares them with what target holds, and unless
// dryRun writes the difference. The snapshot is translated by the same code
// as live events, in a private in-memory SpiceDB, so both agree exactly.
//
// A restriction (trash, a folder's invite and collaboration settings, a
// user's privileged and service-account flags) that SpiceDB holds and the
// snapshot does not address, because the object is not in it or its line
// leaves the field out, is kept and reported in Drift.Kept: a snapshot that
// cannot say an item is in the trash must not take it out.
func Reconcile(ctx context.Context, target Client, snapshot io.Reader, dryRun bool, logger *slog.Logger) (Drift, error) {
	var d Drift
	snap, err := readSnapshot(snapshot)
	if err != nil {
		return d, err
	}
	want, err := snap.relationships(ctx, logger)
	if err != nil {
		return d, err
	}
	have, sessions, err := readAll(ctx, target)
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
		if _, ok := want[k]; ok {
			continue
		}
		if isRestriction(h) && !snap.addressed[restrictionKey(h.GetResource().GetObjectType(), schema.DecodeID(h.GetResource().GetObjectId()), h.GetRelation())] {
			d.Kept = append(d.Kept, h)
			continue
		}
		d.Extra = append(d.Extra, h)
	}
	for _, rs := range [][]*v1.Relationship{d.Missing, d.Extra, d.Kept} {
		sort.Slice(rs, func(i, j int) bool { return rel.Key(rs[i]) < rel.Key(rs[j]) })
	}
	if len(d.Kept) > 0 {
		logger.InfoContext(ctx, "kept restrictions the snapshot does not address", "kept", len(d.Kept), "first", rel.String(d.Kept[0]))
	}
	if dryRun || len(d.Missing)+len(d.Extra) == 0 {
		return d, nil
	}
	ended := endedSessions(d, sessions)
	writes := repairWrites(d, have, ended, maxUpdatesPerWrite)
	for i, w := range writes {
		if _, err := target.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: w}); err != nil {
			return d, fmt.Errorf("writing the repair (write %d of %d): %w", i+1, len(writes), err)
		}
	}
	// Every update changes something, so the last one shows the repair.
	last := writes[len(writes)-1]
	if err := spicedb.Settle(ctx, target, last[len(last)-1]); err != nil {
		return d, fmt.Errorf("confirming the repair: %w", err)
	}
	logger.InfoContext(ctx, "reconciled", "missing", len(d.Missing), "extra", len(d.Extra), "kept", len(d.Kept), "writes", len(writes))
	return d, nil
}

// repairWrites orders the repair and cuts it into writes of at most limit
// updates. A large repair is not one transaction, so every write in between
// must leave access no wider than before the repair or after it:
//
//  1. restrictions the snapshot adds,
//  2. grants removed, and grants whose caveat or expiry changes removed too
//     (put back in 4), with the token sessions of removed or moved users;
//  3. parents changed, all in one write when they fit: a parent carries
//     grants down and restrictions down at once, so a move half written
//     could join an old grant to a new path;
//  4. grants added;
//  5. restrictions removed, last, once nothing they guard is left.
//
// Between 1 and 5 the restrictions are those of both states. Until 3 the
// grants and parents are a subset of the old ones, and from 3 on of the new
// ones, so access stays within the old state's, then within the new state's.
func repairWrites(d Drift, have map[string]*v1.Relationship, ended []*v1.RelationshipUpdate, limit int) [][]*v1.RelationshipUpdate {
	touch := func(r *v1.Relationship) *v1.RelationshipUpdate {
		return rel.Touch(r)
	}
	del := func(r *v1.Relationship) *v1.RelationshipUpdate {
		return rel.Delete(r)
	}
	var restrict, revoke, parents, grant, lift []*v1.RelationshipUpdate
	for _, r := range d.Missing {
		switch {
		case isRestriction(r):
			restrict = append(restrict, touch(r))
		case r.GetRelation() == schema.RelationParent || r.GetRelation() == schema.RelationPlacement:
			// A placement changes with its parent, in the same write.
			parents = append(parents, touch(r))
		default:
			if h, ok := have[rel.Key(r)]; ok {
				revoke = append(revoke, del(h))
			}
			grant = append(grant, touch(r))
		}
	}
	for _, r := range d.Extra {
		switch {
		case isRestriction(r):
			lift = append(lift, del(r))
		case r.GetRelation() == schema.RelationParent || r.GetRelation() == schema.RelationPlacement:
			parents = append(parents, del(r))
		default:
			revoke = append(revoke, del(r))
		}
	}
	revoke = append(revoke, ended...)

	var writes [][]*v1.RelationshipUpdate
	var cur []*v1.RelationshipUpdate
	at := map[string]int{} // key -> index in cur
	flush := func() {
		if len(cur) > 0 {
			writes = append(writes, cur)
		}
		cur, at = nil, map[string]int{}
	}
	add := func(u *v1.RelationshipUpdate) {
		k := rel.Key(u.GetRelationship())
		if i, ok := at[k]; ok {
			// A grant removed and put back with a new caveat in the same
			// write: one touch replaces it in one transaction, and SpiceDB
			// refuses two updates of one relationship in a write.
			cur[i] = u
			return
		}
		if len(cur) == limit {
			flush()
		}
		at[k] = len(cur)
		cur = append(cur, u)
	}
	for _, u := range restrict {
		add(u)
	}
	for _, u := range revoke {
		add(u)
	}
	if len(parents) <= limit && len(cur)+len(parents) > limit {
		flush()
	}
	for _, u := range parents {
		add(u)
	}
	for _, u := range grant {
		add(u)
	}
	for _, u := range lift {
		add(u)
	}
	flush()
	return writes
}

// readAll reads every model relationship c holds, by key, and apart from
// them each user's token session relationships, by user object id.
func readAll(ctx context.Context, c sync.Reader) (map[string]*v1.Relationship, map[string][]*v1.Relationship, error) {
	out := map[string]*v1.Relationship{}
	sessions := map[string][]*v1.Relationship{}
	for _, typ := range sync.ModelTypes() {
		rs, _, err := spicedb.ReadAll(ctx, c, &v1.ReadRelationshipsRequest{
			Consistency:        rel.FullyConsistent(),
			RelationshipFilter: &v1.RelationshipFilter{ResourceType: typ},
		})
		if err != nil {
			return nil, nil, err
		}
		for _, r := range rs {
			if r.GetRelation() == schema.RelationTokenSession {
				// Sync's bookkeeping of the user's tokens, not content: a
				// snapshot names none, and the one in SpiceDB stays.
				u := r.GetResource().GetObjectId()
				sessions[u] = append(sessions[u], r)
				continue
			}
			out[rel.Key(r)] = r
		}
	}
	return out, sessions, nil
}

func sameDetails(a, b *v1.Relationship) bool {
	return proto.Equal(a.GetOptionalCaveat(), b.GetOptionalCaveat()) && proto.Equal(a.GetOptionalExpiresAt(), b.GetOptionalExpiresAt())
}

// endedSessions ends the token sessions of every user the repair removes or
// moves to another enterprise (docs/model.md §6), as sync does for user.deleted
// and a move: a drift repair must not leave their tokens working.
func endedSessions(d Drift, sessions map[string][]*v1.Relationship) []*v1.RelationshipUpdate {
	users := map[string]bool{}
	for _, r := range d.Extra {
		if r.GetResource().GetObjectType() == schema.TypeUser && (r.GetRelation() == schema.RelationExists || r.GetRelation() == schema.RelationEnterprise) {
			users[r.GetResource().GetObjectId()] = true
		}
	}
	var ups []*v1.RelationshipUpdate
	for u := range users {
		ids := []string{schema.LegacyUserSessionID(schema.DecodeID(u))}
		for _, r := range sessions[u] {
			ids = append(ids, r.GetSubject().GetObject().GetObjectId())
			ups = append(ups, rel.Delete(r))
		}
		for _, id := range ids {
			ups = append(ups, rel.Delete(sync.SessionLive(id)))
		}
	}
	return ups
}
