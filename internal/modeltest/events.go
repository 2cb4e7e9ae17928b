package modeltest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/boxauthz/boxauthz/sync/event"
)

// Event is an event of a test file and where it is written.
type Event struct {
	Event event.Event
	File  string
	Line  int
	// yaml is the mapping the event is written as in the test file; nil for
	// one read from a JSONL file.
	yaml *node
}

// events reads an "events" value: the name of a JSONL file of events
// (relative to the test file), or a list whose entries are each such a
// name or one event written as YAML, applied in the order given.
func (p *parser) events(n *node) ([]Event, error) {
	if n == nil {
		return nil, nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return p.eventFile(n)
	case yaml.SequenceNode:
		var out []Event
		for _, c := range n.Content {
			c = deref(c)
			switch c.Kind {
			case yaml.ScalarNode:
				evs, err := p.eventFile(c)
				if err != nil {
					return nil, err
				}
				out = append(out, evs...)
			case yaml.MappingNode:
				ev, err := p.inlineEvent(c, len(out))
				if err != nil {
					return nil, err
				}
				out = append(out, ev)
			default:
				return nil, errorAt(p.file, c, "each entry of \"events\" is an event (a mapping) or the name of a JSONL file, got %s", kindOf(c))
			}
		}
		return out, nil
	}
	return nil, errorAt(p.file, n, "\"events\" is the name of a JSONL file or a list of events, got %s", kindOf(n))
}

// eventFile reads the JSONL file n names, one event a line.
func (p *parser) eventFile(n *node) ([]Event, error) {
	name, err := scalarString(p.file, n, "an events file name")
	if err != nil {
		return nil, err
	}
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(p.file), name)
	}
	data, err := p.readFile(path)
	if err != nil {
		return nil, errorAt(p.file, n, "reading events: %v", err)
	}
	var out []Event
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		ev, err := event.DecodeEvent(line, len(out))
		if err != nil {
			return nil, &FileError{File: path, Line: i + 1, Err: fmt.Errorf("%s (events of %s:%d)", eventProblem(err), p.file, n.Line)}
		}
		out = append(out, Event{Event: ev, File: path, Line: i + 1})
	}
	return out, nil
}

// inlineEvent reads one event written as YAML: the same fields as the
// event format's JSON.
func (p *parser) inlineEvent(n *node, index int) (Event, error) {
	v, err := p.toJSON(n)
	if err != nil {
		return Event{}, err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return Event{}, errorAt(p.file, n, "encoding the event as JSON: %v", err)
	}
	ev, err := event.DecodeEvent(data, index)
	if err != nil {
		return Event{}, eventError(Event{File: p.file, Line: n.Line, yaml: n}, err)
	}
	return Event{Event: ev, File: p.file, Line: n.Line, yaml: n}, nil
}

// eventError places err, about ev, at the line of the field it names.
func eventError(ev Event, err error) error {
	line := ev.Line
	var ee *event.Error
	if errors.As(err, &ee) && ev.yaml != nil && ee.Field != "" {
		line = fieldLine(ev.yaml, ee.Field)
	}
	return &FileError{File: ev.File, Line: line, Err: errors.New(eventProblem(err))}
}

// eventProblem says what is wrong with one event, without the batch index
// a test file's reader has no use for.
func eventProblem(err error) string {
	var ee *event.Error
	if !errors.As(err, &ee) {
		return err.Error()
	}
	var b strings.Builder
	if ee.EventID != "" {
		fmt.Fprintf(&b, "event %q: ", ee.EventID)
	} else {
		b.WriteString("event: ")
	}
	if ee.Field != "" {
		fmt.Fprintf(&b, "field %q: ", ee.Field)
	}
	b.WriteString(ee.Reason)
	return b.String()
}

// fieldLine is the line of the field at path ("collaboration.item.id") in
// the mapping n, or of the deepest part of it that is there.
func fieldLine(n *node, path string) int {
	line := n.Line
	for _, key := range strings.Split(path, ".") {
		n = deref(n)
		if n.Kind != yaml.MappingNode {
			break
		}
		var next *node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
				line = n.Content[i].Line
				break
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return line
}

// toJSON turns YAML into the values encoding/json writes. Numbers and
// times are kept as written, as strings: the event format has no numbers,
// and Box ids are often all digits.
func (p *parser) toJSON(n *node) (any, error) {
	n = deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if _, dup := m[k.Value]; dup {
				return nil, errorAt(p.file, k, "key %q given twice in an event", k.Value)
			}
			v, err := p.toJSON(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k.Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := p.toJSON(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, errorAt(p.file, n, "%v", err)
			}
			return b, nil
		}
		return n.Value, nil
	}
	return nil, errorAt(p.file, n, "an event holds mappings, lists and values, got %s", kindOf(n))
}

// distinctIDs refuses an event whose id is that of an event before it (in
// known or earlier in evs), and returns known with evs' ids added. The
// applier skips a repeated id as a redelivery: in a test file that is a
// mistake that would test nothing.
func distinctIDs(known map[string]Event, evs []Event) (map[string]Event, error) {
	out := make(map[string]Event, len(known)+len(evs))
	for k, v := range known {
		out[k] = v
	}
	for _, ev := range evs {
		key := ev.Event.DedupKey()
		if first, dup := out[key]; dup {
			return nil, &FileError{File: ev.File, Line: ev.Line, Err: fmt.Errorf("event id %q is also the id of the event at %s:%d: the applier would skip this one as a redelivery; give each event its own id", ev.Event.ID, first.File, first.Line)}
		}
		out[key] = ev
	}
	return out, nil
}
