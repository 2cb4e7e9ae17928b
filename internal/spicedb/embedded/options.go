package embedded

import "google.golang.org/grpc"

// Option configures Start.
type Option func(*settings)

// settings are what the options set; the zero value is an in-memory
// SpiceDB reachable only in this process.
type settings struct {
	grpcAddr        string
	token           string
	postgresURI     string
	dataDir         string
	noDispatchCache bool
	maxUpdates      uint16
	dialOpts        []grpc.DialOption
}

// WithGRPCAddr also serves the embedded SpiceDB's gRPC API on this loopback
// address, so that other SpiceDB clients (zed, a debugger) can inspect it;
// they present token as the preshared key, which is required.
func WithGRPCAddr(addr, token string) Option {
	return func(s *settings) { s.grpcAddr, s.token = addr, token }
}

// WithPostgres runs the in-process SpiceDB on this PostgreSQL database
// (migrated with MigratePostgres) instead of in memory: tests use it to hold
// boxauthz to the production datastore's behaviour.
func WithPostgres(uri string) Option { return func(s *settings) { s.postgresURI = uri } }

// WithDispatchCache turns SpiceDB's dispatch caches on (the default) or off
// (cold-check measurements).
func WithDispatchCache(on bool) Option { return func(s *settings) { s.noDispatchCache = !on } }

// WithMaxUpdatesPerWrite replaces spicedb.MaxUpdatesPerWrite, for tests of a
// SpiceDB that takes fewer updates per write.
func WithMaxUpdatesPerWrite(n uint16) Option { return func(s *settings) { s.maxUpdates = n } }

// WithDialOptions adds gRPC dial options to the client's connection to the
// embedded server: the call metrics' interceptors, tracing's stats handler.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(s *settings) { s.dialOpts = append(s.dialOpts, opts...) }
}

// WithDataDir runs the in-process SpiceDB on boxauthz's own durable store
// in dir (created if missing) instead of in memory: what was written is
// there again after a restart with the same dir.
func WithDataDir(dir string) Option { return func(s *settings) { s.dataDir = dir } }
