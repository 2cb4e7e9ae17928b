package upgrade

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	caveattypes "github.com/authzed/spicedb/pkg/caveats/types"
	"github.com/authzed/spicedb/pkg/diff"
	nsdiff "github.com/authzed/spicedb/pkg/diff/namespace"
	"github.com/authzed/spicedb/pkg/schemadsl/compiler"
	"github.com/authzed/spicedb/pkg/schemadsl/input"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/boxauthz/boxauthz/schema"
)

// State is what a SpiceDB holds compared with boxauthz's schema.
type State int

const (
	// Absent means the SpiceDB holds no schema at all.
	Absent State = iota
	// Current means it holds exactly boxauthz's schema.
	Current
	// Compatible means it holds boxauthz's schema plus additions (a user's
	// extensions).
	Compatible
)

func (s State) String() string {
	switch s {
	case Absent:
		return "absent"
	case Current:
		return "current"
	case Compatible:
		return "compatible"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Inspect tells whether the SpiceDB behind r holds boxauthz's schema. A
// stored schema is compatible when it keeps every caveat, definition,
// relation and permission of ours unchanged; it may add its own. Anything
// else is an *IncompatibleError.
func Inspect(ctx context.Context, r schema.Reader) (State, error) {
	resp, err := r.ReadSchema(ctx, &v1.ReadSchemaRequest{})
	if status.Code(err) == codes.NotFound {
		return Absent, nil
	}
	if err != nil {
		return Absent, fmt.Errorf("reading the schema from spicedb: %w", err)
	}
	return Compare(resp.GetSchemaText())
}

// Compare tells how a schema text relates to boxauthz's (see Inspect).
func Compare(stored string) (State, error) {
	return compareWith(schema.Text(), stored)
}

// compareWith tells how stored relates to ours, boxauthz's schema with or
// without an extension.
func compareWith(ours, stored string) (State, error) {
	if strings.TrimSpace(stored) == "" {
		return Absent, nil
	}
	d, err := diffStored(ours, stored)
	var ce *compileError
	if errors.As(err, &ce) {
		return Absent, &IncompatibleError{Problems: []string{ce.Error()}}
	}
	if err != nil {
		return Absent, err
	}
	var problems []string
	for _, n := range d.RemovedNamespaces {
		problems = append(problems, fmt.Sprintf("definition %s is missing", n))
	}
	for _, c := range d.RemovedCaveats {
		problems = append(problems, fmt.Sprintf("caveat %s is missing", c))
	}
	for name, cd := range d.ChangedCaveats {
		for _, delta := range cd.Deltas() {
			problems = append(problems, fmt.Sprintf("caveat %s: %s", name, delta.Type))
		}
	}
	extended := len(d.AddedNamespaces) > 0 || len(d.AddedCaveats) > 0
	for name, nd := range d.ChangedNamespaces {
		for _, delta := range nd.Deltas() {
			switch delta.Type {
			case nsdiff.AddedRelation, nsdiff.AddedPermission, nsdiff.RelationAllowedTypeAdded:
				extended = true
			case nsdiff.NamespaceCommentsChanged, nsdiff.ChangedPermissionComment, nsdiff.ChangedRelationComment:
			default:
				problems = append(problems, fmt.Sprintf("%s#%s: %s", name, delta.RelationName, delta.Type))
			}
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return Absent, &IncompatibleError{Problems: problems}
	}
	if extended {
		return Compatible, nil
	}
	return Current, nil
}

// Differences lists how the named definitions of a stored schema differ
// from ours: any change but to comments, additions included (a subject type
// added to a relation can carry a permission to objects of a new type).
// None means the stored schema holds exactly our definitions of them.
func Differences(stored string, names ...string) ([]string, error) {
	d, err := diffStored(schema.Text(), stored)
	if ce := (*compileError)(nil); errors.As(err, &ce) {
		return nil, fmt.Errorf("compiling the stored schema: %w", ce.err)
	}
	if err != nil {
		return nil, err
	}
	var problems []string
	for _, n := range names {
		if slices.Contains(d.RemovedNamespaces, n) {
			problems = append(problems, fmt.Sprintf("definition %s is missing", n))
		}
		nd, ok := d.ChangedNamespaces[n]
		if !ok {
			continue
		}
		for _, delta := range nd.Deltas() {
			switch delta.Type {
			case nsdiff.NamespaceCommentsChanged, nsdiff.ChangedPermissionComment, nsdiff.ChangedRelationComment:
			default:
				problems = append(problems, fmt.Sprintf("%s#%s: %s", n, delta.RelationName, delta.Type))
			}
		}
	}
	sort.Strings(problems)
	return problems, nil
}

// Ensure makes the SpiceDB behind rw hold boxauthz's schema: it writes it
// when none is there, accepts a current or compatible one as it is, and
// refuses an incompatible one with an *IncompatibleError, changing nothing.
// WithExtension changes what it writes and accepts (see there).
func Ensure(ctx context.Context, rw schema.ReadWriter, opts ...Option) (State, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.extName != "" {
		return ensureExtended(ctx, rw, &o)
	}
	st, err := Inspect(ctx, rw)
	if err != nil {
		return st, err
	}
	if st == Absent {
		if _, err := schema.Write(ctx, rw); err != nil {
			return st, err
		}
	}
	return st, nil
}

// diffStored compares ours with stored; a stored schema that does not
// compile is a *compileError.
func diffStored(oursText, stored string) (*diff.SchemaDiff, error) {
	ours, err := compile("boxauthz", oursText)
	if err != nil {
		return nil, err
	}
	theirs, err := compile("stored", stored)
	if err != nil {
		return nil, &compileError{err: err}
	}
	d, err := diff.DiffSchemas(diff.NewDiffableSchemaFromCompiledSchema(ours), diff.NewDiffableSchemaFromCompiledSchema(theirs), caveattypes.Default.TypeSet)
	if err != nil {
		return nil, fmt.Errorf("comparing the stored schema with boxauthz's: %w", err)
	}
	return d, nil
}

func compile(name, schemaText string) (*compiler.CompiledSchema, error) {
	src := input.Source(name)
	c, err := compiler.Compile(compiler.InputSchema{Source: src, SchemaString: schemaText}, compiler.AllowUnprefixedObjectType())
	if err != nil {
		return nil, fmt.Errorf("compiling %s schema: %w", name, err)
	}
	return c, nil
}
