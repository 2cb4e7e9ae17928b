package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/internal/httpapi"
	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/sync"
)

// secondWriteFails fails the second WriteRelationships call once.
type secondWriteFails struct {
	*spicedb.Client
	calls int
}

func (f *secondWriteFails) WriteRelationships(ctx context.Context, in *v1.WriteRelationshipsRequest, opts ...grpc.CallOption) (*v1.WriteRelationshipsResponse, error) {
	if f.calls++; f.calls == 2 {
		return nil, errors.New("injected failure")
	}
	return f.Client.WriteRelationships(ctx, in, opts...)
}

// TestEventsFailureNamesAppliedEvents: a request written in several
// transactions that fails between two answers with the ids of the events
// applied, and sending it again applies exactly the rest.
func TestEventsFailureNamesAppliedEvents(t *testing.T) {
	c := testenv.SpiceDB(t, testenv.Memory)
	ch, err := checker.New(c)
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(ch,
		sync.NewApplier(&secondWriteFails{Client: c}, sync.WithMaxUpdatesPerWrite(30)),
		adminKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)

	lines := []string{
		`{"id":"u","type":"user.created","user":{"id":"alice","enterprise":"acme"}}`,
		`{"id":"top","type":"folder.created","folder":{"id":"top","parent":"0","owner":"alice"}}`,
	}
	for i := 0; i < 40; i++ {
		lines = append(lines, fmt.Sprintf(`{"id":"e%d","type":"file.created","file":{"id":"x%d","parent":"top","owner":"alice"}}`, i, i))
	}
	body := strings.Join(lines, "\n")
	code, out, _ := call(t, srv, "POST", "/v1/events", adminKey, "application/x-ndjson", body)
	info, _ := out["context_info"].(map[string]any)
	applied, _ := info["applied"].([]any)
	if code != 500 || len(applied) == 0 || len(applied) >= len(lines) {
		t.Fatalf("%d %v: want 500 naming the events of the first write", code, out)
	}
	for i, id := range applied {
		if want := strings.SplitN(lines[i], `"`, 5)[3]; id != want {
			t.Fatalf("context_info.applied = %v: want the batch's first events in order", applied)
		}
	}
	if unknown, _ := info["unknown"].([]any); len(unknown) != 0 {
		t.Fatalf("unknown = %v: spicedb answered, nothing is unknown", unknown)
	}
	code, out, _ = call(t, srv, "POST", "/v1/events", adminKey, "application/x-ndjson", body)
	if code != 200 || out["duplicates"] != float64(len(applied)) || out["applied"] != float64(len(lines)-len(applied)) {
		t.Fatalf("again: %d %v; want %d duplicates and the rest applied", code, out, len(applied))
	}
}
