package checker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/rel"
)

// LookupItems lists the objects of extension type typ on which user holds
// permission, a page at a time in id order, every page as of the first,
// with the cursors of Checker.LookupItems. SpiceDB answers them: the folder
// tree index knows Box's items only.
func (e *Extension) LookupItems(ctx context.Context, user, permission, typ string, limit int, cursor string, cons Consistency) (ItemPage, error) {
	if e == nil {
		return ItemPage{}, errors.New("looking up an extension type: no schema extension is loaded")
	}
	if user != "" {
		if err := schema.ValidateID(user); err != nil {
			return ItemPage{}, &FieldError{Field: "user", Err: err}
		}
	}
	if err := e.validPermission("type", "action", typ, permission); err != nil {
		return ItemPage{}, err
	}
	c := e.checker
	limit, err := pageLimit(limit)
	if err != nil {
		return ItemPage{}, err
	}
	question := fmt.Sprintf("items|%s|%s|%s", user, permission, typ)
	cur, consistency, err := c.startPage(cursor, question, cons)
	if err != nil {
		return ItemPage{}, err
	}
	ids, err := c.lookupResources(ctx, consistency, &cur, typ, permission, user)
	if err != nil {
		return ItemPage{}, err
	}
	var page ItemPage
	page.Items, page.Cursor = c.page(ids, cur, limit, question)
	return page, nil
}

// LookupUsers lists the users who hold permission on an object of an
// extension type, a page at a time in id order, every page as of the first.
func (e *Extension) LookupUsers(ctx context.Context, item schema.ItemRef, permission string, limit int, cursor string, cons Consistency) (UserPage, error) {
	if e == nil {
		return UserPage{}, errors.New("looking up an extension type: no schema extension is loaded")
	}
	if err := e.validPermission("item.type", "action", item.Type, permission); err != nil {
		return UserPage{}, err
	}
	if err := schema.ValidateID(item.ID); err != nil {
		return UserPage{}, &FieldError{Field: "item.id", Err: err}
	}
	c := e.checker
	limit, err := pageLimit(limit)
	if err != nil {
		return UserPage{}, err
	}
	question := fmt.Sprintf("users|%s|%s|%s", item.Type, item.ID, permission)
	cur, consistency, err := c.startPage(cursor, question, cons)
	if err != nil {
		return UserPage{}, err
	}
	users, err := c.lookupSubjects(ctx, consistency, &cur, rel.Object(item.Type, item.ID), permission)
	if err != nil {
		return UserPage{}, err
	}
	var page UserPage
	page.Users, page.Cursor = c.page(users, cur, limit, question)
	return page, nil
}

// validPermission names typeField or permField when typ is not a type of
// the extension or permission not one of its permissions.
func (e *Extension) validPermission(typeField, permField, typ, permission string) error {
	perms, ok := e.types[typ]
	if !ok {
		return &FieldError{Field: typeField, Err: fmt.Errorf("%q: want %s", typ, strings.Join(e.typeNames(), ", "))}
	}
	if !slices.Contains(perms, permission) {
		return &FieldError{Field: permField, Err: fmt.Errorf("%q is not a permission of %s: want %s", permission, typ, strings.Join(perms, ", "))}
	}
	return nil
}
