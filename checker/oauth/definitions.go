package oauth

import (
	"fmt"
	"slices"

	"github.com/authzed/spicedb/pkg/schemadsl/compiler"
	"github.com/authzed/spicedb/pkg/schemadsl/input"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/boxauthz/boxauthz/schema"
)

// validityDifferences lists how the definitions a token's validity is made
// of (validityDefinitions) differ in stored from boxauthz's schema. Both
// are compiled and each definition compared whole, comments and source
// positions aside, so that any other change, an addition included (a
// subject type added to a relation can carry validity to objects of a new
// type), stops the watch vouching. None means the stored schema holds
// exactly boxauthz's definitions of them.
func validityDifferences(stored string) ([]string, error) {
	ours, err := compiledDefinitions("boxauthz", schema.Text())
	if err != nil {
		return nil, err
	}
	theirs, err := compiledDefinitions("stored", stored)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range validityDefinitions() {
		t, ok := theirs[name]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("definition %s is missing", name))
		case !proto.Equal(ours[name], t):
			out = append(out, fmt.Sprintf("definition %s is not boxauthz's", name))
		}
	}
	return out, nil
}

// compiledDefinitions compiles a schema text and returns its object
// definitions by name, without comments or source positions.
func compiledDefinitions(source, text string) (map[string]proto.Message, error) {
	c, err := compiler.Compile(compiler.InputSchema{Source: input.Source(source), SchemaString: text}, compiler.AllowUnprefixedObjectType())
	if err != nil {
		return nil, fmt.Errorf("compiling the %s schema: %w", source, err)
	}
	out := make(map[string]proto.Message, len(c.ObjectDefinitions))
	for _, d := range c.ObjectDefinitions {
		m := proto.Clone(d)
		stripNotes(m.ProtoReflect())
		out[d.GetName()] = m
	}
	return out, nil
}

// notes are the fields of a compiled definition that change with the text's
// comments and layout, not with what the definition means.
var notes = []protoreflect.Name{"metadata", "source_position"}

// stripNotes clears notes throughout m.
func stripNotes(m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case slices.Contains(notes, fd.Name()):
			m.Clear(fd)
		case fd.IsList() && fd.Message() != nil:
			l := v.List()
			for i := range l.Len() {
				stripNotes(l.Get(i).Message())
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				stripNotes(mv.Message())
				return true
			})
		case fd.Message() != nil && !fd.IsMap():
			stripNotes(v.Message())
		}
		return true
	})
}
