package schema

import "fmt"

// ItemRef names a file or folder, as events, checks and tokens do.
type ItemRef struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

func (r ItemRef) String() string { return r.Type + ":" + r.ID }

// ParseItemRef reads "folder:123" or "file:abc".
func ParseItemRef(s string) (ItemRef, error) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			r := ItemRef{Type: s[:i], ID: s[i+1:]}
			return r, r.Validate()
		}
	}
	return ItemRef{}, fmt.Errorf("item %q: want type:id, for example folder:123", s)
}

// Validate checks the reference names a file or folder by a valid id.
func (r ItemRef) Validate() error {
	if r.Type != TypeFolder && r.Type != TypeFile {
		return fmt.Errorf("item type %q: want folder or file", r.Type)
	}
	if r.ID == RootID {
		return fmt.Errorf("item id \"0\" is the root, never an item")
	}
	if err := ValidateID(r.ID); err != nil {
		return fmt.Errorf("item id: %w", err)
	}
	return nil
}
