# PostgreSQL from Debian's packages, for machines that cannot pull the
# official postgres image. images.ResolvePostgresImage (and
# scripts/local-images) builds BASE from a debootstrap root filesystem
# (postgres-rootfs.sh, `docker import`) and this on top of it, tagged
# boxauthz-local/postgres:<major>. The entrypoint (postgres-entrypoint.sh)
# follows the official image's environment: POSTGRES_USER, POSTGRES_PASSWORD,
# POSTGRES_DB, PGDATA.
ARG BASE
FROM ${BASE}
ARG PG_MAJOR
ARG RECIPE
LABEL org.opencontainers.image.title="postgres (boxauthz local build from Debian packages)" \
      org.opencontainers.image.version="${PG_MAJOR}" \
      dev.boxauthz.local-build="true" \
      dev.boxauthz.recipe="${RECIPE}"
ENV PATH=/usr/lib/postgresql/${PG_MAJOR}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PGDATA=/var/lib/postgresql/data \
    LANG=C.UTF-8
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /var/lib/postgresql/data
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
