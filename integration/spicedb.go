package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"github.com/authzed/spicedb/pkg/tuple"
	"github.com/authzed/spicedb/pkg/validationfile"
	"github.com/moby/moby/api/types/container"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/boxauthz/boxauthz/internal/spicedb"
	"github.com/boxauthz/boxauthz/schema"
)

// GRPCPort is the port SpiceDB serves its gRPC API on inside the container.
const GRPCPort = "50051/tcp"

// DefaultPresharedKey is the key a container is started with unless
// WithPresharedKey says otherwise.
const DefaultPresharedKey = "boxauthz-integration-key"

// healthService is the service SpiceDB reports SERVING once its datastore
// and dispatcher are ready (the empty service is SERVING as soon as the gRPC
// server listens, before SpiceDB can answer).
const healthService = "authzed.api.v1.PermissionsService"

// Container is a SpiceDB running in a container.
type Container struct {
	testcontainers.Container

	settings settings
	endpoint string // host:port the readiness probe reached SpiceDB on

	mu     gosync.Mutex
	client *spicedb.Client
}

type settings struct {
	key         string
	engine      string // "memory" or "postgres"
	uri         string
	migrate     bool
	serveTest   bool
	hostNetwork bool
	hostPort    int // gRPC port on the host, with hostNetwork
	flags       []string
	timeout     time.Duration
}

// Option is an option of this module. It is a
// testcontainers.ContainerCustomizer, so it mixes with testcontainers'
// generic options (testcontainers.WithEnv, WithLogConsumers, ...) in Run.
type Option func(*settings) error

// Customize is a no-op: Run reads Options itself.
func (Option) Customize(*testcontainers.GenericContainerRequest) error { return nil }

// WithPresharedKey sets the preshared key clients must present
// (--grpc-preshared-key). Default DefaultPresharedKey. With WithServeTesting
// the key is not checked: it names the client's datastore.
func WithPresharedKey(key string) Option {
	return func(s *settings) error {
		if key == "" {
			return errors.New("spicedb preshared key is empty")
		}
		s.key = key
		return nil
	}
}

// WithMemoryDatastore runs SpiceDB on its in-memory datastore (the default):
// everything is lost when the container stops.
func WithMemoryDatastore() Option {
	return func(s *settings) error {
		s.engine, s.uri, s.migrate = "memory", "", false
		return nil
	}
}

// WithPostgres runs SpiceDB on the PostgreSQL database at uri, first
// migrating it to head in a one-off container (`spicedb datastore migrate
// head`). uri is resolved from inside the container: a server on the host's
// loopback needs WithHostNetwork.
func WithPostgres(uri string) Option {
	return func(s *settings) error {
		if uri == "" {
			return errors.New("spicedb postgres uri is empty")
		}
		s.engine, s.uri, s.migrate = "postgres", uri, true
		return nil
	}
}

// WithoutMigration skips WithPostgres's migration (the database is already
// at head).
func WithoutMigration() Option {
	return func(s *settings) error {
		s.migrate = false
		return nil
	}
}

// WithServeTesting runs `spicedb serve-testing` instead of `spicedb serve`:
// every distinct bearer token gets its own empty in-memory datastore, so
// tests can share one container without seeing each other's data. Datastore
// options do not apply.
func WithServeTesting() Option {
	return func(s *settings) error {
		s.serveTest = true
		return nil
	}
}

// WithHostNetwork runs the container in the host's network namespace
// (NetworkMode "host"), so that SpiceDB reaches servers on the host's
// loopback, such as the PostgreSQL of scripts/pg-local. SpiceDB then listens
// on a free port of 127.0.0.1 instead of a mapped port.
func WithHostNetwork() Option {
	return func(s *settings) error {
		s.hostNetwork = true
		return nil
	}
}

// WithFlags appends flags to the SpiceDB command line, e.g.
// WithFlags("--dispatch-max-depth=200").
func WithFlags(flags ...string) Option {
	return func(s *settings) error {
		s.flags = append(s.flags, flags...)
		return nil
	}
}

