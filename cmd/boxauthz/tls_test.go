package main

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestTransportMismatchNamesTheFlag: plaintext gRPC against a TLS
// listener names --spicedb-insecure's removal, and TLS against a
// certificate no system root signed names --spicedb-ca, each at once
// rather than after retrying. (TLS against plaintext is asked of the
// embedded SpiceDB in TestCheckAndLookupCommands.)
func TestTransportMismatchNamesTheFlag(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.EnableHTTP2 = true // gRPC asks for h2: the handshake gets as far as the certificate
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "https://")
	for _, tt := range []struct {
		name  string
		flags []string
		want  string
	}{
		{"plaintext to TLS", []string{"--spicedb-insecure"}, "remove --spicedb-insecure"},
		{"untrusted certificate", nil, "give --spicedb-ca FILE"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			args := append([]string{"lookup", "users", "file:plan", "list", "--spicedb-endpoint", addr, "--spicedb-token", "k"}, tt.flags...)
			code, _, errs := runCmd(t, t.Context(), args...)
			if code != 2 || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d: %s; want 2 and %q", code, errs, tt.want)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("took %s: a transport mismatch is not worth retrying", d)
			}
		})
	}
}
