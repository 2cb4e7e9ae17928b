package images

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	gosync "sync"
	"time"

	"github.com/boxauthz/boxauthz/integration"
)

// SpiceDBModule is the Go module SpiceDB is built from.
const SpiceDBModule = "github.com/authzed/spicedb"

// LocalSpiceDBImage is the tag of the image built from the Go module where
// integration.DefaultImage can be neither found locally nor pulled,
// "boxauthz-local/spicedb:v1.56.2". It has its own repository name so that it
// is never mistaken for, or pushed as, the official image.
const LocalSpiceDBImage = "boxauthz-local/spicedb:" + integration.SpiceDBVersion

// ImageSource says where ResolveSpiceDBImage found the image.
type ImageSource string

// The places ResolveSpiceDBImage finds an image in (and, for the other
// images, their Resolve functions).
const (
	FromEnv        ImageSource = "env"         // BOXAUTHZ_SPICEDB_IMAGE
	OfficialLocal  ImageSource = "official"    // integration.DefaultImage, already present
	OfficialPulled ImageSource = "pulled"      // integration.DefaultImage, pulled now
	LocalCached    ImageSource = "local-cache" // LocalSpiceDBImage, built on an earlier run
	LocalBuilt     ImageSource = "local-build" // LocalSpiceDBImage, built now
)

// Image is a SpiceDB image ready to run.
type Image struct {
	Ref    string      // what to pass to Run
	Source ImageSource // where it came from
	Took   time.Duration
	Note   string // how it was made, for images other than SpiceDB's
}

// LocalBuild reports whether Ref is the image built from the Go module rather
// than the official one.
func (i Image) LocalBuild() bool { return i.Source == LocalCached || i.Source == LocalBuilt }

func (i Image) String() string {
	if i.Note != "" {
		return fmt.Sprintf("%s (%s, %s)", i.Ref, i.Note, i.Took.Round(time.Millisecond))
	}
	switch i.Source {
	case FromEnv:
		return fmt.Sprintf("%s (from $%s)", i.Ref, integration.ImageEnv)
	case OfficialLocal:
		return fmt.Sprintf("%s (official image, present locally)", i.Ref)
	case OfficialPulled:
		return fmt.Sprintf("%s (official image, pulled in %s)", i.Ref, i.Took.Round(time.Millisecond))
	case LocalCached:
		return fmt.Sprintf("%s (LOCAL BUILD of %s@%s, reused: %s could not be found or pulled)", i.Ref, SpiceDBModule, integration.SpiceDBVersion, integration.DefaultImage)
	case LocalBuilt:
		return fmt.Sprintf("%s (LOCAL BUILD of %s@%s, built now in %s: %s could not be found or pulled)", i.Ref, SpiceDBModule, integration.SpiceDBVersion, i.Took.Round(time.Second), integration.DefaultImage)
	}
	return i.Ref
}

//go:embed spicedb.Dockerfile
var dockerfile []byte

// PullTimeout bounds the attempt to pull integration.DefaultImage; a machine without a
// registry fails it quickly or hangs on the network, either way it must not
// hold the tests.
var PullTimeout = 45 * time.Second

// spicedbImage remembers ResolveSpiceDBImage's answer for the process.
var spicedbImage resolved

// ResolveSpiceDBImage finds or makes an image running integration.SpiceDBVersion, in this
// order:
//
//  1. $BOXAUTHZ_SPICEDB_IMAGE, used as is;
//  2. integration.DefaultImage (authzed/spicedb:<version>) if the daemon has it;
//  3. LocalSpiceDBImage (boxauthz-local/spicedb:<version>) if an earlier run built it;
//  4. integration.DefaultImage pulled from its registry (bounded by PullTimeout);
//  5. LocalSpiceDBImage built now: SpiceDB compiled from its Go module at
//     integration.SpiceDBVersion into a FROM-scratch image (spicedb.Dockerfile). This takes
//     minutes on a cold Go build cache; later runs find it at step 3.
//
// It uses the Docker API. The answer is remembered for the process. A local
// build is logged at Warn level, so that it is never silent.
func ResolveSpiceDBImage(ctx context.Context, log *slog.Logger) (Image, error) {
	return spicedbImage.get(ctx, log, resolve)
}

