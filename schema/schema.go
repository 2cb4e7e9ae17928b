package schema

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
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
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

//go:embed schema.zed
var text string

// Text returns the schema in SpiceDB's schema language.
func Text() string { return text }

// Digest identifies this version of the schema text.
func Digest() string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:8])
}

// Reader reads the schema a SpiceDB holds.
type Reader interface {
	ReadSchema(ctx context.Context, in *v1.ReadSchemaRequest, opts ...grpc.CallOption) (*v1.ReadSchemaResponse, error)
}

// Writer writes a schema to a SpiceDB.
type Writer interface {
	WriteSchema(ctx context.Context, in *v1.WriteSchemaRequest, opts ...grpc.CallOption) (*v1.WriteSchemaResponse, error)
}

// ReadWriter reads and writes a SpiceDB's schema.
type ReadWriter interface {
	Reader
	Writer
}

// State is what a SpiceDB holds compared with this schema.
type State int

const (
	// Absent: the SpiceDB holds no schema at all.
	Absent State = iota
	// Current: it holds exactly this schema.
	Current
	// Compatible: it holds this schema plus additions (a user's extensions).
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

// Inspect tells whether the SpiceDB behind r holds this schema. A stored schema
// is compatible when it keeps every caveat, definition, relation and
// permission of ours unchanged; it may add its own. Anything else is an
// *IncompatibleError.
func Inspect(ctx context.Context, r Reader) (State, error) {
	resp, err := r.ReadSchema(ctx, &v1.ReadSchemaRequest{})
	if status.Code(err) == codes.NotFound {
		return Absent, nil
	}
	if err != nil {
		return Absent, fmt.Errorf("reading the schema from spicedb: %w", err)
	}
	return Compare(resp.GetSchemaText())
}

// Compare tells how a schema text relates to this schema (see Inspect).
func Compare(stored string) (State, error) {
	if strings.TrimSpace(stored) == "" {
		return Absent, nil
	}
	ours, err := compile("boxauthz", text)
	if err != nil {
		return Absent, err
	}
	theirs, err := compile("stored", stored)
	if err != nil {
		return Absent, &IncompatibleError{Problems: []string{err.Error()}}
	}
	d, err := diff.DiffSchemas(diff.NewDiffableSchemaFromCompiledSchema(ours), diff.NewDiffableSchemaFromCompiledSchema(theirs), caveattypes.Default.TypeSet)
	if err != nil {
		return Absent, fmt.Errorf("comparing the stored schema with boxauthz's: %w", err)
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
	ours, err := compile("boxauthz", text)
	if err != nil {
		return nil, err
	}
	theirs, err := compile("stored", stored)
	if err != nil {
		return nil, fmt.Errorf("compiling the stored schema: %w", err)
	}
	d, err := diff.DiffSchemas(diff.NewDiffableSchemaFromCompiledSchema(ours), diff.NewDiffableSchemaFromCompiledSchema(theirs), caveattypes.Default.TypeSet)
	if err != nil {
		return nil, fmt.Errorf("comparing the stored schema with boxauthz's: %w", err)
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

// Write writes this schema to the SpiceDB behind w and returns the
// consistency token of the write.
func Write(ctx context.Context, w Writer) (*v1.ZedToken, error) {
	resp, err := w.WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: text})
	if err != nil {
		return nil, fmt.Errorf("writing the boxauthz schema to spicedb: %w", err)
	}
	return resp.GetWrittenAt(), nil
}

// Ensure makes the SpiceDB behind rw hold this schema: it writes it when none
// is there, accepts a current or compatible one as it is, and refuses an
// incompatible one with an *IncompatibleError, changing nothing.
func Ensure(ctx context.Context, rw ReadWriter) (State, error) {
	st, err := Inspect(ctx, rw)
	if err != nil {
		return st, err
	}
	if st == Absent {
		if _, err := Write(ctx, rw); err != nil {
			return st, err
		}
	}
	return st, nil
}

func compile(name, schemaText string) (*compiler.CompiledSchema, error) {
	src := input.Source(name)
	c, err := compiler.Compile(compiler.InputSchema{Source: src, SchemaString: schemaText}, compiler.AllowUnprefixedObjectType())
	if err != nil {
		return nil, fmt.Errorf("compiling %s schema: %w", name, err)
	}
	return c, nil
}
