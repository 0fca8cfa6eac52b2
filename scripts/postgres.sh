#!/usr/bin/env bash
# Install (Debian packages), start and prepare a local PostgreSQL + PostGIS for the test suite.
#
#   bash scripts/postgres.sh          install what is missing, start the test cluster, create the
#                                     test database with PostGIS; print its URL on stdout
#   bash scripts/postgres.sh --url    print the URL only if the test cluster is already running
#                                     (no install, no start); exit 1 otherwise
#   bash scripts/postgres.sh --stop   stop the test cluster
#
# The test cluster is its own PostgreSQL cluster ("coverage_map_test", port 54329, listening on
# 127.0.0.1 only, fsync off: it holds nothing worth keeping), so it never touches a "main" cluster.
# Its password is generated on first run and kept beside the cluster's configuration (mode 600);
# nothing is hard-coded. Idempotent: a second run only checks and prints the URL.
# Progress goes to stderr, so `url="$(bash scripts/postgres.sh)"` captures just the URL.
set -euo pipefail

CLUSTER="coverage_map_test"
PORT="${COVERAGE_MAP_PG_PORT:-54329}"
DATABASE="coverage_map_test"
ROLE="coverage_map"
mode="${1:-start}"

say() { echo "postgres.sh: $*" >&2; }
die() { say "$*"; exit 1; }

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
  as_postgres() { runuser -u postgres -- "$@"; }
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
  as_postgres() { sudo -n -u postgres -- "$@"; }
else
  [ "$mode" = "--url" ] || die "needs root or passwordless sudo to install and start PostgreSQL"
  SUDO=()
  as_postgres() { return 1; }
fi

pg_version() {
  # The newest server installed (Debian 12 ships 15).
  ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1
}

cluster_status() {
  # Prints "online", "down" or nothing when the cluster does not exist.
  pg_lsclusters -h 2>/dev/null | awk -v v="$1" -v c="$CLUSTER" '$1 == v && $2 == c { print $4 }' | cut -d, -f1
}

password_file() { echo "/etc/postgresql/$1/$CLUSTER/coverage_map_test.password"; }

print_url() {
  local password
  password="$("${SUDO[@]}" cat "$(password_file "$1")")"
  echo "postgresql://$ROLE:$password@127.0.0.1:$PORT/$DATABASE"
}

version="$(pg_version)"

case "$mode" in
  --url)
    [ -n "$version" ] || die "PostgreSQL is not installed; run: bash scripts/postgres.sh"
    [ "$(cluster_status "$version")" = "online" ] || die "the test cluster is not running; run: bash scripts/postgres.sh"
    print_url "$version"
    exit 0
    ;;
  --stop)
    [ -n "$version" ] && [ "$(cluster_status "$version")" = "online" ] && "${SUDO[@]}" pg_ctlcluster "$version" "$CLUSTER" stop
    exit 0
    ;;
  start) ;;
  *) die "unknown option '$mode' (use --url or --stop, or nothing)" ;;
esac

# --------------------------------------------------------------------------- install
apt_install() {
  say "installing $*"
  if [ -z "${APT_UPDATED:-}" ]; then
    "${SUDO[@]}" apt-get update -qq >&2
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$@" >&2
}

if [ -z "$version" ] || ! command -v pg_createcluster >/dev/null 2>&1; then
  apt_install postgresql
  version="$(pg_version)"
  [ -n "$version" ] || die "installing the 'postgresql' package did not install a server"
fi
if [ ! -f "/usr/share/postgresql/$version/extension/postgis.control" ]; then
  apt_install "postgresql-$version-postgis-3"
fi

# --------------------------------------------------------------------------- cluster
status="$(cluster_status "$version")"
if [ -z "$status" ]; then
  say "creating cluster $version/$CLUSTER on 127.0.0.1:$PORT"
  "${SUDO[@]}" pg_createcluster "$version" "$CLUSTER" --port "$PORT" --start-conf manual \
    -- --auth-local=peer --auth-host=scram-sha-256 >&2
  status="down"
fi
settings="/etc/postgresql/$version/$CLUSTER/conf.d/coverage_map_test.conf"
if ! "${SUDO[@]}" test -f "$settings"; then
  # Loopback only; a throwaway test database needs no crash safety, so trade it for speed.
  printf '%s\n' "listen_addresses = '127.0.0.1'" "fsync = off" "synchronous_commit = off" \
    "full_page_writes = off" | "${SUDO[@]}" tee "$settings" >/dev/null
fi
if [ "$status" != "online" ]; then
  say "starting cluster $version/$CLUSTER"
  # The socket directory lives on a tmpfs in many containers and vanishes on reboot.
  "${SUDO[@]}" install -d -o postgres -g postgres -m 2775 /var/run/postgresql
  "${SUDO[@]}" pg_ctlcluster "$version" "$CLUSTER" start >&2
fi
for _ in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p "$PORT" && break
  sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$PORT" || die "the test cluster did not accept connections on 127.0.0.1:$PORT"

# --------------------------------------------------------------------------- role, database, PostGIS
pwfile="$(password_file "$version")"
if ! "${SUDO[@]}" test -s "$pwfile"; then
  say "generating a password for role $ROLE"
  password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  (umask 077 && printf '%s' "$password" | "${SUDO[@]}" tee "$pwfile" >/dev/null)
  "${SUDO[@]}" chmod 600 "$pwfile"
fi
password="$("${SUDO[@]}" cat "$pwfile")"

psql_admin() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" "$@"; }
# Hex password: no quoting issues. The role may create schemas in its own database (tests use one each).
psql_admin -d postgres >&2 <<SQL
SET client_min_messages = warning;
SELECT format('CREATE ROLE %I LOGIN', '$ROLE') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE')
\\gexec
ALTER ROLE $ROLE LOGIN PASSWORD '$password';
SELECT format('CREATE DATABASE %I OWNER %I', '$DATABASE', '$ROLE')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DATABASE')
\\gexec
SQL
psql_admin -d "$DATABASE" -c "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS postgis" >&2

say "PostgreSQL $version + PostGIS ready on 127.0.0.1:$PORT (database $DATABASE, role $ROLE)"
print_url "$version"
