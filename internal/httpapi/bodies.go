package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/boxauthz/boxauthz/internal/jsonstrict"
)

// Body limits. Admin routes read a body only once the admin key checks,
// so they may take large batches; routes any caller reaches take small
// bodies, read whole before the handler runs, a bounded number at a time.
const (
	// DefaultMaxBodyBytes bounds admin request bodies (event batches).
	DefaultMaxBodyBytes = 8 << 20
	// MaxPublicBodyBytes bounds the bodies of /oauth2/* and /v1/authorize:
	// a form or a question is well under a kilobyte.
	MaxPublicBodyBytes = 64 << 10
	// MaxWebhookBodyBytes bounds a Box webhook delivery: its source object
	// is a few kilobytes.
	MaxWebhookBodyBytes = 1 << 20
	// DefaultPublicBodyReads bounds the public bodies read at once.
	DefaultPublicBodyReads = 64
	// publicReadWait is how long a public body waits for a read slot
	// before it is answered 503.
	publicReadWait = 2 * time.Second
	// publicReadTime bounds reading one public body, so a slow sender
	// cannot hold a read slot.
	publicReadTime = 10 * time.Second
)

// publicBodyLimit is the body limit of a route any caller may reach, 0 for
// the admin routes.
func publicBodyLimit(path string) int64 {
	switch path {
	case "/webhooks/box":
		return MaxWebhookBodyBytes
	case "/oauth2/token", "/oauth2/revoke", "/v1/authorize", "/2.0/users/me":
		return MaxPublicBodyBytes
	}
	return 0
}

// readPublicBody reads the body of an unauthenticated request into memory
// under the public limits, answering the caller itself (and reporting
// false) when it cannot: 413 past the limit, 503 when too many are being
// read already.
func (s *Server) readPublicBody(w http.ResponseWriter, r *http.Request, limit int64) bool {
	ctx, cancel := context.WithTimeout(r.Context(), publicReadWait)
	defer cancel()
	select {
	case s.publicReads <- struct{}{}:
	case <-ctx.Done():
		w.Header().Set("Retry-After", "1")
		publicError(w, r, http.StatusServiceUnavailable, "temporarily_unavailable", "too many requests being read; retry shortly")
		return false
	}
	defer func() { <-s.publicReads }()
	// Not supported by every ResponseWriter (tests): then the server's
	// own ReadTimeout is the bound.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(publicReadTime))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			code := codeTooLarge
			if strings.HasPrefix(r.URL.Path, "/oauth2/") {
				code = "invalid_request"
			}
			publicError(w, r, http.StatusRequestEntityTooLarge, code, (&bodyTooLargeError{limit: limit}).Error()+splitHint(r.URL.Path, limit))
			return false
		}
		publicError(w, r, http.StatusBadRequest, "invalid_request", "reading the request body: "+err.Error())
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return true
}

// publicError answers in the shape of the route: OAuth's for /oauth2/*
// (RFC 6749 §5.2), Box's elsewhere.
func publicError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	if strings.HasPrefix(r.URL.Path, "/oauth2/") {
		writeJSON(w, status, oauthError{Error: code, Description: msg})
		return
	}
	if code == "invalid_request" {
		code = "bad_request"
	}
	writeError(w, r, status, code, msg)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	recordErrorCode(w, v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeStrict reads one JSON value into v, refusing unknown fields, wrong
// types, duplicate keys, invalid UTF-8 and trailing data, with a message
// that names the field.
func decodeStrict(body io.Reader, v any) error {
	b, err := io.ReadAll(body)
	if err != nil {
		return describeJSONError(err)
	}
	// encoding/json turns invalid UTF-8 into U+FFFD, so an id could read
	// as another than the one sent.
	if !utf8.Valid(b) {
		return errors.New("request body: not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return describeJSONError(err)
	}
	if err := jsonstrict.CheckDuplicateKeys(b); err != nil {
		return fmt.Errorf("request body: %w", err)
	}
	if dec.More() {
		return errors.New("request body: unexpected data after the JSON value")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("request body: unexpected data after the JSON value")
	}
	return nil
}

func describeJSONError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return &bodyTooLargeError{limit: mbe.Limit}
	case errors.As(err, &te) && te.Field == "":
		return fmt.Errorf("request body: want %s, got JSON %s", jsonstrict.TypeName(te.Type), te.Value)
	case errors.As(err, &te):
		return fmt.Errorf("field %q: want %s, got JSON %s", te.Field, jsonstrict.TypeName(te.Type), te.Value)
	case errors.As(err, &se):
		return fmt.Errorf("request body: malformed JSON at byte %d: %w", se.Offset, se)
	case errors.Is(err, io.EOF):
		return errors.New("request body: empty, want a JSON object")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Errorf("field %s: unknown", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return fmt.Errorf("request body: %w", err)
}

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, describeJSONError(err)
	}
	return b, nil
}
