package inprocess_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"strings"

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

func ExampleWithHTTPAPI() {
	ctx := context.Background()
	h, err := inprocess.Start(ctx, inprocess.WithHTTPAPI())
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close()

	body := strings.NewReader(`{"id":"1","type":"user.created","user":{"id":"alice","enterprise":"acme"}}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL()+"/v1/events", body)
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+h.AdminKey())
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var applied struct {
		Applied int `json:"applied"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&applied); err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status, "applied:", applied.Applied)
	// Output:
	// 200 OK applied: 1
}
