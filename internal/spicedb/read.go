package spicedb

import (
	"context"
	"errors"
	"io"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"
)

// RelationshipReader reads relationships from SpiceDB.
type RelationshipReader interface {
	ReadRelationships(ctx context.Context, in *v1.ReadRelationshipsRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[v1.ReadRelationshipsResponse], error)
}

// ReadAll drains a ReadRelationships stream: every relationship the request
// matches, and the revision they were read at (nil when none matched).
func ReadAll(ctx context.Context, r RelationshipReader, req *v1.ReadRelationshipsRequest) ([]*v1.Relationship, *v1.ZedToken, error) {
	stream, err := r.ReadRelationships(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	var (
		out    []*v1.Relationship
		readAt *v1.ZedToken
	)
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, readAt, nil
		}
		if err != nil {
			return nil, nil, err
		}
		out = append(out, resp.GetRelationship())
		readAt = resp.GetReadAt()
	}
}
