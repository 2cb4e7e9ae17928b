package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/checker/oauth"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/source"
)

// DefaultWebhookDeadLetter is the file webhooks that cannot be applied go
// to unless WithWebhookDeadLetter names another.
const DefaultWebhookDeadLetter = "webhooks.dead"

// Option configures New.
type Option func(*config)

// config is what New and the options set; New starts it at the defaults.
type config struct {
	Checker           *checker.Checker
	Applier           *sync.Applier
	AdminKey          string
	Ready             func(context.Context) error
	Logger            *slog.Logger
	MaxBodyBytes      int64
	PublicBodyReads   int
	WebhookKeys       source.WebhookKeys
	WebhookDeadLetter string
	Now               func() time.Time
	Metrics           http.Handler
	Authorizer        *oauth.Authorizer
	InvalidTokenLimit int
	InvalidTokenBurst int
	TrustedProxies    []netip.Prefix
	Registerer        prometheus.Registerer
	Tracer            trace.Tracer
	Propagator        propagation.TextMapPropagator
	Extension         *checker.Extension
}

// WithReady reports whether the server is ready, for /readyz: SpiceDB
// answers and holds the schema (and, in serve, its event sources caught
// up). Only admin callers read the error, unless it has a
// PublicReason() string method: others read that.
func WithReady(ready func(context.Context) error) Option {
	return func(c *config) { c.Ready = ready }
}

// WithLogger logs requests and failures; default slog.Default().
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.Logger = l } }

// WithMaxBodyBytes bounds admin request bodies (default
// DefaultMaxBodyBytes); routes any caller reaches have smaller limits of
// their own (MaxPublicBodyBytes, MaxWebhookBodyBytes).
func WithMaxBodyBytes(n int64) Option {
	return func(c *config) {
		if n > 0 {
			c.MaxBodyBytes = n
		}
	}
}

// WithPublicBodyReads bounds the bodies of unauthenticated requests read
// at once (default DefaultPublicBodyReads).
func WithPublicBodyReads(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.PublicBodyReads = n
		}
	}
}

// WithWebhookKeys verify Box webhook deliveries at /webhooks/box; with no
// key the endpoint is off (404).
func WithWebhookKeys(k source.WebhookKeys) Option { return func(c *config) { c.WebhookKeys = k } }

// WithWebhookDeadLetter is the file webhooks that cannot be applied go to
// (default DefaultWebhookDeadLetter).
func WithWebhookDeadLetter(path string) Option {
	return func(c *config) {
		if path != "" {
			c.WebhookDeadLetter = path
		}
	}
}

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(c *config) { c.Now = now } }

// WithMetrics serves GET /metrics with h (Prometheus text format).
func WithMetrics(h http.Handler) Option { return func(c *config) { c.Metrics = h } }

// WithAuthorizer serves the token, application and authorize endpoints
// (docs/api.md Tokens, Authorize).
func WithAuthorizer(a *oauth.Authorizer) Option { return func(c *config) { c.Authorizer = a } }

// WithInvalidTokenLimit is how many bad credentials (unknown, expired or
// revoked tokens, a wrong admin key) one client address, and one presented
// credential, may present per minute before a further bad one is answered
// 429, and how many in a row (burst). The admin key's failures are counted
// apart from end users'. Default DefaultInvalidTokenLimit and
// DefaultInvalidTokenBurst; a limit of 0 keeps them, a negative one turns
// the limit off.
func WithInvalidTokenLimit(limit, burst int) Option {
	return func(c *config) {
		if limit != 0 {
			c.InvalidTokenLimit, c.InvalidTokenBurst = limit, burst
		}
	}
}

// WithTrustedProxies are the reverse proxies whose X-Forwarded-For names
// the client address the limit counts. Default: none, the connection's
// peer.
func WithTrustedProxies(ps []netip.Prefix) Option { return func(c *config) { c.TrustedProxies = ps } }

// WithRegisterer registers the API's own metrics (requests by route and
// status, latency by route, check and authorize decisions) with reg; without it they are not kept.
func WithRegisterer(reg prometheus.Registerer) Option { return func(c *config) { c.Registerer = reg } }
