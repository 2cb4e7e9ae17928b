package sync

import (
	"context"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/rel"
	"github.com/boxauthz/boxauthz/sync/event"
)

// Token sessions (docs/model.md §6: deleting a user, or moving them to another
// enterprise, ends every token of theirs at once; a re-created id never
// inherits an old token). Every token names its user's session and holds
// only while the session is live; the applier starts and ends sessions in
// the same transaction as the user's own relationships, so no token outlives
// the user state it was issued under, and nothing is read back to do it.

// SessionLive is the switch of token session id: every token issued under
// the session holds only while it is there.
func SessionLive(id string) *v1.Relationship {
	return &v1.Relationship{
		Resource: rel.RawObject(schema.TypeUserSession, id),
		Relation: schema.RelationLive,
		Subject:  rel.RawSubject(schema.TypeFlag, schema.FlagOn),
	}
}

// sessionOf is user's relationship naming its token session id.
func sessionOf(user, id string) *v1.Relationship {
	return &v1.Relationship{
		Resource: rel.Object(schema.TypeUser, user),
		Relation: schema.RelationTokenSession,
		Subject:  rel.RawSubject(schema.TypeUserSession, id),
	}
}

// tokenSession returns the relationship naming u's token session after the
// event, starting a new session when the user is new or changes enterprise
// (a token was issued under the old enterprise's authorization of its
// application) and ending the old one.
func (t *translator) tokenSession(ctx context.Context, u *event.User) (*v1.Relationship, error) {
	have, err := t.ov.read(ctx, rel.Filter(schema.TypeUser, u.ID, ""))
	if err != nil {
		return nil, err
	}
	existed, enterprise, current := false, "", ""
	for _, r := range have {
		existed = true
		switch r.GetRelation() {
		case relEnterprise:
			enterprise = schema.DecodeID(r.GetSubject().GetObject().GetObjectId())
		case schema.RelationTokenSession:
			current = r.GetSubject().GetObject().GetObjectId()
		}
	}
	if existed && enterprise == u.Enterprise {
		if current == "" {
			// Mirrored before sessions existed: its tokens (if any) use
			// the legacy session, which it keeps.
			current = schema.LegacyUserSessionID(u.ID)
		}
		t.ov.touch(SessionLive(current))
		return sessionOf(u.ID, current), nil
	}
	if existed {
		// Moved to another enterprise. (A user that did not exist has no
		// live session: deleting one ends them all.)
		if err := t.endTokenSessions(ctx, u.ID); err != nil {
			return nil, err
		}
	}
	id := schema.UserSessionID(u.ID, t.event[:20])
	t.ov.touch(SessionLive(id))
	return sessionOf(u.ID, id), nil
}

// endTokenSessions ends every token session of user: the one the user names
// and the legacy one, which the token part may have started without sync
// knowing (deleting a switch that is not there changes nothing).
func (t *translator) endTokenSessions(ctx context.Context, user string) error {
	have, err := t.ov.read(ctx, rel.Filter(schema.TypeUser, user, schema.RelationTokenSession))
	if err != nil {
		return err
	}
	for _, r := range have {
		t.ov.delete(SessionLive(r.GetSubject().GetObject().GetObjectId()))
	}
	t.ov.delete(SessionLive(schema.LegacyUserSessionID(user)))
	return nil
}
