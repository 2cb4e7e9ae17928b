# boxauthz built on the host, for machines that cannot pull the golang image
# the repository's Dockerfile builds in. images.ResolveBoxauthzImage (and
# scripts/local-images) compiles the static binary `boxauthz`
# (CGO_ENABLED=0 go build -trimpath ./cmd/boxauthz) and puts it in the build
# context with the host's CA bundle `ca-certificates.crt` and empty `tmp` and
# `data` directories. Everything from FROM scratch on is the final stage of
# the repository's Dockerfile (TestDockerfilesAgree keeps them alike).
FROM scratch
ARG RECIPE
LABEL org.opencontainers.image.title="boxauthz" \
      org.opencontainers.image.source="https://github.com/boxauthz/boxauthz" \
      dev.boxauthz.local-build="true" \
      dev.boxauthz.recipe="${RECIPE}"
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY tmp /tmp
COPY boxauthz /usr/local/bin/boxauthz
COPY --chown=65532:65532 data /data
USER 65532:65532
WORKDIR /data
ENV PATH=/usr/local/bin BOXAUTHZ_ADDR=0.0.0.0:8080
EXPOSE 8080
# Healthy once /readyz answers 200 (SpiceDB answers and holds the schema).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s CMD ["/usr/local/bin/boxauthz", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/boxauthz"]
CMD ["serve"]
