package schema

// Token sessions (docs/model.md §6): every token of a user names the user's
// token session, and holds only while it is live. Sync starts and ends
// sessions with the user's own relationships; the token part reads them.
// The names (TypeUserSession, RelationTokenSession, RelationLive, TypeFlag,
// FlagOn) are in names.go with every other.

// UserSessionID is the id of one of user's token sessions: the user's
// encoded id, so a session names whose it is, and a nonce that tells a
// re-created user's session from the old one.
func UserSessionID(user, nonce string) string { return EncodeID(user) + "|" + nonce }

// LegacyUserSessionID is the session of a user mirrored before sessions
// existed, who therefore has none of sync's making: the token part starts
// it on the first token issued, and sync ends it whenever the user is
// deleted or moves, whether or not it was ever started.
func LegacyUserSessionID(user string) string { return UserSessionID(user, "legacy") }
