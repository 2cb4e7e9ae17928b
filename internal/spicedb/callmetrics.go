package spicedb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// CallMetrics count and time boxauthz's calls to SpiceDB, by gRPC method
// (its short name, such as CheckPermission) and status code. Install them
// with DialOptions; one CallMetrics may serve several connections.
type CallMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// callBuckets span a cached check (well under a millisecond) to a large
// write or a long lookup stream.
var callBuckets = []float64{.0002, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewCallMetrics registers the call metrics with reg.
func NewCallMetrics(reg prometheus.Registerer) (*CallMetrics, error) {
	m := &CallMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "boxauthz_spicedb_requests_total",
			Help: "Calls boxauthz made to SpiceDB, by gRPC method and status code (a stream counts when it ends).",
		}, []string{"method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "boxauthz_spicedb_request_duration_seconds",
			Help:    "Time from a call to SpiceDB to its answer (for a stream, to its last message), by gRPC method.",
			Buckets: callBuckets,
		}, []string{"method"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("spicedb: registering call metrics: %w", err)
		}
	}
	return m, nil
}

// DialOptions are the interceptors that keep the metrics, for
// WithDialOptions or embedded.WithDialOptions.
func (m *CallMetrics) DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(m.unary),
		grpc.WithChainStreamInterceptor(m.stream),
	}
}

// shortMethod is the method part of a full gRPC method name
// ("/authzed.api.v1.PermissionsService/CheckPermission"): the services
// boxauthz calls share no method names, and the label stays short.
func shortMethod(full string) string {
	if i := strings.LastIndexByte(full, '/'); i >= 0 {
		return full[i+1:]
	}
	return full
}

func (m *CallMetrics) observe(method string, err error, took time.Duration) {
	m.requests.WithLabelValues(method, status.Code(err).String()).Inc()
	m.duration.WithLabelValues(method).Observe(took.Seconds())
}

func (m *CallMetrics) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	start := time.Now()
	err := invoker(ctx, method, req, reply, cc, opts...)
	m.observe(shortMethod(method), err, time.Since(start))
	return err
}

func (m *CallMetrics) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	start := time.Now()
	name := shortMethod(method)
	cs, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		m.observe(name, err, time.Since(start))
		return nil, err
	}
	return &observedStream{ClientStream: cs, done: func(err error) { m.observe(name, err, time.Since(start)) }}, nil
}

// observedStream records a stream once, when its last message has been
// received (io.EOF, counted as OK) or it failed. A stream its caller
// abandons without reading to the end is not counted.
type observedStream struct {
	grpc.ClientStream
	done  func(error)
	ended bool
}

func (s *observedStream) RecvMsg(msg any) error {
	err := s.ClientStream.RecvMsg(msg)
	if err != nil && !s.ended {
		s.ended = true
		outcome := err
		if errors.Is(err, io.EOF) {
			// The end of the stream is a success to count, and still the
			// caller's io.EOF: swallowing it would hand the caller one
			// empty message more.
			outcome = nil
		}
		s.done(outcome)
	}
	return err
}
