package schema

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"
)

//go:embed schema.zed
var text string

// Text returns the schema in SpiceDB's schema language.
func Text() string { return text }

// Digest identifies this version of the schema text.
func Digest() string {
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:8])
}

// Reader reads the schema a SpiceDB holds.
type Reader interface {
	ReadSchema(ctx context.Context, in *v1.ReadSchemaRequest, opts ...grpc.CallOption) (*v1.ReadSchemaResponse, error)
}

// Writer writes a schema to a SpiceDB.
type Writer interface {
	WriteSchema(ctx context.Context, in *v1.WriteSchemaRequest, opts ...grpc.CallOption) (*v1.WriteSchemaResponse, error)
}

// ReadWriter reads and writes a SpiceDB's schema.
type ReadWriter interface {
	Reader
	Writer
}

// Write writes this schema to the SpiceDB behind w and returns the
// consistency token of the write.
func Write(ctx context.Context, w Writer) (*v1.ZedToken, error) {
	resp, err := w.WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: text})
	if err != nil {
		return nil, fmt.Errorf("writing the boxauthz schema to spicedb: %w", err)
	}
	return resp.GetWrittenAt(), nil
}
