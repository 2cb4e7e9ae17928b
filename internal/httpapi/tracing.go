package httpapi

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// tracerName names the API's tracer (the instrumentation scope).
const tracerName = "github.com/boxauthz/boxauthz/internal/httpapi"

// WithTracing starts a server span for every request on tp, continuing
// the caller's trace when prop finds one in the request's headers (W3C
// traceparent). The span is the request context's, so the calls a request
// makes to SpiceDB, when their client is traced, are its children.
// Without it no span is started.
func WithTracing(tp trace.TracerProvider, prop propagation.TextMapPropagator) Option {
	return func(c *config) {
		if tp != nil {
			c.Tracer = tp.Tracer(tracerName)
			c.Propagator = prop
		}
	}
}

// startSpan starts r's server span, named by its route (pattern, the mux's
// lookup, or unmatched) so that span names stay few, and returns r with the
// span in its context. Without tracing it returns r and a nil span.
func (s *Server) startSpan(r *http.Request, pattern string) (*http.Request, trace.Span) {
	if s.cfg.Tracer == nil {
		return r, nil
	}
	ctx := r.Context()
	if s.cfg.Propagator != nil {
		ctx = s.cfg.Propagator.Extract(ctx, propagation.HeaderCarrier(r.Header))
	}
	if pattern == "" {
		pattern = unmatchedRoute
	}
	ctx, span := s.cfg.Tracer.Start(ctx, pattern, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("http.request.method", r.Method),
			attribute.String("http.route", pattern),
			attribute.String("url.path", r.URL.Path),
			attribute.String("boxauthz.request_id", requestID(r.Context())),
		))
	return r.WithContext(ctx), span
}

// endSpan ends span with the answer's status; a 5xx marks it failed (a 4xx
// is the caller's error, not the server's, as OpenTelemetry's HTTP
// conventions have it).
func endSpan(span trace.Span, status int) {
	if span == nil {
		return
	}
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= http.StatusInternalServerError {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
}
