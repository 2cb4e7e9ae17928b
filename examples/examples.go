package examples

import _ "embed"

// AcmeEvents is the Acme enterprise as JSONL events (docs/events.md): an admin, a
// co-admin, employees, an external partner, a group, a folder tree with
// collaborations of several roles (one pending, one expiring), a shared link
// and a trashed folder.
//
//go:embed acme.jsonl
var AcmeEvents []byte
