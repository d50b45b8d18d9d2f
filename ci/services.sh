#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis answer on 127.0.0.1:5432 and 127.0.0.1:6379, for the
# test suites that run against real services. Leaves running services alone; otherwise
# installs Debian's packages if needed and starts them as plain background processes
# (these machines have no systemd). Prints "postgres: ok" and "redis: ok", or one
# "services: ..." line on stderr and exits 1.
#
# Postgres is set up for tests, not for production: TCP connections from 127.0.0.1 are
# trusted, so `psql -h 127.0.0.1 -U postgres` needs no password.
set -euo pipefail

readonly PG_HOST=127.0.0.1 PG_PORT=5432 REDIS_HOST=127.0.0.1 REDIS_PORT=6379 WAIT_SECONDS=30
export DEBIAN_FRONTEND=noninteractive

die() { echo "services: $*" >&2; exit 1; }

apt_updated=""
apt_install() {
    if [ -z "$apt_updated" ]; then
        apt-get update -qq || die "apt-get update failed"
        apt_updated=1
    fi
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null || die "apt-get install $* failed"
}

# wait_for DESCRIPTION COMMAND...: polls COMMAND for up to WAIT_SECONDS.
wait_for() {
    local what=$1 i
    shift
    for ((i = 0; i < WAIT_SECONDS * 2; i++)); do
        "$@" && return 0
        sleep 0.5
    done
    die "$what did not answer within ${WAIT_SECONDS}s"
}

pg_answers() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" >/dev/null 2>&1; }
# -w: never prompt for a password (CI has no stdin); fail instead.
pg_login_works() { psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -w -Atqc 'select 1' >/dev/null 2>&1; }
# As the postgres OS user over the Unix socket: Debian's default "peer" rule lets it in
# whatever the TCP rules say.
pg_local_sql() { runuser -u postgres -- psql -p "$PG_PORT" -d postgres -w -Atqc "$1"; }

ensure_postgres() {
    if ! pg_answers; then
        if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! command -v pg_isready >/dev/null 2>&1; then
            apt_install postgresql
        fi
        # Installing the package creates and (where it can) starts a "main" cluster; a
        # machine set to create_main_cluster = false, or an image without it, has none.
        local ver
        # shellcheck disable=SC2012  # version directories: plain numbers
        ver=$(ls /etc/postgresql 2>/dev/null | head -1 || true)
        if [ -z "$ver" ] || [ ! -d "/etc/postgresql/$ver/main" ]; then
            # shellcheck disable=SC2012
            [ -n "$ver" ] || ver=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1 || true)
            [ -n "$ver" ] || die "postgres: no PostgreSQL server installed under /usr/lib/postgresql"
            pg_createcluster --port "$PG_PORT" "$ver" main >/dev/null || die "postgres: pg_createcluster $ver main failed"
        fi
        # Fails with "already running" if it is up but not on this address; the wait
        # below then reports it.
        pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
        wait_for "postgres on $PG_HOST:$PG_PORT" pg_answers
    fi

    if ! pg_login_works; then
        # Trust local TCP logins: put the rule first, since the first matching line wins.
        local hba
        hba=$(pg_local_sql 'show hba_file') || die "postgres: cannot connect as the postgres user over the Unix socket to configure auth"
        sed -i "1i host all all $PG_HOST/32 trust  # added by ci/services.sh for tests" "$hba"
        pg_local_sql 'select pg_reload_conf()' >/dev/null || die "postgres: could not reload the configuration"
        wait_for "postgres login as postgres from $PG_HOST" pg_login_works
    fi
    echo "postgres: ok"
}

redis_answers() { [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

ensure_redis() {
    if ! redis_answers; then
        if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
            apt_install redis-server
        fi
        # In-memory only: tests need no persistence, and nothing is written to disk.
        redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" --save "" --appendonly no \
            || die "redis: redis-server failed to start"
        wait_for "redis on $REDIS_HOST:$REDIS_PORT" redis_answers
    fi
    echo "redis: ok"
}

ensure_postgres
ensure_redis
