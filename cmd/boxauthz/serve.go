package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/checker/oauth"
	"github.com/boxauthz/boxauthz/internal/httpapi"
	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/telemetry"
	"github.com/boxauthz/boxauthz/sync/source"
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

// shutdownTimeout is how long serve lets requests in flight finish once
// asked to stop.
const shutdownTimeout = 10 * time.Second

// serveFlags are serve's command line.
type serveFlags struct {
	spicedb      spicedbFlags
	adminKey     adminKeyFlags
	addr         *string
	trusted      *string
	events       *string
	dead         *string
	whPrimary    *string
	whSecondary  *string
	whDead       *string
	outbox       *string
	accessTTL    *time.Duration
	refreshTTL   *time.Duration
	reuseLeeway  *time.Duration
	invalidLimit *int
	invalidBurst *int
	chainChecks  *bool
	readyEarly   *bool
}

func (f *serveFlags) register(fs *pflag.FlagSet) {
	f.spicedb.register(fs, spicedbEmbedded)
	f.spicedb.extension.register(fs)
	f.addr = fs.String("addr", "127.0.0.1:8080", "HTTP listen address")
	f.adminKey.register(fs, "key trusted callers present as Authorization: Bearer <key> (this or --admin-key-file required)")
	f.trusted = fs.String("trusted-proxy", "", "comma-separated reverse proxies (addresses or CIDR prefixes) whose X-Forwarded-For names the client address the bad-credential limit counts; default: none, the connection's peer counts")
	f.events = fs.String("events", "", "JSONL file of events to mirror on start and keep following")
	f.dead = fs.String("dead-letter", "", "file bad events from --events are appended to (default <events>.dead)")
	f.whPrimary = fs.String("webhook-primary-key", "", "Box webhook primary signature key (enables POST /webhooks/box)")
	f.whSecondary = fs.String("webhook-secondary-key", "", "Box webhook secondary signature key")
	f.whDead = fs.String("webhook-dead-letter", httpapi.DefaultWebhookDeadLetter, "file webhooks that cannot be applied are appended to")
	f.outbox = fs.String("outbox-dsn", "", "PostgreSQL DSN of an application database whose boxauthz_outbox table to mirror and keep following")
	f.readyEarly = fs.Bool("ready-during-catch-up", false, "answer /readyz 200 while --events or --outbox-dsn still applies what was there at start (default: 503 until caught up, so no traffic reaches a replica answering from an old state)")
	f.accessTTL = fs.Duration("access-token-ttl", oauth.DefaultAccessTTL, "lifetime of access tokens")
	f.refreshTTL = fs.Duration("refresh-token-ttl", oauth.DefaultRefreshTTL, "lifetime of refresh tokens (single use)")
	f.reuseLeeway = fs.Duration("refresh-reuse-leeway", oauth.DefaultRefreshReuseLeeway, "how long after a refresh the same client presenting the spent refresh token again gets the same new pair (a retry after a lost response) instead of its family being revoked (0: never)")
	f.invalidLimit = fs.Int("invalid-token-limit", httpapi.DefaultInvalidTokenLimit, "bad credentials one client address, or one credential, may present per minute before a further bad one is answered 429 (negative: no limit)")
	f.chainChecks = fs.Bool("chain-checks", true, "ask an item and its whole ancestor chain in one SpiceDB request, from a folder tree index kept in memory and followed through SpiceDB's watch (false: SpiceDB walks the folders one level at a time)")
	f.invalidBurst = fs.Int("invalid-token-burst", httpapi.DefaultInvalidTokenBurst, "bad credentials one client address, or one credential, may present in a row")
}

const serveLong = `serve runs the HTTP API: checks, bulk checks, lookups, event ingestion,
webhooks, tokens, /healthz, /readyz and /metrics.

By default SpiceDB runs embedded in this process, in memory (gone when it
stops); --data-dir keeps its data in a directory across restarts, on
boxauthz's own store; --spicedb-endpoint names an external one, which gets the schema on
the first start. --events and --outbox-dsn mirror a file or an outbox while
serving; /readyz answers 503 until what was there at start is applied.`

const serveExample = `  boxauthz serve --admin-key "$(openssl rand -hex 32)"
  boxauthz serve --admin-key-file /run/secrets/admin-key --addr :8080 --events /data/events.jsonl
  boxauthz serve --admin-key "$KEY" --spicedb-endpoint spicedb:50051 --spicedb-token "$TOKEN" --spicedb-insecure
  BOXAUTHZ_ADMIN_KEY="$KEY" BOXAUTHZ_ACCESS_TOKEN_TTL=30m boxauthz serve`

