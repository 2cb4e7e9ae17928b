package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
)

// DefaultBoxauthzImage is the boxauthz image RunBoxauthz starts given none
// and $BOXAUTHZ_IMAGE unset: the tag the repository's Dockerfile is built
// with (`docker build -t boxauthz/boxauthz:dev .`), as docker-compose.yml
// runs it.
const DefaultBoxauthzImage = "boxauthz/boxauthz:dev"

// BoxauthzImageEnv names the environment variable that, when set, is the
// image RunBoxauthz starts given none; scripts/local-images prints it set to
// the image it builds without a registry (boxauthz-local/boxauthz:dev).
const BoxauthzImageEnv = "BOXAUTHZ_IMAGE"

// HTTPPort is the port boxauthz serves its HTTP API on inside the container.
const HTTPPort = "8080/tcp"

// grpcContainerPort is GRPCPort's number.
const grpcContainerPort = 50051

// BoxauthzContainer is boxauthz serve in a container, on a SpiceDB
// Container.
type BoxauthzContainer struct {
	testcontainers.Container

	settings boxauthzSettings
	baseURL  string // where the readiness probe reached /readyz
	spicedb  *Container
}

// RunBoxauthz starts `boxauthz serve` in a container of image on the SpiceDB
// of spicedb (its key, its datastore: with WithServeTesting, the one
// spicedb.Client sees) and returns once GET /readyz answers 200, which
// boxauthz does once SpiceDB answers and holds the schema (serve writes it
// where none is held). boxauthz joins SpiceDB's network (Docker's default
// bridge, unless the SpiceDB container was given another) and reaches it by
// its address there; on a SpiceDB run WithHostNetwork, boxauthz runs on the
// host network too. image "" is $BOXAUTHZ_IMAGE when set, else
// DefaultBoxauthzImage; a missing image is pulled (bounded by
// DefaultPullTimeout) and never built. opts are BoxauthzOptions and any
// testcontainers.ContainerCustomizer (testcontainers.WithEnv sets more of
// serve's BOXAUTHZ_<FLAG> variables). The caller terminates the container,
// before spicedb.
func RunBoxauthz(ctx context.Context, image string, spicedb *Container, opts ...testcontainers.ContainerCustomizer) (*BoxauthzContainer, error) {
	if spicedb == nil || spicedb.Container == nil {
		return nil, errors.New("running boxauthz: no spicedb container")
	}
	s := boxauthzSettings{timeout: DefaultBoxauthzStartupTimeout, pullTimeout: DefaultPullTimeout}
	var generic []testcontainers.ContainerCustomizer
	for _, o := range opts {
		if bo, ok := o.(BoxauthzOption); ok {
			if err := bo(&s); err != nil {
				return nil, err
			}
			continue
		}
		generic = append(generic, o)
	}
	if s.adminKey == "" {
		var b [24]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("making an admin key: %w", err)
		}
		s.adminKey = hex.EncodeToString(b[:])
	}
	if image == "" {
		image = os.Getenv(BoxauthzImageEnv)
	}
	if image == "" {
		image = DefaultBoxauthzImage
	}
	if err := ensureImage(ctx, "boxauthz", image, s.pullTimeout); err != nil {
		return nil, err
	}

	b := &BoxauthzContainer{settings: s, spicedb: spicedb}
	env := map[string]string{
		"BOXAUTHZ_ADMIN_KEY":        s.adminKey,
		"BOXAUTHZ_SPICEDB_TOKEN":    spicedb.PresharedKey(),
		"BOXAUTHZ_SPICEDB_INSECURE": "true", // plaintext gRPC between two containers of this machine
	}
	tcOpts := []testcontainers.ContainerCustomizer{
		testcontainers.WithCmd("serve"),
		testcontainers.WithWaitStrategy(&readyProbe{b: b, timeout: s.timeout}),
	}
	if spicedb.settings.hostNetwork {
		port, err := freeLoopbackPort()
		if err != nil {
			return nil, err
		}
		b.settings.hostPort = port
		env["BOXAUTHZ_ADDR"] = "127.0.0.1:" + strconv.Itoa(port)
		env["BOXAUTHZ_SPICEDB_ENDPOINT"] = "127.0.0.1:" + strconv.Itoa(spicedb.settings.hostPort)
		tcOpts = append(tcOpts, testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.NetworkMode = "host"
		}))
	} else {
		nw, addr, err := b.spicedbAddress(ctx)
		if err != nil {
			return nil, err
		}
		env["BOXAUTHZ_SPICEDB_ENDPOINT"] = addr
		tcOpts = append(tcOpts, testcontainers.WithExposedPorts(HTTPPort))
		if nw != "bridge" {
			// A network of the caller's (testcontainers' network.New, say).
			tcOpts = append(tcOpts, network.WithNetworkName([]string{"boxauthz"}, nw))
		}
	}
	tcOpts = append(tcOpts, testcontainers.WithEnv(env))
	tcOpts = append(tcOpts, generic...)
	ctr, err := testcontainers.Run(ctx, image, tcOpts...)
	if ctr != nil {
		b.Container = ctr
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("running boxauthz (%s): %w", image, err), b.Terminate(context.WithoutCancel(ctx)))
	}
	return b, nil
}

