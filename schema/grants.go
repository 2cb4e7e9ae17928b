package schema

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

// NewGrantorIndex returns the Grantors of the schema. They are read from
// its definitions when the schema changes (grants_table.go, generated and
// checked by TestGrantorTable), so that naming them does not link SpiceDB's
// schema compiler. The error is always nil; it stays so that a future
// analysis at run time needs no change of callers.
func NewGrantorIndex() (*GrantorIndex, error) {
	idx := &GrantorIndex{byKey: make(map[string]Grantors, len(grantorTable))}
	for _, e := range grantorTable {
		g := Grantors{Here: make(map[string]bool, len(e.here)), Above: make(map[string]bool, len(e.above))}
		for _, r := range e.here {
			g.Here[r] = true
		}
		for _, r := range e.above {
			g.Above[r] = true
		}
		idx.byKey[e.key] = g
	}
	return idx, nil
}

// For returns the Grantors of permission on items of type typ.
func (x *GrantorIndex) For(typ, permission string) (Grantors, bool) {
	g, ok := x.byKey[typ+"#"+permission]
	return g, ok
}
