package rel

import (
	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/schema"
)

// PlacementKey names an item in a placement's caveat context and in a chain
// check's expected map: "type:id", the id as SpiceDB holds it, so a file
// and a folder of one id never meet. "" stands for "above the top level".
func PlacementKey(typ, id string) string {
	return typ + ":" + id
}

// Placement is the relationship that records item typ:boxID's parent folder
// (parentBoxID, or "" at the top level) for chain checks. Sync writes it in
// the same transaction as the item's parent relationship, and it must never
// say otherwise than that relationship: a chain check trusts it.
func Placement(typ, boxID, parentBoxID string) *v1.Relationship {
	parent := ""
	if parentBoxID != "" {
		parent = PlacementKey(schema.TypeFolder, schema.EncodeID(parentBoxID))
	}
	return WithCaveat(Flag(typ, boxID, schema.RelationPlacement), schema.CaveatPlacedUnder, map[string]any{
		schema.PlacedUnderSelf:   PlacementKey(typ, schema.EncodeID(boxID)),
		schema.PlacedUnderParent: parent,
	})
}

// PlacedUnder reads a placement relationship back: the item's and its
// parent's keys ("" at the top level). ok is false for any other
// relationship, or a placement whose context is not one Placement writes.
func PlacedUnder(r *v1.Relationship) (self, parent string, ok bool) {
	c := r.GetOptionalCaveat()
	if r.GetRelation() != schema.RelationPlacement || c.GetCaveatName() != schema.CaveatPlacedUnder {
		return "", "", false
	}
	f := c.GetContext().GetFields()
	s, sok := f[schema.PlacedUnderSelf]
	p, pok := f[schema.PlacedUnderParent]
	if !sok || !pok {
		return "", "", false
	}
	self, parent = s.GetStringValue(), p.GetStringValue()
	want := PlacementKey(r.GetResource().GetObjectType(), r.GetResource().GetObjectId())
	return self, parent, self == want
}
