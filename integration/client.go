package integration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	authzed "github.com/authzed/authzed-go/v1"
	"github.com/authzed/spicedb/pkg/tuple"
	"github.com/authzed/spicedb/pkg/validationfile/blocks"
	"github.com/testcontainers/testcontainers-go"
	yaml "go.yaml.in/yaml/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/boxauthz/boxauthz/schema"
)

// PresharedKey is the key clients present (with WithServeTesting, the key
// naming the default client's datastore).
func (c *Container) PresharedKey() string { return c.settings.key }

// Client returns authzed-go's client of this SpiceDB, presenting
// PresharedKey over plaintext gRPC. It is ready: Run waited for SpiceDB's
// health. The Container owns it: Terminate closes it, callers do not.
func (c *Container) Client(ctx context.Context) (*authzed.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client != nil {
		return c.client, nil
	}
	cl, err := c.ClientWithKey(ctx, c.settings.key)
	if err != nil {
		return nil, err
	}
	c.client = cl
	return cl, nil
}

// ClientWithKey returns a new client presenting key, which the caller closes.
// With WithServeTesting each key sees its own datastore.
func (c *Container) ClientWithKey(ctx context.Context, key string) (*authzed.Client, error) {
	ep, err := c.GRPCEndpoint(ctx)
	if err != nil {
		return nil, err
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if key != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer(key)))
	}
	cl, err := authzed.NewClient(ep, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to spicedb at %s: %w", ep, err)
	}
	return cl, nil
}

// bearer presents SpiceDB's preshared key on every call. The container is
// reached over plaintext gRPC on this machine, so it does not ask for TLS.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }

// Terminate closes the Client and removes the container.
func (c *Container) Terminate(ctx context.Context, opts ...testcontainers.TerminateOption) error {
	c.mu.Lock()
	var err error
	if c.client != nil {
		err = c.client.Close()
		c.client = nil
	}
	c.mu.Unlock()
	if c.Container == nil {
		return err
	}
	return errors.Join(err, c.Container.Terminate(ctx, opts...))
}

// WriteSchema writes boxauthz's schema (schema.Text) to this SpiceDB.
func (c *Container) WriteSchema(ctx context.Context) (*v1.ZedToken, error) {
	cl, err := c.Client(ctx)
	if err != nil {
		return nil, err
	}
	return schema.Write(ctx, cl)
}

// LoadValidationFile writes the schema and relationships of a validation
// file (zed's format, as in schema/testdata) to this SpiceDB; assertions and
// expected relations are not run (validation.ValidateFile runs them). A file
// without a schema gets boxauthz's, as validation.ValidateFile does. It returns
// the token of the last write.
func (c *Container) LoadValidationFile(ctx context.Context, contents []byte) (*v1.ZedToken, error) {
	var vf validationFile
	if err := yaml.Unmarshal(contents, &vf); err != nil {
		return nil, fmt.Errorf("reading validation file: %w", err)
	}
	if vf.SchemaFile != "" {
		return nil, fmt.Errorf("reading validation file: schemaFile %q is not supported: put the schema inline", vf.SchemaFile)
	}
	cl, err := c.Client(ctx)
	if err != nil {
		return nil, err
	}
	text := vf.Schema.Schema
	if strings.TrimSpace(text) == "" {
		text = schema.Text()
	}
	wr, err := cl.WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: text})
	if err != nil {
		return nil, fmt.Errorf("writing the validation file's schema: %w", err)
	}
	token := wr.GetWrittenAt()
	const batch = 1000 // SpiceDB's default --write-relationships-max-updates-per-call
	rels := vf.Relationships.Relationships
	for i := 0; i < len(rels); i += batch {
		end := min(i+batch, len(rels))
		ups := make([]*v1.RelationshipUpdate, 0, end-i)
		for _, r := range rels[i:end] {
			ups = append(ups, &v1.RelationshipUpdate{
				Operation:    v1.RelationshipUpdate_OPERATION_TOUCH,
				Relationship: tuple.ToV1Relationship(r),
			})
		}
		resp, err := cl.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: ups})
		if err != nil {
			return nil, fmt.Errorf("writing the validation file's relationships: %w", err)
		}
		token = resp.GetWrittenAt()
	}
	return token, nil
}

// LoadValidationFileAt is LoadValidationFile of the file at path.
func (c *Container) LoadValidationFileAt(ctx context.Context, path string) (*v1.ZedToken, error) {
	b, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return nil, err
	}
	return c.LoadValidationFile(ctx, b)
}

// validationFile is the part of zed's validation file format that
// LoadValidationFile reads, decoded by SpiceDB's own block parsers. Its
// assertions and expected relations are decoded too, so that a file with
// malformed ones is refused here as zed would refuse it, although they are
// not run.
type validationFile struct {
	Schema            blocks.SchemaWithPosition      `yaml:"schema"`
	Relationships     blocks.ParsedRelationships     `yaml:"relationships"`
	Assertions        blocks.Assertions              `yaml:"assertions"`
	ExpectedRelations blocks.ParsedExpectedRelations `yaml:"validation"`
	SchemaFile        string                         `yaml:"schemaFile"`
}
