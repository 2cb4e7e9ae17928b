package docs_test

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/boxauthz/boxauthz/docs"
	"github.com/boxauthz/boxauthz/examples"
	"github.com/boxauthz/boxauthz/internal/testkit/eventgen"
	"github.com/boxauthz/boxauthz/sync/event"
)

// schemaID is the $id of docs/events.schema.json.
const schemaID = "https://github.com/boxauthz/boxauthz/docs/events.schema.json"

func compileEventSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(docs.EventsSchema()))
	if err != nil {
		t.Fatalf("reading the event schema: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(schemaID, doc); err != nil {
		t.Fatalf("adding the event schema: %v", err)
	}
	sch, err := c.Compile(schemaID)
	if err != nil {
		t.Fatalf("compiling the event schema: %v", err)
	}
	return sch
}

// schemaErr validates one JSON event against the schema.
func schemaErr(sch *jsonschema.Schema, line []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(line))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

func TestExamplesValidate(t *testing.T) {
	sch := compileEventSchema(t)
	sc := bufio.NewScanner(bytes.NewReader(examples.AcmeEvents))
	n := 0
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		n++
		if err := schemaErr(sch, line); err != nil {
			t.Errorf("examples/acme.jsonl line %d: %v", n, err)
		}
		if _, err := event.DecodeEvent(line, n); err != nil {
			t.Errorf("examples/acme.jsonl line %d: the decoder refuses it: %v", n, err)
		}
	}
	if n < 20 {
		t.Fatalf("read %d events from examples/acme.jsonl, want the whole file", n)
	}
}

// localKinds are the kinds of bad input eventgen makes that one event shows
// on its own; the others need the current state, which neither the schema
// nor the decoder sees.
var localKinds = map[string]bool{
	eventgen.UnknownType: true, eventgen.WrongPayload: true, eventgen.MissingField: true,
	eventgen.MalformedField: true, eventgen.UnknownValue: true, eventgen.FileRole: true,
	eventgen.FolderLinkCanEdit: true, eventgen.RootItem: true,
}

// TestGeneratedEventsAgree: over generated streams of every kind of event,
// good and bad, the schema and the decoder take and refuse the same events.
func TestGeneratedEventsAgree(t *testing.T) {
	sch := compileEventSchema(t)
	seen := map[string]int{}
	for seed := uint64(1); seed <= 4; seed++ {
		g := eventgen.New(seed, eventgen.WithAllKinds(), eventgen.WithInvalid(30))
		for i, ev := range g.Events(1500) {
			serr := schemaErr(sch, ev.Line)
			_, derr := event.DecodeEvent(ev.Line, i)
			seen[ev.Invalid]++
			switch {
			case (serr == nil) != (derr == nil):
				t.Errorf("seed %d event %d (%s): schema says %v, decoder says %v\n%s", seed, i, kindName(ev.Invalid), serr, derr, ev.Line)
			case localKinds[ev.Invalid] && serr == nil:
				t.Errorf("seed %d event %d: bad input %s validates\n%s", seed, i, ev.Invalid, ev.Line)
			case !localKinds[ev.Invalid] && serr != nil:
				t.Errorf("seed %d event %d (%s): refused: %v\n%s", seed, i, kindName(ev.Invalid), serr, ev.Line)
			}
		}
	}
	for _, k := range eventgen.InvalidKinds() {
		if localKinds[k] && seen[k] == 0 {
			t.Errorf("no generated event of kind %s: the comparison proves nothing for it", k)
		}
	}
	if seen[""] < 1000 {
		t.Errorf("%d valid events generated, want many", seen[""])
	}
}

func kindName(k string) string {
	if k == "" {
		return "valid"
	}
	return k
}

