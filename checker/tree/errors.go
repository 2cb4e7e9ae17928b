package tree

import "errors"

// errSchemaChanged ends a watch whose schema changed under it: the index
// loads again from the new schema's relationships.
var errSchemaChanged = errors.New("spicedb's schema changed")
