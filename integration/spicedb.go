package integration

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	gosync "sync"
	"time"

	authzed "github.com/authzed/authzed-go/v1"
	"github.com/moby/moby/api/types/container"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// SpiceDBVersion is the SpiceDB version boxauthz is tested against: that of
// github.com/authzed/spicedb in boxauthz's go.mod (a test keeps the two
// equal). It is a constant, not read from the build, so that a program
// depending on boxauthz runs the SpiceDB boxauthz was tested with whatever
// SpiceDB version its own go.mod resolves to.
const SpiceDBVersion = "v1.56.2"

// DefaultImage is the official image of SpiceDBVersion, what Run starts
// given no image.
const DefaultImage = "authzed/spicedb:" + SpiceDBVersion

// ImageEnv names the environment variable that, when set, is the image Run
// starts given none: a mirror of DefaultImage, say, or an image built where
// no registry is reachable.
const ImageEnv = "BOXAUTHZ_SPICEDB_IMAGE"

func defaultImage() string {
	if ref := os.Getenv(ImageEnv); ref != "" {
		return ref
	}
	return DefaultImage
}

// GRPCPort is the port SpiceDB serves its gRPC API on inside the container.
const GRPCPort = "50051/tcp"

// Container is a SpiceDB running in a container.
type Container struct {
	testcontainers.Container

	settings settings
	endpoint string // host:port the readiness probe reached SpiceDB on

	mu     gosync.Mutex
	client *authzed.Client
}

// Run starts SpiceDB in a container of image and returns once its gRPC
// health service reports it SERVING. image "" is $BOXAUTHZ_SPICEDB_IMAGE
// when set (a mirror, or a local build where no registry is reachable), else
// DefaultImage, the SpiceDB version boxauthz is tested against. An image
// the Docker daemon lacks is pulled (bounded by WithPullTimeout); one that
// cannot be had fails Run with an *ImageError saying how to get it. Run
// never builds an image. opts are
// this package's Options and any testcontainers.ContainerCustomizer. The
// caller terminates the container (testcontainers.CleanupContainer(t, c) in
// tests); Run terminates it itself when it fails after creating it, and
// returns a nil Container.
func Run(ctx context.Context, image string, opts ...testcontainers.ContainerCustomizer) (*Container, error) {
	s := defaultSettings()
	var generic []testcontainers.ContainerCustomizer
	for _, o := range opts {
		if so, ok := o.(Option); ok {
			if err := so(&s); err != nil {
				return nil, err
			}
			continue
		}
		generic = append(generic, o)
	}
	if image == "" {
		image = defaultImage()
	}
	if err := ensureImage(ctx, "spicedb", image, s.pullTimeout); err != nil {
		return nil, err
	}
	if s.hostNetwork {
		port, err := freeLoopbackPort()
		if err != nil {
			return nil, err
		}
		s.hostPort = port
	}
	if s.migrate && !s.serveTest {
		if err := migrate(ctx, image, s, generic); err != nil {
			return nil, err
		}
	}

	c := &Container{settings: s}
	tcOpts := []testcontainers.ContainerCustomizer{
		testcontainers.WithCmd(s.command()...),
		testcontainers.WithWaitStrategy(&healthProbe{c: c, timeout: s.timeout}),
	}
	if s.hostNetwork {
		tcOpts = append(tcOpts, testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.NetworkMode = "host"
		}))
	} else {
		tcOpts = append(tcOpts, testcontainers.WithExposedPorts(GRPCPort))
	}
	tcOpts = append(tcOpts, generic...)
	ctr, err := testcontainers.Run(ctx, image, tcOpts...)
	if ctr != nil {
		c.Container = ctr
	}
	if err != nil {
		if ctr != nil {
			_ = ctr.Terminate(context.WithoutCancel(ctx))
		}
		return nil, fmt.Errorf("running spicedb (%s): %w", image, err)
	}
	return c, nil
}

