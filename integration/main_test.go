package integration_test

import (
	"context"
	"flag"
	"fmt"
	"os"
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

// boxauthzImage is the boxauthz image of the code under test, and
// errBoxauthz why there is none.
var (
	boxauthzImage images.Image
	errBoxauthz   error
)

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
		// Found, never built: scripts/test runs scripts/local-images first,
		// so that no SpiceDB is compiled inside a test run.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		image, errImage = images.FindSpiceDBImage(ctx)
		cancel()
		if errImage == nil {
			// Examples need the image too: make it the default of Run("").
			_ = os.Setenv(integration.ImageEnv, image.Ref)
			fmt.Fprintf(os.Stderr, "integration: spicedb image: %s\n", image)
		} else {
			fmt.Fprintf(os.Stderr, "integration: no spicedb image: %v\n", errImage)
		}
		// boxauthz's image is this working tree's code: compiled on the host
		// and wrapped (seconds once the build cache is warm), reused while
		// the binary is the same.
		ctx, cancel = context.WithTimeout(context.Background(), 15*time.Minute)
		boxauthzImage, errBoxauthz = images.ResolveBoxauthzImage(ctx, nil)
		cancel()
		if errBoxauthz == nil {
			_ = os.Setenv(integration.BoxauthzImageEnv, boxauthzImage.Ref)
		} else {
			fmt.Fprintf(os.Stderr, "integration: no boxauthz image: %v\n", errBoxauthz)
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
	return ""
}

// needDocker skips t without a Docker daemon, or fails it when
// BOXAUTHZ_REQUIRE_DOCKER=1, and returns the image to run.
func needDocker(t testing.TB) string {
	t.Helper()
	needDaemon(t)
	if errImage != nil {
		t.Fatalf("no spicedb image: %v", errImage)
	}
	return image.Ref
}

// needDaemon skips t without a Docker daemon, or fails it when
// BOXAUTHZ_REQUIRE_DOCKER=1, for a test that needs no image.
func needDaemon(t testing.TB) {
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

// needBoxauthz is needDocker for a test that also runs boxauthz's image.
func needBoxauthz(t testing.TB) (spicedbImage, boxauthz string) {
	t.Helper()
	spicedbImage = needDocker(t)
	if errBoxauthz != nil {
		t.Fatalf("no boxauthz image: %v", errBoxauthz)
	}
	return spicedbImage, boxauthzImage.Ref
}
