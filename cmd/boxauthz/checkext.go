package main

import (
	"fmt"
	"strings"

	"github.com/boxauthz/boxauthz/schema"
)

// boxType tells whether typ is a Box item type, one the CLI validates
// itself; any other type can only be one of the server's schema extension.
func boxType(typ string) bool { return typ == schema.TypeFolder || typ == schema.TypeFile }

// parseCheckItem reads the <type>:<id> of a check. Folders and files are
// read as parseItem reads them; any other type is left for the server to
// validate, as only a server started with --schema-extension knows the
// extension's types and their permissions.
func parseCheckItem(s string) (schema.ItemRef, error) {
	typ, id, ok := strings.Cut(s, ":")
	if !ok || boxType(typ) {
		return parseItem(s)
	}
	if typ == "" || id == "" {
		return schema.ItemRef{}, fmt.Errorf("item %q: want type:id, for example folder:123", s)
	}
	return schema.ItemRef{Type: typ, ID: id}, nil
}

// precheck refuses before asking a server what the CLI can tell is wrong:
// every field of a folder or file check (naming the actions there are),
// nothing of a check of another type, which the server answers or refuses
// naming its types and their permissions.
func (c checkRequest) precheck() error {
	if !boxType(c.Item.Type) {
		return nil
	}
	_, err := c.question()
	return err
}

// refuseDirectExtension refuses checks of types other than folder and
// file on the direct path (--spicedb-endpoint): it has no schema extension
// to validate them against, so it names the way that does.
func refuseDirectExtension(f *askFlags, cs ...checkRequest) error {
	if f.sf.endpoint == "" {
		return nil
	}
	for i, c := range cs {
		if boxType(c.Item.Type) {
			continue
		}
		where := ""
		if len(cs) > 1 {
			where = fmt.Sprintf("check %d: ", i+1)
		}
		return fmt.Errorf("%sitem type %q: want folder or file: checks with --spicedb-endpoint know no schema extension; "+
			"for a type of one, ask a server started with --schema-extension (give --server instead of --spicedb-endpoint)", where, c.Item.Type)
	}
	return nil
}

// parseLookupItems reads a lookup of items' action and type. Folders and
// files are validated here, naming the actions and types there are; another
// type goes to the server, which knows its extension, and is refused on the
// direct path, which does not.
func parseLookupItems(f *askFlags, action, typ string) (schema.Action, string, error) {
	if boxType(typ) {
		act, err := parseAction(action)
		return act, typ, err
	}
	if f.sf.endpoint != "" {
		return "", "", fmt.Errorf("item type %q: want folder or file: lookups with --spicedb-endpoint know no schema extension; "+
			"for a type of one, ask a server started with --schema-extension (give --server instead)", typ)
	}
	return schema.Action(action), typ, nil
}

// parseLookupUsers reads a lookup of users' item and action, as
// parseLookupItems does.
func parseLookupUsers(f *askFlags, item, action string) (schema.ItemRef, schema.Action, error) {
	ref, err := parseCheckItem(item)
	if err != nil {
		return schema.ItemRef{}, "", err
	}
	if boxType(ref.Type) {
		act, err := parseAction(action)
		return ref, act, err
	}
	if f.sf.endpoint != "" {
		return schema.ItemRef{}, "", fmt.Errorf("item type %q: want folder or file: lookups with --spicedb-endpoint know no schema extension; "+
			"for a type of one, ask a server started with --schema-extension (give --server instead)", ref.Type)
	}
	return ref, schema.Action(action), nil
}
