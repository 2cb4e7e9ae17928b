package schema

// Token sessions (MODEL.md §6): every token of a user names the user's
// token session, and holds only while it is live. Sync starts and ends
// sessions with the user's own relationships; the token part reads them.
const (
	// TypeUserSession is a user's token session.
	TypeUserSession = "boxauthz_user_session"
	// RelationTokenSession on a user names its current session.
	RelationTokenSession = "token_session"
	// RelationLive on a session is its switch, written with FlagSubject.
	RelationLive = "live"
	// TypeFlag is the one subject type every switch names.
	TypeFlag = "boxauthz_flag"
	// FlagOn is the one flag object.
	FlagOn = "on"
)

// UserSessionID is the id of one of user's token sessions: the user's
// encoded id, so a session names whose it is, and a nonce that tells a
// re-created user's session from the old one.
func UserSessionID(user, nonce string) string { return EncodeID(user) + "|" + nonce }

// LegacyUserSessionID is the session of a user mirrored before sessions
// existed, who therefore has none of sync's making: the token part starts
// it on the first token issued, and sync ends it whenever the user is
// deleted or moves, whether or not it was ever started.
func LegacyUserSessionID(user string) string { return UserSessionID(user, "legacy") }
