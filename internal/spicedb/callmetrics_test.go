package spicedb_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/spicedb/embedded"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/upgrade"
)

// TestCallMetricsFromAScrape asserts the SpiceDB call metrics as a scrape
// shows them, on both ways boxauthz reaches SpiceDB: the embedded server's
// in-process client and a dialed external endpoint (the same embedded
// server, exposed on loopback).
func TestCallMetricsFromAScrape(t *testing.T) {
	ctx := context.Background()
	addr := testenv.FreeAddr(t)
	const key = "call-metrics-key"
	embeddedReg := prometheus.NewRegistry()
	embeddedCalls, err := spicedb.NewCallMetrics(embeddedReg)
	if err != nil {
		t.Fatal(err)
	}
	inProcess, err := embedded.Start(ctx, embedded.WithGRPCAddr(addr, key), embedded.WithDialOptions(embeddedCalls.DialOptions()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = inProcess.Close() })
	if _, err := upgrade.Ensure(ctx, inProcess); err != nil {
		t.Fatal(err)
	}

	externalReg := prometheus.NewRegistry()
	externalCalls, err := spicedb.NewCallMetrics(externalReg)
	if err != nil {
		t.Fatal(err)
	}
	external, err := spicedb.DialExternal(addr, spicedb.WithToken(key), spicedb.WithInsecure(true), spicedb.WithDialOptions(externalCalls.DialOptions()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = external.Close() })

	for name, tc := range map[string]struct {
		c   *spicedb.Client
		reg *prometheus.Registry
	}{"embedded": {inProcess, embeddedReg}, "external": {external, externalReg}} {
		t.Run(name, func(t *testing.T) {
			askThreeWays(t, tc.c)
			scrape := scrapeOf(t, tc.reg)
			for _, want := range []string{
				`boxauthz_spicedb_requests_total{code="OK",method="CheckPermission"} 2`,
				`boxauthz_spicedb_requests_total{code="FailedPrecondition",method="CheckPermission"} 1`,
				`boxauthz_spicedb_requests_total{code="OK",method="ReadRelationships"} 1`,
				`boxauthz_spicedb_request_duration_seconds_count{method="CheckPermission"} 3`,
				`boxauthz_spicedb_request_duration_seconds_bucket{method="ReadRelationships",le="+Inf"} 1`,
			} {
				if !strings.Contains(scrape, want) {
					t.Errorf("scrape lacks %s", want)
				}
			}
			if strings.Contains(scrape, "authzed.api.v1") {
				t.Error("a method label carries its service's full name")
			}
		})
	}
}

// askThreeWays makes two good checks, one SpiceDB refuses (a permission
// the schema lacks), and reads one stream to its end.
func askThreeWays(t *testing.T, c *spicedb.Client) {
	t.Helper()
	ctx := context.Background()
	full := &v1.Consistency{Requirement: &v1.Consistency_FullyConsistent{FullyConsistent: true}}
	check := func(permission string) error {
		_, err := c.CheckPermission(ctx, &v1.CheckPermissionRequest{
			Consistency: full,
			Resource:    &v1.ObjectReference{ObjectType: schema.TypeFile, ObjectId: "f"},
			Permission:  permission,
			Subject:     &v1.SubjectReference{Object: &v1.ObjectReference{ObjectType: schema.TypeUser, ObjectId: "u"}},
		})
		return err
	}
	for range 2 {
		if err := check(string(schema.ActionDownload)); err != nil {
			t.Fatal(err)
		}
	}
	if err := check("no_such_permission"); err == nil {
		t.Fatal("a check of a permission the schema lacks answered")
	}
	stream, err := c.ReadRelationships(ctx, &v1.ReadRelationshipsRequest{Consistency: full, RelationshipFilter: &v1.RelationshipFilter{ResourceType: schema.TypeFile}})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := stream.Recv(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
}

func scrapeOf(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	w := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("scrape: %d", w.Code)
	}
	return w.Body.String()
}