// command is SpiceDB's command line.
func (s settings) command() []string {
	addr := ":50051"
	if s.hostNetwork {
		addr = "127.0.0.1:" + strconv.Itoa(s.hostPort)
	}
	if s.serveTest {
		// serve-testing also serves a read-only copy on :50052 and has no
		// metrics or telemetry; on the host network move that port too.
		cmd := []string{"serve-testing", "--grpc-addr=" + addr, "--skip-release-check", maxUpdatesFlag}
		if s.hostNetwork {
			cmd = append(cmd, "--readonly-grpc-addr=127.0.0.1:0")
		}
		return append(cmd, s.flags...)
	}
	cmd := []string{
		"serve",
		"--grpc-addr=" + addr,
		"--grpc-preshared-key=" + s.key,
		"--datastore-engine=" + s.engine,
		"--http-enabled=false",
		"--metrics-enabled=false",
		"--dispatch-cluster-enabled=false",
		"--telemetry-endpoint=",
		"--log-format=console",
		"--skip-release-check", // no asking GitHub for newer releases
		maxUpdatesFlag,
	}
	if s.uri != "" {
		cmd = append(cmd, "--datastore-conn-uri="+s.uri)
	}
	return append(cmd, s.flags...)
}

// maxUpdatesFlag lets one write carry as many relationship updates as
// boxauthz's sync assumes (internal/spicedb.MaxUpdatesPerWrite), so that a
// batch of events is one transaction up to that size. WithFlags can give
// another value: the last one counts.
const maxUpdatesFlag = "--write-relationships-max-updates-per-call=7000"

// migrate runs `spicedb datastore migrate head` in a one-off container.
func migrate(ctx context.Context, image string, s settings, generic []testcontainers.ContainerCustomizer) error {
	opts := []testcontainers.ContainerCustomizer{
		testcontainers.WithCmd("datastore", "migrate", "head",
			"--datastore-engine="+s.engine, "--datastore-conn-uri="+s.uri, "--log-format=console", "--skip-release-check"),
		testcontainers.WithWaitStrategy(wait.ForExit().WithExitTimeout(5 * time.Minute)),
	}
	if s.hostNetwork {
		opts = append(opts, testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.NetworkMode = "host"
		}))
	}
	opts = append(opts, generic...)
	ctr, err := testcontainers.Run(ctx, image, opts...)
	defer func() {
		if ctr != nil {
			_ = ctr.Terminate(context.WithoutCancel(ctx))
		}
	}()
	if err != nil {
		return fmt.Errorf("spicedb datastore migrate head: %w", err)
	}
	st, err := ctr.State(ctx)
	if err != nil {
		return fmt.Errorf("spicedb datastore migrate head: %w", err)
	}
	if st.ExitCode != 0 {
		return fmt.Errorf("spicedb datastore migrate head exited %d: %s", st.ExitCode, containerLogs(ctx, ctr))
	}
	return nil
}

// GRPCEndpoint is host:port of SpiceDB's plaintext gRPC API, as reachable
// from the test process: the address Run's readiness probe reached it on.
func (c *Container) GRPCEndpoint(ctx context.Context) (string, error) {
	if c.endpoint != "" {
		return c.endpoint, nil
	}
	eps, err := c.settings.endpoints(ctx, c.Container)
	if err != nil {
		return "", err
	}
	return eps[0], nil
}

// endpoints lists where SpiceDB's gRPC API may be reached from this process,
// best first: testcontainers' host and mapped port, then the same port on
// 127.0.0.1. testcontainers takes the default gateway for the host when it
// runs inside a container (/.dockerenv); where the Docker daemon shares that
// container's network (a daemon started inside it), published ports are on
// loopback instead. The readiness probe keeps the first that answers.
func (s settings) endpoints(ctx context.Context, t wait.StrategyTarget) ([]string, error) {
	if s.hostNetwork {
		return []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(s.hostPort))}, nil
	}
	return mappedEndpoints(ctx, t, GRPCPort)
}

// mappedEndpoints lists where the container port is published, as
// settings.endpoints explains.
func mappedEndpoints(ctx context.Context, t wait.StrategyTarget, containerPort string) ([]string, error) {
	host, err := t.Host(ctx)
	if err != nil {
		return nil, err
	}
	port, err := t.MappedPort(ctx, containerPort)
	if err != nil {
		return nil, err
	}
	eps := []string{net.JoinHostPort(host, port.Port())}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		eps = append(eps, net.JoinHostPort("127.0.0.1", port.Port()))
	}
	return eps, nil
}

// freeLoopbackPort finds a port free on 127.0.0.1 for a container on the
// host network. Another process could take it before SpiceDB binds it; Run
// then fails with SpiceDB's "address already in use".
func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