func newServeCmd(a *app) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:     "serve [flags]",
		Short:   "Run the HTTP API (embedded SpiceDB by default)",
		Long:    serveLong,
		Example: serveExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), &f, a.logger, nil)
		},
	}
	f.register(cmd.Flags())
	return cmd
}

// runServe is serve on args; onProgress, when not nil, sees every progress
// report of the sources after serve does (tests hold a catch-up with it).
func runServe(ctx context.Context, args []string, logger *slog.Logger, onProgress func(source.Progress)) error {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	var f serveFlags
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := bindEnv(fs); err != nil {
		return err
	}
	return serve(ctx, &f, logger, onProgress)
}

func serve(ctx context.Context, f *serveFlags, logger *slog.Logger, onProgress func(source.Progress)) error {
	adminKey, err := f.adminKey.value()
	if err != nil {
		return err
	}
	if adminKey == "" {
		return errors.New("needs --admin-key, --admin-key-file or BOXAUTHZ_ADMIN_KEY: trusted endpoints are refused without one")
	}
	if len(adminKey) < minAdminKeyLen {
		logger.Warn("the admin key is short: anyone who can reach the server may guess it; use at least 32 random characters", "length", len(adminKey))
	}
	proxies, err := httpapi.ParseTrustedProxies(*f.trusted)
	if err != nil {
		return fmt.Errorf("--trusted-proxy: %w", err)
	}
	// Lookup cursors are signed with a key every replica sharing the admin
	// key derives alike, so a page may be asked of any of them.
	cursorKey := sha256.Sum256([]byte("boxauthz lookup cursors\x00" + adminKey))
	tr, err := startTracing(ctx, logger)
	if err != nil {
		return err
	}
	defer stopTracing(tr, logger)
	f.spicedb.grpcOpts = tr.DialOptions()
	st, err := openStack(ctx, &f.spicedb, logger, checker.WithCursorKey(cursorKey[:]))
	if err != nil {
		return err
	}
	defer st.Close()
	if *f.chainChecks {
		if err := st.followTree(ctx, logger, checker.WithCursorKey(cursorKey[:])); err != nil {
			return err
		}
	}
	tokens, err := f.startTokens(ctx, st, logger)
	if err != nil {
		return err
	}
	caught := newCatchUp()
	ready := func(ctx context.Context) error {
		if err := st.ready(ctx); err != nil || *f.readyEarly {
			return err
		}
		return caught.ready(ctx)
	}
	apiOpts := []httpapi.Option{
		httpapi.WithReady(ready),
		httpapi.WithLogger(logger),
		httpapi.WithWebhookKeys(source.WebhookKeys{Primary: *f.whPrimary, Secondary: *f.whSecondary}),
		httpapi.WithWebhookDeadLetter(*f.whDead),
		httpapi.WithMetrics(promhttp.HandlerFor(st.registry, promhttp.HandlerOpts{})),
		httpapi.WithAuthorizer(oauth.NewAuthorizer(st.checker, tokens)),
		httpapi.WithInvalidTokenLimit(*f.invalidLimit, *f.invalidBurst),
		httpapi.WithTrustedProxies(proxies),
		httpapi.WithRegisterer(st.registry),
	}
	ext, err := f.spicedb.extension.checks(st.checker)
	if err != nil {
		return err
	}
	if ext != nil {
		apiOpts = append(apiOpts, httpapi.WithExtension(ext))
	}
	if tr.Enabled() {
		apiOpts = append(apiOpts, httpapi.WithTracing(tr.TracerProvider(), tr.Propagator()))
	}
	api, err := httpapi.New(st.checker, st.applier, adminKey, apiOpts...)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *f.addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *f.addr, err)
	}
	if err := f.startMirroring(ctx, st, tokens, logger, caught, onProgress); err != nil {
		return err
	}
	return serveHTTP(ctx, ln, api, logger)
}

// startTracing sets tracing up as the OTEL_* environment asks: off unless
// it names an OTLP endpoint.
func startTracing(ctx context.Context, logger *slog.Logger) (*telemetry.Tracing, error) {
	tr, err := telemetry.Setup(ctx)
	if err != nil {
		return nil, err
	}
	if tr.Enabled() {
		logger.Info("tracing on: exporting spans over OTLP/gRPC", "endpoint", tr.Endpoint())
	}
	return tr, nil
}

