package extension

import (
	"context"
	"errors"
	"fmt"
	"strings"

	core "github.com/authzed/spicedb/pkg/proto/core/v1"
	spiceschema "github.com/authzed/spicedb/pkg/schema"
	"github.com/authzed/spicedb/pkg/schemadsl/compiler"
	"github.com/authzed/spicedb/pkg/schemadsl/input"
)

// reservedPrefix marks boxauthz's own bookkeeping definitions (tokens,
// apps, sources): an extension may not take one, even one boxauthz does
// not define yet, so that a later release can add it.
const reservedPrefix = "boxauthz_"

// Compose returns base followed by the extension ext, whose file is called
// name in errors. ext may add definitions and caveats and point at base's
// (a relation to folder, an arrow to folder's preview); it may not define
// a name base defines or one starting with boxauthz_, nor refer to a type,
// relation or caveat that exists nowhere. A refusal is an *Error naming
// the line in ext and the definition at fault.
func Compose(base string, ext []byte, name string) (string, error) {
	ours, err := compileText("boxauthz", base, false)
	if err != nil {
		return "", fmt.Errorf("compiling boxauthz's schema: %w", err)
	}
	theirs, err := compileText(name, string(ext), true)
	if err != nil {
		return "", asError(name, 0, "", err)
	}
	taken := make(map[string]bool)
	for _, d := range ours.OrderedDefinitions {
		taken[d.GetName()] = true
	}
	for _, d := range theirs.OrderedDefinitions {
		line := definitionLine(d)
		switch {
		case taken[d.GetName()]:
			return "", &Error{File: name, Line: line, Name: d.GetName(), Reason: kind(d) + " of boxauthz's schema: an extension may add definitions, not redefine ours"}
		case strings.HasPrefix(d.GetName(), reservedPrefix):
			return "", &Error{File: name, Line: line, Name: d.GetName(), Reason: "names starting with " + reservedPrefix + " are boxauthz's own"}
		}
	}
	if len(theirs.OrderedDefinitions) == 0 {
		return "", &Error{File: name, Reason: "defines nothing: want at least one definition or caveat"}
	}
	body := dropSharedUses(base, string(ext))
	header := "\n\n// Schema extension " + name + " (composed by boxauthz; the definitions above are boxauthz's).\n"
	composed := strings.TrimRight(base, "\n") + header + body
	if !strings.HasSuffix(composed, "\n") {
		composed += "\n"
	}
	offset := strings.Count(strings.TrimRight(base, "\n")+header, "\n")
	all, err := compileText("composed", composed, false)
	if err != nil {
		return "", asError(name, offset, "", err)
	}
	if err := validate(name, offset, all, theirs); err != nil {
		return "", err
	}
	return composed, nil
}

// validate type-checks the extension's definitions against the composed
// schema: the compiler alone does not resolve the types and caveats
// relations name, or the relations arrows walk, which SpiceDB would only
// refuse on write. Caveat expressions are checked by the compiler.
func validate(name string, offset int, all, theirs *compiler.CompiledSchema) error {
	ctx := context.Background()
	lines := make(map[string]int)
	for _, d := range theirs.OrderedDefinitions {
		lines[d.GetName()] = definitionLine(d)
	}
	ts := spiceschema.NewTypeSystem(spiceschema.ResolverForCompiledSchema(all))
	for _, ns := range all.ObjectDefinitions {
		if _, ok := lines[ns.GetName()]; !ok {
			continue
		}
		def, err := spiceschema.NewDefinition(ns)
		if err == nil {
			_, err = ts.Validate(ctx, def)
		}
		if err != nil {
			return &Error{File: name, Line: lines[ns.GetName()], Name: ns.GetName(), Reason: err.Error()}
		}
		if err := checkArrows(name, offset, all, ns); err != nil {
			return err
		}
	}
	return nil
}

// dropSharedUses blanks the extension's use directives base already
// declares (use expiration): the compiler takes them only before the first
// definition, and an extension may well say what it relies on. The line
// stays, empty, so that lines still count alike.
func dropSharedUses(base, ext string) string {
	uses := make(map[string]bool)
	for _, l := range strings.Split(base, "\n") {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "use ") {
			uses[t] = true
		}
	}
	lines := strings.Split(ext, "\n")
	for i, l := range lines {
		if uses[strings.TrimSpace(l)] {
			lines[i] = ""
		}
	}
	return strings.Join(lines, "\n")
}

func compileText(name, text string, skipValidation bool) (*compiler.CompiledSchema, error) {
	var opts []compiler.Option
	if skipValidation {
		opts = append(opts, compiler.SkipValidation())
	}
	return compiler.Compile(compiler.InputSchema{Source: input.Source(name), SchemaString: text}, compiler.AllowUnprefixedObjectType(), opts...)
}

// asError turns a compiler error into an *Error whose line counts from the
// start of the extension, offset being how many lines precede it in the
// text compiled.
func asError(name string, offset int, def string, err error) error {
	var ce compiler.WithContextError
	if !errors.As(err, &ce) {
		return &Error{File: name, Name: def, Reason: err.Error()}
	}
	line, _, lerr := ce.SourceRange.Start().LineAndColumn()
	if lerr != nil || line < offset {
		return &Error{File: name, Name: def, Reason: ce.BaseMessage}
	}
	return &Error{File: name, Line: line - offset + 1, Name: def, Reason: ce.BaseMessage}
}

func definitionLine(d compiler.SchemaDefinition) int {
	var pos *core.SourcePosition
	switch d := d.(type) {
	case *core.NamespaceDefinition:
		pos = d.GetSourcePosition()
	case *core.CaveatDefinition:
		pos = d.GetSourcePosition()
	}
	return lineIn(pos, 0)
}

func kind(d compiler.SchemaDefinition) string {
	if _, ok := d.(*core.CaveatDefinition); ok {
		return "a caveat"
	}
	return "a definition"
}
