package checker_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/examples"
	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/event"
)

func setup(t testing.TB, ds testenv.Datastore, events ...string) (*checker.Checker, *spicedb.Client, checker.Consistency) {
	t.Helper()
	c := testenv.SpiceDB(t, ds)
	body := examples.AcmeEvents
	if len(events) > 0 {
		body = []byte(strings.Join(events, "\n"))
	}
	evs, err := event.DecodeEvents(body, true)
	if err != nil {
		t.Fatal(err)
	}
	res, err := sync.NewApplier(c, sync.WithLogger(quietLogger())).Apply(context.Background(), evs)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := checker.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return ch, c, checker.Consistency{Token: res.Token.GetToken()}
}

func item(s string) schema.ItemRef {
	r, err := schema.ParseItemRef(s)
	if err != nil {
		panic(err)
	}
	return r
}

// TestDeepTree: a grant 120 folders up still reaches, on the embedded store
// and on PostgreSQL (SpiceDB's default dispatch depth would stop at ~46).
func TestDeepTree(t *testing.T) {
	for _, ds := range testenv.Datastores() {
		t.Run(string(ds), func(t *testing.T) {
			evs := []string{
				`{"id":"u","type":"user.created","user":{"id":"alice","enterprise":"e"}}`,
				`{"id":"d0","type":"folder.created","folder":{"id":"d0","parent":"0","owner":"alice"}}`,
			}
			for i := 1; i <= 120; i++ {
				evs = append(evs, fmt.Sprintf(`{"id":"d%d","type":"folder.created","folder":{"id":"d%d","parent":"d%d","owner":"alice"}}`, i, i, i-1))
			}
			evs = append(evs, `{"id":"c","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"d0"},"accessible_by":{"type":"user","id":"bob"},"role":"viewer"}}`)
			ch, _, cons := setup(t, ds, evs...)
			for _, tc := range []struct {
				action schema.Action
				want   bool
			}{{schema.ActionDownload, true}, {schema.ActionEdit, false}} {
				a, err := ch.Check(context.Background(), checker.Question{User: "bob", Action: tc.action, Item: item("folder:d120")}, cons)
				if err != nil || a.Allowed != tc.want {
					t.Fatalf("bob %s d120 = %v, %v; want %v", tc.action, a.Allowed, err, tc.want)
				}
			}
		})
	}
}

func TestLookupItemsPages(t *testing.T) {
	evs := []string{
		`{"id":"u","type":"user.created","user":{"id":"alice","enterprise":"e"}}`,
		`{"id":"r","type":"folder.created","folder":{"id":"r","parent":"0","owner":"alice"}}`,
	}
	for i := 0; i < 25; i++ {
		evs = append(evs, fmt.Sprintf(`{"id":"f%d","type":"file.created","file":{"id":"f%02d","parent":"r","owner":"alice"}}`, i, i))
	}
	ch, _, cons := setup(t, testenv.Memory, evs...)
	seen := map[string]bool{}
	cursor := ""
	pages := 0
	for {
		p, err := ch.LookupItems(context.Background(), "alice", schema.ActionDownload, schema.TypeFile, 10, cursor, cons)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, it := range p.Items {
			if seen[it] {
				t.Fatalf("%s on two pages", it)
			}
			seen[it] = true
		}
		if p.Cursor == "" {
			break
		}
		cursor = p.Cursor
		if pages > 5 {
			t.Fatal("cursor never ends")
		}
	}
	if len(seen) != 25 || pages < 3 {
		t.Fatalf("%d items over %d pages; want 25 over at least 3", len(seen), pages)
	}
}

func TestExplain(t *testing.T) {
	ch, _, cons := setup(t, testenv.Memory)
	ctx := context.Background()
	tests := []struct {
		q      checker.Question
		allow  bool
		reason string
		grant  string // kind/collaboration/group/access of the first grant
	}{
		{checker.Question{User: "dave", Action: schema.ActionDownload, Item: item("file:plan")}, true, "", "collaboration/c2/design/"},
		{checker.Question{User: "xavier@partner.example", Action: schema.ActionPreview, Item: item("file:plan")}, true, "", "collaboration/c3//"},
		{checker.Question{Action: schema.ActionPreview, Item: item("file:plan"), SharedLink: &schema.ItemRef{Type: "file", ID: "plan"}}, true, "", "shared_link///open"},
		{checker.Question{User: "alice", Action: schema.ActionTransferOwnership, Item: item("file:logo")}, true, "", "ownership///"},
		{checker.Question{User: "bob", Action: schema.ActionDelete, Item: item("folder:projects")}, false, checker.ReasonActionNotInRole, "collaboration/c1//"},
		{checker.Question{User: "bob", Action: schema.ActionInvite, Item: item("file:logo")}, false, checker.ReasonInviteRestricted, ""},
		{checker.Question{User: "alice", Action: schema.ActionList, Item: item("file:old-notes")}, false, checker.ReasonTrashed, ""},
		{checker.Question{User: "ada", Action: schema.ActionList, Item: item("file:plan")}, false, checker.ReasonNoGrant, ""},
	}
	for _, tt := range tests {
		ex, err := ch.Explain(ctx, tt.q, cons)
		if err != nil {
			t.Fatal(err)
		}
		if ex.Allowed != tt.allow || ex.Reason != tt.reason {
			t.Errorf("%+v: allowed %v reason %q; want %v %q", tt.q, ex.Allowed, ex.Reason, tt.allow, tt.reason)
			continue
		}
		if tt.grant != "" {
			if len(ex.Grants) == 0 {
				t.Errorf("%+v: no grants", tt.q)
				continue
			}
			g := ex.Grants[0]
			if got := g.Kind + "/" + g.Collaboration + "/" + g.Group + "/" + g.Access; got != tt.grant {
				t.Errorf("%+v: first grant %s, want %s", tt.q, got, tt.grant)
			}
		}
		// Explain agrees with Check, always.
		a, err := ch.Check(ctx, tt.q, cons)
		if err != nil || a.Allowed != ex.Allowed {
			t.Errorf("%+v: Check %v, Explain %v", tt.q, a.Allowed, ex.Allowed)
		}
	}
}

func TestExpiryInExplain(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	ch, c, cons := setup(t, testenv.Memory,
		`{"id":"u","type":"user.created","user":{"id":"alice","enterprise":"e"}}`,
		`{"id":"r","type":"folder.created","folder":{"id":"r","parent":"0","owner":"alice"}}`,
		`{"id":"c","type":"collaboration.created","collaboration":{"id":"c1","item":{"type":"folder","id":"r"},"accessible_by":{"type":"user","id":"bob"},"role":"editor","expires_at":"`+exp.UTC().Format(time.RFC3339)+`"}}`)
	q := checker.Question{User: "bob", Action: schema.ActionEdit, Item: item("folder:r")}
	ex, err := ch.Explain(context.Background(), q, cons)
	if err != nil || !ex.Allowed || len(ex.Grants) != 1 || ex.Grants[0].ExpiresAt == "" {
		t.Fatalf("before expiry: %+v %v; want allowed with the expiry named", ex, err)
	}
	later, err := checker.New(c, checker.WithClock(func() time.Time { return exp.Add(time.Second) }))
	if err != nil {
		t.Fatal(err)
	}
	ex, err = later.Explain(context.Background(), q, cons)
	if err != nil || ex.Allowed || ex.Reason != checker.ReasonExpired || len(ex.Inactive) != 1 || ex.Inactive[0].Collaboration != "c1" {
		t.Fatalf("after expiry: %+v %v; want denied, expired, naming c1", ex, err)
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
