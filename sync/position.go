package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/rel"
)

const (
	typeSource  = schema.TypeSource
	relPosition = schema.RelationPosition
)

// sourceKey maps a source name (a path, a DSN) to a SpiceDB object id.
func sourceKey(source string) string {
	sum := sha256.Sum256([]byte(source))
	return hex.EncodeToString(sum[:16])
}

func validPosition(p string) error {
	if p == "" {
		return fmt.Errorf("empty position")
	}
	for _, c := range p {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_|=+/-", c)) {
			return fmt.Errorf("position %q has %q (allowed: letters, digits, _ | = + / -)", p, c)
		}
	}
	return nil
}

func positionRelationship(source string, pos string) *v1.Relationship {
	k := sourceKey(source)
	return &v1.Relationship{
		Resource: rel.RawObject(typeSource, k),
		Relation: relPosition,
		Subject:  rel.RawSubject(typeSource, pos),
	}
}

func positionOf(r *v1.Relationship) string {
	if r == nil {
		return ""
	}
	return r.GetSubject().GetObject().GetObjectId()
}

// positionRel reads the committed position of a source; nil when it has none.
func (a *Applier) positionRel(ctx context.Context, source string) (*v1.Relationship, error) {
	// Always from SpiceDB: the position is what decides where to resume.
	rs, err := a.store.fetch(ctx, &v1.RelationshipFilter{ResourceType: typeSource, OptionalResourceId: sourceKey(source), OptionalRelation: relPosition})
	if err != nil {
		return nil, fmt.Errorf("reading the position of %s: %w", source, err)
	}
	if len(rs) > 1 {
		return nil, fmt.Errorf("reading the position of %s: %d positions recorded", source, len(rs))
	}
	if len(rs) == 0 {
		return nil, nil
	}
	return rs[0], nil
}

// Position returns the position committed for source: "" when none is.
func (a *Applier) Position(ctx context.Context, source string) (string, error) {
	r, err := a.positionRel(ctx, source)
	return positionOf(r), err
}

// positionUpdates moves a source's position from prev (nil: none) to pos, on
// the condition that nobody else moved it meanwhile.
func positionUpdates(source string, prev *v1.Relationship, pos string) ([]*v1.RelationshipUpdate, []*v1.Precondition) {
	next := positionRelationship(source, pos)
	ups := []*v1.RelationshipUpdate{rel.Touch(next)}
	filter := &v1.RelationshipFilter{ResourceType: typeSource, OptionalResourceId: sourceKey(source), OptionalRelation: relPosition}
	if prev == nil {
		return ups, []*v1.Precondition{{Operation: v1.Precondition_OPERATION_MUST_NOT_MATCH, Filter: filter}}
	}
	if rel.Key(prev) != rel.Key(next) {
		ups = append(ups, rel.Delete(prev))
	}
	f := &v1.RelationshipFilter{
		ResourceType: typeSource, OptionalResourceId: sourceKey(source), OptionalRelation: relPosition,
		OptionalSubjectFilter: &v1.SubjectFilter{SubjectType: typeSource, OptionalSubjectId: prev.GetSubject().GetObject().GetObjectId()},
	}
	return ups, []*v1.Precondition{{Operation: v1.Precondition_OPERATION_MUST_MATCH, Filter: f}}
}

// SetPosition moves the position committed for source from from ("": none
// is committed) to to, in one write conditioned on the position still being
// from: an operator moving a position must not overwrite one a writer
// committed after the operator looked. It returns an error wrapping
// ErrPositionMoved when the position is not from. It does not stop a
// writer that is running: one that commits after it overwrites it, so
// stop the source's writers first.
func (a *Applier) SetPosition(ctx context.Context, source, from, to string) error {
	if source == "" {
		return fmt.Errorf("setting a position: %w", ErrNoSource)
	}
	if err := validPosition(to); err != nil {
		return fmt.Errorf("setting the position of %s: %w", source, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	prev, err := a.positionRel(ctx, source)
	if err != nil {
		return err
	}
	if cur := positionOf(prev); cur != from {
		return fmt.Errorf("setting the position of %s to %q: %w: it is %q, not %q", source, to, ErrPositionMoved, cur, from)
	}
	ups, pre := positionUpdates(source, prev, to)
	_, err = a.client.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: ups, OptionalPreconditions: pre})
	if status.Code(err) == codes.FailedPrecondition {
		return fmt.Errorf("setting the position of %s to %q: %w since it was read as %q", source, to, ErrPositionMoved, from)
	}
	if err != nil {
		return fmt.Errorf("setting the position of %s to %q: %w", source, to, err)
	}
	return nil
}
