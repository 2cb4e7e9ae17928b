package oauth_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/event"
)

// world is SpiceDB on ds holding the schema and events applied.
func world(t testing.TB, ds testenv.Datastore, events ...string) *spicedb.Client {
	t.Helper()
	c := testenv.SpiceDB(t, ds)
	evs, err := event.DecodeEvents([]byte(strings.Join(events, "\n")), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sync.NewApplier(c, sync.WithLogger(quietLogger())).Apply(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	return c
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func item(s string) schema.ItemRef {
	r, err := schema.ParseItemRef(s)
	if err != nil {
		panic(err)
	}
	return r
}
