package checker

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"slices"
	"strings"
	gosync "sync"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

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
// authorized everywhere (MODEL.md §6).
const DefaultApp = "default"

// Default lifetimes (MODEL.md §6).
const (
	DefaultAccessTTL  = 60 * time.Minute
	DefaultRefreshTTL = 60 * 24 * time.Hour
)

// Token type URNs of RFC 8693, as Box answers them.
const (
	TokenTypeAccess = "urn:ietf:params:oauth:token-type:access_token"
)

// TokenClient is what token storage needs of SpiceDB: the graph checks and
// writes with preconditions.
type TokenClient interface {
	Client
	WriteRelationships(ctx context.Context, in *v1.WriteRelationshipsRequest, opts ...grpc.CallOption) (*v1.WriteRelationshipsResponse, error)
	DeleteRelationships(ctx context.Context, in *v1.DeleteRelationshipsRequest, opts ...grpc.CallOption) (*v1.DeleteRelationshipsResponse, error)
}

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
	client     TokenClient
	now        func() time.Time
	accessTTL  time.Duration
	refreshTTL time.Duration
	// reuseLeeway: see WithRefreshReuseLeeway.
	reuseLeeway time.Duration
	logger      *slog.Logger
	meta        *metaCache
	validity    *validity
}

// TokenOption configures Tokens.
type TokenOption func(*Tokens)

// WithTokenClock sets the clock (tests).
func WithTokenClock(now func() time.Time) TokenOption { return func(t *Tokens) { t.now = now } }

// WithAccessTTL sets how long access tokens live (default 60 minutes).
func WithAccessTTL(d time.Duration) TokenOption { return func(t *Tokens) { t.accessTTL = d } }

// WithRefreshTTL sets how long refresh tokens live (default 60 days).
func WithRefreshTTL(d time.Duration) TokenOption { return func(t *Tokens) { t.refreshTTL = d } }

// DefaultRefreshReuseLeeway is how long after a refresh the same client
// presenting the spent refresh token again gets the same new pair back.
const DefaultRefreshReuseLeeway = 10 * time.Second

// WithRefreshReuseLeeway sets how long after a refresh the same client
// presenting the spent refresh token again gets the same new pair, a retry
// after a lost response, instead of having the token's family revoked
// (MODEL.md §6; default DefaultRefreshReuseLeeway, 0 turns it off).
func WithRefreshReuseLeeway(d time.Duration) TokenOption {
	return func(t *Tokens) { t.reuseLeeway = max(d, 0) }
}

// WithTokenLogger sets the logger (default slog.Default()). Token strings are
// never logged; token hashes' first 8 hex digits are, to follow one token.
func WithTokenLogger(l *slog.Logger) TokenOption { return func(t *Tokens) { t.logger = l } }

// NewTokens returns token storage on c. Call Bootstrap once SpiceDB holds
// the schema.
func NewTokens(c TokenClient, opts ...TokenOption) *Tokens {
	t := &Tokens{client: c, now: time.Now, accessTTL: DefaultAccessTTL, refreshTTL: DefaultRefreshTTL, reuseLeeway: DefaultRefreshReuseLeeway, logger: slog.Default(), meta: newMetaCache(100_000), validity: newValidity()}
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

// --- token strings ---

// writeAttempts bounds how often a token write aborted for contention is
// tried (see write).
const writeAttempts = 4

const (
	accessPrefix       = "bxat_"
	refreshPrefix      = "bxrt_"
	clientSecretPrefix = "bxcs_"
)

// newSecret returns a random token string (256 bits) and its hash.
func newSecret(prefix string) (string, string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("reading random bytes for a token: %w", err)
	}
	s := secretString(prefix, b)
	return s, hashToken(s), nil
}

func secretString(prefix string, b [32]byte) string {
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// pairSecrets are the random parts of a pair's access and refresh token.
type pairSecrets struct{ access, refresh [32]byte }

func newPairSecrets() (pairSecrets, error) {
	var p pairSecrets
	if _, err := rand.Read(p.access[:]); err != nil {
		return p, fmt.Errorf("reading random bytes for a token: %w", err)
	}
	if _, err := rand.Read(p.refresh[:]); err != nil {
		return p, fmt.Errorf("reading random bytes for a token: %w", err)
	}
	return p, nil
}

func (p pairSecrets) strings() (access, refresh string) {
	return secretString(accessPrefix, p.access), secretString(refreshPrefix, p.refresh)
}

// sealKey is the key a pair issued for a spent refresh token is sealed
// under: an HMAC keyed with the token's string, which only whoever
// presents the token knows. SpiceDB holds the token's SHA-256, from which
// this cannot be computed, so its contents open no sealed pair.
func sealKey(spent string) []byte {
	m := hmac.New(sha256.New, []byte(spent))
	m.Write([]byte("boxauthz refresh retry v1"))
	return m.Sum(nil)
}

// sealPair seals the pair issued for the refresh token spent (whose hash is
// spentHash), with its access token's expiry, for a retry of that refresh
// within the reuse leeway (MODEL.md §6): AES-256-GCM under sealKey, the
// spent token's hash as additional data, as a SpiceDB object id.
func sealPair(spent, spentHash string, p pairSecrets, accessExpires time.Time) (string, error) {
	aead, err := pairAEAD(spent)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+72+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("reading random bytes for a sealed pair: %w", err)
	}
	plain := make([]byte, 0, 72)
	plain = append(append(plain, p.access[:]...), p.refresh[:]...)
	plain = binary.BigEndian.AppendUint64(plain, uint64(accessExpires.UnixNano()))
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, []byte(spentHash))), nil
}

// openPair opens what sealPair sealed for the refresh token spent.
func openPair(spent, spentHash, sealed string) (pairSecrets, time.Time, error) {
	var p pairSecrets
	aead, err := pairAEAD(spent)
	if err != nil {
		return p, time.Time{}, err
	}
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(b) < aead.NonceSize() {
		return p, time.Time{}, errors.New("opening a sealed pair: not one boxauthz sealed")
	}
	plain, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], []byte(spentHash))
	if err != nil || len(plain) != 72 {
		return p, time.Time{}, errors.New("opening a sealed pair: not sealed for this refresh token")
	}
	copy(p.access[:], plain[:32])
	copy(p.refresh[:], plain[32:64])
	return p, time.Unix(0, int64(binary.BigEndian.Uint64(plain[64:]))), nil
}

func pairAEAD(spent string) (cipher.AEAD, error) {
	block, err := aes.NewCipher(sealKey(spent))
	if err != nil {
		return nil, fmt.Errorf("sealing a pair: %w", err)
	}
	return cipher.NewGCM(block)
}