// spicedbAddress is where boxauthz reaches SpiceDB's gRPC API: its
// container's address on its first network, which boxauthz joins. The
// SpiceDB container is not attached to another network: connecting a
// running container to a network makes the daemon publish its ports anew,
// on other host ports, and the test process's client would lose it.
func (b *BoxauthzContainer) spicedbAddress(ctx context.Context) (networkName, addr string, err error) {
	var res client.ContainerInspectResult
	err = withDocker(ctx, func(cli *client.Client) error {
		var err error
		res, err = cli.ContainerInspect(ctx, b.spicedb.GetContainerID(), client.ContainerInspectOptions{})
		return err
	})
	if err != nil {
		return "", "", fmt.Errorf("inspecting the spicedb container: %w", err)
	}
	if res.Container.NetworkSettings == nil {
		return "", "", errors.New("the spicedb container is on no network")
	}
	names := slices.Sorted(maps.Keys(res.Container.NetworkSettings.Networks))
	for _, name := range names {
		ep := res.Container.NetworkSettings.Networks[name]
		if ep != nil && ep.IPAddress.IsValid() {
			return name, net.JoinHostPort(ep.IPAddress.String(), strconv.Itoa(grpcContainerPort)), nil
		}
	}
	return "", "", fmt.Errorf("the spicedb container has no address on its networks %q", names)
}

// URL is the base URL of boxauthz's HTTP API as reachable from the test
// process (http://host:port), where the readiness probe reached it.
func (b *BoxauthzContainer) URL() string { return b.baseURL }

// AdminKey is the key trusted callers present as Authorization: Bearer
// <key>: WithAdminKey's, or a random one.
func (b *BoxauthzContainer) AdminKey() string { return b.settings.adminKey }

// Terminate removes boxauthz's container; SpiceDB's keeps running.
func (b *BoxauthzContainer) Terminate(ctx context.Context, opts ...testcontainers.TerminateOption) error {
	if b.Container == nil {
		return nil
	}
	return b.Container.Terminate(ctx, opts...)
}

// withDocker runs f with a client of the Docker daemon testcontainers
// talks to.
func withDocker(ctx context.Context, f func(*client.Client) error) error {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("connecting to the Docker daemon: %w", err)
	}
	defer cli.Close()
	return f(cli.Client)
}

// DefaultBoxauthzStartupTimeout is how long RunBoxauthz waits for /readyz
// unless WithBoxauthzStartupTimeout says otherwise.
const DefaultBoxauthzStartupTimeout = DefaultStartupTimeout

type boxauthzSettings struct {
	adminKey    string
	timeout     time.Duration
	pullTimeout time.Duration
	hostPort    int // HTTP port on the host, on the host network
}

// BoxauthzOption is an option of RunBoxauthz. Like Option it is a
// testcontainers.ContainerCustomizer that RunBoxauthz reads itself.
type BoxauthzOption func(*boxauthzSettings) error

// Customize is a no-op: RunBoxauthz reads BoxauthzOptions itself.
func (BoxauthzOption) Customize(*testcontainers.GenericContainerRequest) error { return nil }

// WithAdminKey sets the admin key boxauthz serve is started with
// (BOXAUTHZ_ADMIN_KEY); by default a random one, which AdminKey returns.
func WithAdminKey(key string) BoxauthzOption {
	return func(s *boxauthzSettings) error {
		if key == "" {
			return errors.New("boxauthz admin key is empty")
		}
		s.adminKey = key
		return nil
	}
}

// WithBoxauthzStartupTimeout bounds how long RunBoxauthz waits for /readyz
// (default DefaultBoxauthzStartupTimeout).
func WithBoxauthzStartupTimeout(d time.Duration) BoxauthzOption {
	return func(s *boxauthzSettings) error {
		s.timeout = d
		return nil
	}
}

// WithBoxauthzPullTimeout bounds pulling a missing boxauthz image (default
// DefaultPullTimeout).
func WithBoxauthzPullTimeout(d time.Duration) BoxauthzOption {
	return func(s *boxauthzSettings) error {
		s.pullTimeout = d
		return nil
	}
}
