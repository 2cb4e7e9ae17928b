package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// statusRecorder keeps what the access log and the metrics tell of an
// answer: its status and, for an error, its Box (or OAuth) error code.
type statusRecorder struct {
	http.ResponseWriter
	status int
	code   string
}

// Unwrap lets http.ResponseController reach the connection (read
// deadlines of public bodies).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// recordErrorCode notes the error code of v, an answer about to be written
// on w, for the access log.
func recordErrorCode(w http.ResponseWriter, v any) {
	rec, ok := w.(*statusRecorder)
	if !ok {
		return
	}
	switch e := v.(type) {
	case boxError:
		rec.code = e.Code
	case oauthError:
		rec.code = e.Error
	case map[string]any:
		// A Box error with context_info (a partly applied batch).
		if c, ok := e["code"].(string); ok && e["type"] == "error" {
			rec.code = c
		}
	}
}

// accessLevel is the level a request is logged at: refusals at info, so
// that an operator sees them without debug logging, failures at error,
// successes at debug.
func accessLevel(status int) slog.Level {
	switch {
	case status >= http.StatusInternalServerError:
		return slog.LevelError
	case status >= http.StatusBadRequest:
		return slog.LevelInfo
	default:
		return slog.LevelDebug
	}
}

// logRequest writes the request's access log line.
func (s *Server) logRequest(r *http.Request, rec *statusRecorder, pattern string, took time.Duration) {
	level := accessLevel(rec.status)
	if !s.cfg.Logger.Enabled(r.Context(), level) {
		return
	}
	if pattern == "" {
		pattern = unmatchedRoute
	}
	// Paths only: a query string or header could carry a secret.
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs,
		slog.String("request_id", requestID(r.Context())), slog.String("method", r.Method),
		slog.String("route", pattern), slog.String("path", r.URL.Path),
		slog.Int("status", rec.status), slog.Duration("took", took))
	if rec.code != "" {
		attrs = append(attrs, slog.String("code", rec.code))
	}
	if sc := trace.SpanContextFromContext(r.Context()); sc.IsValid() {
		attrs = append(attrs, slog.String("trace_id", sc.TraceID().String()))
	}
	s.cfg.Logger.LogAttrs(r.Context(), level, "http request", attrs...)
}
