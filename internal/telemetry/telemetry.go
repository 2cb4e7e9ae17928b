package telemetry

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"
)

// DefaultServiceName is the service.name spans carry unless
// OTEL_SERVICE_NAME (or OTEL_RESOURCE_ATTRIBUTES) names another.
const DefaultServiceName = "boxauthz"

// The environment variables that turn tracing on: OpenTelemetry's own, so
// that a collector's usual configuration works unchanged. The exporter
// reads the rest of OTEL_EXPORTER_OTLP_* (headers, TLS, timeout) itself.
const (
	envEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	envSDKDisabled    = "OTEL_SDK_DISABLED"
	envTracesExporter = "OTEL_TRACES_EXPORTER"
)

// Tracing is the process's tracing, on or off. It is passed to what
// traces, never installed as OpenTelemetry's global provider: the embedded
// SpiceDB would otherwise trace its own internals into the same export.
type Tracing struct {
	// sdk is the exporting provider, nil when tracing is off.
	sdk        *sdktrace.TracerProvider
	propagator propagation.TextMapPropagator
	endpoint   string
}

// Option configures Setup.
type Option func(*settings)

type settings struct {
	serviceName    string
	serviceVersion string
}

// WithServiceVersion sets service.version on every span's resource.
func WithServiceVersion(v string) Option { return func(s *settings) { s.serviceVersion = v } }

// Setup turns tracing on when OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set (and neither OTEL_SDK_DISABLED
// =true nor OTEL_TRACES_EXPORTER=none says otherwise), exporting over
// OTLP/gRPC in batches. Off, it returns a Tracing that starts nothing.
// Shutdown flushes what is left.
func Setup(ctx context.Context, opts ...Option) (*Tracing, error) {
	s := settings{serviceName: DefaultServiceName}
	for _, o := range opts {
		o(&s)
	}
	endpoint, on, err := fromEnv(os.Getenv)
	if err != nil || !on {
		return &Tracing{}, err
	}
	exp, err := otlptracegrpc.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: creating the OTLP exporter for %s: %w", endpoint, err)
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", s.serviceName)}
	if s.serviceVersion != "" {
		attrs = append(attrs, attribute.String("service.version", s.serviceVersion))
	}
	// Later detectors win: the environment's service name over ours.
	res, err := resource.New(ctx, resource.WithAttributes(attrs...), resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		_ = exp.Shutdown(ctx)
		return nil, fmt.Errorf("tracing: describing the service: %w", err)
	}
	return &Tracing{
		sdk:        sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)),
		propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		endpoint:   endpoint,
	}, nil
}

// fromEnv reads whether tracing is on and to which endpoint.
func fromEnv(getenv func(string) string) (endpoint string, on bool, err error) {
	endpoint = getenv(envTracesEndpoint)
	if endpoint == "" {
		endpoint = getenv(envEndpoint)
	}
	if endpoint == "" || strings.EqualFold(getenv(envSDKDisabled), "true") || strings.EqualFold(getenv(envTracesExporter), "none") {
		return "", false, nil
	}
	if e := getenv(envTracesExporter); e != "" && e != "otlp" {
		return "", false, fmt.Errorf("tracing: %s=%q: boxauthz exports only otlp (or none)", envTracesExporter, e)
	}
	for _, name := range []string{envTracesProtocol, envProtocol} {
		if p := getenv(name); p != "" && p != "grpc" {
			return "", false, fmt.Errorf("tracing: %s=%q: boxauthz exports OTLP over grpc only", name, p)
		}
	}
	return endpoint, true, nil
}

// Enabled tells whether spans are exported.
func (t *Tracing) Enabled() bool { return t != nil && t.sdk != nil }

// Endpoint is the collector spans go to, empty when off.
func (t *Tracing) Endpoint() string {
	if !t.Enabled() {
		return ""
	}
	return t.endpoint
}

// TracerProvider is the provider to start spans on: a no-op one when off.
func (t *Tracing) TracerProvider() trace.TracerProvider {
	if !t.Enabled() {
		return noop.NewTracerProvider()
	}
	return t.sdk
}

// Propagator reads and writes trace context (W3C traceparent, baggage);
// nil when off.
func (t *Tracing) Propagator() propagation.TextMapPropagator {
	if !t.Enabled() {
		return nil
	}
	return t.propagator
}

// DialOptions trace a gRPC client's calls as children of their context's
// span and send the trace context along (to SpiceDB); none when off. The
// handler's own metrics go nowhere: the Prometheus call metrics count
// calls.
func (t *Tracing) DialOptions() []grpc.DialOption {
	if !t.Enabled() {
		return nil
	}
	return []grpc.DialOption{grpc.WithStatsHandler(otelgrpc.NewClientHandler(
		otelgrpc.WithTracerProvider(t.sdk),
		otelgrpc.WithPropagators(t.propagator),
		otelgrpc.WithMeterProvider(metricnoop.NewMeterProvider()),
	))}
}

// Shutdown exports the spans not yet sent and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	if err := t.sdk.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: flushing spans to %s: %w", t.endpoint, err)
	}
	return nil
}
