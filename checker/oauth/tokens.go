package oauth

import (
	"context"
	"log/slog"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	authzed "github.com/authzed/authzed-go/v1"
	"google.golang.org/grpc"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/schema"
)

// Object types and relations of the token part of the schema, short for
// their schema names.
const (
	typeFlag          = schema.TypeFlag
	typeScope         = schema.TypeScope
	typeApp           = schema.TypeApp
	typeAppGrant      = schema.TypeAppGrant
	typeFamily        = schema.TypeTokenFamily
	typeAccessToken   = schema.TypeAccessToken
	typeRefreshToken  = schema.TypeRefreshToken
	typeSession       = schema.TypeUserSession
	typeClientSecret  = schema.TypeClientSecret
	typeSealedPair    = schema.TypeSealedPair
	flagOn            = schema.FlagOn
	relAlive          = schema.RelationAlive
	relLive           = schema.RelationLive
	relRoot           = schema.RelationRoot
	relParent         = schema.RelationParent
	relFamily         = schema.RelationFamily
	relGrant          = schema.RelationGrant
	relSession        = schema.RelationSession
	relUser           = schema.RelationUser
	relScope          = schema.RelationScope
	relResource       = schema.RelationResource
	relRefresh        = schema.RelationRefresh
	relAccess         = schema.RelationAccess
	relUnspent        = schema.RelationUnspent
	relApp            = schema.RelationApp
	relAuthorized     = schema.RelationAuthorized
	relAsUser         = schema.RelationAsUser
	relClientSecret   = schema.RelationClientSecret
	relSuccessor      = schema.RelationSuccessor
	permValid         = schema.PermissionValid
	permMayActAsUsers = schema.PermissionMayActAsUsers
)

// DefaultApp is the built-in application: every scope, may act as users,
// authorized everywhere (docs/model.md §6).
const DefaultApp = "default"

// metaCacheMax bounds the access token descriptions a replica caches.
const metaCacheMax = 100_000

// Default lifetimes (docs/model.md §6).
const (
	DefaultAccessTTL  = 60 * time.Minute
	DefaultRefreshTTL = 60 * 24 * time.Hour
)

// Token type URNs of RFC 8693, as Box answers them.
const (
	TokenTypeAccess = "urn:ietf:params:oauth:token-type:access_token" //nolint:gosec // G101: an RFC 8693 type name, not a credential.
)

// Client is what token storage needs of SpiceDB: the graph checks and
// writes with preconditions.
type Client interface {
	checker.Client
	WriteRelationships(ctx context.Context, in *v1.WriteRelationshipsRequest, opts ...grpc.CallOption) (*v1.WriteRelationshipsResponse, error)
	DeleteRelationships(ctx context.Context, in *v1.DeleteRelationshipsRequest, opts ...grpc.CallOption) (*v1.DeleteRelationshipsResponse, error)
}

// Both SpiceDB clients boxauthz is used with keep tokens and feed the
// revocation watch: authzed-go's, for a library user's own connection, and
// internal/spicedb's, which boxauthz dials and embeds.
var (
	_ Client            = (*authzed.Client)(nil)
	_ Client            = (*spicedb.Client)(nil)
	_ RevocationWatcher = (*authzed.Client)(nil)
	_ RevocationWatcher = (*spicedb.Client)(nil)
)

// Tokens issues, refreshes, downscopes and revokes Box-style OAuth tokens,
// and keeps applications. Everything lives in SpiceDB (see the schema's
// token part): a token string is random, handed out once and stored only as
// its SHA-256 hash, so SpiceDB's contents never authenticate anyone.
//
// Validity is asked of SpiceDB on every use, so a revocation through any
// replica is seen by the next check on every other; only with
// WatchRevocations running may a decision skip that question, and then only
// once a watch of SpiceDB has proven the answer still holds. What a token is
// (user, scopes, resource, expiry) never changes after issue and is cached.
type Tokens struct {
	client     Client
	now        func() time.Time
	accessTTL  time.Duration
	refreshTTL time.Duration
	// reuseLeeway: see WithRefreshReuseLeeway.
	reuseLeeway time.Duration
	logger      *slog.Logger
	meta        *metaCache
	validity    *validity
}

// Option configures Tokens.
type Option func(*Tokens)

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(t *Tokens) { t.now = now } }

// WithAccessTTL sets how long access tokens live (DefaultAccessTTL).
func WithAccessTTL(d time.Duration) Option { return func(t *Tokens) { t.accessTTL = d } }

// WithRefreshTTL sets how long refresh tokens live (DefaultRefreshTTL).
func WithRefreshTTL(d time.Duration) Option { return func(t *Tokens) { t.refreshTTL = d } }

// DefaultRefreshReuseLeeway is how long after a refresh the same client
// presenting the spent refresh token again gets the same new pair back.
const DefaultRefreshReuseLeeway = 10 * time.Second

// WithRefreshReuseLeeway sets how long after a refresh the same client
// presenting the spent refresh token again gets the same new pair, a retry
// after a lost response, instead of having the token's family revoked
// (docs/model.md §6; default DefaultRefreshReuseLeeway, 0 turns it off).
func WithRefreshReuseLeeway(d time.Duration) Option {
	return func(t *Tokens) { t.reuseLeeway = max(d, 0) }
}

// WithLogger sets the logger (default slog.Default()). Token strings are
// never logged; token hashes' first 8 hex digits are, to follow one token.
func WithLogger(l *slog.Logger) Option { return func(t *Tokens) { t.logger = l } }

// NewTokens returns token storage on c. Call Bootstrap once SpiceDB holds
// the schema.
func NewTokens(c Client, opts ...Option) *Tokens {
	t := &Tokens{client: c, now: time.Now, accessTTL: DefaultAccessTTL, refreshTTL: DefaultRefreshTTL, reuseLeeway: DefaultRefreshReuseLeeway, logger: slog.Default(), meta: newMetaCache(metaCacheMax), validity: newValidity()}
	for _, o := range opts {
		o(t)
	}
	return t
}

// AccessTTL is the configured access token lifetime.
func (t *Tokens) AccessTTL() time.Duration { return t.accessTTL }

// Issued is what an issue, refresh or exchange hands out.
type Issued struct {
	AccessToken  string
	ExpiresIn    time.Duration
	RefreshToken string // empty for downscoped tokens
	RestrictedTo []Restriction
	// Downscoped is set for a token exchange's answer.
	Downscoped bool
}

// Restriction is one (scope, object) pair a downscoped token is limited to.
type Restriction struct {
	Scope  Scope          `json:"scope"`
	Object schema.ItemRef `json:"object"`
}