// TestBadEventsRefusedByBoth holds one event per rule the schema expresses;
// each must be refused by the schema and by the decoder alike.
func TestBadEventsRefusedByBoth(t *testing.T) {
	sch := compileEventSchema(t)
	long := strings.Repeat("a", 129)
	bad := []struct{ name, line string }{
		{"not an object", `[]`},
		{"missing id", `{"type":"user.created","user":{"id":"u1"}}`},
		{"empty id", `{"id":"","type":"user.created","user":{"id":"u1"}}`},
		{"control character in the event id", `{"id":"e\u0001","type":"user.created","user":{"id":"u1"}}`},
		{"missing type", `{"id":"e1","user":{"id":"u1"}}`},
		{"unknown type", `{"id":"e1","type":"user.renamed","user":{"id":"u1"}}`},
		{"unknown top-level field", `{"id":"e1","type":"user.created","user":{"id":"u1"},"source":"crm"}`},
		{"unknown payload field", `{"id":"e1","type":"user.created","user":{"id":"u1","name":"Ann"}}`},
		{"payload of another type", `{"id":"e1","type":"user.created","group":{"id":"g1","enterprise":"acme"}}`},
		{"two payloads", `{"id":"e1","type":"user.created","user":{"id":"u1"},"group":{"id":"g1","enterprise":"acme"}}`},
		{"null payload", `{"id":"e1","type":"user.created","user":null}`},
		{"bad identifier characters", `{"id":"e1","type":"user.created","user":{"id":"ann smith"}}`},
		{"identifier too long", `{"id":"e1","type":"user.created","user":{"id":"` + long + `"}}`},
		{"root as a user", `{"id":"e1","type":"user.created","user":{"id":"0"}}`},
		{"unknown user role", `{"id":"e1","type":"user.created","user":{"id":"u1","enterprise":"acme","role":"owner"}}`},
		{"admin without an enterprise", `{"id":"e1","type":"user.created","user":{"id":"u1","role":"admin"}}`},
		{"privileges of a plain user", `{"id":"e1","type":"user.created","user":{"id":"u1","enterprise":"acme","coadmin_privileges":["manage_users"]}}`},
		{"unknown privilege", `{"id":"e1","type":"user.created","user":{"id":"u1","enterprise":"acme","role":"coadmin","coadmin_privileges":["everything"]}}`},
		{"wrong JSON type", `{"id":"e1","type":"user.created","user":{"id":"u1","is_service_account":"yes"}}`},
		{"delete event without its id", `{"id":"e1","type":"user.deleted","user":{"enterprise":"acme"}}`},
		{"group without an enterprise", `{"id":"e1","type":"group.created","group":{"id":"g1"}}`},
		{"unknown membership role", `{"id":"e1","type":"group_membership.created","group_membership":{"id":"m1","group":"g1","user":"u1","role":"owner"}}`},
		{"folder without an owner", `{"id":"e1","type":"folder.created","folder":{"id":"f1","parent":"0"}}`},
		{"root folder as an item", `{"id":"e1","type":"folder.created","folder":{"id":"0","parent":"0","owner":"u1"}}`},
		{"root as an owner", `{"id":"e1","type":"file.created","file":{"id":"f1","parent":"0","owner":"0"}}`},
		{"empty parent", `{"id":"e1","type":"file.created","file":{"id":"f1","parent":"","owner":"u1"}}`},
		{"trash event with a parent", `{"id":"e1","type":"folder.trashed","folder":{"id":"f1","parent":"0"}}`},
		{"unknown field in a delete event", `{"id":"e1","type":"file.deleted","file":{"id":"f1","name":"a.txt"}}`},
		{"collaboration on the root", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"0"},"accessible_by":{"type":"user","id":"u1"},"role":"viewer"}}`},
		{"folder role on a file", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"file","id":"f1"},"accessible_by":{"type":"user","id":"u1"},"role":"co-owner"}}`},
		{"unknown collaboration role", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"f1"},"accessible_by":{"type":"user","id":"u1"},"role":"owner"}}`},
		{"collaboration without a role", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"f1"},"accessible_by":{"type":"user","id":"u1"}}}`},
		{"unknown status", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"f1"},"accessible_by":{"type":"user","id":"u1"},"role":"viewer","status":"maybe"}}`},
		{"unknown grantee type", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"f1"},"accessible_by":{"type":"enterprise","id":"acme"},"role":"viewer"}}`},
		{"unknown item type", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"web_link","id":"w1"},"accessible_by":{"type":"user","id":"u1"},"role":"viewer"}}`},
		{"extra field in a reference", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"f1","name":"x"},"accessible_by":{"type":"user","id":"u1"},"role":"viewer"}}`},
		{"can_view_path on a file", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"file","id":"f1"},"accessible_by":{"type":"user","id":"u1"},"role":"viewer","can_view_path":true}}`},
		{"expires_at not RFC 3339", `{"id":"e1","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"f1"},"accessible_by":{"type":"user","id":"u1"},"role":"viewer","expires_at":"tomorrow"}}`},
		{"created_at without a zone", `{"id":"e1","type":"user.created","created_at":"2026-11-28T10:00:00","user":{"id":"u1"}}`},
		{"created_at impossible date", `{"id":"e1","type":"user.created","created_at":"2026-02-30T10:00:00Z","user":{"id":"u1"}}`},
		{"unknown access", `{"id":"e1","type":"shared_link.created","shared_link":{"item":{"type":"file","id":"f1"},"access":"public"}}`},
		{"link without access", `{"id":"e1","type":"shared_link.created","shared_link":{"item":{"type":"file","id":"f1"}}}`},
		{"can_edit on a folder's link", `{"id":"e1","type":"shared_link.created","shared_link":{"item":{"type":"folder","id":"f1"},"access":"open","permissions":{"can_edit":true}}}`},
		{"unknown link permission", `{"id":"e1","type":"shared_link.created","shared_link":{"item":{"type":"file","id":"f1"},"access":"open","permissions":{"can_upload":true}}}`},
		{"link event with an id", `{"id":"e1","type":"shared_link.deleted","shared_link":{"id":"l1","item":{"type":"file","id":"f1"}}}`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if err := schemaErr(sch, []byte(tt.line)); err == nil {
				t.Errorf("the schema takes %s", tt.line)
			}
			if _, err := event.DecodeEvent([]byte(tt.line), 0); err == nil {
				t.Errorf("the decoder takes %s", tt.line)
			}
		})
	}
}

