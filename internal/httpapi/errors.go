package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/boxauthz/boxauthz/internal/jsonstrict"
)

// boxError is Box's error shape.
type boxError struct {
	Type      string `json:"type"`
	Status    int    `json:"status"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	writeJSON(w, status, boxError{Type: "error", Status: status, Code: code, Message: msg, RequestID: requestID(r.Context())})
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
		return fmt.Errorf("request body larger than %d bytes", mbe.Limit)
	case errors.As(err, &te) && te.Field == "":
		return fmt.Errorf("request body: want %s, got JSON %s", jsonstrict.TypeName(te.Type), te.Value)
	case errors.As(err, &te):
		return fmt.Errorf("field %q: want %s, got JSON %s", te.Field, jsonstrict.TypeName(te.Type), te.Value)
	case errors.As(err, &se):
		return fmt.Errorf("request body: malformed JSON at byte %d: %v", se.Offset, se)
	case errors.Is(err, io.EOF):
		return errors.New("request body: empty, want a JSON object")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Errorf("field %s: unknown", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return fmt.Errorf("request body: %v", err)
}
