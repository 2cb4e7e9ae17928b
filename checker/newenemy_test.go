package checker_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/internal/testkit/testenv"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/event"
)

// TestNewEnemy: a check made with the token an apply returned never sees the
// state before that apply: removing a collaborator and checking with the
// returned token is denied every time, never a stale allow.
func TestNewEnemy(t *testing.T) {
	for _, ds := range testenv.Datastores() {
		t.Run(string(ds), func(t *testing.T) {
			ch, c, _ := setup(t, ds)
			a := sync.NewApplier(c)
			ctx := context.Background()
			q := checker.Question{User: "erin", Action: schema.ActionDownload, Item: item("file:plan")}
			for i := 0; i < 25; i++ {
				add := fmt.Sprintf(`{"id":"add-%d","type":"collaboration.created","collaboration":{"id":"ne%d","item":{"type":"file","id":"plan"},"accessible_by":{"type":"user","id":"erin"},"role":"viewer"}}`, i, i)
				del := fmt.Sprintf(`{"id":"del-%d","type":"collaboration.deleted","collaboration":{"id":"ne%d"}}`, i, i)
				for _, step := range []struct {
					ev   string
					want bool
				}{{add, true}, {del, false}} {
					evs, err := event.DecodeEvents([]byte(step.ev), true)
					if err != nil {
						t.Fatal(err)
					}
					res, err := a.Apply(ctx, evs)
					if err != nil {
						t.Fatal(err)
					}
					got, err := ch.Check(ctx, q, checker.Consistency{Token: res.Token.GetToken()})
					if err != nil || got.Allowed != step.want {
						t.Fatalf("round %d: after %s allowed=%v (%v), want %v", i, step.ev[:40], got.Allowed, err, step.want)
					}
				}
			}
		})
	}
}
