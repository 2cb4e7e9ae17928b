package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"

	"github.com/boxauthz/boxauthz/internal/tools/images"
)

func main() {
	rebuild := flag.Bool("rebuild", false, "build "+images.LocalSpiceDBImage+" from the Go module and "+images.LocalPostgresImage+" from Debian packages even if images exist")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, log, *rebuild); err != nil {
		fmt.Fprintln(os.Stderr, "local-images:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, rebuild bool) error {
	var spicedb, postgres, boxauthz images.Image
	var err error
	if rebuild {
		if err := images.BuildLocalSpiceDBImage(ctx, images.LocalSpiceDBImage, log); err != nil {
			return err
		}
		if err := images.BuildPostgresRootfs(ctx, log); err != nil {
			return err
		}
		if err := images.BuildLocalPostgresImage(ctx, images.LocalPostgresImage, log); err != nil {
			return err
		}
		spicedb = images.Image{Ref: images.LocalSpiceDBImage, Source: images.LocalBuilt}
		postgres = images.Image{Ref: images.LocalPostgresImage, Source: images.LocalBuilt, Note: "rebuilt"}
	} else {
		// PostgreSQL's build is mostly downloads, the others compiling:
		// run it alongside.
		pgErr := make(chan error, 1)
		go func() {
			var err error
			postgres, err = images.ResolvePostgresImage(ctx, log)
			pgErr <- err
		}()
		spicedb, err = images.ResolveSpiceDBImage(ctx, log)
		if perr := <-pgErr; err == nil {
			err = perr
		}
		if err != nil {
			return err
		}
	}
	if boxauthz, err = images.ResolveBoxauthzImage(ctx, log); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "local-images: spicedb image:", spicedb)
	fmt.Fprintln(os.Stderr, "local-images: postgres image:", postgres)
	fmt.Fprintln(os.Stderr, "local-images: boxauthz image:", boxauthz)
	fmt.Printf("SPICEDB_IMAGE=%s\nPOSTGRES_IMAGE=%s\nBOXAUTHZ_IMAGE=%s\n", spicedb.Ref, postgres.Ref, boxauthz.Ref)
	return nil
}
