// Package images finds or builds the Docker images boxauthz's own tests and
// docker-compose.yml run (SpiceDB, PostgreSQL 17 and boxauthz itself),
// building locally what a registry would otherwise provide. It is
// repository tooling: the boxauthz image is the working tree compiled on the
// host, so it has no place in the public integration package.
//
// SpiceDB is the official image of integration.SpiceDBVersion
// (integration.DefaultImage) when the Docker daemon has it or can pull it.
// Where neither works (a machine without a registry), the same SpiceDB
// version is compiled from its Go module into a static binary and built into
// a FROM-scratch image (spicedb.Dockerfile) with grpc_health_probe, as the
// official image ships, tagged LocalSpiceDBImage
// ("boxauthz-local/spicedb:v1.56.2"), a name of its own so it is never taken
// for the official image. PostgreSQL is postgres:17 or, without a registry,
// Debian's packages on a debootstrap root filesystem
// (boxauthz-local/postgres:17); boxauthz is compiled on the host into the
// Dockerfile's final stage (boxauthz-local/boxauthz:dev). Local images carry
// a recipe label and are rebuilt when it changes; each Resolve function logs
// whether it built or reused. A local build takes minutes on a cold Go build
// cache and is logged at Warn level; later runs find the image and do
// nothing. cmd/local-images (scripts/local-images) runs the same code ahead
// of the tests; the tests themselves only find the SpiceDB image
// (FindSpiceDBImage), so that no SpiceDB is compiled inside a test run.
// BOXAUTHZ_SPICEDB_IMAGE and BOXAUTHZ_POSTGRES_IMAGE override the lookups.
// The Docker daemon is reached through its API with testcontainers-go's
// client (inspect, pull, build, remove); only the debootstrap root
// filesystem of the local PostgreSQL image is `docker import`ed by its
// script, which scripts/local-images runs and the tests never reach.
package images