// stopTracing sends the spans not yet exported, for up to shutdownTimeout.
func stopTracing(tr *telemetry.Tracing, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil {
		logger.Warn("exporting the last spans failed", "error", err)
	}
}

// startTokens issues and checks tokens on st's SpiceDB, with the token
// validity counters on its registry.
func (f *serveFlags) startTokens(ctx context.Context, st *stack, logger *slog.Logger) (*oauth.Tokens, error) {
	if *f.accessTTL <= 0 || *f.refreshTTL <= 0 {
		return nil, errors.New("--access-token-ttl and --refresh-token-ttl must be positive")
	}
	if *f.reuseLeeway < 0 {
		return nil, errors.New("--refresh-reuse-leeway must not be negative (0 turns it off)")
	}
	tokens := oauth.NewTokens(st.client, oauth.WithAccessTTL(*f.accessTTL), oauth.WithRefreshTTL(*f.refreshTTL),
		oauth.WithRefreshReuseLeeway(*f.reuseLeeway), oauth.WithLogger(logger))
	if err := tokens.Bootstrap(ctx); err != nil {
		return nil, err
	}
	counter := func(name, help string, n func() uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(n()) })
	}
	st.registry.MustRegister(
		counter("boxauthz_token_validity_watched_total",
			"Authorizations whose token validity the revocation watch confirmed, without asking SpiceDB (embedded store).",
			func() uint64 { return tokens.ValidityStats().Watched }),
		counter("boxauthz_token_validity_asked_total",
			"Authorizations whose token validity was asked of SpiceDB.",
			func() uint64 { return tokens.ValidityStats().Asked }),
		counter("boxauthz_token_validity_late_total",
			"Authorizations that waited for the revocation watch in vain and asked SpiceDB; a rising count means the watch lags.",
			func() uint64 { return tokens.ValidityStats().Late }))
	return tokens, nil
}

// startMirroring follows the event sources the flags name and, on the
// embedded store, the revocation watch and the size warnings, until ctx
// ends. A source the flags describe wrongly fails the start. Each source's
// initial catch-up is logged and tracked by caught.
func (f *serveFlags) startMirroring(ctx context.Context, st *stack, tokens *oauth.Tokens, logger *slog.Logger, caught *catchUp, onProgress func(source.Progress)) error {
	watch := func(what, unit string) source.Option {
		logged, tracked := sourceProgress(logger, what, unit), caught.track(what)
		return source.WithProgress(func(p source.Progress) {
			logged(p)
			tracked(p)
			if onProgress != nil {
				onProgress(p)
			}
		})
	}
	if *f.events != "" {
		what := "events file " + *f.events
		src, err := source.NewFileSource(*f.events, source.WithDeadLetter(*f.dead), source.WithFollow(true), source.WithLogger(logger),
			watch(what, source.UnitBytes))
		if err != nil {
			return err
		}
		go follow(ctx, what, func(ctx context.Context) error {
			_, err := src.Run(ctx, st.applier)
			caught.failed(what, err)
			return err
		}, logger)
	}
	if *f.outbox != "" {
		src, err := source.NewOutboxSource(*f.outbox, source.WithFollow(true), source.WithLogger(logger), watch("outbox", source.UnitRows))
		if err != nil {
			return err
		}
		go follow(ctx, "outbox", func(ctx context.Context) error {
			_, err := src.Run(ctx, st.applier)
			caught.failed("outbox", err)
			return err
		}, logger)
	}
	if st.embedded {
		// The in-memory store's revisions are one total order, what lets a
		// decision trust the watch instead of asking for token validity.
		go tokens.WatchRevocations(ctx, st.client, spicedb.MemoryRevision)
	}
	if st.embedded && st.flags.dataDir == "" {
		go watchEmbedded(ctx, st.countRelationships, heapInUse, time.Minute, embeddedLimits{relationships: 100_000, heapBytes: 1 << 30}, logger)
	}
	return nil
}

// serveHTTP serves api on ln until ctx ends, then lets the requests in
// flight finish for up to shutdownTimeout.
func serveHTTP(ctx context.Context, ln net.Listener, api http.Handler, logger *slog.Logger) error {
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("serving", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
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
