// Package jsonstrict holds the checks strict JSON input needs beyond
// encoding/json: duplicate object keys and JSON (not Go) type names.
package jsonstrict
