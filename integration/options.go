package integration

import (
	"errors"
	"time"

	"github.com/testcontainers/testcontainers-go"
)

// DefaultPresharedKey is the key a container is started with unless
// WithPresharedKey says otherwise.
const DefaultPresharedKey = "boxauthz-integration-key"

// DefaultStartupTimeout is how long Run waits for SpiceDB to report healthy
// unless WithStartupTimeout says otherwise.
const DefaultStartupTimeout = 60 * time.Second

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
	pullTimeout time.Duration
}

// defaultSettings are the settings of a Run given no Options.
func defaultSettings() settings {
	return settings{key: DefaultPresharedKey, engine: "memory", timeout: DefaultStartupTimeout, pullTimeout: DefaultPullTimeout}
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
// (default DefaultStartupTimeout).
func WithStartupTimeout(d time.Duration) Option {
	return func(s *settings) error {
		s.timeout = d
		return nil
	}
}

// WithPullTimeout bounds pulling the image when the Docker daemon does not
// have it (default DefaultPullTimeout). Run never builds one.
func WithPullTimeout(d time.Duration) Option {
	return func(s *settings) error {
		s.pullTimeout = d
		return nil
	}
}
