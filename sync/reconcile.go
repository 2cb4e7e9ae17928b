package sync

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strconv"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/protobuf/proto"

	"github.com/boxauthz/boxauthz/internal/jsonstrict"
	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/sync/event"
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
	// Kept are restrictions SpiceDB holds that the snapshot does not
	// address: left as they are.
	Kept []*v1.Relationship
}

// modelTypes are the object types whose relationships mirror content; sync's
// own bookkeeping (applied events, positions) is left alone.
var modelTypes = []string{schema.TypeUser, schema.TypeEnterprise, schema.TypeGroup, schema.TypeFolder, schema.TypeFile, schema.TypeCollaboration}

// restrictions are the relations that take access away (each one is on the
// subtracted side of an exclusion in schema.zed): trash, invites turned off
// for non-owners, collaboration restricted to the enterprise, and the flags
// that keep admins and service accounts from being acted as. Reconcile
// removes one only where the snapshot states the object and says it is not
// so; everything else is a grant, safe to remove.
var restrictions = map[string][]string{
	schema.TypeFolder: {relTrashed, relInviteOff, relCollabRestr},
	schema.TypeFile:   {relTrashed},
	schema.TypeUser:   {relPrivileged, relServiceAcct},
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
func Reconcile(ctx context.Context, target ReconcileClient, snapshot io.Reader, dryRun bool, logger *slog.Logger) (Drift, error) {
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
		sort.Slice(rs, func(i, j int) bool { return key(rs[i]) < key(rs[j]) })
	}
	if len(d.Kept) > 0 {
		logger.InfoContext(ctx, "kept restrictions the snapshot does not address", "kept", len(d.Kept), "first", RelationshipString(d.Kept[0]))
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
		return &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: r}
	}
	del := func(r *v1.Relationship) *v1.RelationshipUpdate {
		return &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_DELETE, Relationship: r}
	}
	var restrict, revoke, parents, grant, lift []*v1.RelationshipUpdate
	for _, r := range d.Missing {
		switch {
		case isRestriction(r):
			restrict = append(restrict, touch(r))
		case r.GetRelation() == relParent:
			parents = append(parents, touch(r))
		default:
			if h, ok := have[key(r)]; ok {
				revoke = append(revoke, del(h))
			}
			grant = append(grant, touch(r))
		}
	}
	for _, r := range d.Extra {
		switch {
		case isRestriction(r):
			lift = append(lift, del(r))
		case r.GetRelation() == relParent:
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
		k := key(u.GetRelationship())
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

// snapshot is a decoded snapshot: its events in the order they apply, and
// what it says of restrictions.
type snapshot struct {
	events []event.Event
	// addressed holds the restrictions (restrictionKey) the snapshot
	// states, either way.
	addressed map[string]bool
	// ownerless holds the items ("type:id") stated with "owner": null.
	ownerless map[string]bool
}

// relationships applies the snapshot to a private in-memory SpiceDB and
// reads back what it implies.
func (s *snapshot) relationships(ctx context.Context, logger *slog.Logger) (map[string]*v1.Relationship, error) {
	scratchCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	scratch, err := embedded.Start(scratchCtx, embedded.Config{})
	if err != nil {
		return nil, fmt.Errorf("starting a scratch spicedb for the snapshot: %w", err)
	}
	defer scratch.Close()
	if _, err := schema.Ensure(ctx, scratch); err != nil {
		return nil, err
	}
	a := NewApplier(scratch, WithLogger(logger), WithMaxUpdatesPerWrite(maxUpdatesPerWrite))
	for start := 0; start < len(s.events); start += 1000 {
		if _, err := a.Apply(ctx, s.events[start:min(start+1000, len(s.events))]); err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
	}
	want, _, err := readAll(ctx, scratch)
	if err != nil {
		return nil, fmt.Errorf("reading the snapshot's relationships: %w", err)
	}
	for k, r := range want {
		if r.GetRelation() == relOwner && r.GetSubject().GetObject().GetObjectId() == schema.EncodeID(noOwner) &&
			s.ownerless[r.GetResource().GetObjectType()+":"+schema.DecodeID(r.GetResource().GetObjectId())] {
			delete(want, k)
		}
	}
	return want, nil
}

// readSnapshot decodes the snapshot and orders it so every object comes
// after what it refers to: principals, then folders parent first, then files,
// collaborations and links. Folders restricted to their enterprise get the
// setting only after the collaborations, which may predate it (MODEL.md: the
// setting binds new collaborations only), and trash comes last.
func readSnapshot(r io.Reader) (*snapshot, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	s := &snapshot{addressed: map[string]bool{}, ownerless: map[string]bool{}}
	var evs []event.Event
	trashed := map[schema.ItemRef]bool{}
	var trashOrder []schema.ItemRef
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(trimSpace(b)) == 0 {
			continue
		}
		x, err := snapshotExtras(b, line)
		if err != nil {
			return nil, fmt.Errorf("snapshot line %d: %w", line, err)
		}
		ev, err := event.DecodeEvent(x.line, line)
		if err != nil {
			return nil, fmt.Errorf("snapshot line %d: %w", line, err)
		}
		if v := ev.Type.Verb(); v != "created" && v != "updated" {
			return nil, fmt.Errorf("snapshot line %d: %s: a snapshot states current objects (*.created or *.updated; trash as \"trashed\": true on the item's line)", line, ev.Type)
		}
		// A restriction is addressed by a field given, either way.
		address := func(typ, id, relation, field string) {
			if x.present[field] {
				s.addressed[restrictionKey(typ, id, relation)] = true
			}
		}
		switch obj := ev.Type.Object(); obj {
		case schema.TypeFolder, schema.TypeFile:
			id := ""
			if ev.Folder != nil {
				id = ev.Folder.ID
			} else {
				id = ev.File.ID
			}
			if x.trashed != nil {
				it := schema.ItemRef{Type: obj, ID: id}
				if _, seen := trashed[it]; !seen {
					trashOrder = append(trashOrder, it)
				}
				trashed[it] = *x.trashed
			}
			address(obj, id, relTrashed, "trashed")
			address(obj, id, relInviteOff, "can_non_owners_invite")
			address(obj, id, relCollabRestr, "is_collaboration_restricted_to_enterprise")
			if x.ownerless {
				s.ownerless[obj+":"+id] = true
			}
		case schema.TypeUser:
			// role says whether the user is privileged (an admin or
			// co-admin).
			address(obj, ev.User.ID, relPrivileged, "role")
			address(obj, ev.User.ID, relServiceAcct, "is_service_account")
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
	var restricted []event.Event
	for i, e := range evs {
		if e.Folder != nil && e.Folder.IsCollaborationRestrictedToEnterprise {
			restricted = append(restricted, e)
			f := *e.Folder
			f.IsCollaborationRestrictedToEnterprise = false
			evs[i].Folder = &f
		}
	}
	evs = append(evs, restricted...)
	for _, it := range trashOrder {
		if !trashed[it] {
			continue
		}
		e := event.Event{ID: it.Type + "-trash", Type: event.EventType(it.Type + ".trashed")}
		if it.Type == schema.TypeFolder {
			e.Folder = &event.Folder{ID: it.ID}
		} else {
			e.File = &event.File{ID: it.ID}
		}
		evs = append(evs, e)
	}
	// Snapshot lines need no ids of their own: number them.
	for i := range evs {
		evs[i].ID = fmt.Sprintf("snapshot-%d-%s", i, evs[i].ID)
	}
	s.events = evs
	return s, nil
}

// extras is what a snapshot line says beyond an event of EVENTS.md.
type extras struct {
	line      []byte          // the line as an event, the extras taken out
	present   map[string]bool // the payload's fields given, not null
	trashed   *bool           // folder, file: "trashed", when given
	ownerless bool            // folder, file: "owner": null
}

// snapshotExtras reads the fields a snapshot line may carry that an event
// may not: "trashed" (true or false) on a folder or file, and "owner": null
// for an item without an owner. It also tells which payload fields the line
// gives, since a restriction is addressed only by a field given. A line that
// is not a JSON object, or not of a folder or file, goes on as it is: the
// event decoder names what is wrong with it.
func snapshotExtras(b []byte, line int) (extras, error) {
	x := extras{line: b, present: map[string]bool{}}
	top, ok := jsonMembers(b)
	if !ok {
		return x, nil
	}
	var id, typ string
	for _, m := range top {
		switch m.key {
		case "id":
			_ = json.Unmarshal(m.val, &id)
		case "type":
			_ = json.Unmarshal(m.val, &typ)
		}
	}
	obj := event.EventType(typ).Object()
	pi := -1
	for i, m := range top {
		if m.key == obj {
			pi = i
		}
	}
	if pi < 0 {
		return x, nil
	}
	payload, ok := jsonMembers(top[pi].val)
	if !ok {
		return x, nil
	}
	for _, m := range payload {
		x.present[m.key] = jsonstrict.Kind(m.val) != "null"
	}
	if obj != schema.TypeFolder && obj != schema.TypeFile {
		return x, nil
	}
	bad := func(field, format string, args ...any) error {
		return &event.EventError{Index: line, EventID: id, Field: obj + "." + field, Reason: fmt.Sprintf(format, args...)}
	}
	var kept []jsonMember
	seen := map[string]bool{}
	for _, m := range payload {
		switch m.key {
		case "trashed":
			if seen[m.key] {
				return x, bad("trashed", "field appears twice")
			}
			switch k := jsonstrict.Kind(m.val); k {
			case "boolean":
				v := string(bytes.TrimSpace(m.val)) == "true"
				x.trashed = &v
			case "null": // absent: the line does not address the trash
			default:
				return x, bad("trashed", "want true or false (whether the %s is in the trash), got %s", obj, k)
			}
			seen[m.key] = true
			continue
		case "owner":
			if jsonstrict.Kind(m.val) == "null" && !seen[m.key] {
				x.ownerless = true
				m.val = json.RawMessage(strconv.Quote(noOwner))
			}
		}
		seen[m.key] = true
		kept = append(kept, m)
	}
	top[pi].val = jsonObject(kept)
	x.line = jsonObject(top)
	return x, nil
}

// jsonMember is one member of a JSON object, as written.
type jsonMember struct {
	key string
	val json.RawMessage
}

// jsonMembers reads a JSON object's members in order, repeats included (the
// event decoder refuses those); ok is false for anything but one object.
func jsonMembers(b []byte) ([]jsonMember, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var ms []jsonMember
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		k, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		ms = append(ms, jsonMember{key: k, val: v})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, false
	}
	if len(bytes.TrimSpace(b[dec.InputOffset():])) > 0 {
		return nil, false
	}
	return ms, true
}

func jsonObject(ms []jsonMember) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(m.val)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	return b
}

// readAll reads every model relationship c holds, by key, and apart from
// them each user's token session relationships, by user object id.
func readAll(ctx context.Context, c Reader) (map[string]*v1.Relationship, map[string][]*v1.Relationship, error) {
	out := map[string]*v1.Relationship{}
	sessions := map[string][]*v1.Relationship{}
	for _, typ := range modelTypes {
		rs, _, err := spicedb.ReadAll(ctx, c, &v1.ReadRelationshipsRequest{
			Consistency:        &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}},
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
			out[key(r)] = r
		}
	}
	return out, sessions, nil
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
func endedSessions(d Drift, sessions map[string][]*v1.Relationship) []*v1.RelationshipUpdate {
	users := map[string]bool{}
	for _, r := range d.Extra {
		if r.GetResource().GetObjectType() == schema.TypeUser && (r.GetRelation() == relExists || r.GetRelation() == relEnterprise) {
			users[r.GetResource().GetObjectId()] = true
		}
	}
	var ups []*v1.RelationshipUpdate
	for u := range users {
		ids := []string{schema.LegacyUserSessionID(schema.DecodeID(u))}
		for _, r := range sessions[u] {
			ids = append(ids, r.GetSubject().GetObject().GetObjectId())
			ups = append(ups, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_DELETE, Relationship: r})
		}
		for _, id := range ids {
			ups = append(ups, &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_DELETE, Relationship: sessionLive(id)})
		}
	}
	return ups
}
