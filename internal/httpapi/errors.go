package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// boxError is Box's error shape.
type boxError struct {
	Type      string `json:"type"`
	Status    int    `json:"status"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

// oauthError is the OAuth error shape of /oauth2/*.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	writeJSON(w, status, boxError{Type: "error", Status: status, Code: code, Message: msg, RequestID: requestID(r.Context())})
}

// bodyTooLargeError is a request body past its route's limit: 413, not
// 400, since the request may be fine once split.
type bodyTooLargeError struct {
	limit int64
}

func (e *bodyTooLargeError) Error() string {
	return fmt.Sprintf("request body larger than %d bytes", e.limit)
}

// codeTooLarge is Box's code for a 413.
const codeTooLarge = "request_entity_too_large"

// badRequest answers err as 400, or 413 when the body was too large.
func (s *Server) badRequest(w http.ResponseWriter, r *http.Request, err error) {
	var tl *bodyTooLargeError
	if errors.As(err, &tl) {
		writeError(w, r, http.StatusRequestEntityTooLarge, codeTooLarge, tl.Error()+splitHint(r.URL.Path, tl.limit))
		return
	}
	writeError(w, r, http.StatusBadRequest, "bad_request", err.Error())
}

// splitHint tells the caller of an oversized body how to send it instead.
func splitHint(path string, limit int64) string {
	switch {
	case path == "/v1/events":
		return fmt.Sprintf("; send the events in batches of at most %d bytes (fewer events per request)", limit)
	case path == "/v1/check/bulk":
		return fmt.Sprintf("; send the checks in requests of at most %d bytes (fewer checks per request)", limit)
	case path == "/webhooks/box":
		return "; a Box webhook delivery is a few kilobytes"
	case strings.HasPrefix(path, "/oauth2/"), path == "/v1/authorize", path == "/2.0/users/me":
		return "; a form or a question is well under a kilobyte"
	}
	return fmt.Sprintf("; send at most %d bytes", limit)
}

// noRoute answers a request no route takes, in the error shape of its
// path: 404, or 405 naming the methods allowed (allow, also in the Allow
// header).
func noRoute(w http.ResponseWriter, r *http.Request, status int, allow string) {
	code, msg := "not_found", "no endpoint at "+r.URL.Path
	if status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", allow)
		code, msg = "method_not_allowed", r.Method+" is not allowed on "+r.URL.Path+"; allowed: "+allow
	}
	if strings.HasPrefix(r.URL.Path, "/oauth2/") {
		// RFC 6749 §5.2 has no code for these: invalid_request is the
		// nearest.
		writeJSON(w, status, oauthError{Error: "invalid_request", Description: msg})
		return
	}
	writeError(w, r, status, code, msg)
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, doing string, err error) {
	s.cfg.Logger.ErrorContext(r.Context(), doing, "request_id", requestID(r.Context()), "error", err)
	writeError(w, r, http.StatusInternalServerError, "internal_server_error", doing+" failed; see the server log for request "+requestID(r.Context()))
}
