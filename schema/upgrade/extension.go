package upgrade

import (
	"context"
	"fmt"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/extension"
)

// Option changes what Ensure writes.
type Option func(*options)

type options struct {
	extName string
	ext     []byte
}

// WithExtension makes Ensure write boxauthz's schema composed with the
// extension ext (see extension.Compose; name is its file, for errors). The
// extension file is then the source of the additions: a stored schema
// holding ours plus anything but exactly the extension is rewritten to the
// composed schema. SpiceDB itself refuses a rewrite that would drop a
// definition or relation relationships still use, so no data goes
// silently. An extension Compose refuses is an *extension.Error, before
// anything is read.
func WithExtension(name string, ext []byte) Option {
	return func(o *options) {
		o.extName = name
		o.ext = ext
	}
}

// ensureExtended is Ensure with an extension: ours must be intact, as
// without one, and the rest must be the extension's.
func ensureExtended(ctx context.Context, rw schema.ReadWriter, o *options) (State, error) {
	composed, err := extension.Compose(schema.Text(), o.ext, o.extName)
	if err != nil {
		return Absent, err
	}
	resp, err := rw.ReadSchema(ctx, &v1.ReadSchemaRequest{})
	stored := resp.GetSchemaText()
	if err != nil && status.Code(err) != codes.NotFound {
		return Absent, fmt.Errorf("reading the schema from spicedb: %w", err)
	}
	if err != nil {
		stored = ""
	}
	st, err := Compare(stored)
	if err != nil {
		return st, err
	}
	if st != Absent {
		// Current against the composed schema: it holds exactly ours and
		// the extension, comments aside.
		if exact, err := compareWith(composed, stored); err == nil && exact == Current {
			return st, nil
		}
	}
	if _, err := rw.WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: composed}); err != nil {
		return st, fmt.Errorf("writing boxauthz's schema with the extension %s to spicedb: %w", o.extName, err)
	}
	return st, nil
}
