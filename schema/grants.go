package schema

import (
	"fmt"

	core "github.com/authzed/spicedb/pkg/proto/core/v1"
)

// Grantors says which relations can grant a permission of an item: on the
// item itself (Here) and on its ancestor folders (Above). It reads the
// schema's own definitions, so explanations follow the schema exactly; the
// subtracted side of an exclusion (trash, invite restrictions) never
// grants and is left out.
type Grantors struct {
	Here  map[string]bool
	Above map[string]bool
}

// GrantorIndex holds the Grantors of every permission of files and folders.
type GrantorIndex struct {
	byKey map[string]Grantors
}

// NewGrantorIndex analyses the schema.
func NewGrantorIndex() (*GrantorIndex, error) {
	c, err := compile("boxauthz", text)
	if err != nil {
		return nil, err
	}
	defs := map[string]*core.NamespaceDefinition{}
	for _, d := range c.ObjectDefinitions {
		defs[d.GetName()] = d
	}
	idx := &GrantorIndex{byKey: map[string]Grantors{}}
	for _, typ := range []string{TypeFolder, TypeFile} {
		for _, r := range defs[typ].GetRelation() {
			if r.GetUsersetRewrite() == nil {
				continue
			}
			g := Grantors{Here: map[string]bool{}, Above: map[string]bool{}}
			a := analyser{defs: defs, seen: map[string]bool{}, out: g}
			if err := a.relation(typ, r.GetName(), false); err != nil {
				return nil, err
			}
			idx.byKey[typ+"#"+r.GetName()] = g
		}
	}
	return idx, nil
}

// For returns the Grantors of permission on items of type typ.
func (x *GrantorIndex) For(typ, permission string) (Grantors, bool) {
	g, ok := x.byKey[typ+"#"+permission]
	return g, ok
}

type analyser struct {
	defs map[string]*core.NamespaceDefinition
	seen map[string]bool
	out  Grantors
}

func (a *analyser) relation(typ, name string, above bool) error {
	k := fmt.Sprintf("%s#%s/%v", typ, name, above)
	if a.seen[k] {
		return nil
	}
	a.seen[k] = true
	var rel *core.Relation
	for _, r := range a.defs[typ].GetRelation() {
		if r.GetName() == name {
			rel = r
		}
	}
	if rel == nil {
		return fmt.Errorf("analysing schema: %s has no relation or permission %q", typ, name)
	}
	if rel.GetUsersetRewrite() == nil {
		if above {
			a.out.Above[name] = true
		} else {
			a.out.Here[name] = true
		}
		return nil
	}
	return a.rewrite(typ, rel.GetUsersetRewrite(), above)
}

func (a *analyser) rewrite(typ string, rw *core.UsersetRewrite, above bool) error {
	var children []*core.SetOperation_Child
	switch {
	case rw.GetUnion() != nil:
		children = rw.GetUnion().GetChild()
	case rw.GetIntersection() != nil:
		children = rw.GetIntersection().GetChild()
	case rw.GetExclusion() != nil:
		// Only the base of an exclusion grants.
		children = rw.GetExclusion().GetChild()[:1]
	}
	for _, ch := range children {
		var err error
		switch {
		case ch.GetComputedUserset() != nil:
			err = a.relation(typ, ch.GetComputedUserset().GetRelation(), above)
		case ch.GetUsersetRewrite() != nil:
			err = a.rewrite(typ, ch.GetUsersetRewrite(), above)
		case ch.GetTupleToUserset() != nil && ch.GetTupleToUserset().GetTupleset().GetRelation() == "parent":
			err = a.relation(TypeFolder, ch.GetTupleToUserset().GetComputedUserset().GetRelation(), true)
		}
		// Other arrows (owner->colleague, owner->content_admin) qualify a
		// grant rather than being one.
		if err != nil {
			return err
		}
	}
	return nil
}
