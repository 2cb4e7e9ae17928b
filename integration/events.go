package integration

import (
	"context"
	"fmt"
	"strings"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/event"
)

// Client is what ApplyEvents and NewChecker need of a SpiceDB client: the
// applier's and the checker's calls and the schema's. authzed-go's
// *authzed.Client (Container.Client) is one, and so is the in-process
// harness's (integration/inprocess).
type Client interface {
	sync.Client
	checker.Client
	schema.ReadWriter
}

// ApplyEvents makes client's SpiceDB hold a schema (boxauthz's, written
// where none is held; one written before, by WriteSchema or
// LoadValidationFile, stays as it is) and applies events through sync's applier, the code boxauthz serve runs:
// validated whole, one transaction. It returns the consistency token of the
// write; a check given it (checker.Consistency{Token: token}) sees the
// events. Events applied before are skipped, as the applier skips
// redeliveries.
func ApplyEvents(ctx context.Context, client Client, events []event.Event) (string, error) {
	if err := ensureSchema(ctx, client); err != nil {
		return "", err
	}
	res, err := sync.NewApplier(client).Apply(ctx, events)
	if err != nil {
		return "", fmt.Errorf("applying %d events: %w", len(events), err)
	}
	return res.Token.GetToken(), nil
}

// ApplyJSON is ApplyEvents of events written as JSON (docs/events.md's format),
// each string one event or several on lines of their own, decoded strictly
// as POST /v1/events decodes NDJSON.
func ApplyJSON(ctx context.Context, client Client, events ...string) (string, error) {
	evs, err := DecodeJSON(events...)
	if err != nil {
		return "", err
	}
	return ApplyEvents(ctx, client, evs)
}

// DecodeJSON decodes events written as JSON, each string one event or
// several on lines of their own, strictly, as POST /v1/events decodes
// NDJSON (event.DecodeEvents).
func DecodeJSON(events ...string) ([]event.Event, error) {
	evs, err := event.DecodeEvents([]byte(strings.Join(events, "\n")), true)
	if err != nil {
		return nil, fmt.Errorf("decoding events: %w", err)
	}
	return evs, nil
}

// NewChecker makes client's SpiceDB hold boxauthz's schema, as ApplyEvents
// does, and returns a checker asking it (checker.New with opts).
func NewChecker(ctx context.Context, client Client, opts ...checker.Option) (*checker.Checker, error) {
	if err := ensureSchema(ctx, client); err != nil {
		return nil, err
	}
	ch, err := checker.New(client, opts...)
	if err != nil {
		return nil, fmt.Errorf("building a checker: %w", err)
	}
	return ch, nil
}

// ensureSchema writes boxauthz's schema where client's SpiceDB holds none.
// It does not compare a schema that is there (schema/upgrade does, and
// links SpiceDB's schema compiler, which this package keeps out): a test
// that wrote an extension of it keeps that.
func ensureSchema(ctx context.Context, client Client) error {
	_, err := client.ReadSchema(ctx, &v1.ReadSchemaRequest{})
	if status.Code(err) == codes.NotFound {
		_, err = schema.Write(ctx, client)
		if err != nil {
			return fmt.Errorf("writing boxauthz's schema: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the schema: %w", err)
	}
	return nil
}

// ApplyEvents is ApplyEvents on Client.
func (c *Container) ApplyEvents(ctx context.Context, events []event.Event) (string, error) {
	cl, err := c.Client(ctx)
	if err != nil {
		return "", err
	}
	return ApplyEvents(ctx, cl, events)
}

// ApplyJSON is ApplyJSON on Client.
func (c *Container) ApplyJSON(ctx context.Context, events ...string) (string, error) {
	cl, err := c.Client(ctx)
	if err != nil {
		return "", err
	}
	return ApplyJSON(ctx, cl, events...)
}

// Checker is NewChecker on Client.
func (c *Container) Checker(ctx context.Context, opts ...checker.Option) (*checker.Checker, error) {
	cl, err := c.Client(ctx)
	if err != nil {
		return nil, err
	}
	return NewChecker(ctx, cl, opts...)
}
