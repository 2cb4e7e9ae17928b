package inprocess

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/checker/oauth"
	"github.com/boxauthz/boxauthz/integration"
	"github.com/boxauthz/boxauthz/internal/httpapi"
	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/event"
)

// Harness is boxauthz on an in-memory SpiceDB in this process: the schema
// written, a client, the applier and a checker, and with WithHTTPAPI the
// HTTP API on a loopback server.
type Harness struct {
	client   *spicedb.Client
	applier  *sync.Applier
	checker  *checker.Checker
	server   *httptest.Server
	adminKey string
}

// Start starts SpiceDB in this process on its in-memory datastore, writes
// boxauthz's schema and builds the applier and the checker boxauthz serve
// builds; with WithHTTPAPI it also serves the HTTP API on 127.0.0.1. The
// caller closes the Harness, which loses everything it held.
func Start(ctx context.Context, opts ...Option) (*Harness, error) {
	s := settings{log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&s)
	}
	cl, err := embedded.Start(ctx)
	if err != nil {
		return nil, fmt.Errorf("starting the in-process spicedb: %w", err)
	}
	h := &Harness{client: cl}
	if err := h.build(ctx, s); err != nil {
		return nil, errors.Join(err, h.Close())
	}
	return h, nil
}

// build writes the schema and makes the parts.
func (h *Harness) build(ctx context.Context, s settings) error {
	if _, err := schema.Write(ctx, h.client); err != nil {
		return fmt.Errorf("writing boxauthz's schema: %w", err)
	}
	ch, err := checker.New(h.client, s.checkerOpts...)
	if err != nil {
		return fmt.Errorf("building the checker: %w", err)
	}
	h.checker = ch
	h.applier = sync.NewApplier(h.client, sync.WithLogger(s.log))
	if !s.http {
		return nil
	}
	h.adminKey = s.adminKey
	if h.adminKey == "" {
		var b [24]byte
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("making an admin key: %w", err)
		}
		h.adminKey = hex.EncodeToString(b[:])
	}
	tokens := oauth.NewTokens(h.client, oauth.WithLogger(s.log))
	if err := tokens.Bootstrap(ctx); err != nil {
		return err
	}
	api, err := httpapi.New(h.checker, h.applier, h.adminKey,
		httpapi.WithLogger(s.log),
		httpapi.WithReady(h.ready),
		httpapi.WithAuthorizer(oauth.NewAuthorizer(h.checker, tokens)))
	if err != nil {
		return fmt.Errorf("building the HTTP API: %w", err)
	}
	h.server = httptest.NewServer(api)
	return nil
}

// New is Start for a test: it fails t if the harness cannot start and
// closes it when t ends.
func New(t testing.TB, opts ...Option) *Harness {
	t.Helper()
	h, err := Start(t.Context(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Error(err)
		}
	})
	return h
}

// Client is the client of the in-process SpiceDB, holding the schema. It
// goes wherever a SpiceDB client does (sync.NewApplier, checker.New,
// integration.ApplyEvents). The Harness owns it: Close closes it.
func (h *Harness) Client() integration.Client { return h.client }

// Checker is the checker on the in-process SpiceDB.
func (h *Harness) Checker() *checker.Checker { return h.checker }

// ApplyEvents applies events through the harness's applier (the one the HTTP
// API writes with) and returns the consistency token of the write: a check
// given it (checker.Consistency{Token: token}) sees the events.
func (h *Harness) ApplyEvents(ctx context.Context, events []event.Event) (string, error) {
	res, err := h.applier.Apply(ctx, events)
	if err != nil {
		return "", fmt.Errorf("applying %d events: %w", len(events), err)
	}
	return res.Token.GetToken(), nil
}

// ApplyJSON is ApplyEvents of events written as JSON, each string one
// event or several on lines of their own (integration.ApplyJSON).
func (h *Harness) ApplyJSON(ctx context.Context, events ...string) (string, error) {
	evs, err := integration.DecodeJSON(events...)
	if err != nil {
		return "", err
	}
	return h.ApplyEvents(ctx, evs)
}

// URL is the HTTP API's base URL (http://127.0.0.1:port), "" without
// WithHTTPAPI.
func (h *Harness) URL() string {
	if h.server == nil {
		return ""
	}
	return h.server.URL
}

// AdminKey is the key trusted callers of the HTTP API present as
// Authorization: Bearer <key>, "" without WithHTTPAPI.
func (h *Harness) AdminKey() string { return h.adminKey }

// Close stops the HTTP API and the in-process SpiceDB.
func (h *Harness) Close() error {
	if h.server != nil {
		h.server.Close()
		h.server = nil
	}
	if h.client == nil {
		return nil
	}
	err := h.client.Close()
	h.client = nil
	if err != nil {
		return fmt.Errorf("stopping the in-process spicedb: %w", err)
	}
	return nil
}

// ready answers /readyz: SpiceDB answers and holds a schema.
func (h *Harness) ready(ctx context.Context) error {
	_, err := h.client.ReadSchema(ctx, &v1.ReadSchemaRequest{})
	return err
}

// settings are what the options set.
type settings struct {
	http        bool
	adminKey    string
	log         *slog.Logger
	checkerOpts []checker.Option
}

// Option configures Start.
type Option func(*settings)

// WithHTTPAPI also serves boxauthz's HTTP API (the handler boxauthz serve
// runs, tokens and authorize included) on a loopback httptest server, at
// URL, with a random admin key (AdminKey).
func WithHTTPAPI() Option { return func(s *settings) { s.http = true } }

// WithAdminKey serves the HTTP API, as WithHTTPAPI, with this admin key.
func WithAdminKey(key string) Option {
	return func(s *settings) { s.http, s.adminKey = true, key }
}

// WithLogger logs the applier's and the HTTP API's work to l; by default
// nothing is logged.
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.log = l } }

// WithCheckerOptions passes opts to checker.New (checker.WithClock, say).
func WithCheckerOptions(opts ...checker.Option) Option {
	return func(s *settings) { s.checkerOpts = append(s.checkerOpts, opts...) }
}
