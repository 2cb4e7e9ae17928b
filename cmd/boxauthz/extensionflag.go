package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/spf13/pflag"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/extension"
	"github.com/boxauthz/boxauthz/schema/upgrade"
)

// extensionFlag is --schema-extension: a file of the user's own SpiceDB
// definitions, composed with boxauthz's schema wherever it is written.
type extensionFlag struct{ path string }

func (e *extensionFlag) register(fs *pflag.FlagSet) {
	fs.StringVar(&e.path, "schema-extension", "", "file of your own SpiceDB definitions (zed) to add to boxauthz's schema; they may refer to boxauthz's but not redefine them (docs/extensions.md)")
}

// read is the extension file's content; nil when none is given.
func (e *extensionFlag) read() ([]byte, error) {
	if e.path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(e.path)
	if err != nil {
		return nil, fmt.Errorf("--schema-extension: %w", err)
	}
	return b, nil
}

// schemaText is the schema boxauthz writes: ours, composed with the
// extension when one is given.
func (e *extensionFlag) schemaText() (string, error) {
	b, err := e.read()
	if err != nil || b == nil {
		return schema.Text(), err
	}
	return extension.Compose(schema.Text(), b, e.path)
}

// ensureOptions make upgrade.Ensure write the extension with ours.
func (e *extensionFlag) ensureOptions() ([]upgrade.Option, error) {
	b, err := e.read()
	if err != nil || b == nil {
		return nil, err
	}
	// Refused here already, before SpiceDB is started or dialled.
	if _, err := extension.Compose(schema.Text(), b, e.path); err != nil {
		return nil, err
	}
	return []upgrade.Option{upgrade.WithExtension(e.path, b)}, nil
}

// applyExtended is schema apply with an extension: ours and the extension
// written unless SpiceDB holds exactly them. Like apply without one, it
// writes over a schema incompatible with ours.
func applyExtended(ctx context.Context, w io.Writer, c *spicedb.Client, sf *spicedbFlags) error {
	opts, err := sf.extension.ensureOptions()
	if err != nil {
		return err
	}
	st, err := upgrade.Ensure(ctx, c, opts...)
	var ie *upgrade.IncompatibleError
	if errors.As(err, &ie) {
		text, cerr := sf.extension.schemaText()
		if cerr != nil {
			return cerr
		}
		if _, err = c.WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: text}); err != nil {
			return sf.hint(fmt.Errorf("writing boxauthz's schema with the extension %s: %w", sf.extension.path, err))
		}
		st = upgrade.Absent
	}
	if err != nil {
		return sf.hint(err)
	}
	fmt.Fprintf(w, "spicedb at %s holds boxauthz schema %s with the extension %s (found %s)\n", sf.endpoint, schema.Digest(), sf.extension.path, st)
	return nil
}

// checks answers checks of the extension's types with ch; nil when no
// extension is given.
func (e *extensionFlag) checks(ch *checker.Checker) (*checker.Extension, error) {
	b, err := e.read()
	if err != nil || b == nil {
		return nil, err
	}
	perms, err := extension.Permissions(b, e.path)
	if err != nil {
		return nil, err
	}
	return checker.NewExtension(ch, perms), nil
}
