package validation

import (
	"fmt"

	yaml "go.yaml.in/yaml/v3"
)

// blockShapes is the kind each top-level key of a validation file takes.
// Checking it here, before SpiceDB's decoder, gives messages that quote the
// whole offending value instead of the decoder's first seven characters.
var blockShapes = map[string]yaml.Kind{
	"schema":        yaml.ScalarNode,
	"schemaFile":    yaml.ScalarNode,
	"relationships": yaml.ScalarNode,
	"assertions":    yaml.MappingNode,
	"validation":    yaml.MappingNode,
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.ScalarNode:
		return "a string"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

// checkShape reports the blocks of the wrong kind, each at its value.
func checkShape(src *source, doc *yaml.Node) []Problem {
	if len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return []Problem{src.shapeProblem(root, "a validation file is a mapping (schema, relationships, assertions, validation), got %s", describe(root))}
	}
	var out []Problem
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i], root.Content[i+1]
		want, known := blockShapes[key.Value]
		if !known || val.Tag == "!!null" {
			continue
		}
		if val.Kind != want {
			out = append(out, src.shapeProblem(val, "%s: want %s, got %s", key.Value, kindName(want), describe(val)))
			continue
		}
		switch key.Value {
		case "assertions":
			out = append(out, checkAssertions(src, val)...)
		case "validation":
			out = append(out, checkExpected(src, val)...)
		}
	}
	return out
}

func checkAssertions(src *source, m *yaml.Node) []Problem {
	var out []Problem
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, val := m.Content[i], m.Content[i+1]
		switch key.Value {
		case "assertTrue", "assertFalse", "assertCaveated":
		default:
			out = append(out, src.shapeProblem(key, "assertions: unknown key %q (want assertTrue, assertFalse or assertCaveated)", key.Value))
			continue
		}
		if val.Tag == "!!null" {
			continue
		}
		if val.Kind != yaml.SequenceNode {
			out = append(out, src.shapeProblem(val, "assertions.%s: want a list of relationships, got %s", key.Value, describe(val)))
			continue
		}
		for _, item := range val.Content {
			if item.Kind != yaml.ScalarNode {
				out = append(out, src.shapeProblem(item, "assertions.%s: want a relationship string, got %s", key.Value, describe(item)))
			}
		}
	}
	return out
}

func checkExpected(src *source, m *yaml.Node) []Problem {
	var out []Problem
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, val := m.Content[i], m.Content[i+1]
		if val.Tag == "!!null" {
			continue
		}
		if val.Kind != yaml.SequenceNode {
			out = append(out, src.shapeProblem(val, "validation.%s: want a list of subjects, got %s", key.Value, describe(val)))
			continue
		}
		for _, item := range val.Content {
			if item.Kind != yaml.ScalarNode {
				out = append(out, src.shapeProblem(item, "validation.%s: want a subject string, got %s", key.Value, describe(item)))
			}
		}
	}
	return out
}

// describe names a node's kind and, for a string, its whole value.
func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return fmt.Sprintf("%q", n.Value)
	}
	return kindName(n.Kind)
}

func (s *source) shapeProblem(n *yaml.Node, format string, args ...any) Problem {
	return s.withSource(Problem{File: s.name, Line: n.Line, Column: n.Column, Kind: KindYAML, Message: fmt.Sprintf(format, args...)})
}
