package checker

import (
	"encoding/base64"
	"errors"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	implv1 "github.com/authzed/spicedb/pkg/proto/impl/v1"
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
// consistency_token field (API.md), before any SpiceDB call.
func (c Consistency) Validate() error {
	if c.Token == "" {
		return nil
	}
	// A ZedToken is base64 of SpiceDB's DecodedZedToken message; decoding
	// it here needs only that message, not SpiceDB's datastore packages.
	b, err := base64.StdEncoding.DecodeString(c.Token)
	var d implv1.DecodedZedToken
	if err == nil {
		err = d.UnmarshalVT(b)
	}
	if err != nil || (d.GetV1().GetRevision() == "" && d.GetDeprecatedV1Zookie() == nil) {
		return &FieldError{Field: "consistency_token", Err: errors.New("not a consistency token this server gave out")}
	}
	return nil
}

func (c Consistency) proto() *v1.Consistency {
	if c.Token != "" {
		return &v1.Consistency{Requirement: &v1.Consistency_AtLeastAsFresh{AtLeastAsFresh: &v1.ZedToken{Token: c.Token}}}
	}
	return &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}
}
