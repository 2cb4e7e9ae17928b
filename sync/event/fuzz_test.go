package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzDecodeEvents feeds DecodeEvents arbitrary bodies. It must not panic;
// it returns either an *Error or events that are valid on their own,
// and that decode to themselves again once written back as JSON (so nothing
// the decoder accepts is lost or changed on the way).
func FuzzDecodeEvents(f *testing.F) {
	var lines []string
	for _, tc := range validCases {
		lines = append(lines, strings.Join(strings.Fields(tc.json), " "))
	}
	f.Add([]byte("["+strings.Join(lines, ",\n")+"]"), false)
	f.Add([]byte(strings.Join(lines, "\n")+"\n"), true)
	f.Add([]byte("["+evA+","+evB+","+evC+"]"), false)
	f.Add([]byte(evA+"\r\n\n"+evB+"\n"+evC), true)
	f.Add([]byte("[]"), false)
	f.Add([]byte(""), true)
	f.Add([]byte("["+evA+","+evBad+"]"), false)
	f.Add([]byte(evA+"\n"+evBad), true)
	f.Add([]byte(evA), false)
	f.Add([]byte("["+evA+"] x"), false)
	for _, tc := range badCases {
		f.Add([]byte(tc.json), true)
	}
	// Keys written twice, and ids that are not clean UTF-8, past the first
	// event; a delete carrying its last state between others.
	f.Add([]byte("["+evA+`,{"id":"d","type":"file.deleted","type":"folder.deleted","file":{"id":"x1"}}]`), false)
	f.Add([]byte(evA+"\n"+`{"id":"d","type":"collaboration.deleted","collaboration":{"id":"c1","item":{"type":"folder","id":"f1","id":"f2"}}}`), true)
	f.Add([]byte("["+evA+",{\"id\":\"e\xff\",\"type\":\"file.deleted\",\"file\":{\"id\":\"x1\"}},{\"id\":\"e\xfe\",\"type\":\"file.deleted\",\"file\":{\"id\":\"x1\"}}]"), false)
	f.Add([]byte(evA+"\n"+`{"id":"e\ud800","type":"file.deleted","file":{"id":"x1"}}`+"\n"+`{"id":"e\udbff","type":"file.deleted","file":{"id":"x1"}}`), true)
	f.Add([]byte(evA+"\n"+evB+"\n"+`{"id":"d","type":"collaboration.deleted","collaboration":{"id":"c1","item":{"type":"folder","id":"f1"},"accessible_by":{"type":"user","id":"bob"},"role":"editor","expires_at":null}}`+"\n"+evC), true)

	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		evs, err := DecodeEvents(body, ndjson)
		if err != nil {
			var ee *Error
			if !errors.As(err, &ee) {
				t.Fatalf("error %v (%T) is not an *Error", err, err)
			}
			if evs != nil {
				t.Fatalf("events returned with error %v", err)
			}
			if ee.Index < -1 || ee.Index == -1 && ndjson || ee.Reason == "" {
				t.Fatalf("malformed error %#v", ee)
			}
			if ee.Index >= 0 && ee.Index > bytes.Count(body, []byte("\n"))+bytes.Count(body, []byte(","))+1 {
				t.Fatalf("index %d is past every event of the body", ee.Index)
			}
			if ee.EventID != "" && ValidateID(ee.EventID) != nil {
				t.Fatalf("error names a bad event id %q", ee.EventID)
			}
			return
		}
		for i := range evs {
			checkDecoded(t, evs[i], i)
		}
		// Written back, as an array and as NDJSON, the events decode to
		// themselves.
		var arr, nd bytes.Buffer
		arr.WriteByte('[')
		for i, e := range evs {
			if i > 0 {
				arr.WriteByte(',')
			}
			arr.Write(encodeEvent(e))
			nd.Write(encodeEvent(e))
			nd.WriteByte('\n')
		}
		arr.WriteByte(']')
		for _, again := range []struct {
			body   []byte
			ndjson bool
		}{{arr.Bytes(), false}, {nd.Bytes(), true}} {
			evs2, err := DecodeEvents(again.body, again.ndjson)
			if err != nil {
				t.Fatalf("re-encoded events (ndjson %v) do not decode: %v\n%s", again.ndjson, err, again.body)
			}
			if len(evs) == 0 && len(evs2) == 0 {
				continue
			}
			if !reflect.DeepEqual(evs, evs2) {
				t.Fatalf("re-encoded events (ndjson %v) decode differently:\n%s", again.ndjson, again.body)
			}
		}
	})
}

// checkDecoded checks what holds of every decoded event.
func checkDecoded(t *testing.T, e Event, i int) {
	t.Helper()
	if e.ID == "" {
		t.Fatalf("event %d has an empty id", i)
	}
	if err := validate(&e); err != nil {
		t.Fatalf("event %d (%q) does not re-validate: field %q: %s", i, e.ID, err.Field, err.Reason)
	}
	if !e.Type.Valid() {
		t.Fatalf("event %d has unknown type %q", i, e.Type)
	}
	payloads := map[string]bool{
		"user": e.User != nil, "group": e.Group != nil, "group_membership": e.GroupMembership != nil,
		"folder": e.Folder != nil, "file": e.File != nil, "collaboration": e.Collaboration != nil,
		"shared_link": e.SharedLink != nil,
	}
	for name, set := range payloads {
		if set != (name == e.Type.Object()) {
			t.Fatalf("event %d of type %q: payload %q set = %v", i, e.Type, name, set)
		}
	}
	for _, ts := range []time.Time{e.CreatedAt, collabExpiry(e), linkUnshare(e)} {
		if ts.Location() != time.UTC {
			t.Fatalf("event %d: time %v is not in UTC", i, ts)
		}
	}
}

