package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/checker/tree"
	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/upgrade"
	"github.com/boxauthz/boxauthz/sync"
)

// stack is SpiceDB with boxauthz's schema, and the parts that use it.
type stack struct {
	client   *spicedb.Client
	embedded bool
	checker  *checker.Checker
	applier  *sync.Applier
	registry *prometheus.Registry
	// flags are what selected the SpiceDB, for errors that name them.
	flags *spicedbFlags
}

// openStack connects to the SpiceDB the flags select (starting the embedded
// one by default), makes sure it holds the schema, and builds the parts.
func openStack(ctx context.Context, sf *spicedbFlags, logger *slog.Logger, opts ...checker.Option) (*stack, error) {
	var (
		c   *spicedb.Client
		err error
	)
	// The registry comes first: the client's interceptors count on it.
	reg := prometheus.NewRegistry()
	calls, err := spicedb.NewCallMetrics(reg)
	if err != nil {
		return nil, err
	}
	ensureOpts, err := sf.extension.ensureOptions()
	if err != nil {
		return nil, err
	}
	inProcess := sf.endpoint == ""
	if !inProcess && sf.dataDir != "" {
		return nil, errors.New("--data-dir is for the embedded SpiceDB: leave it out with --spicedb-endpoint, whose datastore keeps the data")
	}
	if inProcess {
		eopts := []embedded.Option{
			embedded.WithGRPCAddr(sf.grpcAddr, sf.token),
			embedded.WithDialOptions(calls.DialOptions()...), embedded.WithDialOptions(sf.grpcOpts...),
		}
		if sf.dataDir != "" {
			eopts = append(eopts, embedded.WithDataDir(sf.dataDir))
		}
		c, err = embedded.Start(ctx, eopts...)
	} else {
		c, err = sf.dial(calls.DialOptions()...)
	}
	if err != nil {
		return nil, sf.hint(err)
	}
	st, err := ensureSchema(ctx, c, logger, ensureOpts...)
	if err != nil {
		_ = c.Close()
		return nil, sf.hint(err)
	}
	where := "embedded (in memory)"
	switch {
	case !inProcess:
		where = sf.endpoint
	case sf.dataDir != "":
		where = "embedded (data dir " + sf.dataDir + ")"
	}
	logger.Info("spicedb ready", "spicedb", where, "schema", st.String(), "schema_digest", schema.Digest())
	ch, err := checker.New(c, opts...)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m, err := sync.NewMetrics(reg)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	return &stack{
		client:   c,
		embedded: inProcess,
		flags:    sf,
		checker:  ch,
		registry: reg,
		applier:  sync.NewApplier(c, sync.WithLogger(logger), sync.WithMetrics(m)),
	}, nil
}

// ensureSchema waits for SpiceDB to answer (an external one may still be
// starting) and makes it hold the schema.
func ensureSchema(ctx context.Context, c *spicedb.Client, logger *slog.Logger, opts ...upgrade.Option) (upgrade.State, error) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := upgrade.Ensure(ctx, c, opts...)
		// Only "not there yet" is worth waiting for; a wrong key or an
		// incompatible schema will not fix itself.
		// Nor is TLS against plaintext, though gRPC calls it Unavailable.
		if code := status.Code(err); err == nil || (code != codes.Unavailable && code != codes.DeadlineExceeded) || transportMismatch(err) || time.Now().After(deadline) {
			return st, err
		}
		logger.Warn("spicedb not answering yet; retrying", "error", err)
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func (s *stack) Close() error { return s.client.Close() }

// followTree keeps a folder tree index of SpiceDB until ctx ends and makes
// the stack's checker ask chain checks with it. Until the index has loaded,
// and for any item it does not place, checks go the recursive way.
func (s *stack) followTree(ctx context.Context, logger *slog.Logger, opts ...checker.Option) error {
	idx := tree.New(s.client, tree.WithLogger(logger))
	ch, err := checker.New(s.client, append(opts, checker.WithTree(idx))...)
	if err != nil {
		return err
	}
	s.checker = ch
	go func() { _ = idx.Run(ctx) }()
	s.registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "boxauthz_tree_items", Help: "Items the folder tree index places."},
			func() float64 { return float64(idx.Len()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "boxauthz_chain_checks_confirmed_total", Help: "Checks answered as chain checks, their ancestor chain confirmed in the same request."},
			func() float64 { c, _ := ch.ChainCounts(); return float64(c) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "boxauthz_chain_checks_unconfirmed_total", Help: "Chain checks whose chain had moved since the index saw it, asked again the recursive way; a rising count means the index lags."},
			func() float64 { _, u := ch.ChainCounts(); return float64(u) }))
	return nil
}

// ready reports whether SpiceDB answers and holds the schema.
func (s *stack) ready(ctx context.Context) error {
	st, err := upgrade.Inspect(ctx, s.client)
	if err != nil {
		return err
	}
	if st == upgrade.Absent {
		return errors.New("spicedb holds no schema")
	}
	return nil
}

// countRelationships counts every relationship of the schema's types.
func (s *stack) countRelationships(ctx context.Context) (int, error) {
	n := 0
	for _, typ := range []string{schema.TypeUser, schema.TypeEnterprise, schema.TypeGroup, schema.TypeFolder, schema.TypeFile, schema.TypeCollaboration} {
		stream, err := s.client.ReadRelationships(ctx, &v1.ReadRelationshipsRequest{
			Consistency:        &v1.Consistency{Requirement: &v1.Consistency_MinimizeLatency{MinimizeLatency: true}},
			RelationshipFilter: &v1.RelationshipFilter{ResourceType: typ},
		})
		if err != nil {
			return 0, fmt.Errorf("counting %s relationships: %w", typ, err)
		}
		for {
			_, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return 0, fmt.Errorf("counting %s relationships: %w", typ, err)
			}
			n++
		}
	}
	return n, nil
}
