// Package examples holds sample data: a small enterprise as content change
// events, used by `boxauthz demo`, the README and tests.
package examples

import _ "embed"

// AcmeEvents is the Acme enterprise as JSONL events (EVENTS.md): an admin, a
// co-admin, employees, an external partner, a group, a folder tree with
// collaborations of several roles (one pending, one expiring), a shared link
// and a trashed folder.
//
//go:embed acme.jsonl
var AcmeEvents []byte
