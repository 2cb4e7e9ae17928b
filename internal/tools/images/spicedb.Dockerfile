# SpiceDB built from its Go module, for machines that cannot pull
# authzed/spicedb from a registry. integration.EnsureSpiceDBImage (and
# scripts/local-images) builds it: the build context holds the static
# binaries `spicedb` (CGO_ENABLED=0 go install -trimpath
# github.com/authzed/spicedb/cmd/spicedb@<version>) and `grpc_health_probe`
# (github.com/grpc-ecosystem/grpc-health-probe, as the official image ships
# it, for health checks in docker-compose.yml), and an empty `tmp`
# directory, since scratch has no /tmp. The layout is the official release
# image's: both binaries in /usr/local/bin, on PATH. There are no CA
# certificates: the image serves plaintext gRPC on the memory or PostgreSQL
# datastore, which is all the integration tests and the compose stack use.
FROM scratch
ARG SPICEDB_VERSION
ARG RECIPE
LABEL org.opencontainers.image.title="spicedb (boxauthz local build)" \
      org.opencontainers.image.version="${SPICEDB_VERSION}" \
      dev.boxauthz.local-build="true" \
      dev.boxauthz.recipe="${RECIPE}"
ENV PATH=/usr/local/bin
COPY tmp /tmp
COPY grpc_health_probe /usr/local/bin/grpc_health_probe
COPY spicedb /usr/local/bin/spicedb
EXPOSE 50051
ENTRYPOINT ["/usr/local/bin/spicedb"]
CMD ["serve"]
