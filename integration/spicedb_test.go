package integration_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	authzed "github.com/authzed/authzed-go/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/integration"
	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/upgrade"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/event"
)

// events is a small Box: alice owns folder "reports" holding file "q3";
// bob collaborates on the folder as a viewer; eve is an outsider.
var events = []string{
	`{"id":"e1","type":"user.created","user":{"id":"alice","enterprise":"acme"}}`,
	`{"id":"e2","type":"user.created","user":{"id":"bob","enterprise":"acme"}}`,
	`{"id":"e3","type":"user.created","user":{"id":"eve","enterprise":"acme"}}`,
	`{"id":"e4","type":"folder.created","folder":{"id":"reports","parent":"0","owner":"alice"}}`,
	`{"id":"e5","type":"file.created","file":{"id":"q3","parent":"reports","owner":"alice"}}`,
	`{"id":"e6","type":"collaboration.created","collaboration":{"id":"k1","item":{"type":"folder","id":"reports"},"accessible_by":{"type":"user","id":"bob"},"role":"viewer"}}`,
}

// client is what sync and checker need of a SpiceDB client.
type client interface {
	sync.Client
	checker.Client
}

// Container.Client's client is all sync and checker need, as it is.
var (
	_ client         = (*authzed.Client)(nil)
	_ sync.Client    = (*authzed.Client)(nil)
	_ checker.Client = (*authzed.Client)(nil)
	_ sync.Client    = (*spicedb.Client)(nil)
	_ checker.Client = (*spicedb.Client)(nil)
)

// eventsInDecisionsOut writes the schema, applies events through sync and
// checks decisions through checker, on client.
func eventsInDecisionsOut(t *testing.T, client client) {
	t.Helper()
	ctx := context.Background()
	evs, err := event.DecodeEvents([]byte(strings.Join(events, "\n")), true)
	if err != nil {
		t.Fatal(err)
	}
	res, err := sync.NewApplier(client).Apply(ctx, evs)
	if err != nil {
		t.Fatalf("applying events: %v", err)
	}
	if res.Applied != len(events) {
		t.Fatalf("applied %d events, want %d", res.Applied, len(events))
	}
	ch, err := checker.New(client)
	if err != nil {
		t.Fatal(err)
	}
	file := schema.ItemRef{Type: schema.TypeFile, ID: "q3"}
	cons := checker.Consistency{Token: res.Token.GetToken()}
	for _, tc := range []struct {
		user   string
		action schema.Action
		want   bool
	}{
		{"alice", schema.ActionDelete, true},      // owner
		{"bob", schema.ActionPreview, true},       // collaborator, through the folder
		{"bob", schema.ActionDownload, true},      // viewer may download
		{"bob", schema.ActionEdit, false},         // but not edit
		{"eve", schema.ActionPreview, false},      // outsider
		{"", schema.ActionPreview, false},         // anonymous
		{"mallory", schema.ActionDownload, false}, // unknown user
		{"alice", schema.ActionTransferOwnership, true},
	} {
		a, err := ch.Check(ctx, checker.Question{User: tc.user, Action: tc.action, Item: file}, cons)
		if err != nil {
			t.Fatalf("check %s %s %s: %v", tc.user, tc.action, file, err)
		}
		if a.Allowed != tc.want {
			t.Errorf("%q %s %s: allowed=%v, want %v", tc.user, tc.action, file, a.Allowed, tc.want)
		}
	}
}

func TestEventsInDecisionsOut(t *testing.T) {
	c := run(t, integration.WithPresharedKey("events-in-decisions-out"))
	ctx := context.Background()
	if _, err := c.WriteSchema(ctx); err != nil {
		t.Fatalf("writing schema: %v", err)
	}
	client, err := c.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eventsInDecisionsOut(t, client)
}

func TestPresharedKeyIsRequired(t *testing.T) {
	c := run(t, integration.WithPresharedKey("the-right-key"))
	ctx := context.Background()
	wrong, err := c.ClientWithKey(ctx, "a-wrong-key")
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	_, err = wrong.ReadSchema(ctx, &v1.ReadSchemaRequest{})
	if status.Code(err) != codes.PermissionDenied && status.Code(err) != codes.Unauthenticated {
		t.Fatalf("ReadSchema with a wrong key: %v, want PermissionDenied or Unauthenticated", err)
	}
	right, err := c.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// No schema yet: NotFound, which proves the key was accepted.
	if _, err := right.ReadSchema(ctx, &v1.ReadSchemaRequest{}); status.Code(err) != codes.NotFound {
		t.Fatalf("ReadSchema with the key on an empty SpiceDB: %v, want NotFound", err)
	}
}

func TestLoadValidationFile(t *testing.T) {
	c := run(t)
	ctx := context.Background()
	token, err := c.LoadValidationFileAt(ctx, filepath.Join("..", "schema", "testdata", "smoke.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	client, err := c.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := checker.New(client)
	if err != nil {
		t.Fatal(err)
	}
	cons := checker.Consistency{Token: token.GetToken()}
	doc := schema.ItemRef{Type: schema.TypeFile, ID: "doc"}
	for user, want := range map[string]bool{"bob": true, "carol": false} {
		a, err := ch.Check(ctx, checker.Question{User: user, Action: schema.ActionDownload, Item: doc}, cons)
		if err != nil {
			t.Fatal(err)
		}
		if a.Allowed != want {
			t.Errorf("%s download file:doc = %v, want %v", user, a.Allowed, want)
		}
	}
}

func TestServeTestingIsolatesKeys(t *testing.T) {
	c := run(t, integration.WithServeTesting())
	ctx := context.Background()
	// Two tests sharing the container, each with its own key.
	a, err := c.ClientWithKey(ctx, "test-a")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := c.ClientWithKey(ctx, "test-b")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := schema.Write(ctx, a); err != nil {
		t.Fatal(err)
	}
	eventsInDecisionsOut(t, a)
	// b's datastore is still empty: no schema at all.
	if _, err := b.ReadSchema(ctx, &v1.ReadSchemaRequest{}); status.Code(err) != codes.NotFound {
		t.Fatalf("ReadSchema on a second key: %v, want NotFound (its own empty datastore)", err)
	}
}

func TestFailsFastWhenSpiceDBExits(t *testing.T) {
	img := needDocker(t)
	ctx := context.Background()
	c, err := integration.Run(ctx, img, integration.WithFlags("--no-such-flag"))
	if c != nil {
		_ = c.Terminate(ctx)
		t.Fatal("Run returned a container for a SpiceDB that cannot start")
	}
	if err == nil || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("Run with a bad flag: %v, want an error saying spicedb exited", err)
	}
}

// TestPostgres runs SpiceDB in a container on the PostgreSQL at
// BOXAUTHZ_PG_DSN (scripts/pg-local), in a database of its own. The container
// shares the host's network to reach PostgreSQL on loopback.
func TestPostgres(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	needDocker(t)
	uri := freshDatabase(t, dsn)
	c := run(t, integration.WithPostgres(uri), integration.WithHostNetwork(), integration.WithPresharedKey("pg-key"))
	ctx := context.Background()
	if _, err := c.WriteSchema(ctx); err != nil {
		t.Fatalf("writing schema: %v", err)
	}
	client, err := c.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eventsInDecisionsOut(t, client)
	if st, err := upgrade.Inspect(ctx, client); err != nil || st != upgrade.Current {
		t.Fatalf("schema on postgres: %v, %v", st, err)
	}
}