// resolved is an image found or made once per process: the first success is
// kept (a failure is tried again on the next call), and concurrent callers
// wait for one resolution rather than building the same image twice.
type resolved struct {
	mu  gosync.Mutex
	img *Image
}

func (r *resolved) get(ctx context.Context, log *slog.Logger, resolve func(context.Context, *slog.Logger) (Image, error)) (Image, error) {
	if log == nil {
		log = slog.Default()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.img != nil {
		return *r.img, nil
	}
	img, err := resolve(ctx, log)
	if err != nil {
		return Image{}, err
	}
	r.img = &img
	return img, nil
}

// FindSpiceDBImage is ResolveSpiceDBImage without its pull and its build:
// $BOXAUTHZ_SPICEDB_IMAGE, integration.DefaultImage if the daemon has it, or
// LocalSpiceDBImage built by the current recipe. The tests use it, so that
// nothing is compiled inside a test run; where it finds nothing, its error
// names scripts/local-images.
func FindSpiceDBImage(ctx context.Context) (Image, error) {
	if ref := os.Getenv(integration.ImageEnv); ref != "" {
		return Image{Ref: ref, Source: FromEnv}, nil
	}
	if imagePresent(ctx, integration.DefaultImage) {
		return Image{Ref: integration.DefaultImage, Source: OfficialLocal}, nil
	}
	if imageLabel(ctx, LocalSpiceDBImage, RecipeLabel) == spicedbRecipe() {
		return Image{Ref: LocalSpiceDBImage, Source: LocalCached}, nil
	}
	return Image{}, fmt.Errorf("no spicedb image: neither %s nor a current %s is on the Docker daemon; run scripts/local-images (it pulls the official image, or builds the local one where no registry is reachable), or set $%s",
		integration.DefaultImage, LocalSpiceDBImage, integration.ImageEnv)
}

func resolve(ctx context.Context, log *slog.Logger) (Image, error) {
	if ref := os.Getenv(integration.ImageEnv); ref != "" {
		log.Info("spicedb image from environment", "image", ref, "env", integration.ImageEnv)
		return Image{Ref: ref, Source: FromEnv}, nil
	}
	official, local := integration.DefaultImage, LocalSpiceDBImage
	if imagePresent(ctx, official) {
		log.Info("spicedb image present", "image", official)
		return Image{Ref: official, Source: OfficialLocal}, nil
	}
	if imageLabel(ctx, local, RecipeLabel) == spicedbRecipe() {
		img := Image{Ref: local, Source: LocalCached}
		log.Warn("using the LOCAL BUILD of spicedb from an earlier run: the official image is not present", "image", local, "official", official, "version", integration.SpiceDBVersion)
		return img, nil
	}
	if imagePresent(ctx, local) {
		// Built by an older recipe (before grpc_health_probe, say): replace
		// it rather than run something the compose stack cannot
		// health-check.
		log.Warn("the LOCAL BUILD of spicedb is from an older recipe: it will be replaced", "image", local)
	}
	start := time.Now()
	pctx, cancel := context.WithTimeout(ctx, PullTimeout)
	err := pullImage(pctx, official)
	cancel()
	if err == nil {
		img := Image{Ref: official, Source: OfficialPulled, Took: time.Since(start)}
		log.Info("pulled spicedb image", "image", official, "took", img.Took)
		return img, nil
	}
	if ctx.Err() != nil {
		return Image{}, ctx.Err()
	}
	log.Warn("cannot pull the official spicedb image: building it from the Go module (minutes on a cold build cache)",
		"image", official, "pull_error", err.Error(), "building", local)
	start = time.Now()
	if err := BuildLocalSpiceDBImage(ctx, local, log); err != nil {
		return Image{}, err
	}
	img := Image{Ref: local, Source: LocalBuilt, Took: time.Since(start)}
	log.Warn("built a LOCAL spicedb image from the Go module", "image", local, "version", integration.SpiceDBVersion, "took", img.Took.Round(time.Second))
	return img, nil
}

// HealthProbeModule is the Go module of grpc_health_probe, which the
// official SpiceDB image ships at /usr/local/bin/grpc_health_probe and the
// local build copies, at HealthProbeVersion.
const (
	HealthProbeModule  = "github.com/grpc-ecosystem/grpc-health-probe"
	HealthProbeVersion = "v0.4.63"
)

// spicedbRecipe identifies how LocalSpiceDBImage is built: a local image labelled
// with another recipe is rebuilt.
func spicedbRecipe() string {
	return recipe(dockerfile, []byte(integration.SpiceDBVersion), []byte(HealthProbeModule+"@"+HealthProbeVersion))
}

// BuildLocalSpiceDBImage compiles integration.SpiceDBVersion of the spicedb command from its Go
// module (with the dependency versions of SpiceDB's own go.mod, as its release
// does) into a static binary, and grpc_health_probe likewise, and builds
// spicedb.Dockerfile around them, tagged tag. It needs the go command and a
// Docker daemon.
func BuildLocalSpiceDBImage(ctx context.Context, tag string, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	dir, err := os.MkdirTemp("", "boxauthz-spicedb-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// The image's /tmp, writable by all as /tmp is.
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o1777); err != nil { //nolint:gosec // G301: an image's /tmp, not a private directory
		return err
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil { //nolint:gosec // G302: Mkdir's mode is cut by the umask; the image's /tmp must be 1777
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), dockerfile, 0o600); err != nil {
		return err
	}

	for _, pkg := range []string{
		SpiceDBModule + "/cmd/spicedb@" + integration.SpiceDBVersion,
		HealthProbeModule + "@" + HealthProbeVersion,
	} {
		if err := goInstall(ctx, log, dir, pkg); err != nil {
			return err
		}
	}
	if err := os.Rename(filepath.Join(dir, "grpc-health-probe"), filepath.Join(dir, "grpc_health_probe")); err != nil {
		return err
	}

	old := imageID(ctx, tag)
	if err := buildImage(ctx, dir, tag, map[string]string{"SPICEDB_VERSION": integration.SpiceDBVersion, "RECIPE": spicedbRecipe()}); err != nil {
		return err
	}
	removeReplaced(ctx, tag, old)
	return nil
}

// goInstall compiles pkg (a path@version) into a static linux binary in dir.
// `go install pkg@version` builds outside this module, from pkg's own go.mod:
// boxauthz's go.mod needs nothing that command alone imports. -p 2 keeps a
// shared machine usable.
func goInstall(ctx context.Context, log *slog.Logger, dir, pkg string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("building %s needs the go command: %w", pkg, err)
	}
	start := time.Now()
	log.Info("compiling", "package", pkg)
	cmd := exec.CommandContext(ctx, goBin, "install", "-p", "2", "-trimpath", "-ldflags", "-s -w", pkg) //nolint:gosec // G204: the go command found on PATH, installing the pinned SpiceDB and probe versions
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOBIN="+dir, "GOFLAGS=-buildvcs=false", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go install %s: %w\n%s", pkg, err, tail(out))
	}
	name := path.Base(strings.TrimSuffix(pkg[:strings.LastIndexByte(pkg, '@')], "/"))
	if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
		// GOBIN is ignored when cross-compiling; this host is linux, but say
		// so if it ever is not.
		return fmt.Errorf("go install %s left no binary in %s (cross-compiling? build on linux): %w", pkg, dir, err)
	}
	log.Info("compiled", "package", pkg, "took", time.Since(start).Round(time.Second))
	return nil
}

func tail(out []byte) string {
	const maxLen = 4000
	out = bytes.TrimSpace(out)
	if len(out) > maxLen {
		out = append([]byte("..."), out[len(out)-maxLen:]...)
	}
	return string(out)
}
