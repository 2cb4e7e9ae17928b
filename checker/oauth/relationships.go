package oauth

import (
	"context"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/schema/rel"
)

// flagOnSubject is boxauthz_flag:on, the subject of every token, family,
// app and session flag.
func flagOnSubject() *v1.SubjectReference { return rel.RawSubject(typeFlag, flagOn) }

func (t *Tokens) readObject(ctx context.Context, typ, id string) ([]*v1.Relationship, error) {
	rels, _, err := spicedb.ReadAll(ctx, t.client, &v1.ReadRelationshipsRequest{
		Consistency:        rel.FullyConsistent(),
		RelationshipFilter: &v1.RelationshipFilter{ResourceType: typ, OptionalResourceId: id},
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s %s: %w", typ, id, err)
	}
	return rels, nil
}

// write is WriteRelationships, written again when SpiceDB aborted it for
// contention. On PostgreSQL, token writes under concurrent issue share rows
// (an application grant, preconditions) and serializable transactions abort
// some of them; SpiceDB gives up after its own retries. An aborted write
// changed nothing, so writing it again is safe.
func (t *Tokens) write(ctx context.Context, req *v1.WriteRelationshipsRequest) (*v1.WriteRelationshipsResponse, error) {
	wait := 5 * time.Millisecond
	for attempt := 1; ; attempt++ {
		resp, err := t.client.WriteRelationships(ctx, req)
		if status.Code(err) != codes.Aborted || attempt == writeAttempts {
			return resp, err
		}
		t.logger.Debug("spicedb aborted a token write for contention; writing it again", slog.Int("attempt", attempt))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait + mrand.N(wait)):
		}
		wait *= 2
	}
}

// settle returns once every later fully consistent request sees ups, just
// written (see spicedb.Settle): what makes "after Revoke returns, no request
// accepts the token" hold, and a token just issued valid on its first use.
func (t *Tokens) settle(ctx context.Context, what string, ups ...*v1.RelationshipUpdate) error {
	if err := spicedb.Settle(ctx, t.client, ups...); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// settleGone is settle for a DeleteRelationships: nothing matches f.
func (t *Tokens) settleGone(ctx context.Context, what string, f *v1.RelationshipFilter) error {
	if err := spicedb.SettleFilter(ctx, t.client, f, false); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func isPrecondition(err error) bool {
	return status.Code(err) == codes.FailedPrecondition
}
