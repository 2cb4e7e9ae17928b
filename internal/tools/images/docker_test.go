package images

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// needDaemon skips t without a Docker daemon, or fails it when
// BOXAUTHZ_REQUIRE_DOCKER=1 (scripts/test sets it where one answers).
func needDaemon(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := withDocker(ctx, func(cli *client.Client) error {
		_, err := cli.Ping(ctx, client.PingOptions{})
		return err
	})
	if err == nil {
		return
	}
	if os.Getenv("BOXAUTHZ_REQUIRE_DOCKER") == "1" {
		t.Fatalf("BOXAUTHZ_REQUIRE_DOCKER=1 but no Docker daemon answers: %v", err)
	}
	t.Skipf("no Docker daemon answers: %v", err)
}

// TestBuild builds an image and another on it through the Docker API, as
// the local images are made, and reads their labels back.
func TestBuild(t *testing.T) {
	if _, ok := os.LookupEnv("TESTCONTAINERS_RYUK_DISABLED"); !ok {
		t.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	needDaemon(t)
	ctx := context.Background()
	var b [4]byte
	_, _ = rand.Read(b[:])
	base := "boxauthz-local/images-test-base:" + hex.EncodeToString(b[:])
	built := "boxauthz-local/images-test:" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		for _, ref := range []string{built, base} {
			_ = withDocker(ctx, func(cli *client.Client) error {
				_, err := cli.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: true})
				return err
			})
		}
	})

	// The base: a one-file image built FROM scratch.
	dir := t.TempDir()
	baseDir := filepath.Join(dir, "base")
	if err := os.Mkdir(baseDir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(baseDir, "Dockerfile"), []byte("FROM scratch\nLABEL "+RecipeLabel+"=base-recipe\nCOPY hello.txt /hello.txt\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(baseDir, "hello.txt"), []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := buildImage(ctx, baseDir, base, nil); err != nil {
		t.Fatal(err)
	}
	if got := imageLabel(ctx, base, RecipeLabel); got != "base-recipe" {
		t.Fatalf("base image's recipe label = %q, want base-recipe", got)
	}

	ctxDir := filepath.Join(dir, "context")
	if err := os.Mkdir(ctxDir, 0o750); err != nil {
		t.Fatal(err)
	}
	dockerfile := "ARG BASE\nFROM ${BASE}\nARG RECIPE\nLABEL " + RecipeLabel + "=${RECIPE}\nCOPY extra.txt /extra.txt\n"
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(dockerfile), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ctxDir, "extra.txt"), []byte("extra\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := buildImage(ctx, ctxDir, built, map[string]string{"BASE": base, "RECIPE": "built-recipe"}); err != nil {
		t.Fatal(err)
	}
	if got := imageLabel(ctx, built, RecipeLabel); got != "built-recipe" {
		t.Fatalf("built image's recipe label = %q, want built-recipe", got)
	}
	if !imagePresent(ctx, built) || imageID(ctx, built) == "" {
		t.Fatal("the built image is not present")
	}
	// A broken Dockerfile fails the build with the daemon's message.
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte("FROM "+base+"\nCOPY missing.txt /\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := buildImage(ctx, ctxDir, built+"-broken", nil); err == nil {
		t.Fatal("a build copying a missing file succeeded")
	}
	if imagePresent(ctx, "boxauthz-local/images-test:no-such-tag") {
		t.Error("imagePresent reports an image that does not exist")
	}
}
