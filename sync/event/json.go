package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/boxauthz/boxauthz/internal/jsonstrict"
)

// decodeState holds the first error found while reading one event; once set,
// every read returns zero values.
type decodeState struct{ err *FieldError }

func (st *decodeState) failf(field, format string, args ...any) {
	if st.err == nil {
		st.err = FieldErrorf(field, format, args...)
	}
}

// jsonObject is one JSON object of an event, its keys in document order.
type jsonObject struct {
	st    *decodeState
	field string // path of the object itself; "" for the event
	keys  []string
	vals  map[string]json.RawMessage
}

// object parses raw (a syntactically valid JSON value) as an object at field.
func (st *decodeState) object(raw json.RawMessage, field string) *jsonObject {
	o := &jsonObject{st: st, field: field, vals: map[string]json.RawMessage{}}
	if st.err != nil {
		return o
	}
	if k := jsonstrict.Kind(raw); k != "object" {
		st.failf(field, "want a JSON object, got %s", k)
		return o
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // '{'
		st.failf(field, "invalid JSON: %v", err)
		return o
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			st.failf(field, "invalid JSON: %v", err)
			return o
		}
		k, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			st.failf(o.path(k), "invalid JSON: %v", unexpectedEOF(err))
			return o
		}
		if _, dup := o.vals[k]; dup {
			st.failf(o.path(k), "field appears twice")
			return o
		}
		o.keys = append(o.keys, k)
		o.vals[k] = v
	}
	return o
}

func (o *jsonObject) path(key string) string {
	if o.field == "" {
		return key
	}
	return o.field + "." + key
}

// only fails on the first key (in document order) not in allowed.
func (o *jsonObject) only(allowed []string, why func(key string) string) {
	if o.st.err != nil {
		return
	}
	for _, k := range o.keys {
		if !slices.Contains(allowed, k) {
			o.st.failf(o.path(k), "%s", why(k))
			return
		}
	}
}

// present tells whether key is there and not null: null is absent.
func (o *jsonObject) present(key string) bool {
	v, ok := o.vals[key]
	return ok && jsonstrict.Kind(v) != "null"
}

// value returns key's JSON value if it is present and of kind want.
func (o *jsonObject) value(key, want string) (json.RawMessage, bool) {
	if o.st.err != nil || !o.present(key) {
		return nil, false
	}
	v := o.vals[key]
	if k := jsonstrict.Kind(v); k != want {
		o.st.failf(o.path(key), "want a JSON %s, got %s", want, k)
		return nil, false
	}
	return v, true
}

func (o *jsonObject) str(key string) (string, bool) {
	v, ok := o.value(key, "string")
	if !ok {
		return "", false
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		o.st.failf(o.path(key), "invalid JSON string: %v", err)
		return "", false
	}
	return s, true
}

func (o *jsonObject) required(key string) string {
	s, ok := o.str(key)
	if o.st.err == nil && !ok {
		o.st.failf(o.path(key), "required")
	}
	return s
}

func (o *jsonObject) strOr(key, def string) string {
	if s, ok := o.str(key); ok {
		return s
	}
	return def
}

func (o *jsonObject) boolean(key string) (bool, bool) {
	v, ok := o.value(key, "boolean")
	if !ok {
		return false, false
	}
	return string(v) == "true", true
}

func (o *jsonObject) strs(key string) ([]string, bool) {
	v, ok := o.value(key, "array")
	if !ok {
		return nil, false
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(v, &raws); err != nil {
		o.st.failf(o.path(key), "invalid JSON array: %v", err)
		return nil, false
	}
	out := make([]string, 0, len(raws))
	for i, r := range raws {
		var s string
		if k := jsonstrict.Kind(r); k != "string" {
			o.st.failf(o.path(key), "element %d: want a JSON string, got %s", i, k)
			return nil, false
		}
		if err := json.Unmarshal(r, &s); err != nil {
			o.st.failf(o.path(key), "element %d: invalid JSON string: %v", i, err)
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

func (o *jsonObject) object(key string) (*jsonObject, bool) {
	v, ok := o.value(key, "object")
	if !ok {
		return &jsonObject{st: o.st, field: o.path(key), vals: map[string]json.RawMessage{}}, false
	}
	return o.st.object(v, o.path(key)), true
}

// minTime and maxTime bound timestamps to what RFC 3339 writes in UTC
// (four-digit years), so a decoded event can be written back.
var (
	minTime = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// time reads an RFC 3339 timestamp, returned in UTC.
func (o *jsonObject) time(key string) (time.Time, bool) {
	s, ok := o.str(key)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		o.st.failf(o.path(key), "not an RFC 3339 timestamp (like 2026-11-28T10:00:00Z): %q", s)
		return time.Time{}, false
	}
	t = t.UTC()
	if t.Before(minTime) || !t.Before(maxTime) {
		o.st.failf(o.path(key), "timestamp %q is out of range (years 0000 to 9999 in UTC)", s)
		return time.Time{}, false
	}
	return t, true
}

// tokenKind names the JSON kind of a json.Decoder token.
func tokenKind(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			return "an object"
		}
		return fmt.Sprintf("%q", string(t))
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a number"
}