// WithStartupTimeout bounds how long Run waits for SpiceDB to report healthy
// (default 60s).
func WithStartupTimeout(d time.Duration) Option {
	return func(s *settings) error {
		s.timeout = d
		return nil
	}
}

// Run starts SpiceDB in a container of image and returns once its gRPC
// health service reports it SERVING. image "" is EnsureSpiceDBImage's: the
// official image of go.mod's SpiceDB version, or a local build of it where no
// registry is reachable. opts are this package's Options and any
// testcontainers.ContainerCustomizer. The caller terminates the container
// (testcontainers.CleanupContainer(t, c) in tests); Run terminates it itself
// when it fails after creating it, and returns a nil Container.
func Run(ctx context.Context, image string, opts ...testcontainers.ContainerCustomizer) (*Container, error) {
	s := settings{key: DefaultPresharedKey, engine: "memory", timeout: 60 * time.Second}
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
		var err error
		if image, err = EnsureSpiceDBImage(ctx); err != nil {
			return nil, err
		}
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
	cmd := []string{"serve",
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
	host, err := t.Host(ctx)
	if err != nil {
		return nil, err
	}
	port, err := t.MappedPort(ctx, GRPCPort)
	if err != nil {
		return nil, err
	}
	eps := []string{net.JoinHostPort(host, port.Port())}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		eps = append(eps, net.JoinHostPort("127.0.0.1", port.Port()))
	}
	return eps, nil
}

// PresharedKey is the key clients present (with WithServeTesting, the key
// naming the default client's datastore).
func (c *Container) PresharedKey() string { return c.settings.key }

// Client returns a client of this SpiceDB presenting PresharedKey over
// plaintext gRPC. It is ready: Run waited for SpiceDB's health. The Container
// owns it: Terminate closes it, callers do not.
func (c *Container) Client(ctx context.Context) (*spicedb.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client != nil {
		return c.client, nil
	}
	cl, err := c.ClientWithKey(ctx, c.settings.key)
	if err != nil {
		return nil, err
	}
	c.client = cl
	return cl, nil
}

// ClientWithKey returns a new client presenting key, which the caller closes.
// With WithServeTesting each key sees its own datastore.
func (c *Container) ClientWithKey(ctx context.Context, key string) (*spicedb.Client, error) {
	ep, err := c.GRPCEndpoint(ctx)
	if err != nil {
		return nil, err
	}
	return spicedb.DialExternal(spicedb.ExternalConfig{Endpoint: ep, Token: key, Insecure: true})
}

// Terminate closes the Client and removes the container.
func (c *Container) Terminate(ctx context.Context, opts ...testcontainers.TerminateOption) error {
	c.mu.Lock()
	var err error
	if c.client != nil {
		err = c.client.Close()
		c.client = nil
	}
	c.mu.Unlock()
	if c.Container == nil {
		return err
	}
	return errors.Join(err, c.Container.Terminate(ctx, opts...))
}

// WriteSchema writes boxauthz's schema (schema.Text) to this SpiceDB.
func (c *Container) WriteSchema(ctx context.Context) (*v1.ZedToken, error) {
	cl, err := c.Client(ctx)
	if err != nil {
		return nil, err
	}
	return schema.Write(ctx, cl)
}

