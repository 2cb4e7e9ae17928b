# boxauthz in a FROM-scratch image: one static binary, run as a non-root user.
#
#   docker build -t boxauthz/boxauthz:dev .
#   docker run --rm -p 8080:8080 -e BOXAUTHZ_ADMIN_KEY=... boxauthz/boxauthz:dev
#
# It serves on 0.0.0.0:8080 in the container (BOXAUTHZ_ADDR); every flag is
# also an environment variable BOXAUTHZ_<FLAG> (see README.md). docker-compose.yml
# runs it against SpiceDB on PostgreSQL.
#
# Building needs the golang image from a registry. Without one,
# scripts/local-images compiles the same static binary on the host and wraps
# it in internal/tools/images/boxauthz.Dockerfile, whose final stage is this one's
# (a test keeps the two alike), tagged boxauthz-local/boxauthz:dev.

# The builder: any Go 1.26 image (a digest, a mirror).
ARG GO_IMAGE=golang:1.26
FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -buildvcs=false -ldflags "-s -w" \
        -o /out/usr/local/bin/boxauthz ./cmd/boxauthz \
    && mkdir -p /out/tmp /data \
    && chmod 1777 /out/tmp

FROM scratch
LABEL org.opencontainers.image.title="boxauthz" \
      org.opencontainers.image.source="https://github.com/boxauthz/boxauthz"
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/ /
COPY --from=build --chown=65532:65532 /data /data
USER 65532:65532
WORKDIR /data
ENV PATH=/usr/local/bin BOXAUTHZ_ADDR=0.0.0.0:8080
EXPOSE 8080
# Healthy once /readyz answers 200 (SpiceDB answers and holds the schema).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s CMD ["/usr/local/bin/boxauthz", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/boxauthz"]
CMD ["serve"]