// hashToken is a token's id in SpiceDB. The hash is looked up, never
// compared, so a timing difference reveals nothing about a stored token.
func hashToken(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// short names a token in logs by a prefix of its hash.
func short(hash string) string { return hash[:8] }

func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("reading random bytes for an id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// --- relationship helpers ---

func obj(typ, id string) *v1.ObjectReference {
	return &v1.ObjectReference{ObjectType: typ, ObjectId: id}
}

func sub(typ, id string) *v1.SubjectReference {
	return &v1.SubjectReference{Object: obj(typ, id)}
}

func flagSubject() *v1.SubjectReference { return sub(typeFlag, flagOn) }

func relationship(resType, resID, relation string, s *v1.SubjectReference, expires time.Time) *v1.Relationship {
	r := &v1.Relationship{Resource: obj(resType, resID), Relation: relation, Subject: s}
	if !expires.IsZero() {
		r.OptionalExpiresAt = timestamppb.New(expires)
	}
	return r
}

func touch(r *v1.Relationship) *v1.RelationshipUpdate {
	return &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_TOUCH, Relationship: r}
}

func del(r *v1.Relationship) *v1.RelationshipUpdate {
	return &v1.RelationshipUpdate{Operation: v1.RelationshipUpdate_OPERATION_DELETE, Relationship: r}
}

func mustMatch(resType, resID, relation string) *v1.Precondition {
	return &v1.Precondition{
		Operation: v1.Precondition_OPERATION_MUST_MATCH,
		Filter:    &v1.RelationshipFilter{ResourceType: resType, OptionalResourceId: resID, OptionalRelation: relation},
	}
}

func fullyConsistent() *v1.Consistency {
	return &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}
}

