// Command local-images makes sure the SpiceDB image the integration tests
// run is available to the local Docker daemon: the official
// authzed/spicedb image of go.mod's SpiceDB version if it is present or can
// be pulled, otherwise a local build of the same version from its Go module
// (see package integration). It prints the image to use on stdout.
//
//	go run ./integration/cmd/local-images          # find or build
//	go run ./integration/cmd/local-images -rebuild # rebuild the local image
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"

	"github.com/boxauthz/boxauthz/integration"
)

func main() {
	rebuild := flag.Bool("rebuild", false, "build "+integration.LocalImage()+" from the Go module even if an image exists")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	if *rebuild {
		if err := integration.BuildLocalImage(ctx, integration.LocalImage(), log); err != nil {
			fmt.Fprintln(os.Stderr, "local-images:", err)
			os.Exit(1)
		}
		fmt.Println(integration.LocalImage())
		return
	}
	img, err := integration.ResolveSpiceDBImage(ctx, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "local-images:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "local-images: spicedb image:", img)
	fmt.Println(img.Ref)
}
