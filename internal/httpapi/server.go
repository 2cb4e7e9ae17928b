package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/source"
)

// Server is the HTTP API.
type Server struct {
	cfg      config
	metrics  *httpMetrics
	adminSum [32]byte
	mux      *http.ServeMux
	limiter  *failureLimiter
	// publicReads holds a slot per public body being read.
	publicReads chan struct{}
}

// New returns the API's handler: checks on c, events applied by a, the
// trusted endpoints guarded by adminKey (required).
func New(c *checker.Checker, a *sync.Applier, adminKey string, opts ...Option) (*Server, error) {
	if adminKey == "" {
		return nil, errors.New("http api: an admin key is required")
	}
	cfg := config{
		Checker: c, Applier: a, AdminKey: adminKey,
		Logger: slog.Default(), Now: time.Now,
		MaxBodyBytes: DefaultMaxBodyBytes, PublicBodyReads: DefaultPublicBodyReads,
		WebhookDeadLetter: DefaultWebhookDeadLetter,
		InvalidTokenLimit: DefaultInvalidTokenLimit, InvalidTokenBurst: DefaultInvalidTokenBurst,
	}
	for _, o := range opts {
		o(&cfg)
	}
	var metrics *httpMetrics
	if cfg.Registerer != nil {
		m, err := newHTTPMetrics(cfg.Registerer)
		if err != nil {
			return nil, err
		}
		metrics = m
	}
	s := &Server{
		cfg: cfg, metrics: metrics, adminSum: sha256.Sum256([]byte(cfg.AdminKey)), mux: http.NewServeMux(),
		limiter: newFailureLimiter(cfg.InvalidTokenLimit, cfg.InvalidTokenBurst, cfg.Now), publicReads: make(chan struct{}, cfg.PublicBodyReads),
	}
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
// body, routes it and logs it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := inboundRequestID(r.Header.Get("X-Request-Id"))
	w.Header().Set("X-Request-Id", id)
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, id))
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	// One route lookup labels the metrics and, below, tells a request no
	// route takes.
	h, pattern := s.mux.Handler(r)
	r, span := s.startSpan(r, pattern)
	defer func() {
		took := time.Since(start)
		s.metrics.observe(pattern, rec.status, took)
		s.logRequest(r, rec, pattern, took)
		endSpan(span, rec.status)
	}()
	if limit := publicBodyLimit(r.URL.Path); limit > 0 {
		if !s.precheck(rec, r) || !s.readPublicBody(rec, r, limit) {
			return
		}
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	}
	s.route(rec, r, h, pattern)
}

// MaxRequestIDLength bounds an inbound X-Request-Id kept as the request's
// id.
const MaxRequestIDLength = 128

// inboundRequestID is the caller's request id when it is well formed (1 to
// MaxRequestIDLength of [A-Za-z0-9._-], so it cannot forge log lines or
// headers), else a new one.
func inboundRequestID(in string) string {
	if validRequestID(in) {
		return in
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func validRequestID(id string) bool {
	if id == "" || len(id) > MaxRequestIDLength {
		return false
	}
	for _, c := range []byte(id) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// route serves r by the mux, answering what no route takes (404, 405) in
// the API's error shape rather than the mux's plain text; h and pattern
// are the mux's lookup of r.
func (s *Server) route(w http.ResponseWriter, r *http.Request, h http.Handler, pattern string) {
	if pattern != "" {
		// ServeHTTP again rather than h: it sets the path values.
		s.mux.ServeHTTP(w, r)
		return
	}
	probe := &noRouteProbe{header: http.Header{}, status: http.StatusNotFound}
	h.ServeHTTP(probe, r)
	noRoute(w, r, probe.status, probe.header.Get("Allow"))
}

// noRouteProbe takes the mux's own answer to a request no route takes,
// keeping only its status and Allow header.
type noRouteProbe struct {
	header http.Header
	status int
}

func (p *noRouteProbe) Header() http.Header { return p.header }

func (p *noRouteProbe) Write(b []byte) (int, error) { return len(b), nil }

func (p *noRouteProbe) WriteHeader(code int) { p.status = code }

// precheck refuses what needs no body to refuse, before the body is read:
// a webhook delivery whose signature headers cannot verify.
func (s *Server) precheck(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Path == "/webhooks/box" && r.Method == http.MethodPost && (s.cfg.WebhookKeys.Primary != "" || s.cfg.WebhookKeys.Secondary != "") {
		if err := source.CheckWebhookHeaders(r.Header, s.cfg.WebhookKeys, s.cfg.Now()); err != nil {
			writeError(w, r, http.StatusUnauthorized, "unauthorized", err.Error())
			return false
		}
	}
	return true
}

var _ http.ResponseWriter = (*noRouteProbe)(nil)

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

// publicReason is a readiness error that tells every caller why, not only
// admin ones: a reason that names nothing internal (catching up, say).
type publicReason interface{ PublicReason() string }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.cfg.Ready(ctx); err != nil {
			// The reason may name internal addresses (SpiceDB's, the
			// database's): only admin callers see it; the log has it.
			msg := "not ready; see the server log for request " + requestID(r.Context())
			var pr publicReason
			if errors.As(err, &pr) {
				msg = pr.PublicReason() + "; see the server log for request " + requestID(r.Context())
			}
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