// LoadValidationFile writes the schema and relationships of a validation
// file (zed's format, as in schema/testdata) to this SpiceDB; assertions and
// expected relations are not run (validation.ValidateFile runs them). A file
// without a schema gets boxauthz's, as validation.ValidateFile does. It returns
// the token of the last write.
func (c *Container) LoadValidationFile(ctx context.Context, contents []byte) (*v1.ZedToken, error) {
	vf, err := validationfile.DecodeValidationFile(contents)
	if err != nil {
		return nil, fmt.Errorf("reading validation file: %w", err)
	}
	if vf.SchemaFile != "" {
		return nil, fmt.Errorf("reading validation file: schemaFile %q is not supported: put the schema inline", vf.SchemaFile)
	}
	cl, err := c.Client(ctx)
	if err != nil {
		return nil, err
	}
	text := vf.Schema.Schema
	if strings.TrimSpace(text) == "" {
		text = schema.Text()
	}
	wr, err := cl.WriteSchema(ctx, &v1.WriteSchemaRequest{Schema: text})
	if err != nil {
		return nil, fmt.Errorf("writing the validation file's schema: %w", err)
	}
	token := wr.GetWrittenAt()
	const batch = 1000 // SpiceDB's default --write-relationships-max-updates-per-call
	rels := vf.Relationships.Relationships
	for i := 0; i < len(rels); i += batch {
		end := min(i+batch, len(rels))
		ups := make([]*v1.RelationshipUpdate, 0, end-i)
		for _, r := range rels[i:end] {
			ups = append(ups, &v1.RelationshipUpdate{
				Operation:    v1.RelationshipUpdate_OPERATION_TOUCH,
				Relationship: tuple.ToV1Relationship(r),
			})
		}
		resp, err := cl.WriteRelationships(ctx, &v1.WriteRelationshipsRequest{Updates: ups})
		if err != nil {
			return nil, fmt.Errorf("writing the validation file's relationships: %w", err)
		}
		token = resp.GetWrittenAt()
	}
	return token, nil
}

// LoadValidationFileAt is LoadValidationFile of the file at path.
func (c *Container) LoadValidationFileAt(ctx context.Context, path string) (*v1.ZedToken, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return c.LoadValidationFile(ctx, b)
}

// healthProbe is the readiness check: it asks SpiceDB's gRPC health service,
// on the endpoint the test process will use, until SpiceDB reports its API
// SERVING, the container exits, or the timeout passes.
type healthProbe struct {
	c       *Container
	timeout time.Duration
}

func (h *healthProbe) Timeout() *time.Duration { return &h.timeout }

func (h *healthProbe) WaitUntilReady(ctx context.Context, target wait.StrategyTarget) error {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	s := h.c.settings
	conns := map[string]*grpc.ClientConn{}
	defer func() {
		for _, conn := range conns {
			_ = conn.Close()
		}
	}()
	var last error
	backoff := 50 * time.Millisecond
	for {
		if st, err := target.State(ctx); err == nil && !st.Running {
			return fmt.Errorf("spicedb exited (code %d) before it was healthy: %s", st.ExitCode, containerLogs(ctx, target))
		}
		eps, err := s.endpoints(ctx, target)
		if err != nil {
			last = err
		}
		var errs []error
		for _, ep := range eps {
			conn := conns[ep]
			if conn == nil {
				if conn, err = grpc.NewClient(ep, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
					errs = append(errs, err)
					continue
				}
				conns[ep] = conn
			}
			err := probe(ctx, conn, s.key)
			if err == nil {
				h.c.endpoint = ep
				return nil
			}
			errs = append(errs, fmt.Errorf("%s: %w", ep, err))
		}
		if len(errs) > 0 {
			last = errors.Join(errs...)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("spicedb not healthy after %s: %w (last probe: %v); logs: %s", h.timeout, ctx.Err(), last, containerLogs(context.WithoutCancel(ctx), target))
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// probe asks grpc.health.v1.Health/Check for SpiceDB's API. The health
// service does not need the key; it is sent anyway, as a real client would.
func probe(ctx context.Context, conn *grpc.ClientConn, key string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: healthService})
	if err != nil {
		return err
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("%s is %s", healthService, resp.GetStatus())
	}
	return nil
}

func containerLogs(ctx context.Context, t interface {
	Logs(context.Context) (io.ReadCloser, error)
}) string {
	rc, err := t.Logs(ctx)
	if err != nil {
		return "(no logs: " + err.Error() + ")"
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, 1<<20))
	return tail(b)
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
