package integration

import (
	"context"
	"errors"
	"fmt"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// DefaultPullTimeout bounds pulling a missing image unless WithPullTimeout
// says otherwise: a machine without a registry fails the pull at once or
// hangs on the network, and either way the test must say so rather than
// wait.
const DefaultPullTimeout = 2 * time.Minute

// ErrImageUnavailable is what Run and RunBoxauthz fail with (wrapped, in an
// *ImageError) when the image is neither present on the Docker daemon nor
// pullable.
var ErrImageUnavailable = errors.New("image not available")

// ImageError says which image could not be had, and how to get one.
type ImageError struct {
	Image string // the reference Run was to start
	What  string // "spicedb" or "boxauthz"
	Err   error  // why the pull failed
}

func (e *ImageError) Error() string {
	hint := fmt.Sprintf("pass an image from a registry this machine reaches (Run's image argument, or $%s), "+
		"or build one without a registry with scripts/local-images in the boxauthz repository (it tags boxauthz-local/spicedb:%s)",
		ImageEnv, SpiceDBVersion)
	if e.What == "boxauthz" {
		hint = fmt.Sprintf("build it in the boxauthz repository with `docker build -t %s .` (needs the golang image) "+
			"or, without a registry, scripts/local-images (it tags boxauthz-local/boxauthz:dev), or set $%s", DefaultBoxauthzImage, BoxauthzImageEnv)
	}
	return fmt.Sprintf("%s image %s is not present on the Docker daemon and could not be pulled: %v; %s", e.What, e.Image, e.Err, hint)
}

// Unwrap makes errors.Is(err, ErrImageUnavailable) hold.
func (e *ImageError) Unwrap() []error { return []error{ErrImageUnavailable, e.Err} }

// ensureImage makes sure the Docker daemon testcontainers talks to has ref,
// pulling it (bounded by timeout) if it is missing. It never builds
// anything: images are built ahead of the tests (scripts/local-images).
func ensureImage(ctx context.Context, what, ref string, timeout time.Duration) error {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("connecting to the Docker daemon: %w", err)
	}
	defer cli.Close()
	present, err := imagePresent(ctx, cli.Client, ref)
	if err != nil || present {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := cli.ImagePull(pctx, ref, client.ImagePullOptions{})
	if err == nil {
		err = resp.Wait(pctx)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if pctx.Err() != nil {
			err = fmt.Errorf("no answer in %s: %w", timeout, err)
		}
		return &ImageError{Image: ref, What: what, Err: err}
	}
	return nil
}

// imagePresent reports whether the daemon has ref.
func imagePresent(ctx context.Context, cli *client.Client, ref string) (bool, error) {
	_, err := cli.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		return true, nil
	case cerrdefs.IsNotFound(err):
		return false, nil
	default:
		return false, fmt.Errorf("inspecting image %s: %w", ref, err)
	}
}
