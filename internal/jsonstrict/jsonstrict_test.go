package jsonstrict

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestCheckDuplicateKeys(t *testing.T) {
	tests := []struct {
		in, path, key string
	}{
		{`{"a":1,"b":2}`, "", ""},
		{`{"a":1,"a":2}`, "", "a"},
		{`{"x":{"id":"1","id":"2"}}`, "x", "id"},
		{`[{"a":1},{"b":1,"b":2}]`, "[1]", "b"},
		{`{"a":[{"k":1,"k":1}]}`, "a[0]", "k"},
		{`{"a":{"b":1},"c":{"b":1}}`, "", ""},
		{`{"a\u0062":1,"ab":2}`, "", "ab"},
	}
	for _, tt := range tests {
		err := CheckDuplicateKeys([]byte(tt.in))
		var de *DuplicateKeyError
		if tt.key == "" {
			if err != nil {
				t.Errorf("%s: %v, want no error", tt.in, err)
			}
			continue
		}
		if !errors.As(err, &de) || de.Path != tt.path || de.Key != tt.key {
			t.Errorf("%s: %v, want key %q at %q", tt.in, err, tt.key, tt.path)
		}
	}
}

func TestTypeName(t *testing.T) {
	type item struct{ ID string }
	for _, tt := range []struct {
		v    any
		want string
	}{
		{"", "a JSON string"},
		{0, "a JSON integer"},
		{false, "a JSON boolean"},
		{item{}, "a JSON object"},
		{&item{}, "a JSON object"},
		{[]string{}, "a JSON array"},
		{time.Time{}, "an RFC 3339 time string"},
		{1.5, "a JSON number"},
	} {
		if got := TypeName(reflect.TypeOf(tt.v)); got != tt.want {
			t.Errorf("TypeName(%T) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestCheckDuplicateKeysAt(t *testing.T) {
	var de *DuplicateKeyError
	err := CheckDuplicateKeysAt([]byte(`{"a":[{"k":1,"k":2}]}`), "user.x")
	if !errors.As(err, &de) || de.Field() != "user.x.a[0].k" {
		t.Fatalf("got %v, want key user.x.a[0].k", err)
	}
	err = CheckDuplicateKeysAt([]byte(`[{"k":1},{"k":1,"k":2}]`), "p")
	if !errors.As(err, &de) || de.Field() != "p[1].k" {
		t.Fatalf("got %v, want key p[1].k", err)
	}
}

func TestKind(t *testing.T) {
	for in, want := range map[string]string{
		`{}`: "object", ` [1]`: "array", `"s"`: "string", `true`: "boolean", `false`: "boolean",
		`null`: "null", `-1.5`: "number", ` `: "nothing",
	} {
		if got := Kind([]byte(in)); got != want {
			t.Errorf("Kind(%q) = %q, want %q", in, got, want)
		}
	}
}
