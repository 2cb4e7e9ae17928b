// Command local-images makes sure the images the integration tests and
// docker-compose.yml run are available to the local Docker daemon, building
// what a registry would otherwise provide:
//
//   - SpiceDB: the official authzed/spicedb image of go.mod's SpiceDB version
//     if present or pullable, otherwise the same version built from its Go
//     module (boxauthz-local/spicedb:<version>);
//   - PostgreSQL: the official postgres:17 if present or pullable, otherwise
//     PostgreSQL from Debian's packages on a debootstrap root filesystem
//     (boxauthz-local/postgres:17);
//   - boxauthz: always built on the host from the working tree
//     (boxauthz-local/boxauthz:dev), reused when the binary is unchanged.
//
// It logs which images were built and which reused on stderr, and prints the
// variables docker-compose.yml reads on stdout:
//
//	SPICEDB_IMAGE=boxauthz-local/spicedb:v1.56.2
//	POSTGRES_IMAGE=boxauthz-local/postgres:17
//	BOXAUTHZ_IMAGE=boxauthz-local/boxauthz:dev
//
// so `export $(go run ./internal/tools/images/cmd/local-images)` points compose at
// them.
//
//	go run ./internal/tools/images/cmd/local-images          # find or build
//	go run ./internal/tools/images/cmd/local-images -rebuild # rebuild the local images
package main
