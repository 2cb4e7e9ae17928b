package images

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// PostgreSQL for the compose stack (docker-compose.yml), where no registry
// serves the official image.
const (
	// PostgresMajor is the PostgreSQL major version of both images.
	PostgresMajor = "17"
	// DefaultPostgresImage is the official image.
	DefaultPostgresImage = "postgres:" + PostgresMajor
	// LocalPostgresImage is PostgreSQL from Debian's packages
	// (DebianSuite's postgresql-17) with an entrypoint like the official
	// image's, built where DefaultPostgresImage can be neither found nor
	// pulled.
	LocalPostgresImage = "boxauthz-local/postgres:" + PostgresMajor
	// DebianSuite is the Debian release LocalPostgresImage is made of: the
	// one that ships PostgreSQL 17.
	DebianSuite = "trixie"
	// PostgresImageEnv names the environment variable that, when set, is
	// the PostgreSQL image to use, as is.
	PostgresImageEnv = "BOXAUTHZ_POSTGRES_IMAGE"
	// DebianMirrorEnv names the environment variable that, when set, is
	// the Debian mirror debootstrap uses (default: the one apt uses here).
	DebianMirrorEnv = "BOXAUTHZ_DEBIAN_MIRROR"
)

// localPostgresBase is the imported debootstrap root filesystem the local
// image is built on; kept so that a change of the entrypoint rebuilds in
// seconds.
const localPostgresBase = "boxauthz-local/postgres-rootfs:" + PostgresMajor + "-" + DebianSuite

var (
	//go:embed postgres.Dockerfile
	postgresDockerfile []byte
	//go:embed postgres-entrypoint.sh
	postgresEntrypoint []byte
	//go:embed postgres-rootfs.sh
	postgresRootfsScript []byte
)

func postgresBaseRecipe() string {
	return recipe(postgresRootfsScript, []byte(DebianSuite), []byte(PostgresMajor))
}

func postgresRecipe() string {
	return recipe(postgresDockerfile, postgresEntrypoint, []byte(postgresBaseRecipe()))
}

// postgresImage remembers ResolvePostgresImage's answer for the process.
var postgresImage resolved

// ResolvePostgresImage finds or makes a PostgreSQL 17 image for the compose
// stack, in this order:
//
//  1. $BOXAUTHZ_POSTGRES_IMAGE, used as is;
//  2. DefaultPostgresImage (postgres:17) if the daemon has it;
//  3. LocalPostgresImage (boxauthz-local/postgres:17) if an earlier run built
//     it with the current recipe;
//  4. DefaultPostgresImage pulled (bounded by PullTimeout);
//  5. LocalPostgresImage built now: a Debian root filesystem made with
//     debootstrap with Debian's postgresql-17 (minutes; needs root, and
//     installs debootstrap with apt-get if it is missing), imported with
//     `docker import`, and postgres.Dockerfile's entrypoint on top.
//
// The answer is remembered for the process.
func ResolvePostgresImage(ctx context.Context, log *slog.Logger) (Image, error) {
	return postgresImage.get(ctx, log, resolvePostgres)
}

// FindPostgresImage is ResolvePostgresImage without its pull and its
// build, for the tests: $BOXAUTHZ_POSTGRES_IMAGE, DefaultPostgresImage if
// the daemon has it, or LocalPostgresImage built by the current recipe;
// otherwise an error naming scripts/local-images.
func FindPostgresImage(ctx context.Context) (Image, error) {
	if ref := os.Getenv(PostgresImageEnv); ref != "" {
		return Image{Ref: ref, Source: FromEnv, Note: "from $" + PostgresImageEnv}, nil
	}
	if imagePresent(ctx, DefaultPostgresImage) {
		return Image{Ref: DefaultPostgresImage, Source: OfficialLocal, Note: "official image, present locally"}, nil
	}
	if imageLabel(ctx, LocalPostgresImage, RecipeLabel) == postgresRecipe() {
		return Image{Ref: LocalPostgresImage, Source: LocalCached, Note: "LOCAL BUILD from Debian " + DebianSuite + " packages, reused"}, nil
	}
	return Image{}, fmt.Errorf("no postgres image: neither %s nor a current %s is on the Docker daemon; run scripts/local-images, or set $%s",
		DefaultPostgresImage, LocalPostgresImage, PostgresImageEnv)
}

