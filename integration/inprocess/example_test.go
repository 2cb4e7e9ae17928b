package inprocess_test

import (
	"context"
	"fmt"
	"log"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/integration/inprocess"
	"github.com/boxauthz/boxauthz/schema"
)

func ExampleStart() {
	ctx := context.Background()
	h, err := inprocess.Start(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close()

	token, err := h.ApplyJSON(ctx,
		`{"id":"1","type":"user.created","user":{"id":"alice","enterprise":"acme"}}`,
		`{"id":"2","type":"user.created","user":{"id":"bob","enterprise":"acme"}}`,
		`{"id":"3","type":"folder.created","folder":{"id":"plans","parent":"0","owner":"alice"}}`,
		`{"id":"4","type":"collaboration.created","collaboration":{"id":"k","item":{"type":"folder","id":"plans"},"accessible_by":{"type":"user","id":"bob"},"role":"editor"}}`,
	)
	if err != nil {
		log.Fatal(err)
	}
	for _, user := range []string{"bob", "carol"} {
		a, err := h.Checker().Check(ctx, checker.Question{
			User: user, Action: schema.ActionUpload,
			Item: schema.ItemRef{Type: schema.TypeFolder, ID: "plans"},
		}, checker.Consistency{Token: token})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s may upload: %v\n", user, a.Allowed)
	}
	// Output:
	// bob may upload: true
	// carol may upload: false
}
