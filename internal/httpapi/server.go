package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/checker/oauth"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/sync"
)

// Config wires the API to its parts.
type Config struct {
	Checker *checker.Checker
	Applier *sync.Applier
	// AdminKey guards the trusted endpoints. Required.
	AdminKey string
	// Ready reports whether SpiceDB answers and holds the schema.
	Ready  func(context.Context) error
	Logger *slog.Logger
	// MaxBodyBytes bounds admin request bodies (default
	// DefaultMaxBodyBytes); routes any caller reaches have smaller limits
	// of their own (MaxPublicBodyBytes, MaxWebhookBodyBytes).
	MaxBodyBytes int64
	// PublicBodyReads bounds the bodies of unauthenticated requests read at
	// once (default DefaultPublicBodyReads).
	PublicBodyReads int
	// WebhookKeys verify Box webhook deliveries at /webhooks/box; with no
	// key the endpoint is off (404).
	WebhookKeys sync.WebhookKeys
	// WebhookDeadLetter is the file webhooks that cannot be applied go to.
	WebhookDeadLetter string
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// Metrics, when set, serves GET /metrics (Prometheus text format).
	Metrics http.Handler
	// Authorizer, when set, serves the token, application and authorize
	// endpoints (API.md Tokens, Authorize).
	Authorizer *oauth.Authorizer
	// InvalidTokenLimit is how many bad credentials (unknown, expired or
	// revoked tokens, a wrong admin key) one client address, and one
	// presented credential, may present per minute before a further bad
	// one is answered 429; InvalidTokenBurst how many in a row. The admin
	// key's failures are counted apart from end users'. 0 means
	// DefaultInvalidTokenLimit and DefaultInvalidTokenBurst; negative turns
	// the limit off.
	InvalidTokenLimit int
	InvalidTokenBurst int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client address the limit counts. Empty: the connection's peer.
	TrustedProxies []netip.Prefix
}

// Server is the HTTP API.
type Server struct {
	cfg      Config
	adminSum [32]byte
	mux      *http.ServeMux
	limiter  *failureLimiter
	// publicReads holds a slot per public body being read.
	publicReads chan struct{}
}

// New returns the API's handler.
func New(cfg Config) (*Server, error) {
	if cfg.AdminKey == "" {
		return nil, errors.New("http api: an admin key is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.PublicBodyReads <= 0 {
		cfg.PublicBodyReads = DefaultPublicBodyReads
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.WebhookDeadLetter == "" {
		cfg.WebhookDeadLetter = "webhooks.dead"
	}
	if cfg.InvalidTokenLimit == 0 {
		cfg.InvalidTokenLimit, cfg.InvalidTokenBurst = DefaultInvalidTokenLimit, DefaultInvalidTokenBurst
	}
	s := &Server{cfg: cfg, adminSum: sha256.Sum256([]byte(cfg.AdminKey)), mux: http.NewServeMux(),
		limiter: newFailureLimiter(cfg.InvalidTokenLimit, cfg.InvalidTokenBurst, cfg.Now), publicReads: make(chan struct{}, cfg.PublicBodyReads)}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("POST /v1/events", s.admin(s.events))
	s.mux.Handle("POST /v1/check", s.admin(s.check))
	s.mux.Handle("POST /v1/check/bulk", s.admin(s.checkBulk))
	s.mux.Handle("POST /v1/lookup/items", s.admin(s.lookupItems))
	s.mux.Handle("POST /v1/lookup/users", s.admin(s.lookupUsers))
	if cfg.Authorizer != nil {
		s.routeTokens()
	}
	if cfg.Metrics != nil {
		s.mux.Handle("GET /metrics", cfg.Metrics)
	}
	if cfg.WebhookKeys.Primary != "" || cfg.WebhookKeys.Secondary != "" {
		s.mux.HandleFunc("POST /webhooks/box", s.boxWebhook)
	}
	return s, nil
}

type ctxKey struct{}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// ServeHTTP gives every request an id (echoed in X-Request-Id), bounds its
// body and logs it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var b [12]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	w.Header().Set("X-Request-Id", id)
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, id))
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	if limit := publicBodyLimit(r.URL.Path); limit > 0 {
		if !s.precheck(rec, r) || !s.readPublicBody(rec, r, limit) {
			s.logRequest(r, id, rec.status, start)
			return
		}
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	}
	s.mux.ServeHTTP(rec, r)
	s.logRequest(r, id, rec.status, start)
}