func (t *Tokens) readObject(ctx context.Context, typ, id string) ([]*v1.Relationship, error) {
	rels, _, err := spicedb.ReadAll(ctx, t.client, &v1.ReadRelationshipsRequest{
		Consistency:        fullyConsistent(),
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

// --- applications ---

// App is an application (the seed's Developer Console).
type App struct {
	ID     string  `json:"id"`
	Scopes []Scope `json:"scopes"`
	AsUser bool    `json:"as_user"`
	// Enterprises that authorized the app.
	Enterprises []string `json:"enterprises,omitempty"`

	// ClientID is what the app's client authenticates as (RFC 6749 §2.3.1):
	// the app's id.
	ClientID string `json:"client_id"`
	// ClientSecret is set only in the answers of CreateApp and
	// RotateClientSecret: only its hash is stored, so it is shown once.
	ClientSecret string `json:"client_secret,omitempty"`

	gen string // the graph object id, "<id>|<generation>"
}

// ClientCredentials is what a request to the token endpoints presented to
// authenticate its client (RFC 6749 §2.3.1): an application's client id
// (the application's id) and client secret. The zero value presents none,
// which is all the built-in default application's tokens need.
type ClientCredentials struct {
	ID     string
	Secret string
}

const defaultAppObject = DefaultApp + "|builtin"
const defaultGrantObject = DefaultApp + "|builtin|=any|builtin"

// grant id for users without an enterprise: such users authorize an app
// themselves when they take its token, so the app's own switch is enough.
func externalGrant(appObj string) string { return appObj + "|=external|0" }

func enterpriseGrantPrefix(appObj, enterprise string) string {
	return appObj + "|" + schema.EncodeID(enterprise) + "|"
}

// Bootstrap writes the built-in default application. It is idempotent, and
// cheap enough to run on every start (an in-memory SpiceDB starts empty).
// Touching what is already there shows no change on the in-memory store's
// watch (TestReplicaStartKeepsVouching), so a replica starting does not
// make the revocation watch forget the default app's tokens.
func (t *Tokens) Bootstrap(ctx context.Context) error {
	ups := []*v1.RelationshipUpdate{
		touch(relationship(typeApp, defaultAppObject, relLive, flagSubject(), time.Time{})),
		touch(relationship(typeApp, defaultAppObject, relAsUser, flagSubject(), time.Time{})),
		touch(relationship(typeAppGrant, defaultGrantObject, relApp, sub(typeApp, defaultAppObject), time.Time{})),
		touch(relationship(typeAppGrant, defaultGrantObject, relAuthorized, flagSubject(), time.Time{})),
	}
	if _, err := t.write(ctx, &v1.WriteRelationshipsRequest{Updates: ups}); err != nil {
		return fmt.Errorf("writing the built-in application %q: %w", DefaultApp, err)
	}
	return nil
}

func validateAppID(id string) error {
	if err := schema.ValidateID(id); err != nil {
		return &FieldError{Field: "id", Err: err}
	}
	if strings.Contains(id, "|") || strings.HasPrefix(id, "=") {
		return &FieldError{Field: "id", Err: fmt.Errorf("application id %q: '|' and a leading '=' are reserved", id)}
	}
	return nil
}

// App reads an application's current configuration.
func (t *Tokens) App(ctx context.Context, id string) (App, error) {
	if id == DefaultApp {
		return App{ID: DefaultApp, ClientID: DefaultApp, Scopes: AllScopes(), AsUser: true, gen: defaultAppObject}, nil
	}
	if err := validateAppID(id); err != nil {
		return App{}, err
	}
	rels, _, err := spicedb.ReadAll(ctx, t.client, &v1.ReadRelationshipsRequest{
		Consistency:        fullyConsistent(),
		RelationshipFilter: &v1.RelationshipFilter{ResourceType: typeApp, OptionalResourceIdPrefix: schema.EncodeID(id) + "|"},
	})
	if err != nil {
		return App{}, fmt.Errorf("reading application %q: %w", id, err)
	}
	a := App{ID: id, ClientID: id, Scopes: []Scope{}}
	live := false
	for _, r := range rels {
		switch r.GetRelation() {
		case relLive:
			live = true
			a.gen = r.GetResource().GetObjectId()
		case relScope:
			a.Scopes = append(a.Scopes, Scope(r.GetSubject().GetObject().GetObjectId()))
		case relAsUser:
			a.AsUser = true
		}
	}
	if !live {
		return App{}, fmt.Errorf("application %q: %w", id, ErrAppNotFound)
	}
	grants, _, err := spicedb.ReadAll(ctx, t.client, &v1.ReadRelationshipsRequest{
		Consistency: fullyConsistent(),
		RelationshipFilter: &v1.RelationshipFilter{ResourceType: typeAppGrant, OptionalResourceIdPrefix: a.gen + "|",
			OptionalRelation: relAuthorized},
	})
	if err != nil {
		return App{}, fmt.Errorf("reading the enterprises that authorized %q: %w", id, err)
	}
	for _, g := range grants {
		parts := strings.Split(g.GetResource().GetObjectId(), "|")
		if len(parts) == 4 && parts[2] != "=external" {
			a.Enterprises = append(a.Enterprises, schema.DecodeID(parts[2]))
		}
	}
	return a, nil
}

// CreateApp adds an application.
func (t *Tokens) CreateApp(ctx context.Context, id string, scopes []string, asUser bool) (App, error) {
	if id == DefaultApp {
		return App{}, fmt.Errorf("creating %q: %w", id, ErrBuiltinApp)
	}
	if err := validateAppID(id); err != nil {
		return App{}, err
	}
	sc, err := ParseScopes(scopes)
	if err != nil {
		return App{}, &FieldError{Field: "scopes", Err: err}
	}
	if _, err := t.App(ctx, id); err == nil {
		return App{}, fmt.Errorf("creating application %q: %w", id, ErrAppExists)
	} else if !errors.Is(err, ErrAppNotFound) {
		return App{}, err
	}
	gen, err := newID()
	if err != nil {
		return App{}, err
	}
	secret, secretHash, err := newSecret(clientSecretPrefix)
	if err != nil {
		return App{}, err
	}
	a := App{ID: id, ClientID: id, ClientSecret: secret, Scopes: sc, AsUser: asUser, gen: schema.EncodeID(id) + "|" + gen}
	ups := t.appUpdates(a)
	ups = append(ups,
		touch(relationship(typeApp, a.gen, relClientSecret, sub(typeClientSecret, secretHash), time.Time{})),
		touch(relationship(typeApp, a.gen, relLive, flagSubject(), time.Time{})),
		touch(relationship(typeAppGrant, externalGrant(a.gen), relApp, sub(typeApp, a.gen), time.Time{})),
		touch(relationship(typeAppGrant, externalGrant(a.gen), relAuthorized, flagSubject(), time.Time{})),
	)
	// Two creates racing: the second finds the first's live switch.
	pre := []*v1.Precondition{{
		Operation: v1.Precondition_OPERATION_MUST_NOT_MATCH,
		Filter:    &v1.RelationshipFilter{ResourceType: typeApp, OptionalResourceIdPrefix: schema.EncodeID(id) + "|", OptionalRelation: relLive},
	}}
	if _, err := t.write(ctx, &v1.WriteRelationshipsRequest{Updates: ups, OptionalPreconditions: pre}); err != nil {
		if isPrecondition(err) {
			return App{}, fmt.Errorf("creating application %q: %w", id, ErrAppExists)
		}
		return App{}, fmt.Errorf("writing application %q: %w", id, err)
	}
	if err := t.settle(ctx, fmt.Sprintf("creating application %q", id), ups[len(ups)-1]); err != nil {
		return App{}, err
	}
	t.logger.Info("application created", slog.String("app", id), slog.Any("scopes", sc), slog.Bool("as_user", asUser))
	return a, nil
}

func (t *Tokens) appUpdates(a App) []*v1.RelationshipUpdate {
	var ups []*v1.RelationshipUpdate
	for _, s := range a.Scopes {
		ups = append(ups, touch(relationship(typeApp, a.gen, relScope, sub(typeScope, string(s)), time.Time{})))
	}
	if a.AsUser {
		ups = append(ups, touch(relationship(typeApp, a.gen, relAsUser, flagSubject(), time.Time{})))
	}
	return ups
}

// RotateClientSecret gives an application a new client secret, shown once
// in the answer, and ends the old one in the same write (MODEL.md §6). An
// application created before client secrets existed gets its first one.
// Of concurrent rotations each replaces the secret it read, so exactly one
// secret is left: the last one written.
func (t *Tokens) RotateClientSecret(ctx context.Context, id string) (App, error) {
	if id == DefaultApp {
		return App{}, fmt.Errorf("rotating the client secret of %q: %w", id, ErrBuiltinApp)
	}
	for attempt := 1; ; attempt++ {
		a, err := t.App(ctx, id)
		if err != nil {
			return App{}, err
		}
		old, err := t.readObject(ctx, typeApp, a.gen)
		if err != nil {
			return App{}, err
		}
		secret, secretHash, err := newSecret(clientSecretPrefix)
		if err != nil {
			return App{}, err
		}
		neu := touch(relationship(typeApp, a.gen, relClientSecret, sub(typeClientSecret, secretHash), time.Time{}))
		ups := []*v1.RelationshipUpdate{neu}
		pre := []*v1.Precondition{mustMatch(typeApp, a.gen, relLive)}
		replaced := 0
		for _, r := range old {
			if r.GetRelation() != relClientSecret {
				continue
			}
			replaced++
			ups = append(ups, del(r))
			// A rotation racing this one removes what this one read, and
			// one of the two fails here rather than both leaving a secret.
			pre = append(pre, &v1.Precondition{Operation: v1.Precondition_OPERATION_MUST_MATCH, Filter: &v1.RelationshipFilter{
				ResourceType: typeApp, OptionalResourceId: a.gen, OptionalRelation: relClientSecret,
				OptionalSubjectFilter: &v1.SubjectFilter{SubjectType: typeClientSecret, OptionalSubjectId: r.GetSubject().GetObject().GetObjectId()}}})
		}
		if replaced == 0 {
			pre = append(pre, &v1.Precondition{Operation: v1.Precondition_OPERATION_MUST_NOT_MATCH, Filter: &v1.RelationshipFilter{
				ResourceType: typeApp, OptionalResourceId: a.gen, OptionalRelation: relClientSecret}})
		}
		_, err = t.write(ctx, &v1.WriteRelationshipsRequest{Updates: ups, OptionalPreconditions: pre})
		if isPrecondition(err) && attempt < writeAttempts {
			continue // the app was deleted, or another rotation won: read again
		}
		if isPrecondition(err) {
			return App{}, fmt.Errorf("rotating the client secret of %q: changed by others %d times in a row; try again", id, attempt)
		}
		if err != nil {
			return App{}, fmt.Errorf("rotating the client secret of %q: %w", id, err)
		}
		// Settle the old secret's end (the new one may already have been
		// replaced in turn by a racing rotation); with none, the new one.
		settled := ups[1:]
		if replaced == 0 {
			settled = ups
		}
		if err := t.settle(ctx, fmt.Sprintf("rotating the client secret of %q", id), settled...); err != nil {
			return App{}, err
		}
		t.logger.Info("client secret rotated", slog.String("app", id))
		a.ClientSecret = secret
		return a, nil
	}
}

// authenticate checks the client credentials a token endpoint request
// presented (RFC 6749 §2.3.1) and returns the graph object of the
// application they authenticate: the default app's for none at all. Every
// failure reads the same, so a caller learns nothing of which applications
// exist. The secret's hash is compared in constant time.
func (t *Tokens) authenticate(ctx context.Context, c ClientCredentials) (string, error) {
	switch {
	case c.ID == "" && c.Secret == "":
		return defaultAppObject, nil
	case c.ID == "":
		return "", oauthErr("invalid_request", "client_secret without client_id")
	case c.ID == DefaultApp && c.Secret == "":
		return defaultAppObject, nil
	}
	failed := oauthErr("invalid_client", "client authentication failed for client_id %q", c.ID)
	if c.ID == DefaultApp || c.Secret == "" || validateAppID(c.ID) != nil {
		return "", failed
	}
	rels, _, err := spicedb.ReadAll(ctx, t.client, &v1.ReadRelationshipsRequest{
		Consistency:        fullyConsistent(),
		RelationshipFilter: &v1.RelationshipFilter{ResourceType: typeApp, OptionalResourceIdPrefix: schema.EncodeID(c.ID) + "|"},
	})
	if err != nil {
		return "", fmt.Errorf("authenticating client %q: %w", c.ID, err)
	}
	gen := ""
	for _, r := range rels {
		if r.GetRelation() == relLive {
			gen = r.GetResource().GetObjectId()
		}
	}
	presented := []byte(hashToken(c.Secret))
	match := 0
	for _, r := range rels {
		if r.GetRelation() == relClientSecret && r.GetResource().GetObjectId() == gen {
			match |= subtle.ConstantTimeCompare(presented, []byte(r.GetSubject().GetObject().GetObjectId()))
		}
	}
	if gen == "" || match != 1 {
		return "", failed
	}
	return gen, nil
}

// issuedTo checks that a token, by its app grant, belongs to the client
// that authenticated as clientApp. A token of another application fails
// as client authentication does (API.md: 401 invalid_client), and ends
// nothing: a client cannot spend, revoke or trip the reuse detection of
// another's tokens.
func issuedTo(c ClientCredentials, clientApp, grant string) error {
	if app, ok := grantApp(grant); ok && app == clientApp {
		return nil
	}
	if clientApp == defaultAppObject {
		return oauthErr("invalid_client", "the token belongs to an application whose client must authenticate: present its client_id and client_secret (HTTP Basic or form parameters)")
	}
	return oauthErr("invalid_client", "the token was not issued to client %q", c.ID)
}

// UpdateApp changes an application's scopes and As-User permission; nil
// leaves one as it is. New scopes apply to tokens issued afterwards; tokens
// already out keep theirs (MODEL.md §6), while As-User is asked of the app
// at every request.
func (t *Tokens) UpdateApp(ctx context.Context, id string, scopes []string, asUser *bool) (App, error) {
	if id == DefaultApp {
		return App{}, fmt.Errorf("changing %q: %w", id, ErrBuiltinApp)
	}
	a, err := t.App(ctx, id)
	if err != nil {
		return App{}, err
	}
	if scopes != nil {
		if a.Scopes, err = ParseScopes(scopes); err != nil {
			return App{}, &FieldError{Field: "scopes", Err: err}
		}
	}
	if asUser != nil {
		a.AsUser = *asUser
	}
	ups := []*v1.RelationshipUpdate{}
	// Deletes and touches of the same relationship may not share a write,
	// so drop only what is gone.
	keep := map[string]bool{}
	for _, s := range a.Scopes {
		keep[string(s)] = true
	}
	old, err := t.readObject(ctx, typeApp, a.gen)
	if err != nil {
		return App{}, err
	}
	for _, r := range old {
		switch {
		case r.GetRelation() == relScope && !keep[r.GetSubject().GetObject().GetObjectId()]:
			ups = append(ups, del(r))
		case r.GetRelation() == relAsUser && !a.AsUser:
			ups = append(ups, del(r))
		}
	}
	ups = append(ups, t.appUpdates(a)...)
	pre := []*v1.Precondition{mustMatch(typeApp, a.gen, relLive)}
	if _, err := t.write(ctx, &v1.WriteRelationshipsRequest{Updates: ups, OptionalPreconditions: pre}); err != nil {
		if isPrecondition(err) {
			return App{}, fmt.Errorf("changing application %q: %w", id, ErrAppNotFound)
		}
		return App{}, fmt.Errorf("writing application %q: %w", id, err)
	}
	if err := t.settle(ctx, fmt.Sprintf("changing application %q", id), ups...); err != nil {
		return App{}, err
	}
	t.logger.Info("application changed", slog.String("app", id), slog.Any("scopes", a.Scopes), slog.Bool("as_user", a.AsUser))
	return a, nil
}

// DeleteApp removes an application; every token of it stops working at once
// (its switch is off) and SpiceDB drops the tokens as they expire.
func (t *Tokens) DeleteApp(ctx context.Context, id string) error {
	if id == DefaultApp {
		return fmt.Errorf("deleting %q: %w", id, ErrBuiltinApp)
	}
	a, err := t.App(ctx, id)
	if err != nil {
		return err
	}
	for _, typ := range []string{typeApp, typeAppGrant} {
		if _, err := t.client.DeleteRelationships(ctx, &v1.DeleteRelationshipsRequest{
			RelationshipFilter: &v1.RelationshipFilter{ResourceType: typ, OptionalResourceIdPrefix: a.gen},
		}); err != nil {
			return fmt.Errorf("deleting application %q: %w", id, err)
		}
	}
	// The generation's external grant is always there until this delete.
	if err := t.settleGone(ctx, fmt.Sprintf("deleting application %q", id), &v1.RelationshipFilter{ResourceType: typeAppGrant, OptionalResourceId: externalGrant(a.gen)}); err != nil {
		return err
	}
	t.logger.Info("application deleted", slog.String("app", id))
	return nil
}

// AuthorizeApp records that an enterprise's admin authorized an app for its
// users. Authorizing again after a withdrawal starts afresh: tokens ended by
// the withdrawal stay ended.
func (t *Tokens) AuthorizeApp(ctx context.Context, id, enterprise string) error {
	if id == DefaultApp {
		return fmt.Errorf("authorizing %q: %w", id, ErrBuiltinApp)
	}
	if err := schema.ValidateID(enterprise); err != nil {
		return &FieldError{Field: "enterprise", Err: err}
	}
	a, err := t.App(ctx, id)
	if err != nil {
		return err
	}
	if _, ok := t.currentGrant(ctx, a.gen, enterprise); ok {
		return nil
	}
	nonce, err := newID()
	if err != nil {
		return err
	}
	g := enterpriseGrantPrefix(a.gen, enterprise) + nonce
	ups := []*v1.RelationshipUpdate{
		touch(relationship(typeAppGrant, g, relApp, sub(typeApp, a.gen), time.Time{})),
		touch(relationship(typeAppGrant, g, relAuthorized, flagSubject(), time.Time{})),
	}
	if _, err := t.write(ctx, &v1.WriteRelationshipsRequest{Updates: ups,
		OptionalPreconditions: []*v1.Precondition{mustMatch(typeApp, a.gen, relLive)}}); err != nil {
		if isPrecondition(err) {
			return fmt.Errorf("authorizing application %q: %w", id, ErrAppNotFound)
		}
		return fmt.Errorf("authorizing application %q for enterprise %q: %w", id, enterprise, err)
	}
	if err := t.settle(ctx, fmt.Sprintf("authorizing application %q for enterprise %q", id, enterprise), ups[len(ups)-1]); err != nil {
		return err
	}
	t.logger.Info("application authorized", slog.String("app", id), slog.String("enterprise", enterprise))
	return nil
}

// WithdrawApp ends an enterprise's authorization of an app, and with it
// every token of that app held by the enterprise's users.
func (t *Tokens) WithdrawApp(ctx context.Context, id, enterprise string) error {
	if id == DefaultApp {
		return fmt.Errorf("withdrawing %q: %w", id, ErrBuiltinApp)
	}
	if err := schema.ValidateID(enterprise); err != nil {
		return &FieldError{Field: "enterprise", Err: err}
	}
	a, err := t.App(ctx, id)
	if err != nil {
		return err
	}
	f := &v1.RelationshipFilter{ResourceType: typeAppGrant, OptionalResourceIdPrefix: enterpriseGrantPrefix(a.gen, enterprise), OptionalRelation: relAuthorized}
	if _, err := t.client.DeleteRelationships(ctx, &v1.DeleteRelationshipsRequest{RelationshipFilter: f}); err != nil {
		return fmt.Errorf("withdrawing application %q from enterprise %q: %w", id, enterprise, err)
	}
	if err := t.settleGone(ctx, fmt.Sprintf("withdrawing application %q from enterprise %q", id, enterprise), f); err != nil {
		return err
	}
	t.logger.Info("application withdrawn", slog.String("app", id), slog.String("enterprise", enterprise))
	return nil
}

// currentGrant finds the live authorization of app generation gen by
// enterprise.
func (t *Tokens) currentGrant(ctx context.Context, gen, enterprise string) (string, bool) {
	rels, _, err := spicedb.ReadAll(ctx, t.client, &v1.ReadRelationshipsRequest{
		Consistency: fullyConsistent(),
		RelationshipFilter: &v1.RelationshipFilter{ResourceType: typeAppGrant,
			OptionalResourceIdPrefix: enterpriseGrantPrefix(gen, enterprise), OptionalRelation: relAuthorized},
	})
	if err != nil || len(rels) == 0 {
		return "", false
	}
	return rels[0].GetResource().GetObjectId(), true
}

// --- issue ---

// userRecord is what the graph says of a user.
type userRecord struct {
	exists     bool
	enterprise string
	role       string // user, admin or coadmin
	// session is the user's token session, "" for a user mirrored before
	// sessions existed (see schema.LegacyUserSessionID).
	session string
}

func (t *Tokens) readUser(ctx context.Context, id string) (userRecord, error) {
	var u userRecord
	rels, err := t.readObject(ctx, schema.TypeUser, schema.EncodeID(id))
	if err != nil {
		return u, err
	}
	for _, r := range rels {
		u.exists = true
		switch r.GetRelation() {
		case schema.RelationEnterprise:
			u.enterprise = schema.DecodeID(r.GetSubject().GetObject().GetObjectId())
		case schema.RelationTokenSession:
			u.session = r.GetSubject().GetObject().GetObjectId()
		}
	}
	u.role = "user"
	if u.enterprise == "" {
		return u, nil
	}
	roles, _, err := spicedb.ReadAll(ctx, t.client, &v1.ReadRelationshipsRequest{
		Consistency: fullyConsistent(),
		RelationshipFilter: &v1.RelationshipFilter{ResourceType: schema.TypeEnterprise, OptionalResourceId: schema.EncodeID(u.enterprise),
			OptionalSubjectFilter: &v1.SubjectFilter{SubjectType: schema.TypeUser, OptionalSubjectId: schema.EncodeID(id)}},
	})
	if err != nil {
		return u, fmt.Errorf("reading user %q's enterprise role: %w", id, err)
	}
	for _, r := range roles {
		switch r.GetRelation() {
		case schema.RelationAdmin:
			u.role = "admin"
		case schema.RelationCoadmin:
			if u.role != "admin" {
				u.role = "coadmin"
			}
		}
	}
	return u, nil
}

// IssueRequest asks for a token pair (POST /v1/tokens).
type IssueRequest struct {
	User   string
	Scopes []string
	App    string // default: DefaultApp
}

// Issue hands out an access and refresh token for a user of an app.
func (t *Tokens) Issue(ctx context.Context, req IssueRequest) (Issued, error) {
	if req.App == "" {
		req.App = DefaultApp
	}
	if err := schema.ValidateID(req.User); err != nil {
		return Issued{}, &FieldError{Field: "user", Err: err}
	}
	if len(req.Scopes) == 0 {
		return Issued{}, &FieldError{Field: "scopes", Err: errors.New("at least one scope is required")}
	}
	scopes, err := ParseScopes(req.Scopes)
	if err != nil {
		return Issued{}, &FieldError{Field: "scopes", Err: err}
	}
	app, err := t.App(ctx, req.App)
	if errors.Is(err, ErrAppNotFound) {
		return Issued{}, &FieldError{Field: "app", Err: err}
	}
	if err != nil {
		return Issued{}, err
	}
	for _, s := range scopes {
		if !slices.Contains(app.Scopes, s) {
			return Issued{}, &FieldError{Field: "scopes", Err: fmt.Errorf("application %q does not have scope %q", app.ID, s)}
		}
	}
	u, err := t.readUser(ctx, req.User)
	if err != nil {
		return Issued{}, err
	}
	if !u.exists {
		return Issued{}, &FieldError{Field: "user", Err: fmt.Errorf("no user %q", req.User)}
	}
	grant := defaultGrantObject
	if app.ID != DefaultApp {
		grant = externalGrant(app.gen)
		if u.enterprise != "" {
			g, ok := t.currentGrant(ctx, app.gen, u.enterprise)
			if !ok {
				return Issued{}, fmt.Errorf("application %q for user %q of enterprise %q: %w", app.ID, req.User, u.enterprise, ErrAppNotAuthorized)
			}
			grant = g
		}
	}
	family, err := newID()
	if err != nil {
		return Issued{}, err
	}
	session, sessionUps, sessionPre := userSession(req.User, u.session)
	out, ups, err := t.newPair(req.User, session, scopes, family, grant)
	if err != nil {
		return Issued{}, err
	}
	ups = append(ups, touch(relationship(typeFamily, family, relAlive, flagSubject(), t.familyExpiry(time.Time{}))))
	ups = append(ups, sessionUps...)
	// The grant must still be on when the pair is written: a withdrawal
	// racing this issue either ends the pair or makes the issue fail. So
	// must the user's session: a deletion or move racing it likewise.
	pre := []*v1.Precondition{mustMatch(typeAppGrant, grant, relAuthorized), mustMatch(typeApp, app.gen, relLive)}
	pre = append(pre, sessionPre...)
	if _, err := t.write(ctx, &v1.WriteRelationshipsRequest{Updates: ups, OptionalPreconditions: pre}); err != nil {
		if isPrecondition(err) {
			return Issued{}, fmt.Errorf("application %q for user %q (or the user changed meanwhile): %w", app.ID, req.User, ErrAppNotAuthorized)
		}
		return Issued{}, fmt.Errorf("writing a token pair for %q: %w", req.User, err)
	}
	if err := t.settle(ctx, fmt.Sprintf("issuing a token pair for %q", req.User), ups[0]); err != nil {
		return Issued{}, err
	}
	t.logger.Info("token issued", slog.String("user", req.User), slog.String("app", app.ID), slog.String("token", short(hashToken(out.AccessToken))), slog.Any("scopes", scopes))
	return out, nil
}

// userSession is the token session a pair for user is issued in, with the
// updates and preconditions that bind the issue to it. A user sync gave a
// session (current) must still have it live. A user mirrored before
// sessions existed gets the legacy session, started here: only while the
// user exists and still has no session of sync's making, and touching the
// user's exists flag so that a deletion racing the issue conflicts with it
// rather than slipping past its preconditions.
func userSession(user, current string) (string, []*v1.RelationshipUpdate, []*v1.Precondition) {
	if current != "" {
		return current, nil, []*v1.Precondition{mustMatch(typeSession, current, relLive)}
	}
	id := schema.LegacyUserSessionID(user)
	u := schema.EncodeID(user)
	return id, []*v1.RelationshipUpdate{
			touch(relationship(typeSession, id, relLive, flagSubject(), time.Time{})),
			touch(relationship(schema.TypeUser, u, schema.RelationExists, sub(schema.TypeUser, "*"), time.Time{})),
		}, []*v1.Precondition{
			mustMatch(schema.TypeUser, u, schema.RelationExists),
			{Operation: v1.Precondition_OPERATION_MUST_NOT_MATCH, Filter: &v1.RelationshipFilter{ResourceType: schema.TypeUser,
				OptionalResourceId: u, OptionalRelation: schema.RelationTokenSession}},
		}
}

// grantApp is the app object a grant object belongs to: a grant's id is
// "<app>|<generation>|<enterprise>|<nonce>" and the app's "<app>|<generation>".
// A grant id of another shape (not written by boxauthz) has none.
func grantApp(grant string) (string, bool) {
	parts := strings.SplitN(grant, "|", 3)
	if len(parts) < 3 || parts[0] == "" || parts[1] == "" {
		return "", false
	}
	return parts[0] + "|" + parts[1], true
}

// familyExpiry is when a refresh family's switch expires once a pair is
// issued now into it: no sooner than either token of the pair, nor than
// the switch already does (an access token issued earlier, by a replica
// with a longer access lifetime, may outlive this pair's refresh token).
// So a token's own expiry is always the first on its validity path, and
// the checker, which enforces that one itself, needs no other: the
// in-memory datastore goes on counting an expired relationship until its
// next write, and replicas may be configured with different lifetimes.
func (t *Tokens) familyExpiry(current time.Time) time.Time {
	now := t.now()
	return slices.MaxFunc([]time.Time{current, now.Add(t.refreshTTL), now.Add(t.accessTTL)}, time.Time.Compare)
}

// newPair builds the relationships of a fresh access and refresh token.
func (t *Tokens) newPair(user, session string, scopes []Scope, family, grant string) (Issued, []*v1.RelationshipUpdate, error) {
	p, err := newPairSecrets()
	if err != nil {
		return Issued{}, nil, err
	}
	out, ups := t.newPairOf(p, t.now(), user, session, scopes, family, grant)
	return out, ups, nil
}

// newPairOf builds the relationships of the pair with secrets p, issued now.
func (t *Tokens) newPairOf(p pairSecrets, now time.Time, user, session string, scopes []Scope, family, grant string) (Issued, []*v1.RelationshipUpdate) {
	access, refresh := p.strings()
	ah, rh := hashToken(access), hashToken(refresh)
	aExp, rExp := now.Add(t.accessTTL), now.Add(t.refreshTTL)
	userSub := sub(schema.TypeUser, schema.EncodeID(user))
	ups := []*v1.RelationshipUpdate{
		touch(relationship(typeAccessToken, ah, relAlive, flagSubject(), aExp)),
		touch(relationship(typeAccessToken, ah, relRoot, flagSubject(), aExp)),
		touch(relationship(typeAccessToken, ah, relFamily, sub(typeFamily, family), aExp)),
		touch(relationship(typeAccessToken, ah, relGrant, sub(typeAppGrant, grant), aExp)),
		touch(relationship(typeAccessToken, ah, relSession, sub(typeSession, session), aExp)),
		touch(relationship(typeAccessToken, ah, relUser, userSub, aExp)),
		touch(relationship(typeAccessToken, ah, relRefresh, sub(typeRefreshToken, rh), aExp)),
		touch(relationship(typeRefreshToken, rh, relAlive, flagSubject(), rExp)),
		touch(relationship(typeRefreshToken, rh, relUnspent, flagSubject(), rExp)),
		touch(relationship(typeRefreshToken, rh, relFamily, sub(typeFamily, family), rExp)),
		touch(relationship(typeRefreshToken, rh, relGrant, sub(typeAppGrant, grant), rExp)),
		touch(relationship(typeRefreshToken, rh, relSession, sub(typeSession, session), rExp)),
		touch(relationship(typeRefreshToken, rh, relUser, userSub, rExp)),
		touch(relationship(typeRefreshToken, rh, relAccess, sub(typeAccessToken, ah), rExp)),
	}
	for _, s := range scopes {
		ups = append(ups,
			touch(relationship(typeAccessToken, ah, relScope, sub(typeScope, string(s)), aExp)),
			touch(relationship(typeRefreshToken, rh, relScope, sub(typeScope, string(s)), rExp)))
	}
	t.meta.put(ah, &tokenMeta{hash: ah, user: user, scopes: scopes, expires: aExp, refresh: rh, family: family, grant: grant, session: session})
	return Issued{AccessToken: access, ExpiresIn: aExp.Sub(now), RefreshToken: refresh, RestrictedTo: []Restriction{}}, ups
}

// --- refresh ---

// refreshMeta is a refresh token as stored.
type refreshMeta struct {
	user    string
	scopes  []Scope
	family  string
	grant   string
	session string
	access  string
	expires time.Time
	alive   bool
	unspent bool
	// successor is the pair it was spent for, sealed, until
	// successorExpires (the reuse leeway's end); "" when none.
	successor        string
	successorExpires time.Time
}

func (t *Tokens) readRefresh(ctx context.Context, hash string) (refreshMeta, bool, error) {
	rels, err := t.readObject(ctx, typeRefreshToken, hash)
	if err != nil {
		return refreshMeta{}, false, err
	}
	var m refreshMeta
	for _, r := range rels {
		s := r.GetSubject().GetObject().GetObjectId()
		switch r.GetRelation() {
		case relAlive:
			m.alive = true
		case relUnspent:
			m.unspent = true
		case relFamily:
			m.family = s
		case relGrant:
			m.grant = s
		case relSession:
			m.session = s
		case relUser:
			m.user = schema.DecodeID(s)
			m.expires = r.GetOptionalExpiresAt().AsTime()
		case relScope:
			m.scopes = append(m.scopes, Scope(s))
		case relAccess:
			m.access = s
		case relSuccessor:
			m.successor = s
			m.successorExpires = r.GetOptionalExpiresAt().AsTime()
		}
	}
	return m, m.user != "", nil
}

// Refresh spends a refresh token for a new pair. A refresh token is good
// once: the spend is a write whose precondition is that the token is still
// unspent, so of any number of concurrent refreshes exactly one wins.
// Presenting a spent token again within the reuse leeway is a retry after
// a lost response and gets the pair the winner wrote; after it, the token
// was copied: the whole refresh family is switched off, the new pair
// included (MODEL.md §6).
//
// Refresh presents no client credentials: only the default application's
// tokens refresh so; RefreshAs presents an application's.
func (t *Tokens) Refresh(ctx context.Context, refreshToken string) (Issued, error) {
	return t.RefreshAs(ctx, ClientCredentials{}, refreshToken)
}

// RefreshAs is Refresh by the client that presented c, which must be the
// client of the application the token was issued to (MODEL.md §6, as Box
// requires client_id and client_secret on refresh).
func (t *Tokens) RefreshAs(ctx context.Context, c ClientCredentials, refreshToken string) (Issued, error) {
	clientApp, err := t.authenticate(ctx, c)
	if err != nil {
		return Issued{}, err
	}
	if refreshToken == "" {
		return Issued{}, oauthErr("invalid_request", "refresh_token is required")
	}
	h := hashToken(refreshToken)
	m, ok, err := t.readRefresh(ctx, h)
	if err != nil {
		return Issued{}, err
	}
	if !ok {
		return Issued{}, oauthErr("invalid_grant", "the refresh token is not known")
	}
	if err := issuedTo(c, clientApp, m.grant); err != nil {
		return Issued{}, err
	}
	switch {
	case !m.alive:
		return Issued{}, oauthErr("invalid_grant", "the refresh token was revoked")
	case !t.now().Before(m.expires):
		return Issued{}, oauthErr("invalid_grant", "the refresh token has expired")
	case !m.unspent:
		return t.spentAgain(ctx, refreshToken, h, m)
	}
	// Scopes the app has lost since are not carried into the new pair.
	scopes := m.scopes
	appObj, ok := grantApp(m.grant)
	if !ok {
		return Issued{}, fmt.Errorf("refreshing a token: its grant %q is not one boxauthz wrote", m.grant)
	}
	if appObj != defaultAppObject {
		appID := schema.DecodeID(strings.SplitN(m.grant, "|", 2)[0])
		app, err := t.App(ctx, appID)
		if errors.Is(err, ErrAppNotFound) || (err == nil && app.gen != appObj) {
			return Issued{}, oauthErr("invalid_grant", "the refresh token's application was deleted")
		}
		if err != nil {
			return Issued{}, err
		}
		scopes = intersectScopes(scopes, app.Scopes)
	}
	family, err := t.readObject(ctx, typeFamily, m.family)
	if err != nil {
		return Issued{}, err
	}
	var familyExp time.Time
	for _, r := range family {
		if r.GetRelation() == relAlive && r.GetOptionalExpiresAt() != nil {
			familyExp = r.GetOptionalExpiresAt().AsTime()
		}
	}
	if m.session == "" {
		// Issued before token sessions existed: its validity needs a
		// session it does not name, so it holds no longer.
		return Issued{}, oauthErr("invalid_grant", "the refresh token was revoked")
	}
	secrets, err := newPairSecrets()
	if err != nil {
		return Issued{}, err
	}
	now := t.now()
	out, ups := t.newPairOf(secrets, now, m.user, m.session, scopes, m.family, m.grant)
	ups = append(ups,
		del(relationship(typeRefreshToken, h, relUnspent, flagSubject(), time.Time{})),
		touch(relationship(typeFamily, m.family, relAlive, flagSubject(), t.familyExpiry(familyExp))))
	if t.reuseLeeway > 0 {
		// Written with the spend, so whoever sees the token spent sees
		// the pair it was spent for.
		sealed, err := sealPair(refreshToken, h, secrets, now.Add(t.accessTTL))
		if err != nil {
			return Issued{}, err
		}
		ups = append(ups, touch(relationship(typeRefreshToken, h, relSuccessor, sub(typeSealedPair, sealed), now.Add(t.reuseLeeway))))
	}
	pre := []*v1.Precondition{
		mustMatch(typeRefreshToken, h, relUnspent),
		mustMatch(typeRefreshToken, h, relAlive),
		mustMatch(typeFamily, m.family, relAlive),
		mustMatch(typeAppGrant, m.grant, relAuthorized),
		mustMatch(typeApp, appObj, relLive),
		mustMatch(typeSession, m.session, relLive),
	}
	_, err = t.write(ctx, &v1.WriteRelationshipsRequest{Updates: ups, OptionalPreconditions: pre})
	if err == nil {
		// ups[0] is the new access token's switch.
		if err := t.settle(ctx, fmt.Sprintf("spending refresh token %s", short(h)), ups[0]); err != nil {
			return Issued{}, err
		}
		t.logger.Info("token refreshed", slog.String("user", m.user), slog.String("refresh_token", short(h)), slog.String("token", short(hashToken(out.AccessToken))))
		return out, nil
	}
	t.meta.drop(hashToken(out.AccessToken))
	if !isPrecondition(err) {
		return Issued{}, fmt.Errorf("spending refresh token %s: %w", short(h), err)
	}
	// Lost a race, or something was switched off meanwhile: which one? A
	// read just after losing can still be answered from before the
	// winner's write (see spicedb.Settle), so a token that still reads
	// unspent is read again a few times, briefly.
	var m2 refreshMeta
	for attempt, wait := 1, time.Millisecond; ; attempt, wait = attempt+1, wait*2 {
		if m2, _, err = t.readRefresh(ctx, h); err != nil {
			return Issued{}, err
		}
		if !m2.alive || !m2.unspent || attempt == 4 {
			break
		}
		select {
		case <-ctx.Done():
			return Issued{}, ctx.Err()
		case <-time.After(wait):
		}
	}
	if m2.alive && !m2.unspent {
		return t.spentAgain(ctx, refreshToken, h, m2)
	}
	return Issued{}, oauthErr("invalid_grant", "the refresh token was revoked")
}

// spentAgain answers a spent refresh token presented again (by its own
// client: RefreshAs checked that first). Within the reuse leeway it is a
// retry after a lost response and gets the pair it was spent for, if that
// pair is still valid; after it, the token was copied and its family is
// revoked (MODEL.md §6).
func (t *Tokens) spentAgain(ctx context.Context, refreshToken, h string, m refreshMeta) (Issued, error) {
	now := t.now()
	if m.successor == "" || !now.Before(m.successorExpires) {
		return Issued{}, t.reuse(ctx, h, m)
	}
	secrets, accessExp, err := openPair(refreshToken, h, m.successor)
	if err != nil {
		// Not what boxauthz wrote: treat as reuse, the safe side.
		t.logger.Warn("spent refresh token's sealed pair does not open", slog.String("refresh_token", short(h)), slog.Any("error", err))
		return Issued{}, t.reuse(ctx, h, m)
	}
	access, refresh := secrets.strings()
	ah := hashToken(access)
	valid, _, err := t.checkOne(ctx, &v1.CheckBulkPermissionsRequestItem{Resource: obj(typeAccessToken, ah), Permission: permValid, Subject: flagSubject()})
	if err != nil {
		return Issued{}, fmt.Errorf("retrying the refresh of %s: %w", short(h), err)
	}
	if !valid || !now.Before(accessExp) {
		return Issued{}, oauthErr("invalid_grant", "the refresh token was already used, and the pair it gave has ended since")
	}
	t.logger.Info("refresh retried within the reuse leeway: the same pair again", slog.String("user", m.user),
		slog.String("refresh_token", short(h)), slog.String("token", short(ah)))
	return Issued{AccessToken: access, ExpiresIn: accessExp.Sub(now), RefreshToken: refresh, RestrictedTo: []Restriction{}}, nil
}

// reuse switches off the family of a refresh token presented again.
func (t *Tokens) reuse(ctx context.Context, h string, m refreshMeta) error {
	f := &v1.RelationshipFilter{ResourceType: typeFamily, OptionalResourceId: m.family, OptionalRelation: relAlive}
	if _, err := t.client.DeleteRelationships(ctx, &v1.DeleteRelationshipsRequest{RelationshipFilter: f}); err != nil {
		return fmt.Errorf("revoking the family of reused refresh token %s: %w", short(h), err)
	}
	if err := t.settleGone(ctx, fmt.Sprintf("revoking the family of reused refresh token %s", short(h)), f); err != nil {
		return err
	}
	t.logger.Warn("spent refresh token presented again: its family is revoked", slog.String("user", m.user), slog.String("refresh_token", short(h)))
	return oauthErr("invalid_grant", "the refresh token was already used; every token descended from it is revoked")
}

func intersectScopes(a, b []Scope) []Scope {
	out := []Scope{}
	for _, s := range a {
		if slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// --- revoke ---

// Revoke ends the pair a token (access or refresh) belongs to, and every
// token downscoped from it. An unknown token is not an error (RFC 7009).
//
// Revoke presents no client credentials: only the default application's
// tokens are revoked so; RevokeAs presents an application's.
func (t *Tokens) Revoke(ctx context.Context, token string) error {
	return t.RevokeAs(ctx, ClientCredentials{}, token)
}

// RevokeAs is Revoke by the client that presented c: the client is
// authenticated first, then must be the one the token was issued to (RFC
// 7009 §2.1).
func (t *Tokens) RevokeAs(ctx context.Context, c ClientCredentials, token string) error {
	clientApp, err := t.authenticate(ctx, c)
	if err != nil {
		return err
	}
	if token == "" {
		return oauthErr("invalid_request", "token is required")
	}
	h := hashToken(token)
	var access, refresh, grant string
	rm, ok, err := t.readRefresh(ctx, h)
	if err != nil {
		return err
	}
	if ok {
		refresh, access, grant = h, rm.access, rm.grant
	} else {
		m, ok, err := t.readAccess(ctx, h)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		access, refresh, grant = h, m.refresh, m.grant
	}
	if err := issuedTo(c, clientApp, grant); err != nil {
		return err
	}
	var ups []*v1.RelationshipUpdate
	if access != "" {
		ups = append(ups, del(relationship(typeAccessToken, access, relAlive, flagSubject(), time.Time{})))
	}
	if refresh != "" {
		ups = append(ups, del(relationship(typeRefreshToken, refresh, relAlive, flagSubject(), time.Time{})))
	}
	if _, err := t.write(ctx, &v1.WriteRelationshipsRequest{Updates: ups}); err != nil {
		return fmt.Errorf("revoking token %s: %w", short(h), err)
	}
	if err := t.settle(ctx, fmt.Sprintf("revoking token %s", short(h)), ups...); err != nil {
		return err
	}
	t.logger.Info("token revoked", slog.String("token", short(h)))
	return nil
}

// --- access token metadata ---

// tokenMeta is what an access token is; immutable once written.
type tokenMeta struct {
	hash     string
	user     string
	scopes   []Scope
	resource *schema.ItemRef
	expires  time.Time
	parent   string
	refresh  string
	family   string
	grant    string
	session  string
	// irregular: more than one parent, family or grant, or no family or
	// grant, which boxauthz never writes. Such a token's validity may
	// depend on objects its fields do not name, so the revocation watch
	// does not vouch for it.
	irregular bool
}

func (t *Tokens) readAccess(ctx context.Context, hash string) (*tokenMeta, bool, error) {
	rels, err := t.readObject(ctx, typeAccessToken, hash)
	if err != nil {
		return nil, false, err
	}
	m := &tokenMeta{hash: hash}
	links := map[string]int{}
	for _, r := range rels {
		s := r.GetSubject().GetObject()
		links[r.GetRelation()]++
		switch r.GetRelation() {
		case relUser:
			m.user = schema.DecodeID(s.GetObjectId())
			m.expires = r.GetOptionalExpiresAt().AsTime()
		case relScope:
			m.scopes = append(m.scopes, Scope(s.GetObjectId()))
		case relResource:
			m.resource = &schema.ItemRef{Type: s.GetObjectType(), ID: schema.DecodeID(s.GetObjectId())}
		case relParent:
			m.parent = s.GetObjectId()
		case relRefresh:
			m.refresh = s.GetObjectId()
		case relFamily:
			m.family = s.GetObjectId()
		case relGrant:
			m.grant = s.GetObjectId()
		case relSession:
			m.session = s.GetObjectId()
		}
	}
	m.irregular = links[relParent] > 1 || links[relFamily] != 1 || links[relGrant] != 1 || links[relSession] != 1
	return m, m.user != "", nil
}

// access finds an access token's metadata, from the cache or SpiceDB. It
// says nothing of validity.
func (t *Tokens) access(ctx context.Context, token string) (*tokenMeta, bool, error) {
	if token == "" {
		return nil, false, nil
	}
	return t.accessByHash(ctx, hashToken(token))
}

// accessByHash is access for a token's hash.
func (t *Tokens) accessByHash(ctx context.Context, h string) (*tokenMeta, bool, error) {
	if m := t.meta.get(h); m != nil {
		return m, true, nil
	}
	m, ok, err := t.readAccess(ctx, h)
	if err != nil || !ok {
		return nil, ok, err
	}
	t.meta.put(h, m)
	return m, true, nil
}

// metaCache keeps access token metadata, bounded; expired entries go first.
type metaCache struct {
	mu  gosync.Mutex
	max int
	m   map[string]*tokenMeta
}

func newMetaCache(max int) *metaCache { return &metaCache{max: max, m: map[string]*tokenMeta{}} }

func (c *metaCache) get(h string) *tokenMeta {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[h]
}

func (c *metaCache) put(h string, m *tokenMeta) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		now := time.Now()
		for k, v := range c.m {
			if v.expires.Before(now) {
				delete(c.m, k)
			}
		}
		// Still full: drop an arbitrary tenth; a dropped entry costs one read.
		for k := range c.m {
			if len(c.m) < c.max-c.max/10 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[h] = m
}

func (c *metaCache) drop(h string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, h)
}
