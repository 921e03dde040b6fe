#!/bin/sh
# First start: initdb as the official image does, then run the server in the foreground.
set -eu
# As the official image: each of these may come from a file its VAR_FILE names (compose secrets).
for var in POSTGRES_USER POSTGRES_PASSWORD POSTGRES_DB; do
  eval "file=\${${var}_FILE:-}"
  if [ -n "$file" ]; then eval "$var=\$(cat \"\$file\")"; export "$var"; fi
done
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
# As the official image: a password, or POSTGRES_HOST_AUTH_METHOD=trust (no password at all).
if [ "${POSTGRES_HOST_AUTH_METHOD:-}" != trust ]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set (or POSTGRES_HOST_AUTH_METHOD=trust)}"
fi
method=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
mkdir -p "$PGDATA" /var/run/postgresql
chown -R postgres:postgres "$PGDATA" /var/run/postgresql
chmod 0700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s' "${POSTGRES_PASSWORD:-}" > "$pwfile"
  chown postgres "$pwfile"
  if [ -n "${POSTGRES_PASSWORD:-}" ]; then pw="--pwfile=$pwfile"; else pw=; fi
  runuser -u postgres -- initdb -D "$PGDATA" -U "$POSTGRES_USER" $pw \
    --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host="$method" >/dev/null
  rm -f "$pwfile"
  echo "host all all all $method" >> "$PGDATA/pg_hba.conf"
  runuser -u postgres -- pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  if [ "$POSTGRES_DB" != "postgres" ]; then
    runuser -u postgres -- psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres \
      -c "CREATE DATABASE \"$POSTGRES_DB\"" >/dev/null
  fi
  runuser -u postgres -- pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
if [ "${1:-}" = "postgres" ]; then shift; fi
exec runuser -u postgres -- postgres -D "$PGDATA" -c listen_addresses='*' "$@"
