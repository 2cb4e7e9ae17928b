package checker

import (
	"errors"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/schema/rel"
)

// Consistency is how fresh an answer must be: at least as fresh as Token
// when set (a token from an event apply), otherwise fully consistent.
//
// A token only ever asks for an answer at least as fresh as it, so an old
// one reads the present, never the past: the only reads of a past snapshot
// are the pages after a lookup's first, whose cursors the server signs and
// lets live for a short while (see WithCursorTTL).
type Consistency struct {
	Token string
}

// Validate reports a token that is not one SpiceDB gave out, naming the
// consistency_token field (docs/api.md), before any SpiceDB call.
func (c Consistency) Validate() error {
	if c.Token == "" {
		return nil
	}
	if _, err := spicedb.Revision(&v1.ZedToken{Token: c.Token}); err != nil {
		return &FieldError{Field: "consistency_token", Err: errors.New("not a consistency token this server gave out")}
	}
	return nil
}

func (c Consistency) proto() *v1.Consistency {
	if c.Token != "" {
		return &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: &v1.ZedToken{Token: c.Token}}}
	}
	return rel.FullyConsistent()
}
