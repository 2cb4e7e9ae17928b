package modeltest

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// node is a YAML node: every value keeps its line, for errors and failures.
type node = yaml.Node

// deref follows an alias (*name) to the value it names.
func deref(n *node) *node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// kindOf says what a node is, in the words errors use.
func kindOf(n *node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing (null)"
		case "!!bool":
			return "a boolean"
		case "!!int", "!!float":
			return "a number"
		}
		return "a string"
	}
	return "a YAML value"
}

// fields is one mapping of a test file, read key by key.
type fields struct {
	file string
	what string // "a check", for errors
	n    *node
	vals map[string]*node
}

// readFields reads the mapping n, refusing keys not in allowed and keys
// given twice: a misspelt key would otherwise test nothing, silently.
func readFields(file string, n *node, what string, allowed ...string) (*fields, error) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return nil, errorAt(file, n, "%s must be a mapping (key: value), got %s", what, kindOf(n))
	}
	f := &fields{file: file, what: what, n: n, vals: map[string]*node{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !contains(allowed, k.Value) {
			return nil, errorAt(file, k, "unknown key %q in %s; allowed keys: %s", k.Value, what, strings.Join(allowed, ", "))
		}
		if _, dup := f.vals[k.Value]; dup {
			return nil, errorAt(file, k, "key %q given twice in %s", k.Value, what)
		}
		f.vals[k.Value] = deref(v)
	}
	return f, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// get is the value of key, nil when absent.
func (f *fields) get(key string) *node { return f.vals[key] }

// need is the value of key, or an error saying it is missing.
func (f *fields) need(key string) (*node, error) {
	v := f.vals[key]
	if v == nil {
		return nil, errorAt(f.file, f.n, "%s needs %q", f.what, key)
	}
	return v, nil
}

// str reads key as a string; "" with a nil node when absent. Numbers are
// read as written: Box ids are often all digits.
func (f *fields) str(key string) (string, *node, error) {
	v := f.vals[key]
	if v == nil {
		return "", nil, nil
	}
	s, err := scalarString(f.file, v, fmt.Sprintf("%q in %s", key, f.what))
	return s, v, err
}

// needStr reads key as a string that must be there.
func (f *fields) needStr(key string) (string, *node, error) {
	if _, err := f.need(key); err != nil {
		return "", nil, err
	}
	return f.str(key)
}

func scalarString(file string, v *node, what string) (string, error) {
	if v.Kind != yaml.ScalarNode || (v.ShortTag() != "!!str" && v.ShortTag() != "!!int") || v.Value == "" {
		return "", errorAt(file, v, "%s must be a non-empty string, got %s", what, kindOf(v))
	}
	return v.Value, nil
}

// boolean reads key as true or false; present tells whether it was given.
func (f *fields) boolean(key string) (value, present bool, err error) {
	v := f.vals[key]
	if v == nil {
		return false, false, nil
	}
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" {
		return false, true, errorAt(f.file, v, "%q in %s must be true or false, got %s", key, f.what, kindOf(v))
	}
	if err := v.Decode(&value); err != nil {
		return false, true, errorAt(f.file, v, "%q in %s: %v", key, f.what, err)
	}
	return value, true, nil
}

// list reads key as a list of nodes (nil and no error when absent).
func (f *fields) list(key string) ([]*node, *node, error) {
	v := f.vals[key]
	if v == nil {
		return nil, nil, nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, v, errorAt(f.file, v, "%q in %s must be a list, got %s", key, f.what, kindOf(v))
	}
	out := make([]*node, len(v.Content))
	for i, c := range v.Content {
		out[i] = deref(c)
	}
	return out, v, nil
}

// strSet reads key as a list of distinct strings, checked by valid. It
// must be there, and may be empty ([]): "nothing" is an answer to test.
func (f *fields) strSet(key string, valid func(string) error) ([]string, *node, error) {
	if _, err := f.need(key); err != nil {
		return nil, nil, err
	}
	items, v, err := f.list(key)
	if err != nil {
		return nil, nil, err
	}
	out := make([]string, 0, len(items))
	seen := map[string]bool{}
	for _, it := range items {
		s, err := scalarString(f.file, it, fmt.Sprintf("each entry of %q", key))
		if err != nil {
			return nil, nil, err
		}
		if err := valid(s); err != nil {
			return nil, nil, errorAt(f.file, it, "%q in %s: %v", key, f.what, err)
		}
		if seen[s] {
			return nil, nil, errorAt(f.file, it, "%q is listed twice in %q", s, key)
		}
		seen[s] = true
		out = append(out, s)
	}
	return out, v, nil
}
