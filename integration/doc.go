// Package integration runs SpiceDB in containers for integration tests, as
// a testcontainers-go module shaped like the official ones (modules/postgres,
// modules/openfga):
//
//	img, err := integration.EnsureSpiceDBImage(ctx)
//	c, err := integration.Run(ctx, img, integration.WithPresharedKey("k"))
//	defer c.Terminate(ctx)
//	client, err := c.Client(ctx) // *spicedb.Client, ready
//	_, err = c.WriteSchema(ctx)  // boxauthz's schema
//
// Run waits for readiness with a real probe: grpc.health.v1 Check of
// SpiceDB's PermissionsService on the container's mapped gRPC port, until it
// reports SERVING (never a sleep). Options choose the datastore
// (WithMemoryDatastore, the default, or WithPostgres, which first runs
// `spicedb datastore migrate head`), `spicedb serve-testing`
// (WithServeTesting: each key its own empty datastore), host networking
// (WithHostNetwork, to reach a PostgreSQL on the host's loopback) and extra
// flags (WithFlags). Any testcontainers.ContainerCustomizer also applies.
//
// # Images without a registry
//
// The image is the official authzed/spicedb of the SpiceDB version in go.mod
// (DefaultImage, "authzed/spicedb:v1.56.2"). EnsureSpiceDBImage uses it when
// the Docker daemon has it or can pull it. Where neither works (a machine
// without a registry), it compiles the same SpiceDB version from its Go
// module into a static binary and builds a FROM-scratch image around it
// (spicedb.Dockerfile), tagged LocalImage ("boxauthz-local/spicedb:v1.56.2"),
// a name of its own so it is never taken for the official image. The build
// takes minutes on a cold Go build cache and is logged at Warn level; later
// runs find the image and do nothing. scripts/local-images runs the same code
// ahead of the tests. BOXAUTHZ_SPICEDB_IMAGE overrides all of this.
//
// # The compose stack
//
// docker-compose.yml at the repository's root runs PostgreSQL, SpiceDB and
// boxauthz. Its images come from a registry (postgres:17,
// authzed/spicedb:<version>, boxauthz built from the Dockerfile) or, without
// one, from EnsurePostgresImage (PostgreSQL 17 from Debian's packages on a
// debootstrap root filesystem, boxauthz-local/postgres:17), EnsureSpiceDBImage
// (whose local build ships grpc_health_probe, as the official image does) and
// EnsureBoxauthzImage (the working tree compiled on the host into the
// Dockerfile's final stage, boxauthz-local/boxauthz:dev). Local images carry a
// recipe label and are rebuilt when it changes; each Ensure function logs
// whether it built or reused. TestComposeSmoke runs the stack end to end.
//
// # Tests
//
// The tests start containers where a Docker daemon answers. Without one they
// skip, saying why, unless BOXAUTHZ_REQUIRE_DOCKER=1 (scripts/test sets it
// when `docker info` works), which makes the skip a failure. They terminate
// what they start, and set TESTCONTAINERS_RYUK_DISABLED=true when it is
// unset, since the Ryuk reaper image cannot be pulled everywhere. The
// PostgreSQL test uses BOXAUTHZ_PG_DSN (scripts/pg-local) and skips without
// it unless BOXAUTHZ_REQUIRE_PG=1.
package integration
