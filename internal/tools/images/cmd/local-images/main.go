// Command local-images makes sure the images the integration tests and
// docker-compose.yml run are available to the local Docker daemon, building
// what a registry would otherwise provide:
//
//   - SpiceDB: the official authzed/spicedb image of go.mod's SpiceDB version
//     if present or pullable, otherwise the same version built from its Go
//     module (boxauthz-local/spicedb:<version>);
//   - PostgreSQL: the official postgres:17 if present or pullable, otherwise
//     PostgreSQL from Debian's packages on a debootstrap root filesystem
//     (boxauthz-local/postgres:17);
//   - boxauthz: always built on the host from the working tree
//     (boxauthz-local/boxauthz:dev), reused when the binary is unchanged.
//
// It logs which images were built and which reused on stderr, and prints the
// variables docker-compose.yml reads on stdout:
//
//	SPICEDB_IMAGE=boxauthz-local/spicedb:v1.56.2
//	POSTGRES_IMAGE=boxauthz-local/postgres:17
//	BOXAUTHZ_IMAGE=boxauthz-local/boxauthz:dev
//
// so `export $(go run ./internal/tools/images/cmd/local-images)` points compose at
// them.
//
//	go run ./internal/tools/images/cmd/local-images          # find or build
//	go run ./internal/tools/images/cmd/local-images -rebuild # rebuild the local images
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
