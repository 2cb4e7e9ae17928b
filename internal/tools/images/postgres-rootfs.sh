#!/usr/bin/env bash
# Builds the Debian root filesystem of boxauthz-local/postgres and imports it
# into Docker: debootstrap (minbase) of $SUITE from $MIRROR with the Debian
# package postgresql-$PG_MAJOR, trimmed (no default cluster, docs, man pages,
# translations or apt lists), then `docker import` as $TAG with $RECIPE in
# the dev.boxauthz.recipe label. integration.EnsurePostgresImage runs it (as
# root: debootstrap chroots and creates device nodes); the entrypoint is
# added on top by postgres.Dockerfile.
#
# Environment: SUITE, MIRROR, PG_MAJOR, TAG, RECIPE (all required), WORK (an
# empty directory on a filesystem that allows devices and setuid), CACHE
# (where downloaded .deb files are kept between builds; optional).
set -euo pipefail
: "${SUITE:?}" "${MIRROR:?}" "${PG_MAJOR:?}" "${TAG:?}" "${RECIPE:?}" "${WORK:?}"

root="$WORK/rootfs"
args=(--variant=minbase --include="postgresql-$PG_MAJOR" --components=main)
if [[ -n "${CACHE:-}" ]]; then
	mkdir -p "$CACHE"
	args+=(--cache-dir="$CACHE")
fi
echo "postgres-rootfs: debootstrap $SUITE from $MIRROR with postgresql-$PG_MAJOR" >&2
if ! debootstrap "${args[@]}" "$SUITE" "$root" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
	tail -n 40 "$WORK/debootstrap.log" >&2
	if [[ -f "$root/debootstrap/debootstrap.log" ]]; then
		tail -n 40 "$root/debootstrap/debootstrap.log" >&2
	fi
	echo "postgres-rootfs: debootstrap failed" >&2
	exit 1
fi
for m in proc sys dev/pts dev; do
	# debootstrap unmounts what it mounted; make sure before tar reads it.
	if mountpoint -q "$root/$m" 2>/dev/null; then umount -l "$root/$m"; fi
done

# The package's postinst made a cluster "main" in /var/lib/postgresql: the
# entrypoint makes its own in $PGDATA, as the official image does.
rm -rf "$root/etc/postgresql/$PG_MAJOR" "$root/var/lib/postgresql/$PG_MAJOR"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
	"$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/* \
	"$root"/usr/share/info/* "$root"/usr/share/locale/* "$root"/var/log/*.log \
	"$root"/var/log/apt/* "$root/debootstrap"
# The socket directory, owned by the postgres user the package created.
install -d -m 2775 -o "$(chroot "$root" id -u postgres)" -g "$(chroot "$root" id -g postgres)" "$root/run/postgresql"

echo "postgres-rootfs: docker import $TAG" >&2
tar --numeric-owner --xattrs -C "$root" \
	--exclude=./proc/* --exclude=./sys/* --exclude=./dev/* \
	-cf - . |
	docker import \
		--change "LABEL dev.boxauthz.recipe=$RECIPE dev.boxauthz.local-build=true" \
		--change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
		--message "debootstrap $SUITE minbase + postgresql-$PG_MAJOR (boxauthz local build)" \
		- "$TAG" >/dev/null
