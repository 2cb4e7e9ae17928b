package integration_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"strings"

	"github.com/testcontainers/testcontainers-go"

	"github.com/boxauthz/boxauthz/checker"
	"github.com/boxauthz/boxauthz/integration"
	"github.com/boxauthz/boxauthz/schema"
	"github.com/boxauthz/boxauthz/schema/upgrade"
	"github.com/boxauthz/boxauthz/sync"
	"github.com/boxauthz/boxauthz/sync/event"
)

// Examples run "" as the image: DefaultImage, or the image TestMain
// resolves once (the official one or its local build) through ImageEnv.

func ExampleRun() {
	ctx := context.Background()

	c, err := integration.Run(ctx, "", integration.WithPresharedKey("example-key"))
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		if err := testcontainers.TerminateContainer(c); err != nil {
			log.Print(err)
		}
	}()

	if _, err := c.WriteSchema(ctx); err != nil {
		log.Fatal(err)
	}
	client, err := c.Client(ctx)
	if err != nil {
		log.Fatal(err)
	}
	st, err := upgrade.Inspect(ctx, client)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("schema:", st)
	// Output:
	// schema: current
}

func ExampleContainer_Client() {
	ctx := context.Background()
	c, err := integration.Run(ctx, "")
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = testcontainers.TerminateContainer(c) }()
	if _, err := c.WriteSchema(ctx); err != nil {
		log.Fatal(err)
	}
	client, err := c.Client(ctx)
	if err != nil {
		log.Fatal(err)
	}

	// Events in...
	evs, err := event.DecodeEvents([]byte(strings.Join([]string{
		`{"id":"1","type":"user.created","user":{"id":"alice","enterprise":"acme"}}`,
		`{"id":"2","type":"user.created","user":{"id":"bob","enterprise":"acme"}}`,
		`{"id":"3","type":"folder.created","folder":{"id":"plans","parent":"0","owner":"alice"}}`,
		`{"id":"4","type":"collaboration.created","collaboration":{"id":"k","item":{"type":"folder","id":"plans"},"accessible_by":{"type":"user","id":"bob"},"role":"editor"}}`,
	}, "\n")), true)
	if err != nil {
		log.Fatal(err)
	}
	res, err := sync.NewApplier(client).Apply(ctx, evs)
	if err != nil {
		log.Fatal(err)
	}

	// ...decisions out.
	ch, err := checker.New(client)
	if err != nil {
		log.Fatal(err)
	}
	for _, user := range []string{"bob", "carol"} {
		a, err := ch.Check(ctx, checker.Question{
			User: user, Action: schema.ActionUpload,
			Item: schema.ItemRef{Type: schema.TypeFolder, ID: "plans"},
		}, checker.Consistency{Token: res.Token.GetToken()})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s may upload: %v\n", user, a.Allowed)
	}
	// Output:
	// bob may upload: true
	// carol may upload: false
}

func ExampleContainer_LoadValidationFile() {
	ctx := context.Background()
	c, err := integration.Run(ctx, "", integration.WithServeTesting())
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = testcontainers.TerminateContainer(c) }()

	// No schema in the file: boxauthz's is used.
	_, err = c.LoadValidationFile(ctx, []byte(`
relationships: |-
  folder:root#owner@user:alice
  file:doc#parent@folder:root
`))
	if err != nil {
		log.Fatal(err)
	}
	client, err := c.Client(ctx)
	if err != nil {
		log.Fatal(err)
	}
	ch, err := checker.New(client)
	if err != nil {
		log.Fatal(err)
	}
	a, err := ch.Check(ctx, checker.Question{
		User: "alice", Action: schema.ActionDelete,
		Item: schema.ItemRef{Type: schema.TypeFile, ID: "doc"},
	}, checker.Consistency{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("alice may delete file:doc:", a.Allowed)
	// Output:
	// alice may delete file:doc: true
}

func ExampleContainer_ApplyJSON() {
	ctx := context.Background()
	c, err := integration.Run(ctx, "")
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = testcontainers.TerminateContainer(c) }()

	// The schema is written where none is; the events go through sync.
	token, err := c.ApplyJSON(ctx,
		`{"id":"1","type":"user.created","user":{"id":"alice","enterprise":"acme"}}`,
		`{"id":"2","type":"file.created","file":{"id":"plan","parent":"0","owner":"alice"}}`)
	if err != nil {
		log.Fatal(err)
	}
	ch, err := c.Checker(ctx)
	if err != nil {
		log.Fatal(err)
	}
	a, err := ch.Check(ctx, checker.Question{
		User: "alice", Action: schema.ActionDownload,
		Item: schema.ItemRef{Type: schema.TypeFile, ID: "plan"},
	}, checker.Consistency{Token: token})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("alice may download:", a.Allowed)
	// Output:
	// alice may download: true
}

func ExampleRunBoxauthz() {
	ctx := context.Background()
	sp, err := integration.Run(ctx, "")
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = testcontainers.TerminateContainer(sp) }()

	// "" is $BOXAUTHZ_IMAGE, else integration.DefaultBoxauthzImage.
	b, err := integration.RunBoxauthz(ctx, "", sp)
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = testcontainers.TerminateContainer(b) }()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.URL()+"/readyz", nil)
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+b.AdminKey())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	fmt.Println("GET /readyz:", resp.Status)
	// Output:
	// GET /readyz: 200 OK
}
