package images

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// BoxauthzPackage is the command the boxauthz image runs.
const BoxauthzPackage = "github.com/boxauthz/boxauthz/cmd/boxauthz"

// LocalBoxauthzImage is the tag of the boxauthz image built on the host from
// the source the go command sees ("boxauthz-local/boxauthz:dev"). With a
// registry, `docker build .` (the repository's Dockerfile) builds the same
// image in a golang container instead.
const LocalBoxauthzImage = "boxauthz-local/boxauthz:dev"

//go:embed boxauthz.Dockerfile
var boxauthzDockerfile []byte

// caBundle is where the host's CA certificates are copied from into the
// image, as the Dockerfile copies the golang image's.
const caBundle = "/etc/ssl/certs/ca-certificates.crt"

// boxauthzImage remembers ResolveBoxauthzImage's answer for the process.
var boxauthzImage resolved

// ResolveBoxauthzImage compiles BoxauthzPackage as a static linux binary
// (CGO_ENABLED=0, -trimpath, in the directory the go command runs from, so
// inside this repository it is the working tree) and makes sure
// LocalBoxauthzImage holds exactly that binary: an image built from the same
// binary, Dockerfile and CA bundle is reused, anything else is rebuilt
// (seconds: the image is the binary and a few files). The binary is kept in
// the user's cache directory, so an unchanged tree is not linked again.
//
// There is no environment override: the image tests run must be the code
// under test. Its answer is remembered for the process.
func ResolveBoxauthzImage(ctx context.Context, log *slog.Logger) (Image, error) {
	return boxauthzImage.get(ctx, log, resolveBoxauthz)
}

func resolveBoxauthz(ctx context.Context, log *slog.Logger) (Image, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return Image{}, fmt.Errorf("building the boxauthz image needs the go command: %w", err)
	}
	cache, err := cacheDir("boxauthz-image")
	if err != nil {
		return Image{}, err
	}
	bin := filepath.Join(cache, "boxauthz")
	start := time.Now()
	log.Info("compiling boxauthz for the image (CGO_ENABLED=0)", "package", BoxauthzPackage)
	cmd := exec.CommandContext(ctx, goBin, "build", "-p", "2", "-trimpath", "-ldflags", "-s -w", "-o", bin, BoxauthzPackage) //nolint:gosec // G204: the go command found on PATH, building this repository's own package
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return Image{}, fmt.Errorf("go build %s: %w\n%s", BoxauthzPackage, err, tail(out))
	}
	compiled := time.Since(start)
	binSum, err := fileSum(bin)
	if err != nil {
		return Image{}, err
	}
	certs, err := os.ReadFile(caBundle)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Image{}, err
	}
	want := recipe(boxauthzDockerfile, []byte(binSum), certs)
	if imageLabel(ctx, LocalBoxauthzImage, RecipeLabel) == want {
		img := Image{
			Ref: LocalBoxauthzImage, Source: LocalCached, Took: time.Since(start),
			Note: "boxauthz built on the host, image reused: same binary",
		}
		log.Info("reusing the local boxauthz image: the binary is unchanged", "image", LocalBoxauthzImage, "compile", compiled.Round(time.Millisecond))
		return img, nil
	}

	dir, err := os.MkdirTemp("", "boxauthz-image-")
	if err != nil {
		return Image{}, err
	}
	defer os.RemoveAll(dir)
	for _, d := range []string{"tmp", "data"} {
		// Copied into the image as they are: its user (65532) must enter them.
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil { //nolint:gosec // G301: an image's directories, not private files
			return Image{}, err
		}
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil { //nolint:gosec // G302: the image's /tmp, writable by all as /tmp is
		return Image{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), boxauthzDockerfile, 0o600); err != nil {
		return Image{}, err
	}
	// Copied into the image as it is: its user (65532) must read it.
	if err := os.WriteFile(filepath.Join(dir, "ca-certificates.crt"), certs, 0o644); err != nil { //nolint:gosec // G306: public CA certificates
		return Image{}, err
	}
	if err := linkOrCopy(bin, filepath.Join(dir, "boxauthz")); err != nil {
		return Image{}, err
	}
	old := imageID(ctx, LocalBoxauthzImage)
	if err := buildImage(ctx, dir, LocalBoxauthzImage, map[string]string{"RECIPE": want}); err != nil {
		return Image{}, err
	}
	removeReplaced(ctx, LocalBoxauthzImage, old)
	img := Image{
		Ref: LocalBoxauthzImage, Source: LocalBuilt, Took: time.Since(start),
		Note: "boxauthz built on the host, image built now",
	}
	log.Info("built the local boxauthz image", "image", LocalBoxauthzImage, "compile", compiled.Round(time.Millisecond), "took", img.Took.Round(time.Millisecond))
	return img, nil
}

func fileSum(path string) (string, error) {
	f, err := os.Open(path) //nolint:gosec // G304: the binary this package just built
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src) //nolint:gosec // G304: the binary this package just built
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755) //nolint:gosec // G302: the image's command, which its user (65532) runs
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		return errors.Join(err, out.Close())
	}
	return out.Close()
}