// TestEdgeEventsTakenByBoth holds events at the edges of the rules that
// both must take: null for an absent field, a delete carrying the object's
// last state, the root as a parent.
func TestEdgeEventsTakenByBoth(t *testing.T) {
	sch := compileEventSchema(t)
	good := []struct{ name, line string }{
		{"nulls for absent fields", `{"id":"e1","type":"user.created","created_at":null,"group":null,"user":{"id":"u1","enterprise":null,"role":null,"coadmin_privileges":null,"is_service_account":null}}`},
		{"external user", `{"id":"e1","type":"user.created","user":{"id":"xavier@partner.example"}}`},
		{"coadmin with privileges", `{"id":"e1","type":"user.updated","created_at":"2026-11-28T10:00:00.5+01:00","user":{"id":"u1","enterprise":"acme","role":"coadmin","coadmin_privileges":["manage_users","view_content"],"is_service_account":false}}`},
		{"any unicode event id", `{"id":"évènement #1","type":"user.deleted","user":{"id":"u1"}}`},
		{"delete with the last state", `{"id":"e1","type":"user.deleted","user":{"id":"u1","enterprise":{"any":"value"},"role":17}}`},
		{"collaboration delete with the last state", `{"id":"e1","type":"collaboration.deleted","collaboration":{"id":"c1","item":{"type":"file","id":"f1"},"role":"whatever","status":null}}`},
		{"folder at the top", `{"id":"e1","type":"folder.moved","folder":{"id":"f1","parent":"0","owner":"u1","can_non_owners_invite":false,"is_collaboration_restricted_to_enterprise":true}}`},
		{"file collaboration", `{"id":"e1","type":"collaboration.updated","collaboration":{"id":"c1","item":{"type":"file","id":"f1"},"accessible_by":{"type":"group","id":"g1"},"role":"editor","status":"pending","expires_at":"2099-01-01T00:00:00Z","can_view_path":false}}`},
		{"folder link with can_edit false", `{"id":"e1","type":"shared_link.updated","shared_link":{"item":{"type":"folder","id":"f1"},"access":"company","permissions":{"can_download":true,"can_edit":false},"unshared_at":null}}`},
		{"file link delete", `{"id":"e1","type":"shared_link.deleted","shared_link":{"item":{"type":"file","id":"f1"},"access":"open"}}`},
		{"membership delete", `{"id":"e1","type":"group_membership.deleted","group_membership":{"id":"m1","group":"g1","user":"u1","role":"admin"}}`},
		{"restore", `{"id":"e1","type":"file.restored","file":{"id":"f1"}}`},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			if err := schemaErr(sch, []byte(tt.line)); err != nil {
				t.Errorf("the schema refuses %s: %v", tt.line, err)
			}
			if _, err := event.DecodeEvent([]byte(tt.line), 0); err != nil {
				t.Errorf("the decoder refuses %s: %v", tt.line, err)
			}
		})
	}
}
