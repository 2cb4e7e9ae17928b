package jsonstrict

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// CheckDuplicateKeys reports the first object in b that names a key twice.
// b must be valid JSON (decode it first for syntax errors); arrays of
// objects are walked too, their elements' paths naming the index. Keys are
// compared decoded, so "id" and "\u0069d" are one key.
func CheckDuplicateKeys(b []byte) error { return CheckDuplicateKeysAt(b, "") }

// CheckDuplicateKeysAt is CheckDuplicateKeys for a value found at path in
// a larger document, so that the error's Path names where it is in that
// document.
func CheckDuplicateKeysAt(b []byte, path string) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	for {
		if err := walk(dec, path); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// walk reads one value from dec.
func walk(dec *json.Decoder, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch d {
	case '{':
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			k, _ := kt.(string)
			if seen[k] {
				return &DuplicateKeyError{Path: path, Key: k}
			}
			seen[k] = true
			if err := walk(dec, join(path, k)); err != nil {
				return err
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if err := walk(dec, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// TypeName is the JSON name of what a Go type decodes from: string,
// number, boolean, array or object. Error messages name it, never the Go
// type, which means nothing to a caller.
func TypeName(t reflect.Type) string {
	if t == nil {
		return "a JSON value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a JSON string"
	case reflect.Bool:
		return "a JSON boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a JSON integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a JSON non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a JSON number"
	case reflect.Slice, reflect.Array:
		return "a JSON array"
	case reflect.Map, reflect.Struct:
		if strings.HasSuffix(t.String(), "time.Time") {
			return "an RFC 3339 time string"
		}
		return "a JSON object"
	}
	return "a JSON value"
}

// Kind names the JSON kind of a syntactically valid value: object, array,
// string, boolean, null or number ("nothing" for blank input).
func Kind(v json.RawMessage) string {
	v = bytes.TrimLeft(v, " \t\r\n")
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}