func collabExpiry(e Event) time.Time {
	if e.Collaboration != nil {
		return e.Collaboration.ExpiresAt
	}
	return time.Time{}
}

func linkUnshare(e Event) time.Time {
	if e.SharedLink != nil {
		return e.SharedLink.UnsharedAt
	}
	return time.Time{}
}

// encodeEvent writes e as docs/events.md JSON, with only the fields its type
// allows.
func encodeEvent(e Event) []byte {
	m := map[string]any{"id": e.ID, "type": string(e.Type)}
	if !e.CreatedAt.IsZero() {
		m["created_at"] = e.CreatedAt.Format(time.RFC3339Nano)
	}
	full := e.Type.Full()
	p := map[string]any{}
	switch e.Type.Object() {
	case "user":
		u := e.User
		p["id"] = u.ID
		if full {
			if u.Enterprise != "" {
				p["enterprise"] = u.Enterprise
			}
			p["role"] = u.Role
			if len(u.CoadminPrivileges) > 0 {
				p["coadmin_privileges"] = u.CoadminPrivileges
			}
			p["is_service_account"] = u.IsServiceAccount
		}
	case "group":
		p["id"] = e.Group.ID
		if full {
			p["enterprise"] = e.Group.Enterprise
		}
	case "group_membership":
		m := e.GroupMembership
		p["id"], p["group"], p["user"] = m.ID, m.Group, m.User
		if full {
			p["role"] = m.Role
		}
	case "folder":
		f := e.Folder
		p["id"] = f.ID
		if full {
			p["parent"], p["owner"] = f.Parent, f.Owner
			p["can_non_owners_invite"] = f.CanNonOwnersInvite
			p["is_collaboration_restricted_to_enterprise"] = f.IsCollaborationRestrictedToEnterprise
		}
	case "file":
		f := e.File
		p["id"] = f.ID
		if full {
			p["parent"], p["owner"] = f.Parent, f.Owner
		}
	case "collaboration":
		c := e.Collaboration
		p["id"] = c.ID
		if full {
			p["item"] = map[string]string{"type": c.Item.Type, "id": c.Item.ID}
			p["accessible_by"] = map[string]string{"type": c.AccessibleBy.Type, "id": c.AccessibleBy.ID}
			p["role"], p["status"], p["can_view_path"] = string(c.Role), c.Status, c.CanViewPath
			if !c.ExpiresAt.IsZero() {
				p["expires_at"] = c.ExpiresAt.Format(time.RFC3339Nano)
			}
		}
	case "shared_link":
		l := e.SharedLink
		p["item"] = map[string]string{"type": l.Item.Type, "id": l.Item.ID}
		if full {
			p["access"] = l.Access
			p["permissions"] = map[string]bool{"can_download": l.CanDownload, "can_edit": l.CanEdit}
			if !l.UnsharedAt.IsZero() {
				p["unshared_at"] = l.UnsharedAt.Format(time.RFC3339Nano)
			}
		}
	}
	m[e.Type.Object()] = p
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// TestEncodeRoundTrip runs the fuzz target's round trip over the valid
// cases, so it is checked on every plain `go test`.
func TestEncodeRoundTrip(t *testing.T) {
	for i, tc := range validCases {
		e, err := DecodeEvent([]byte(tc.json), i)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		checkDecoded(t, e, i)
		again, err := DecodeEvent(encodeEvent(e), i)
		if err != nil || !reflect.DeepEqual(again, e) {
			t.Errorf("%s: round trip gave %+v, %v", tc.name, again, err)
		}
	}
}

// TestFuzzCorpusFiles checks that the committed seed corpus parses and that
// each seed does what its name says: valid_* decode, bad_* do not.
func TestFuzzCorpusFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzDecodeEvents", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed corpus files (%v)", err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) != 3 || lines[0] != "go test fuzz v1" ||
			!strings.HasPrefix(lines[1], "[]byte(") || !strings.HasSuffix(lines[1], ")") ||
			!strings.HasPrefix(lines[2], "bool(") || !strings.HasSuffix(lines[2], ")") {
			t.Fatalf("%s: not a FuzzDecodeEvents corpus file", name)
		}
		body, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ndjson, err := strconv.ParseBool(strings.TrimSuffix(strings.TrimPrefix(lines[2], "bool("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, err = DecodeEvents([]byte(body), ndjson)
		switch base := filepath.Base(name); {
		case strings.HasPrefix(base, "valid_") && err != nil:
			t.Errorf("%s: %v", base, err)
		case strings.HasPrefix(base, "bad_") && err == nil:
			t.Errorf("%s: decoded without error", base)
		}
	}
}
