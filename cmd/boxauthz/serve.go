package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/checker/oauth"
	"github.com/boxauthz/boxauthz/internal/httpapi"
	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/sync"
)

// embeddedLimits are where the in-memory datastore stops being a good idea.
type embeddedLimits struct {
	// relationships: it scans every row of a type and relation on each read.
	relationships int
	// heapBytes: it keeps every revision (about 11 KB per write) for as
	// long as the process runs.
	heapBytes uint64
}

// minAdminKeyLen is the admin key length below which serve warns: bad
// admin keys are limited per address, which slows a guesser but does not
// stop one spread over many addresses.
const minAdminKeyLen = 32

func serveCmd(ctx context.Context, args []string, logger *slog.Logger) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var sf spicedbFlags
	sf.register(fs, true)
	addr := fs.String("addr", "127.0.0.1:8080", "HTTP listen address")
	var ak adminKeyFlags
	ak.register(fs, "key trusted callers present as Authorization: Bearer <key> (this or --admin-key-file required)")
	trusted := fs.String("trusted-proxy", "", "comma-separated reverse proxies (addresses or CIDR prefixes) whose X-Forwarded-For names the client address the bad-credential limit counts; default: none, the connection's peer counts")
	events := fs.String("events", "", "JSONL file of events to mirror on start and keep following")
	dead := fs.String("dead-letter", "", "file bad events from --events are appended to (default <events>.dead)")
	whPrimary := fs.String("webhook-primary-key", "", "Box webhook primary signature key (enables POST /webhooks/box)")
	whSecondary := fs.String("webhook-secondary-key", "", "Box webhook secondary signature key")
	whDead := fs.String("webhook-dead-letter", "webhooks.dead", "file webhooks that cannot be applied are appended to")
	outbox := fs.String("outbox-dsn", "", "PostgreSQL DSN of an application database whose boxauthz_outbox table to mirror and keep following")
	accessTTL := fs.Duration("access-token-ttl", oauth.DefaultAccessTTL, "lifetime of access tokens")
	refreshTTL := fs.Duration("refresh-token-ttl", oauth.DefaultRefreshTTL, "lifetime of refresh tokens (single use)")
	reuseLeeway := fs.Duration("refresh-reuse-leeway", oauth.DefaultRefreshReuseLeeway, "how long after a refresh the same client presenting the spent refresh token again gets the same new pair (a retry after a lost response) instead of its family being revoked (0: never)")
	invalidLimit := fs.Int("invalid-token-limit", httpapi.DefaultInvalidTokenLimit, "bad credentials one client address, or one credential, may present per minute before a further bad one is answered 429 (negative: no limit)")
	invalidBurst := fs.Int("invalid-token-burst", httpapi.DefaultInvalidTokenBurst, "bad credentials one client address, or one credential, may present in a row")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	adminKey, err := ak.value()
	if err != nil {
		return err
	}
	if adminKey == "" {
		return errors.New("needs --admin-key, --admin-key-file or BOXAUTHZ_ADMIN_KEY: trusted endpoints are refused without one")
	}
	if len(adminKey) < minAdminKeyLen {
		logger.Warn("the admin key is short: anyone who can reach the server may guess it; use at least 32 random characters", "length", len(adminKey))
	}
	proxies, err := httpapi.ParseTrustedProxies(*trusted)
	if err != nil {
		return fmt.Errorf("--trusted-proxy: %w", err)
	}
	// Lookup cursors are signed with a key every replica sharing the admin
	// key derives alike, so a page may be asked of any of them.
	cursorKey := sha256.Sum256([]byte("boxauthz lookup cursors\x00" + adminKey))
	st, err := openStack(ctx, &sf, logger, checker.WithCursorKey(cursorKey[:]))
	if err != nil {
		return err
	}
	defer st.Close()
	if *accessTTL <= 0 || *refreshTTL <= 0 {
		return errors.New("--access-token-ttl and --refresh-token-ttl must be positive")
	}
	if *reuseLeeway < 0 {
		return errors.New("--refresh-reuse-leeway must not be negative (0 turns it off)")
	}
	tokens := oauth.NewTokens(st.client, oauth.WithAccessTTL(*accessTTL), oauth.WithRefreshTTL(*refreshTTL),
		oauth.WithRefreshReuseLeeway(*reuseLeeway), oauth.WithLogger(logger))
	if err := tokens.Bootstrap(ctx); err != nil {
		return err
	}
	st.registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "boxauthz_token_validity_watched_total",
			Help: "Authorizations whose token validity the revocation watch confirmed, without asking SpiceDB (embedded store)."},
			func() float64 { return float64(tokens.ValidityStats().Watched) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "boxauthz_token_validity_asked_total",
			Help: "Authorizations whose token validity was asked of SpiceDB."},
			func() float64 { return float64(tokens.ValidityStats().Asked) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "boxauthz_token_validity_late_total",
			Help: "Authorizations that waited for the revocation watch in vain and asked SpiceDB; a rising count means the watch lags."},
			func() float64 { return float64(tokens.ValidityStats().Late) }))

	api, err := httpapi.New(httpapi.Config{Checker: st.checker, Applier: st.applier, AdminKey: adminKey, TrustedProxies: proxies, Ready: st.ready, Logger: logger,
		Authorizer: oauth.NewAuthorizer(st.checker, tokens), InvalidTokenLimit: *invalidLimit, InvalidTokenBurst: *invalidBurst,
		WebhookKeys: sync.WebhookKeys{Primary: *whPrimary, Secondary: *whSecondary}, WebhookDeadLetter: *whDead,
		Metrics: promhttp.HandlerFor(st.registry, promhttp.HandlerOpts{})})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *addr, err)
	}
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	if *events != "" {
		src := &sync.FileSource{Path: *events, DeadLetter: *dead, Follow: true, Logger: logger}
		go follow(ctx, "events file "+*events, func(ctx context.Context) error { _, err := src.Run(ctx, st.applier); return err }, logger)
	}
	if *outbox != "" {
		src := &sync.OutboxSource{DSN: *outbox, Follow: true, Logger: logger}
		go follow(ctx, "outbox", func(ctx context.Context) error { _, err := src.Run(ctx, st.applier); return err }, logger)
	}
	if st.embedded {
		// The in-memory store's revisions are one total order, what lets a
		// decision trust the watch instead of asking for token validity.
		go tokens.WatchRevocations(ctx, st.client, spicedb.MemoryRevision)
		go watchEmbedded(ctx, st.countRelationships, heapInUse, time.Minute, embeddedLimits{relationships: 100_000, heapBytes: 1 << 30}, logger)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("serving", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	logger.Info("shutting down")
	return srv.Shutdown(shutdownCtx)
}

// watchEmbedded warns once when the embedded store holds more relationships
// than it serves well, and once when the process's heap, where it keeps
// every revision, grows past the limit.
func watchEmbedded(ctx context.Context, count func(context.Context) (int, error), heap func() uint64, every time.Duration, lim embeddedLimits, logger *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	var warnedSize, warnedHeap bool
	for !warnedSize || !warnedHeap {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := count(ctx); !warnedSize && err == nil && n > lim.relationships {
			logger.Warn("the embedded in-memory SpiceDB holds many relationships; it scans every row of a type and relation on each read, so checks slow down and memory grows. Use an external SpiceDB on PostgreSQL (--spicedb-endpoint) for production",
				"relationships", n, "warn_at", lim.relationships)
			warnedSize = true
		}
		if h := heap(); !warnedHeap && h > lim.heapBytes {
			logger.Warn("the embedded in-memory SpiceDB keeps every revision (about 11 KB per write) for as long as the process runs, so memory grows with every write. Use an external SpiceDB on PostgreSQL (--spicedb-endpoint) for a long-running deployment",
				"heap_bytes", h, "warn_at", lim.heapBytes)
			warnedHeap = true
		}
	}
}

// heapInUse is the Go heap in use, SpiceDB's in-memory store included.
func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// follow runs a source for as long as serve runs, starting it again after a
// failure (SpiceDB or the source unreachable) from the committed position.
func follow(ctx context.Context, what string, run func(context.Context) error, logger *slog.Logger) {
	backoff := time.Second
	for ctx.Err() == nil {
		err := run(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		logger.Error("mirroring failed; retrying", "source", what, "retry_in", backoff, "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}
