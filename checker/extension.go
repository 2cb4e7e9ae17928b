package checker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/rel"
)

// Extension answers checks on the types a schema extension adds (a hub,
// say), with the same user subject and caveat context as checks of Box
// items, so a permission that walks into folders and files (hub's viewer
// = folder->preview) sees their grants, links, expiry and trash as a Box
// check would.
type Extension struct {
	checker *Checker
	// types are the extension's definitions and their permissions.
	types map[string][]string
}

// NewExtension checks the types of an extension: types maps each
// definition it adds to its permissions (extension.Permissions).
func NewExtension(c *Checker, types map[string][]string) *Extension {
	return &Extension{checker: c, types: types}
}

// ExtensionQuestion asks whether User holds Permission on the object of
// the extension type Type with id ID.
type ExtensionQuestion struct {
	User       string
	Type       string
	ID         string
	Permission string
	SharedLink *schema.ItemRef
}

// Handles tells whether typ is one of the extension's types.
func (e *Extension) Handles(typ string) bool {
	if e == nil {
		return false
	}
	_, ok := e.types[typ]
	return ok
}

// Validate refuses a question on an unknown type or permission, naming
// the ones there are, as a *FieldError.
func (e *Extension) Validate(q ExtensionQuestion) error {
	if q.User != "" {
		if err := schema.ValidateID(q.User); err != nil {
			return &FieldError{Field: "user", Err: err}
		}
	}
	perms, ok := e.types[q.Type]
	if !ok {
		return &FieldError{Field: "item.type", Err: fmt.Errorf("%q: want %s", q.Type, strings.Join(e.typeNames(), ", "))}
	}
	if !slices.Contains(perms, q.Permission) {
		if len(perms) == 0 {
			return &FieldError{Field: "action", Err: fmt.Errorf("%q: %s has no permission to check", q.Permission, q.Type)}
		}
		return &FieldError{Field: "action", Err: fmt.Errorf("%q is not a permission of %s: want %s", q.Permission, q.Type, strings.Join(perms, ", "))}
	}
	if err := schema.ValidateID(q.ID); err != nil {
		return &FieldError{Field: "item.id", Err: err}
	}
	if q.SharedLink != nil {
		if err := q.SharedLink.Validate(); err != nil {
			return &FieldError{Field: "shared_link", Err: err}
		}
	}
	return nil
}

// typeNames are folder, file and the extension's types, for errors.
func (e *Extension) typeNames() []string {
	names := make([]string, 0, len(e.types))
	for t := range e.types {
		names = append(names, t)
	}
	slices.Sort(names)
	return append([]string{schema.TypeFolder, schema.TypeFile}, names...)
}

// Check answers q with SpiceDB's CheckPermission of the permission itself.
// Ids are encoded as boxauthz encodes Box ids, so an id without '.' or '@'
// is the one the relationships were written with. The folder tree index is
// not used: it knows Box items only.
func (e *Extension) Check(ctx context.Context, q ExtensionQuestion, cons Consistency) (Answer, error) {
	if e == nil {
		return Answer{}, errors.New("checking an extension type: no schema extension is loaded")
	}
	if err := cons.Validate(); err != nil {
		return Answer{}, err
	}
	if err := e.Validate(q); err != nil {
		return Answer{}, err
	}
	item := &v1.CheckBulkPermissionsRequestItem{
		Resource: rel.Object(q.Type, q.ID), Permission: q.Permission,
		Subject: UserSubject(q.User), Context: e.checker.CaveatContext(q.SharedLink),
	}
	got, at, err := CheckItems(ctx, e.checker.client, []*v1.CheckBulkPermissionsRequestItem{item}, cons)
	if err != nil {
		return Answer{}, fmt.Errorf("checking %s on %s:%s: %w", q.Permission, q.Type, q.ID, err)
	}
	return Answer{Allowed: got[0], ConsistencyToken: at.GetToken()}, nil
}
