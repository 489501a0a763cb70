#!/usr/bin/env bash
# A throwaway PostgreSQL server for the pgstore tests and benchmarks.
#
#   eval "$(scripts/postgres.sh start)"   # a new cluster in a new temp dir; exports
#                                         # WEBIDENTITY_TEST_POSTGRES (the DSN) and WEBIDENTITY_PG_DIR
#   scripts/postgres.sh stop  [DIR]       # stop the server and delete DIR
#   scripts/postgres.sh halt  DIR         # stop the server, keep DIR (pg_ctl stop -m fast)
#   scripts/postgres.sh start DIR         # start the cluster in DIR again, on the same port
#
# DIR defaults to $WEBIDENTITY_PG_DIR. The server listens on 127.0.0.1 only, on a free port, with
# its unix socket inside DIR; authentication is "trust" (a test cluster, loopback only). The DSN
# names the database "webidentity" as the superuser "postgres".
#
# initdb and postgres refuse to run as root: as root, the cluster belongs to the "postgres" system
# user (created by Debian's postgresql package), or to $WEBIDENTITY_PG_USER. The binaries are
# found in $PG_BINDIR, else on PATH, else in the newest /usr/lib/postgresql/*/bin (Debian).
set -euo pipefail

die() { echo "postgres.sh: $*" >&2; exit 1; }

bindir() {
  if [ -n "${PG_BINDIR:-}" ]; then echo "$PG_BINDIR"; return; fi
  if command -v initdb >/dev/null 2>&1; then dirname "$(readlink -f "$(command -v initdb)")"; return; fi
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  [ -n "$d" ] && [ -x "$d/initdb" ] || die "no initdb: install PostgreSQL (Debian: apt-get install postgresql) or set PG_BINDIR"
  echo "$d"
}

BIN="$(bindir)"
for b in initdb pg_ctl postgres psql; do
  [ -x "$BIN/$b" ] || die "no $b in $BIN: install PostgreSQL (Debian: apt-get install postgresql) or set PG_BINDIR"
done

# as_owner runs a command as the cluster's owner: ourselves, or (as root) the postgres user.
OWNER=""
if [ "$(id -u)" = 0 ]; then
  OWNER="${WEBIDENTITY_PG_USER:-postgres}"
  id -u "$OWNER" >/dev/null 2>&1 || die "running as root and there is no user $OWNER to own the cluster (initdb refuses root): create one or set WEBIDENTITY_PG_USER"
fi
as_owner() {
  if [ -n "$OWNER" ]; then
    if command -v runuser >/dev/null 2>&1; then runuser -u "$OWNER" -- "$@"
    else su -s /bin/sh "$OWNER" -c "$(printf '%q ' "$@")"; fi
  else
    "$@"
  fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

dsn() { echo "postgres://postgres@127.0.0.1:$(cat "$1/port")/webidentity?sslmode=disable"; }

# launch starts the cluster in $1 on port $2; it fails if the port cannot be bound.
launch() {
  as_owner "$BIN/pg_ctl" -D "$1/data" -l "$1/log" -w -t 60 -s \
    -o "-c listen_addresses=127.0.0.1 -c port=$2 -c unix_socket_directories=$1/sock -c max_connections=300" start >/dev/null
}

start() {
  local dir="${1:-}" fresh=0 port
  if [ -z "$dir" ]; then
    dir="$(mktemp -d "${TMPDIR:-/tmp}/webidentity-pg.XXXXXX")"
    fresh=1
  elif [ ! -f "$dir/port" ]; then
    mkdir -p "$dir"
    fresh=1
  fi
  if [ "$fresh" = 1 ]; then
    mkdir -p "$dir/sock"
    chmod 0755 "$dir"
    [ -z "$OWNER" ] || chown -R "$OWNER" "$dir"
    as_owner "$BIN/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; die "initdb failed"; }
    local tries=0
    while :; do
      tries=$((tries + 1))
      port=$((20000 + RANDOM % 40000))
      if port_in_use "$port"; then continue; fi
      if launch "$dir" "$port"; then break; fi
      [ "$tries" -lt 20 ] || { cat "$dir/log" >&2; rm -rf "$dir"; die "could not start postgres"; }
    done
    echo "$port" >"$dir/port"
    "$BIN/psql" -X -q -h "$dir/sock" -p "$port" -U postgres -d postgres -c 'CREATE DATABASE webidentity' >/dev/null \
      || { halt "$dir"; die "CREATE DATABASE failed (the cluster is left in $dir)"; }
  else
    launch "$dir" "$(cat "$dir/port")" || { tail -n 20 "$dir/log" >&2; die "could not start postgres in $dir"; }
  fi
  printf "export WEBIDENTITY_TEST_POSTGRES='%s'\nexport WEBIDENTITY_PG_DIR='%s'\n" "$(dsn "$dir")" "$dir"
}

halt() {
  local dir="${1:-}"
  [ -n "$dir" ] || die "halt: which cluster? (give DIR or set WEBIDENTITY_PG_DIR)"
  [ -d "$dir/data" ] || die "$dir holds no cluster"
  as_owner "$BIN/pg_ctl" -D "$dir/data" -m fast -w -s stop >/dev/null 2>&1 || true
}

stop() {
  local dir="${1:-${WEBIDENTITY_PG_DIR:-}}"
  [ -n "$dir" ] || die "stop: which cluster? (give DIR or set WEBIDENTITY_PG_DIR)"
  [ -d "$dir" ] || return 0
  [ ! -d "$dir/data" ] || halt "$dir"
  rm -rf "$dir"
}

case "${1:-}" in
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  halt) halt "${2:-${WEBIDENTITY_PG_DIR:-}}" ;;
  *) die "usage: $0 start [DIR] | stop [DIR] | halt DIR" ;;
esac
