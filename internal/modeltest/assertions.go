package modeltest

import (
	"fmt"
	"strings"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/schema"
)

// Grant words that name a grant which is not a collaboration.
const (
	GrantOwnership  = "ownership"
	GrantSharedLink = "shared_link"
)

func (p *parser) check(n *node) (Check, error) {
	f, err := readFields(p.file, n, "a check", checkKeys...)
	if err != nil {
		return Check{}, err
	}
	c := Check{Line: f.n.Line}
	if c.Question.User, err = p.caller(f); err != nil {
		return Check{}, err
	}
	if c.Question.Action, err = p.action(f); err != nil {
		return Check{}, err
	}
	if c.Question.Item, err = p.item(f, "item"); err != nil {
		return Check{}, err
	}
	if s, v, err := f.str("shared_link"); err != nil {
		return Check{}, err
	} else if v != nil {
		l, err := checker.ParseSharedLink(s)
		if err != nil {
			return Check{}, errorAt(p.file, v, "%v", err)
		}
		c.Question.SharedLink = &l
	}
	allowed, present, err := f.boolean("allowed")
	if err != nil {
		return Check{}, err
	}
	if !present {
		return Check{}, errorAt(p.file, f.n, "a check needs \"allowed\" (true or false)")
	}
	c.Allowed, c.AllowedLine = allowed, f.get("allowed").Line
	return c, p.why(f, &c)
}

// why reads what a check asserts of the explanation: a grant, a role, a
// reason code.
func (p *parser) why(f *fields, c *Check) error {
	grant, v, err := f.str("grant")
	if err != nil {
		return err
	}
	if v != nil {
		if grant != GrantOwnership && grant != GrantSharedLink {
			if err := schema.ValidateID(grant); err != nil {
				return errorAt(p.file, v, "\"grant\" is a collaboration id, %q or %q: %v", GrantOwnership, GrantSharedLink, err)
			}
		}
		c.Grant, c.GrantLine = grant, v.Line
	}
	role, v, err := f.str("role")
	if err != nil {
		return err
	}
	if v != nil {
		r, err := schema.ParseRole(role)
		if err != nil {
			return errorAt(p.file, v, "%v", err)
		}
		if grant == GrantOwnership || grant == GrantSharedLink {
			return errorAt(p.file, v, "\"role\" is a collaboration's, and \"grant\" names %s", grant)
		}
		c.Role, c.RoleLine = r, v.Line
	}
	reason, v, err := f.str("reason")
	if err != nil {
		return err
	}
	if v != nil {
		if c.Allowed {
			return errorAt(p.file, v, "\"reason\" is the reason of a denial, and this check expects allowed: true")
		}
		if !contains(checker.Reasons(), reason) {
			return errorAt(p.file, v, "unknown reason %q: want one of %s", reason, strings.Join(checker.Reasons(), ", "))
		}
		c.Reason, c.ReasonLine = reason, v.Line
	}
	return nil
}

// caller reads who asks: "user", or "anonymous: true" for a caller with no
// identity (one presenting a shared link).
func (p *parser) caller(f *fields) (string, error) {
	user, uv, err := f.str("user")
	if err != nil {
		return "", err
	}
	anon, present, err := f.boolean("anonymous")
	if err != nil {
		return "", err
	}
	switch {
	case uv != nil && present:
		return "", errorAt(p.file, f.get("anonymous"), "a check names a \"user\" or says \"anonymous: true\", not both")
	case present && !anon:
		return "", errorAt(p.file, f.get("anonymous"), "\"anonymous: false\" says nothing: name the \"user\" instead")
	case present:
		return "", nil
	case uv == nil:
		return "", errorAt(p.file, f.n, "%s needs \"user\" (or \"anonymous: true\")", f.what)
	}
	if err := schema.ValidateID(user); err != nil {
		return "", errorAt(p.file, uv, "\"user\": %v", err)
	}
	return user, nil
}

func (p *parser) action(f *fields) (schema.Action, error) {
	s, v, err := f.needStr("action")
	if err != nil {
		return "", err
	}
	a, err := schema.ParseAction(s)
	if err != nil || !a.IsItemAction() {
		return "", errorAt(p.file, v, "unknown action %q: want one of %s", s, actionNames())
	}
	return a, nil
}

func actionNames() string {
	names := make([]string, 0, len(schema.ItemActions()))
	for _, a := range schema.ItemActions() {
		names = append(names, string(a))
	}
	return strings.Join(names, ", ")
}

// itemTypes are the types checks and lookups are asked of.
var itemTypes = []string{schema.TypeFolder, schema.TypeFile}

func validType(s string) error {
	if !contains(itemTypes, s) {
		return fmt.Errorf("unknown type %q: want one of %s", s, strings.Join(itemTypes, ", "))
	}
	return nil
}

// item reads key as type:id.
func (p *parser) item(f *fields, key string) (schema.ItemRef, error) {
	s, v, err := f.needStr(key)
	if err != nil {
		return schema.ItemRef{}, err
	}
	typ, _, ok := strings.Cut(s, ":")
	if !ok {
		return schema.ItemRef{}, errorAt(p.file, v, "%q %q: want type:id, such as file:plan or folder:projects", key, s)
	}
	if err := validType(typ); err != nil {
		return schema.ItemRef{}, errorAt(p.file, v, "%q %q: %v", key, s, err)
	}
	r, err := schema.ParseItemRef(s)
	if err != nil {
		return schema.ItemRef{}, errorAt(p.file, v, "%q: %v", key, err)
	}
	return r, nil
}

func (p *parser) itemLookup(n *node) (ItemLookup, error) {
	f, err := readFields(p.file, n, "a lookup_items entry", itemLookupKeys...)
	if err != nil {
		return ItemLookup{}, err
	}
	l := ItemLookup{Line: f.n.Line}
	user, uv, err := f.needStr("user")
	if err != nil {
		return ItemLookup{}, err
	}
	if err := schema.ValidateID(user); err != nil {
		return ItemLookup{}, errorAt(p.file, uv, "\"user\": %v", err)
	}
	l.User = user
	if l.Action, err = p.action(f); err != nil {
		return ItemLookup{}, err
	}
	typ, tv, err := f.needStr("type")
	if err != nil {
		return ItemLookup{}, err
	}
	if err := validType(typ); err != nil {
		return ItemLookup{}, errorAt(p.file, tv, "%v", err)
	}
	l.Type = typ
	items, iv, err := f.strSet("items", func(id string) error {
		if id == schema.RootID {
			return fmt.Errorf("id %q is the root, never an item", id)
		}
		if _, bare, ok := strings.Cut(id, ":"); ok {
			return fmt.Errorf("%q: list ids of the type \"type\" names (%s, not %s)", id, bare, id)
		}
		return schema.ValidateID(id)
	})
	if err != nil {
		return ItemLookup{}, err
	}
	l.Items, l.ItemsLine = items, iv.Line
	return l, nil
}

func (p *parser) userLookup(n *node) (UserLookup, error) {
	f, err := readFields(p.file, n, "a lookup_users entry", userLookupKeys...)
	if err != nil {
		return UserLookup{}, err
	}
	l := UserLookup{Line: f.n.Line}
	if l.Item, err = p.item(f, "item"); err != nil {
		return UserLookup{}, err
	}
	if l.Action, err = p.action(f); err != nil {
		return UserLookup{}, err
	}
	users, uv, err := f.strSet("users", schema.ValidateID)
	if err != nil {
		return UserLookup{}, err
	}
	l.Users, l.UsersLine = users, uv.Line
	return l, nil
}
