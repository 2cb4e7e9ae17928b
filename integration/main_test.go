package integration_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"github.com/boxauthz/boxauthz/integration"
	"github.com/boxauthz/boxauthz/internal/tools/images"
)

// dockerProblem is why no Docker daemon answers, "" when one does.
var dockerProblem string

// image is the SpiceDB image the tests run, resolved once in TestMain.
var image images.Image

// errImage is why no image could be found or built.
var errImage error

func TestMain(m *testing.M) {
	// The Ryuk reaper is an image pulled from Docker Hub; without a registry
	// it cannot start. The tests terminate what they start themselves.
	if _, ok := os.LookupEnv("TESTCONTAINERS_RYUK_DISABLED"); !ok {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	flag.Parse()

	dockerProblem = checkDocker()
	switch {
	case dockerProblem != "" && requireDocker():
		// The tests fail one by one, saying why.
	case dockerProblem != "":
		// Examples cannot skip: leave them out rather than fail them.
		fmt.Fprintf(os.Stderr, "integration: skipping container tests and examples: %s\n", dockerProblem)
		if err := flag.Set("test.skip", "^Example"); err != nil {
			fmt.Fprintln(os.Stderr, "integration:", err)
		}
	case !testing.Short():
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		image, errImage = images.ResolveSpiceDBImage(ctx, nil)
		cancel()
		if errImage == nil {
			// Examples need the image too: make it the default of Run("").
			_ = os.Setenv(integration.ImageEnv, image.Ref)
			fmt.Fprintf(os.Stderr, "integration: spicedb image: %s\n", image)
		} else {
			fmt.Fprintf(os.Stderr, "integration: no spicedb image: %v\n", errImage)
		}
	}
	os.Exit(m.Run())
}

func requireDocker() bool { return os.Getenv("BOXAUTHZ_REQUIRE_DOCKER") == "1" }

// checkDocker asks the daemon testcontainers would use to answer a ping.
func checkDocker() (problem string) {
	defer func() {
		// testcontainers panics in some configurations without a daemon.
		if r := recover(); r != nil {
			problem = fmt.Sprint(r)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	p, err := testcontainers.NewDockerProvider()
	if err != nil {
		return "no Docker client: " + err.Error()
	}
	defer p.Close()
	if err := p.Health(ctx); err != nil {
		return "no Docker daemon answers: " + err.Error()
	}
	// Images are found and built with the docker CLI: it must reach the
	// daemon too (it reads DOCKER_HOST and contexts its own way).
	if out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		return fmt.Sprintf("the docker CLI reaches no daemon: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return ""
}

// needDocker skips t without a Docker daemon, or fails it when
// BOXAUTHZ_REQUIRE_DOCKER=1, and returns the image to run.
func needDocker(t testing.TB) string {
	t.Helper()
	if dockerProblem != "" {
		if requireDocker() {
			t.Fatalf("BOXAUTHZ_REQUIRE_DOCKER=1 but %s", dockerProblem)
		}
		t.Skipf("skipping container test: %s (BOXAUTHZ_REQUIRE_DOCKER=1 makes this a failure)", dockerProblem)
	}
	if testing.Short() {
		t.Skip("skipping container test in -short mode")
	}
	if errImage != nil {
		t.Fatalf("no spicedb image: %v", errImage)
	}
	return image.Ref
}

// run starts SpiceDB and terminates it when t ends.
func run(t testing.TB, opts ...testcontainers.ContainerCustomizer) *integration.Container {
	t.Helper()
	img := needDocker(t)
	if image.LocalBuild() {
		t.Logf("spicedb image: %s", image)
	}
	ctx := context.Background()
	start := time.Now()
	c, err := integration.Run(ctx, img, opts...)
	if c != nil {
		testcontainers.CleanupContainer(t, c)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("spicedb container healthy in %s", time.Since(start).Round(time.Millisecond))
	return c
}
