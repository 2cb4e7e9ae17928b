package oauth

import "time"

// SetOneRequest makes a ask each decision's questions in one
// CheckBulkPermissions, as it does under saturation, so that tests cover
// both ways of asking.
func SetOneRequest(a *Authorizer, on bool) { a.oneRequest = on }

// Watching says whether the revocation watch is following SpiceDB.
func Watching(t *Tokens) bool { return t.validity.running() }

// Vouched says whether the revocation watch remembers token as valid now,
// so an authorization with it leaves the validity question out once the
// watch is not behind (a loaded machine can put it behind for a moment).
func Vouched(t *Tokens, token string) bool { return t.validity.remembered(hashToken(token), t.now()) }

// SetFenceWait sets how long a decision waits for the revocation watch, so
// that a test can count on the watch confirming on a loaded machine.
func SetFenceWait(t *Tokens, d time.Duration) { t.validity.fenceWait = d }

// SetWatchStallLimit shortens how long the revocation watch may stay behind
// before it is restarted; call it before WatchRevocations.
func SetWatchStallLimit(t *Tokens, d time.Duration) { t.validity.stallLimit = d }

// WatchesStarted counts the revocation watches t has started (one more
// after each restart), vouching or not.
func WatchesStarted(t *Tokens) uint64 { return t.validity.watches.Load() }

// TokenID is the SpiceDB object id of an access token: its hash.
func TokenID(token string) string { return hashToken(token) }
