# SpiceDB built from its Go module, for machines that cannot pull
# authzed/spicedb from a registry. integration.EnsureSpiceDBImage (and
# scripts/local-images) builds it: the build context holds the static
# binary `spicedb` (CGO_ENABLED=0 go install -trimpath
# github.com/authzed/spicedb/cmd/spicedb@<version>) and an empty `tmp`
# directory, since scratch has no /tmp. There are no CA certificates: the
# image serves plaintext gRPC on the memory or PostgreSQL datastore, which is
# all the integration tests use.
FROM scratch
ARG SPICEDB_VERSION
LABEL org.opencontainers.image.title="spicedb (boxauthz local build)" \
      org.opencontainers.image.version="${SPICEDB_VERSION}" \
      dev.boxauthz.local-build="true"
COPY tmp /tmp
COPY spicedb /spicedb
EXPOSE 50051
ENTRYPOINT ["/spicedb"]
CMD ["serve"]
