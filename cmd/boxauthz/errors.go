package main

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/boxauthz/boxauthz/schema"
)

// exitError carries a specific exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func (e *exitError) Unwrap() error { return e.err }

// usageError is a command line that does not say what to do: exit 2, with
// a pointer to the command's help.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }

func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// parseAction reads an item action, listing the valid ones when s is none.
func parseAction(s string) (schema.Action, error) {
	a, err := schema.ParseAction(s)
	if err == nil && a.IsItemAction() {
		return a, nil
	}
	return "", fmt.Errorf("unknown action %q: want one of %s", s, actionNames())
}

// actionNames lists the item actions, as the schema package orders them.
func actionNames() string {
	names := make([]string, 0, len(schema.ItemActions()))
	for _, v := range schema.ItemActions() {
		names = append(names, string(v))
	}
	return strings.Join(names, ", ")
}

// itemTypes are the types checks and lookups are asked of.
var itemTypes = []string{schema.TypeFolder, schema.TypeFile}

// parseItemType reads an item type, listing the valid ones when s is none.
func parseItemType(s string) (string, error) {
	for _, t := range itemTypes {
		if s == t {
			return t, nil
		}
	}
	return "", fmt.Errorf("unknown type %q: want one of %s", s, strings.Join(itemTypes, ", "))
}

// parseItem reads type:id, naming the valid types when the type is wrong.
func parseItem(s string) (schema.ItemRef, error) {
	typ, _, ok := strings.Cut(s, ":")
	if ok {
		if _, err := parseItemType(typ); err != nil {
			return schema.ItemRef{}, fmt.Errorf("item %q: %w", s, err)
		}
	}
	return schema.ParseItemRef(s)
}

// spicedbHint says what to change when err, from talking to the SpiceDB sf
// names, is one a flag explains: TLS against plaintext or the reverse, or
// a key SpiceDB refuses. Other errors come back as they are.
func (s *spicedbFlags) hint(err error) error {
	if err == nil || s.endpoint == "" {
		return err
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "first record does not look like a TLS handshake"):
		return fmt.Errorf("SpiceDB at %s talks plaintext gRPC, not TLS: add --spicedb-insecure (%w)", s.endpoint, err)
	case s.insecure && plaintextToTLS(msg):
		return fmt.Errorf("SpiceDB at %s expects TLS: remove --spicedb-insecure (and give --spicedb-ca if a private CA signed its certificate) (%w)", s.endpoint, err)
	case !s.insecure && (strings.Contains(msg, "tls:") || strings.Contains(msg, "x509:") || strings.Contains(msg, "authentication handshake failed")):
		return fmt.Errorf("TLS with SpiceDB at %s failed: give --spicedb-ca FILE when a private CA signed its certificate, or --spicedb-insecure when it talks plaintext gRPC (%w)", s.endpoint, err)
	}
	if c := status.Code(err); c == codes.Unauthenticated || c == codes.PermissionDenied {
		return fmt.Errorf("SpiceDB at %s refused the key: check --spicedb-token (or BOXAUTHZ_SPICEDB_TOKEN) (%w)", s.endpoint, err)
	}
	return err
}

// plaintextToTLS tells the errors a plaintext gRPC client sees from a TLS
// server: the server's handshake bytes are not an HTTP/2 preface.
func plaintextToTLS(msg string) bool {
	for _, s := range []string{"connection closed before server preface", "error reading server preface", "frame too large", "authentication handshake failed", "tls:"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// transportMismatch tells an error no retry fixes: the two ends disagree
// on TLS, so waiting for SpiceDB to start is pointless.
func transportMismatch(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "first record does not look like a TLS handshake") || plaintextToTLS(msg) || strings.Contains(msg, "x509:")
}

// errUnauthorized is a server refusing the admin key.
var errUnauthorized = errors.New("the server refused the admin key: give the one it was started with as --admin-key, --admin-key-file or BOXAUTHZ_ADMIN_KEY")
