package reconcile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/internal/jsonstrict"
	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/upgrade"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/event"
)

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
	scratch, err := embedded.Start(scratchCtx)
	if err != nil {
		return nil, fmt.Errorf("starting a scratch spicedb for the snapshot: %w", err)
	}
	defer scratch.Close()
	if _, err := upgrade.Ensure(ctx, scratch); err != nil {
		return nil, err
	}
	a := sync.NewApplier(scratch, sync.WithLogger(logger), sync.WithMaxUpdatesPerWrite(maxUpdatesPerWrite))
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
		if r.GetRelation() == schema.RelationOwner && r.GetSubject().GetObject().GetObjectId() == schema.EncodeID(noOwner) &&
			s.ownerless[r.GetResource().GetObjectType()+":"+schema.DecodeID(r.GetResource().GetObjectId())] {
			delete(want, k)
		}
	}
	return want, nil
}

// readSnapshot decodes the snapshot and orders it (order).
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
			var id string
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
			address(obj, id, schema.RelationTrashed, "trashed")
			address(obj, id, schema.RelationInviteOff, "can_non_owners_invite")
			address(obj, id, schema.RelationCollaborationRestricted, "is_collaboration_restricted_to_enterprise")
			if x.ownerless {
				s.ownerless[obj+":"+id] = true
			}
		case schema.TypeUser:
			// role says whether the user is privileged (an admin or
			// co-admin).
			address(obj, ev.User.ID, schema.RelationPrivileged, "role")
			address(obj, ev.User.ID, schema.RelationServiceAccount, "is_service_account")
		}
		evs = append(evs, ev)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading snapshot: %w", err)
	}
	evs = order(evs, trashed, trashOrder)
	// Snapshot lines need no ids of their own: number them.
	for i := range evs {
		evs[i].ID = fmt.Sprintf("snapshot-%d-%s", i, evs[i].ID)
	}
	s.events = evs
	return s, nil
}

// order orders a snapshot's events so every object comes after what it
// refers to: principals, then folders parent first, then files,
// collaborations and links. Folders restricted to their enterprise get the
// setting only after the collaborations, which may predate it (docs/model.md: the
// setting binds new collaborations only), and trash comes last.
func order(evs []event.Event, trashed map[schema.ItemRef]bool, trashOrder []schema.ItemRef) []event.Event {
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
		e := event.Event{ID: it.Type + "-trash", Type: event.Type(it.Type + ".trashed")}
		if it.Type == schema.TypeFolder {
			e.Folder = &event.Folder{ID: it.ID}
		} else {
			e.File = &event.File{ID: it.ID}
		}
		evs = append(evs, e)
	}
	return evs
}

// extras is what a snapshot line says beyond an event of docs/events.md.
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
	obj := event.Type(typ).Object()
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
		return &event.Error{Index: line, EventID: id, Field: obj + "." + field, Reason: fmt.Sprintf(format, args...)}
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
