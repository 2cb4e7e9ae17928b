package images

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

// The Docker daemon is reached through its API, with the client
// testcontainers makes (DOCKER_HOST, contexts and ~/.testcontainers.properties
// read as the tests read them), never through the docker CLI.

// withDocker runs f with a client of the Docker daemon.
func withDocker(ctx context.Context, f func(*client.Client) error) error {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("connecting to the Docker daemon: %w", err)
	}
	defer cli.Close()
	return f(cli.Client)
}

// inspectImage returns the image ref, ok false when the daemon has none.
func inspectImage(ctx context.Context, ref string) (res client.ImageInspectResult, ok bool, err error) {
	err = withDocker(ctx, func(cli *client.Client) error {
		res, err = cli.ImageInspect(ctx, ref)
		return err
	})
	if cerrdefs.IsNotFound(err) {
		return res, false, nil
	}
	if err != nil {
		return res, false, fmt.Errorf("inspecting image %s: %w", ref, err)
	}
	return res, true, nil
}

// imagePresent reports whether the daemon has ref.
func imagePresent(ctx context.Context, ref string) bool {
	_, ok, err := inspectImage(ctx, ref)
	return ok && err == nil
}

// imageLabel returns label of the image ref, "" when the image or the label
// is missing.
func imageLabel(ctx context.Context, ref, label string) string {
	res, ok, err := inspectImage(ctx, ref)
	if !ok || err != nil || res.Config == nil {
		return ""
	}
	return res.Config.Labels[label]
}

// imageID is the id of the image ref, "" when it is missing.
func imageID(ctx context.Context, ref string) string {
	res, ok, err := inspectImage(ctx, ref)
	if !ok || err != nil {
		return ""
	}
	return res.ID
}

// removeReplaced removes the image a tag pointed at before a rebuild (old,
// from imageID) if the tag now points elsewhere, so that rebuilds leave no
// dangling images. An image still used by a container stays.
func removeReplaced(ctx context.Context, ref, old string) {
	if old == "" || imageID(ctx, ref) == old {
		return
	}
	_ = withDocker(ctx, func(cli *client.Client) error {
		_, err := cli.ImageRemove(ctx, old, client.ImageRemoveOptions{})
		return err
	})
}

// pullImage pulls ref from its registry.
func pullImage(ctx context.Context, ref string) error {
	return withDocker(ctx, func(cli *client.Client) error {
		resp, err := cli.ImagePull(ctx, ref, client.ImagePullOptions{})
		if err != nil {
			return fmt.Errorf("pulling %s: %w", ref, err)
		}
		if err := resp.Wait(ctx); err != nil {
			return fmt.Errorf("pulling %s: %w", ref, err)
		}
		return nil
	})
}

// buildImage builds the Dockerfile in dir, tagged tag, with the classic
// builder (BuildKit wants its own images from a registry), and returns the
// build's output when it fails.
func buildImage(ctx context.Context, dir, tag string, args map[string]string) error {
	var buildCtx bytes.Buffer
	if err := tarDir(&buildCtx, dir); err != nil {
		return fmt.Errorf("packing the build context of %s: %w", tag, err)
	}
	buildArgs := make(map[string]*string, len(args))
	for k, v := range args {
		buildArgs[k] = &v
	}
	return withDocker(ctx, func(cli *client.Client) error {
		res, err := cli.ImageBuild(ctx, &buildCtx, client.ImageBuildOptions{
			Tags: []string{tag}, BuildArgs: buildArgs, Dockerfile: "Dockerfile",
			Remove: true, ForceRemove: true, Version: build.BuilderV1,
		})
		if err != nil {
			return fmt.Errorf("building %s: %w", tag, err)
		}
		defer res.Body.Close()
		return readStream(res.Body, "building "+tag)
	})
}

// readStream reads a daemon's progress messages to the end, failing on the
// first error message, with the output before it.
func readStream(r io.Reader, what string) error {
	var out strings.Builder
	dec := json.NewDecoder(r)
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s: reading the daemon's answer: %w", what, err)
		}
		out.WriteString(m.Stream)
		if m.Error != nil {
			return fmt.Errorf("%s: %s\n%s", what, m.Error.Message, tail([]byte(out.String())))
		}
	}
}

// tarDir writes the files under dir to w as a tar archive, modes kept: the
// build context the daemon reads.
func tarDir(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		// Owned by root in the image unless the Dockerfile says otherwise,
		// as the docker CLI sends a context.
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		if d.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(path) //nolint:gosec // G304: a file of the build context this package wrote
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