func resolvePostgres(ctx context.Context, log *slog.Logger) (Image, error) {
	if ref := os.Getenv(PostgresImageEnv); ref != "" {
		log.Info("postgres image from environment", "image", ref, "env", PostgresImageEnv)
		return Image{Ref: ref, Source: FromEnv, Note: "from $" + PostgresImageEnv}, nil
	}
	if imagePresent(ctx, DefaultPostgresImage) {
		log.Info("postgres image present", "image", DefaultPostgresImage)
		return Image{Ref: DefaultPostgresImage, Source: OfficialLocal, Note: "official image, present locally"}, nil
	}
	if imageLabel(ctx, LocalPostgresImage, RecipeLabel) == postgresRecipe() {
		log.Info("reusing the local postgres image (Debian packages): the official image is not present", "image", LocalPostgresImage, "official", DefaultPostgresImage)
		return Image{Ref: LocalPostgresImage, Source: LocalCached, Note: "LOCAL BUILD from Debian " + DebianSuite + " packages, reused"}, nil
	}
	start := time.Now()
	pctx, cancel := context.WithTimeout(ctx, PullTimeout)
	err := pullImage(pctx, DefaultPostgresImage)
	cancel()
	if err == nil {
		log.Info("pulled postgres image", "image", DefaultPostgresImage, "took", time.Since(start))
		return Image{Ref: DefaultPostgresImage, Source: OfficialPulled, Took: time.Since(start), Note: "official image, pulled"}, nil
	}
	if ctx.Err() != nil {
		return Image{}, ctx.Err()
	}
	log.Warn("cannot pull the official postgres image: building one from Debian packages",
		"image", DefaultPostgresImage, "pull_error", err.Error(), "building", LocalPostgresImage)
	start = time.Now()
	if err := BuildLocalPostgresImage(ctx, LocalPostgresImage, log); err != nil {
		return Image{}, err
	}
	img := Image{Ref: LocalPostgresImage, Source: LocalBuilt, Took: time.Since(start), Note: "LOCAL BUILD from Debian " + DebianSuite + " packages, built now"}
	log.Warn("built a LOCAL postgres image from Debian packages", "image", LocalPostgresImage, "took", img.Took.Round(time.Second))
	return img, nil
}

// BuildLocalPostgresImage builds the PostgreSQL image from Debian packages,
// tagged tag, reusing the debootstrap root filesystem of an earlier build
// when its recipe is current.
func BuildLocalPostgresImage(ctx context.Context, tag string, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	if imageLabel(ctx, localPostgresBase, RecipeLabel) == postgresBaseRecipe() {
		log.Info("reusing the debootstrap root filesystem", "image", localPostgresBase)
	} else if err := BuildPostgresRootfs(ctx, log); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "boxauthz-postgres-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), postgresDockerfile, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "postgres-entrypoint.sh"), postgresEntrypoint, 0o755); err != nil { //nolint:gosec // G306: the image's entrypoint, which it runs
		return err
	}
	old := imageID(ctx, tag)
	if err := buildImage(ctx, dir, tag, map[string]string{"BASE": localPostgresBase, "PG_MAJOR": PostgresMajor, "RECIPE": postgresRecipe()}); err != nil {
		return err
	}
	removeReplaced(ctx, tag, old)
	return nil
}