// precheck refuses what needs no body to refuse, before the body is read:
// a webhook delivery whose signature headers cannot verify.
func (s *Server) precheck(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Path == "/webhooks/box" && r.Method == http.MethodPost && (s.cfg.WebhookKeys.Primary != "" || s.cfg.WebhookKeys.Secondary != "") {
		if err := sync.CheckWebhookHeaders(r.Header, s.cfg.WebhookKeys, s.cfg.Now()); err != nil {
			writeError(w, r, http.StatusUnauthorized, "unauthorized", err.Error())
			return false
		}
	}
	return true
}

func (s *Server) logRequest(r *http.Request, id string, status int, start time.Time) {
	// Paths only: a query string or header could carry a secret.
	s.cfg.Logger.LogAttrs(r.Context(), slog.LevelDebug, "http request",
		slog.String("request_id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", status), slog.Duration("took", time.Since(start)))
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

// Unwrap lets http.ResponseController reach the connection (read
// deadlines of public bodies).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// isAdmin reports whether r presents the admin key as a bearer token,
// compared in constant time.
func (s *Server) isAdmin(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	sum := sha256.Sum256([]byte(tok))
	return ok && subtle.ConstantTimeCompare(sum[:], s.adminSum[:]) == 1
}

// admin requires the admin key as a bearer token, compared in constant time.
func (s *Server) admin(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.isAdmin(r) {
			tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if s.overLimit(w, r, classAdmin, tok, false) {
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="boxauthz"`)
			writeError(w, r, http.StatusUnauthorized, "unauthorized", "this endpoint needs Authorization: Bearer <admin key>")
			return
		}
		h(w, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.cfg.Ready(ctx); err != nil {
			// The reason may name internal addresses (SpiceDB's, the
			// database's): only admin callers see it; the log has it.
			msg := "not ready; see the server log for request " + requestID(r.Context())
			if s.isAdmin(r) {
				msg = err.Error()
			}
			s.cfg.Logger.WarnContext(r.Context(), "not ready", "request_id", requestID(r.Context()), "error", err)
			writeError(w, r, http.StatusServiceUnavailable, "not_ready", msg)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_request", describeJSONError(err).Error())
		return
	}
	evs, err := sync.DecodeEvents(body, ct == "application/x-ndjson")
	if err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	res, err := s.cfg.Applier.Apply(r.Context(), evs)
	if err != nil {
		var ee *sync.EventError
		if errors.As(err, &ee) {
			writeError(w, r, http.StatusBadRequest, "bad_request", err.Error())
			return
		}
		s.eventsFailed(w, r, len(evs), err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"applied": res.Applied, "duplicates": res.Duplicates, "consistency_token": res.Token.GetToken()})
}

// eventsFailed answers a batch that failed after validation. A batch larger
// than one SpiceDB write is several transactions, so part of it may be in
// SpiceDB: context_info (Box's place for an error's details) names the ids
// of the events applied, and of those a lost answer leaves unknown, so the
// caller knows what sending the request again (which skips applied ids)
// will do.
func (s *Server) eventsFailed(w http.ResponseWriter, r *http.Request, total int, err error) {
	s.cfg.Logger.ErrorContext(r.Context(), "applying events", "request_id", requestID(r.Context()), "error", err)
	info := map[string]any{"applied": []string{}, "unknown": []string{}}
	var pe *sync.PartialError
	if errors.As(err, &pe) {
		if pe.Applied != nil {
			info["applied"] = pe.Applied
		}
		if pe.Unknown != nil {
			info["unknown"] = pe.Unknown
		}
		if pe.Partly != "" {
			info["partly_applied"] = pe.Partly
		}
	}
	msg := fmt.Sprintf("applying events failed after %d of %d were applied (context_info.applied names them; sending the request again skips them and applies the rest); see the server log for request %s",
		len(info["applied"].([]string)), total, requestID(r.Context()))
	writeJSON(w, http.StatusInternalServerError, map[string]any{"type": "error", "status": http.StatusInternalServerError,
		"code": "internal_server_error", "message": msg, "request_id": requestID(r.Context()), "context_info": info})
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, doing string, err error) {
	s.cfg.Logger.ErrorContext(r.Context(), doing, "request_id", requestID(r.Context()), "error", err)
	writeError(w, r, http.StatusInternalServerError, "internal_server_error", doing+" failed; see the server log for request "+requestID(r.Context()))
}

// checkBody is one graph check as API.md spells it.
type checkBody struct {
	User             string         `json:"user"`
	Action           string         `json:"action"`
	Item             schema.ItemRef `json:"item"`
	SharedLink       string         `json:"shared_link,omitempty"`
	ConsistencyToken string         `json:"consistency_token,omitempty"`
	Explain          bool           `json:"explain,omitempty"`
}

func (b checkBody) question() (checker.Question, error) {
	q := checker.Question{User: b.User, Action: schema.Action(b.Action), Item: b.Item}
	if b.Action == "" {
		return q, &checker.FieldError{Field: "action", Err: errors.New("required")}
	}
	if b.Item.Type == "" && b.Item.ID == "" {
		return q, &checker.FieldError{Field: "item", Err: errors.New("required")}
	}
	if b.SharedLink != "" {
		l, err := checker.ParseSharedLink(b.SharedLink)
		if err != nil {
			return q, &checker.FieldError{Field: "shared_link", Err: err}
		}
		q.SharedLink = &l
	}
	return q, q.Validate()
}

func (s *Server) badRequest(w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, r, http.StatusBadRequest, "bad_request", err.Error())
}

func (s *Server) check(w http.ResponseWriter, r *http.Request) {
	var b checkBody
	if err := decodeStrict(r.Body, &b); err != nil {
		s.badRequest(w, r, err)
		return
	}
	q, err := b.question()
	if err != nil {
		s.badRequest(w, r, err)
		return
	}
	ans, err := s.cfg.Checker.Check(r.Context(), q, checker.Consistency{Token: b.ConsistencyToken})
	if err != nil {
		s.checkFailed(w, r, err)
		return
	}
	out := map[string]any{"allowed": ans.Allowed}
	if b.Explain {
		ex, err := s.cfg.Checker.Explain(r.Context(), q, checker.Consistency{Token: b.ConsistencyToken})
		if err != nil {
			s.checkFailed(w, r, err)
			return
		}
		out["explanation"] = ex
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) checkFailed(w http.ResponseWriter, r *http.Request, err error) {
	var fe *checker.FieldError
	if errors.As(err, &fe) {
		s.badRequest(w, r, err)
		return
	}
	s.internal(w, r, "checking", err)
}

func (s *Server) checkBulk(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Checks           []checkBody `json:"checks"`
		ConsistencyToken string      `json:"consistency_token,omitempty"`
	}
	if err := decodeStrict(r.Body, &b); err != nil {
		s.badRequest(w, r, err)
		return
	}
	if len(b.Checks) == 0 {
		s.badRequest(w, r, &checker.FieldError{Field: "checks", Err: errors.New("required: at least one check")})
		return
	}
	qs := make([]checker.Question, 0, len(b.Checks))
	for i, c := range b.Checks {
		if c.ConsistencyToken != "" || c.Explain {
			s.badRequest(w, r, &checker.FieldError{Field: "checks[" + strconv.Itoa(i) + "]", Err: errors.New("consistency_token and explain go on the request, not on one check")})
			return
		}
		q, err := c.question()
		if err != nil {
			var fe *checker.FieldError
			if errors.As(err, &fe) {
				fe.Field = "checks[" + strconv.Itoa(i) + "]." + fe.Field
			}
			s.badRequest(w, r, err)
			return
		}
		qs = append(qs, q)
	}
	as, err := s.cfg.Checker.CheckBulk(r.Context(), qs, checker.Consistency{Token: b.ConsistencyToken})
	if err != nil {
		s.checkFailed(w, r, err)
		return
	}
	results := make([]map[string]bool, len(as))
	for i, a := range as {
		results[i] = map[string]bool{"allowed": a.Allowed}
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
}

func (s *Server) lookupItems(w http.ResponseWriter, r *http.Request) {
	var b struct {
		User             string `json:"user"`
		Action           string `json:"action"`
		Type             string `json:"type"`
		Limit            int    `json:"limit,omitempty"`
		Cursor           string `json:"cursor,omitempty"`
		ConsistencyToken string `json:"consistency_token,omitempty"`
	}
	if err := decodeStrict(r.Body, &b); err != nil {
		s.badRequest(w, r, err)
		return
	}
	act, err := schema.ParseAction(b.Action)
	if err != nil {
		s.badRequest(w, r, &checker.FieldError{Field: "action", Err: err})
		return
	}
	page, err := s.cfg.Checker.LookupItems(r.Context(), b.User, act, b.Type, b.Limit, b.Cursor, checker.Consistency{Token: b.ConsistencyToken})
	if err != nil {
		s.checkFailed(w, r, err)
		return
	}
	out := map[string]any{"items": page.Items}
	if page.Cursor != "" {
		out["cursor"] = page.Cursor
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) lookupUsers(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Item             schema.ItemRef `json:"item"`
		Action           string         `json:"action"`
		Limit            int            `json:"limit,omitempty"`
		Cursor           string         `json:"cursor,omitempty"`
		ConsistencyToken string         `json:"consistency_token,omitempty"`
	}
	if err := decodeStrict(r.Body, &b); err != nil {
		s.badRequest(w, r, err)
		return
	}
	act, err := schema.ParseAction(b.Action)
	if err != nil {
		s.badRequest(w, r, &checker.FieldError{Field: "action", Err: err})
		return
	}
	page, err := s.cfg.Checker.LookupUsers(r.Context(), b.Item, act, b.Limit, b.Cursor, checker.Consistency{Token: b.ConsistencyToken})
	if err != nil {
		s.checkFailed(w, r, err)
		return
	}
	out := map[string]any{"users": page.Users}
	if page.Cursor != "" {
		out["cursor"] = page.Cursor
	}
	writeJSON(w, http.StatusOK, out)
}

// boxWebhook applies a Box webhook v2 delivery. Box retries anything but a
// 2xx, so a delivery that can never apply is set aside in the dead-letter
// file and acknowledged; only a failure worth retrying (SpiceDB down) is not.
func (s *Server) boxWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.badRequest(w, r, describeJSONError(err))
		return
	}
	if err := sync.VerifyWebhook(r.Header, body, s.cfg.WebhookKeys, s.cfg.Now()); err != nil {
		writeError(w, r, http.StatusUnauthorized, "unauthorized", err.Error())
		return
	}
	evs, err := sync.TranslateWebhook(body)
	if errors.Is(err, sync.ErrIgnoredTrigger) {
		writeJSON(w, http.StatusOK, map[string]any{"applied": 0, "ignored": true})
		return
	}
	if err == nil {
		var res sync.Result
		res, err = s.cfg.Applier.Apply(r.Context(), evs)
		var ee *sync.EventError
		if err == nil {
			writeJSON(w, http.StatusOK, map[string]any{"applied": res.Applied, "duplicates": res.Duplicates, "consistency_token": res.Token.GetToken()})
			return
		}
		if !errors.As(err, &ee) {
			s.internal(w, r, "applying webhook", err)
			return
		}
	}
	d := sync.DeadLetter{Source: "webhooks/box", EventID: r.Header.Get("BOX-DELIVERY-ID"), Error: err.Error(), At: s.cfg.Now().UTC()}
	if json.Valid(body) {
		d.Line = body
	} else {
		d.Raw = string(body)
	}
	if derr := sync.AppendDeadLetters(s.cfg.WebhookDeadLetter, []sync.DeadLetter{d}, s.cfg.Logger); derr != nil {
		s.internal(w, r, "setting a webhook aside", derr)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"applied": 0, "dead_lettered": true, "error": err.Error()})
}
