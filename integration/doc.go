// Package integration runs SpiceDB in containers for integration tests, as
// a testcontainers-go module shaped like the official ones (modules/postgres,
// modules/openfga):
//
//	c, err := integration.Run(ctx, "", integration.WithPresharedKey("k"))
//	defer c.Terminate(ctx)
//	client, err := c.Client(ctx) // *authzed.Client (authzed-go/v1), ready
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
// The client is authzed-go's, so it goes wherever a SpiceDB client does:
// sync.NewApplier, checker.New, schema.Write and upgrade.Inspect take it as
// it is. The shortest test needs none of that:
//
//	c, err := integration.Run(ctx, "")
//	token, err := c.ApplyJSON(ctx, `{"id":"1","type":"user.created",...}`, ...)
//	ch, err := c.Checker(ctx)
//	a, err := ch.Check(ctx, question, checker.Consistency{Token: token})
//
// ApplyEvents and ApplyJSON write boxauthz's schema where none is held and
// apply events through sync's applier, returning the consistency token;
// Checker (NewChecker for any Client) is checker.New on the same SpiceDB.
//
// RunBoxauthz starts boxauthz's own image (`boxauthz serve`) beside a
// SpiceDB container, on a network the two share, waits until GET /readyz
// answers 200, and gives its base URL and admin key. For tests without
// Docker, package integration/inprocess runs the same parts on an embedded
// SpiceDB in the test's process.
//
// The package links authzed-go, testcontainers-go, boxauthz's sync and
// checker and SpiceDB's relationship parser, never a SpiceDB server.
//
// # Images are never built here
//
// Run and RunBoxauthz talk to the Docker daemon through its API
// (testcontainers-go's client), never the docker CLI. An image the daemon
// lacks is pulled, bounded by WithPullTimeout; one that cannot be pulled
// fails with an *ImageError (errors.Is ErrImageUnavailable) that names the
// image and how to get it: an image from a registry you reach, or, in the
// boxauthz repository, scripts/local-images, which builds SpiceDB and
// boxauthz images locally. Nothing is compiled inside a test run.
//
// # Which SpiceDB
//
// Given no image, Run starts DefaultImage ("authzed/spicedb:v1.56.2"), the
// official image of SpiceDBVersion: the SpiceDB version boxauthz is tested
// against, a constant that a test keeps equal to the one in boxauthz's
// go.mod, whatever SpiceDB version a user's own go.mod resolves to.
// $BOXAUTHZ_SPICEDB_IMAGE (ImageEnv), when set, is started instead: a
// mirror, or an image built where no registry is reachable (boxauthz's own
// tests build one with scripts/local-images). RunBoxauthz likewise starts
// $BOXAUTHZ_IMAGE (BoxauthzImageEnv) or DefaultBoxauthzImage
// ("boxauthz/boxauthz:dev", the repository's Dockerfile built as
// docker-compose.yml names it).
//
// # Tests
//
// The tests start containers where a Docker daemon answers. Without one they
// skip, saying why, unless BOXAUTHZ_REQUIRE_DOCKER=1 (scripts/test sets it
// when `docker info` works), which makes the skip a failure. They terminate
// what they start, and set TESTCONTAINERS_RYUK_DISABLED=true when it is
// unset, since the Ryuk reaper image cannot be pulled everywhere. Their
// SpiceDB image is found by internal/tools/images (never built: scripts/test
// runs scripts/local-images first), and their boxauthz image is the working
// tree compiled on the host and wrapped by it; TestComposeSmoke runs docker-compose.yml's stack
// (PostgreSQL, SpiceDB, boxauthz) on them end to end. The PostgreSQL test
// uses BOXAUTHZ_PG_DSN (scripts/pg-local) and skips without it unless
// BOXAUTHZ_REQUIRE_PG=1.
package integration
