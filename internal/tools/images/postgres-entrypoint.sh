#!/bin/sh
# Entrypoint of boxauthz-local/postgres, PostgreSQL from Debian's packages,
# with the interface of the official postgres image that docker-compose.yml
# relies on:
#
# - `postgres [options]` (the default; a first argument starting with "-" is
#   taken as options to postgres) initialises $PGDATA on first start, as the
#   postgres user, with superuser $POSTGRES_USER (default postgres), password
#   $POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust) and a
#   database $POSTGRES_DB (default $POSTGRES_USER); extra initdb arguments
#   come from $POSTGRES_INITDB_ARGS. It listens on every address, port 5432,
#   with password (scram-sha-256) authentication over TCP and trust on the
#   local socket, so that `pg_isready` works as a health check.
# - anything else is run as given.
#
# Scripts in /docker-entrypoint-initdb.d are not supported.
set -eu

if [ "${1#-}" != "$1" ]; then
	set -- postgres "$@"
fi
if [ "$1" != postgres ]; then
	exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
	mkdir -p "$PGDATA" /var/run/postgresql
	chown postgres:postgres "$PGDATA" /var/run/postgresql
	chmod 700 "$PGDATA"
	chmod 2775 /var/run/postgresql
	exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	user="${POSTGRES_USER:-postgres}"
	db="${POSTGRES_DB:-$user}"
	auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
	if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
		echo "error: POSTGRES_PASSWORD is not set (or set POSTGRES_HOST_AUTH_METHOD=trust to allow connections without one)" >&2
		exit 1
	fi
	pwfile="$(mktemp)"
	printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
	# shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of arguments
	initdb -D "$PGDATA" --username="$user" --pwfile="$pwfile" \
		--auth-local=trust --auth-host="$auth" \
		--encoding=UTF8 --locale=C.UTF-8 ${POSTGRES_INITDB_ARGS:-} >/dev/null
	rm -f "$pwfile"
	printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
	printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
	if [ "$db" != postgres ]; then
		# Single-user mode: no server (and no port) before initialisation
		# is complete, so a health check cannot pass too early.
		quoted="$(printf '%s' "$db" | sed 's/"/""/g')"
		printf 'CREATE DATABASE "%s";\n' "$quoted" |
			postgres --single -D "$PGDATA" -j postgres >/dev/null
	fi
	echo "postgres: initialised $PGDATA (superuser $user, database $db)" >&2
fi

shift
exec postgres "$@"