// BuildPostgresRootfs makes the Debian root filesystem with PostgreSQL that
// BuildLocalPostgresImage builds on: debootstrap of DebianSuite with
// postgresql-17 from the mirror apt uses (or $BOXAUTHZ_DEBIAN_MIRROR),
// imported with `docker import` (the one use of the docker CLI left, in
// the build script: scripts/local-images reaches it, the tests never do).
// It needs root. Downloaded packages are kept in the user's cache directory
// for the next build.
func BuildPostgresRootfs(ctx context.Context, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("building %s needs root (debootstrap); or pull %s, or set %s", LocalPostgresImage, DefaultPostgresImage, PostgresImageEnv)
	}
	if err := ensureDebootstrap(ctx, log); err != nil {
		return err
	}
	mirror := os.Getenv(DebianMirrorEnv)
	if mirror == "" {
		mirror = aptMirror()
	}
	work, err := os.MkdirTemp("", "boxauthz-postgres-rootfs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	script := filepath.Join(work, "postgres-rootfs.sh")
	if err := os.WriteFile(script, postgresRootfsScript, 0o600); err != nil {
		return err
	}
	cache, err := cacheDir("debootstrap-" + DebianSuite)
	if err != nil {
		return err
	}
	old := imageID(ctx, localPostgresBase)
	defer func() { removeReplaced(ctx, localPostgresBase, old) }()
	start := time.Now()
	log.Info("building a Debian root filesystem with PostgreSQL (debootstrap; minutes)", "suite", DebianSuite, "mirror", mirror, "package", "postgresql-"+PostgresMajor)
	cmd := exec.CommandContext(ctx, "bash", script) //nolint:gosec // G204: script is postgres-rootfs.sh, embedded in this package
	cmd.Env = append(os.Environ(), "SUITE="+DebianSuite, "MIRROR="+mirror, "PG_MAJOR="+PostgresMajor,
		"TAG="+localPostgresBase, "RECIPE="+postgresBaseRecipe(), "WORK="+work, "CACHE="+cache)
	cmd.WaitDelay = 10 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the postgres root filesystem: %w\n%s", err, tail(out))
	}
	log.Info("imported the Debian root filesystem", "image", localPostgresBase, "took", time.Since(start).Round(time.Second))
	return nil
}

// ensureDebootstrap installs debootstrap from Debian's packages if missing.
func ensureDebootstrap(ctx context.Context, log *slog.Logger) error {
	if _, err := exec.LookPath("debootstrap"); err == nil {
		return nil
	}
	if _, err := os.Stat("/usr/sbin/debootstrap"); err == nil {
		return nil
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return errors.New("debootstrap is missing and there is no apt-get to install it")
	}
	log.Info("installing debootstrap (apt-get install -y debootstrap)")
	install := func() ([]byte, error) {
		cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "--no-install-recommends", "debootstrap")
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	if _, err := install(); err == nil {
		return nil
	}
	if out, err := exec.CommandContext(ctx, "apt-get", "update").CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get update: %w\n%s", err, tail(out))
	}
	if out, err := install(); err != nil {
		return fmt.Errorf("apt-get install debootstrap: %w\n%s", err, tail(out))
	}
	return nil
}

// defaultDebianMirror is used when apt's sources name no Debian mirror.
const defaultDebianMirror = "http://deb.debian.org/debian"

// aptMirror is the Debian mirror apt uses on this machine.
func aptMirror() string {
	var files []string
	if _, err := os.Stat("/etc/apt/sources.list"); err == nil {
		files = append(files, "/etc/apt/sources.list")
	}
	for _, pat := range []string{"/etc/apt/sources.list.d/*.sources", "/etc/apt/sources.list.d/*.list"} {
		m, _ := filepath.Glob(pat)
		files = append(files, m...)
	}
	for _, f := range files {
		b, err := os.ReadFile(f) //nolint:gosec // G304: apt's own source lists, found under /etc/apt
		if err != nil {
			continue
		}
		if m := debianMirror(b); m != "" {
			return m
		}
	}
	return defaultDebianMirror
}

// debianMirror returns the first URI of Debian's main archive in an apt
// source file, one-line ("deb URI suite components") or deb822 ("URIs:"),
// "" if none: a URI whose path ends in /debian (not debian-security, not a
// third-party repository).
func debianMirror(src []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var uris []string
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "deb" {
			i := 1
			if strings.HasPrefix(f[i], "[") { // deb [signed-by=...] URI
				for i < len(f) && !strings.HasSuffix(f[i], "]") {
					i++
				}
				i++
			}
			if i < len(f) {
				uris = []string{f[i]}
			}
		} else if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "URIs") {
			uris = strings.Fields(v)
		}
		for _, u := range uris {
			if t := strings.TrimSuffix(u, "/"); strings.HasSuffix(t, "/debian") && (strings.HasPrefix(t, "http://") || strings.HasPrefix(t, "https://")) {
				return t
			}
		}
	}
	return ""
}
