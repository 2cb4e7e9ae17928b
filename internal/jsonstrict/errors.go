package jsonstrict

import "fmt"

// DuplicateKeyError is an object that names one key twice. encoding/json
// keeps the last value silently, so two readers of the same body could
// disagree on what it says (one checks the first, another applies the last).
type DuplicateKeyError struct {
	// Path is where the key is, as "collaboration.item" ("" at the top).
	Path string
	Key  string
}

func (e *DuplicateKeyError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("key %q given twice", e.Key)
	}
	return fmt.Sprintf("key %q given twice in %q", e.Key, e.Path)
}

// Field is the path of the key given twice, as "collaboration.item.id".
func (e *DuplicateKeyError) Field() string { return join(e.Path, e.Key) }
