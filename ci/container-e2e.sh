#!/usr/bin/env bash
# Container end-to-end test: builds the real Dockerfile and runs the real docker-compose.yml
# (authd + Postgres + Redis), then exercises the stack through the published port.
#
#   bash ci/container-e2e.sh            (from the repo root; .ci/run calls it this way)
#
# 1. Installs docker.io, docker-compose and debootstrap if missing, and starts a private
#    dockerd (data, exec root and socket under $CONTAINER_E2E_WORK; DOCKER_HOST points at
#    it). A trap stops everything on every exit: `docker-compose down -v`, then dockerd.
# 2. With no image registry reachable, every FROM/image: is a local stand-in with the
#    official name, built once and cached in the work dir: debian:bookworm-slim
#    (debootstrap minbase + the host's CA certificates, since outbound TLS is re-signed
#    here), rust:<tag of the Dockerfile> (this machine's own toolchain), postgres:15 and
#    redis:7 (ci/images/). Each carries a key label and is rebuilt when its inputs change
#    or it no longer runs; a dead dockerd or leftover mounts from an interrupted run are
#    cleaned up, and a data root dockerd cannot start on is wiped once.
# 3. docker-compose build, up -d; waits for /readyz through the published port; creates a
#    user with the container's CLI (`authd user add --password-stdin`, the password on
#    stdin); ci/jwt_smoke.py --refresh logs in through the published port, verifies the
#    access token with PyJWT against the JWKS from discovery, refreshes, verifies the new
#    pair and checks that replaying the consumed refresh token is refused (and revokes the
#    family); `docker-compose stop` must stop authd by SIGTERM, not SIGKILL; down -v.
# 4. Only if the engine itself cannot run here (install fails, dockerd not ready within
#    60 s, or it cannot run a container) it prints
#      container-e2e: WARNING engine unavailable: <reason>; falling back to host run
#    and runs the same checks against `cargo build --release --locked` on the host, with
#    the compose file's (and Dockerfile's) AUTHD__* environment, on the host's Postgres
#    (127.0.0.1:5432, scratch database, created and dropped) and Redis (127.0.0.1:6379,
#    unique key prefix, keys deleted afterwards). A failed build or check in the engine
#    path fails (exit 1); it never falls back.
#
# Prints `container-e2e: ...` progress lines and finally `container-e2e: ok (...)`; on a
# failure, `container-e2e: FAIL ...` plus the relevant log tail, and exits 1.
#
# Environment:
#   CONTAINER_E2E_WORK=DIR       work dir kept across runs (default /tmp/authd-ctr): engine
#                                data (the cached images), logs, debootstrap rootfs
#   CONTAINER_E2E_FRESH=1        wipe the work dir first (a cold run)
#   CONTAINER_E2E_FORCE_HOST=1   skip the engine and run the host fallback (to test it)
#   CARGO_TARGET_DIR             where the host fallback builds (default: cargo's)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

W=${CONTAINER_E2E_WORK:-/tmp/authd-ctr}
case $W in /*) ;; *) W=$ROOT/$W ;; esac
ENGINE_WAIT_SECONDS=60
READY_WAIT_SECONDS=120
STOP_TIMEOUT_SECONDS=10
HEARTBEAT_SECONDS=60
E2E_USER=e2e-user
# Labels of the stand-in images: the inputs they were built from.
KEY_LABEL=org.authd.ci.standin-key
BUILDER_CACHE_TAG=authd-e2e-cache/builder:latest

export DEBIAN_FRONTEND=noninteractive
# Compose: a fixed project name (same containers/volumes whatever the checkout's dir is
# called), the classic builder for both docker-compose and the docker CLI, so they share
# one layer cache; `exec` shells out to the docker CLI, which forwards stdin.
export COMPOSE_PROJECT_NAME=authd-e2e
export COMPOSE_FILE=$ROOT/docker-compose.yml
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0
unset COMPOSE_INTERACTIVE_NO_CLI

T0=$SECONDS
log() { echo "container-e2e: $*"; }
die() { echo "container-e2e: FAIL $*" >&2; exit 1; }
elapsed() { echo "$((SECONDS - ${1:-$T0}))s"; }
tail_file() { # tail_file FILE [N]: the end of a log, indented, on stderr
    [ -s "$1" ] || return 0
    echo "--- last lines of $1:" >&2
    tail -n "${2:-40}" "$1" | sed 's/^/    /' >&2
}

mkdir -p "$W"
if [ "${CONTAINER_E2E_FRESH:-}" = 1 ]; then FRESH=1; else FRESH=""; fi

# One run at a time per work dir. Background daemons get `9>&-` so a leftover one never
# holds the lock.
exec 9>"$W/lock"
flock -n 9 || die "another container-e2e run holds $W/lock"

# A random password for the e2e user; it goes to the CLI on stdin and to the verifier in
# its environment, never on a command line.
PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=\n')
export JWT_SMOKE_PASSWORD=$PASSWORD

# ------------------------------------------------------------------------------------------
# Cleanup, for both paths
# ------------------------------------------------------------------------------------------
MODE=""            # engine | host
DOCKERD_PID=""
BG_PID=""          # a long step running in the background (build)
SERVER_PID=""      # host fallback: authd serve
HOST_TMP=""
HOST_DB=""
REDIS_PREFIX=""

stop_pid() { # stop_pid PID SECONDS: SIGTERM, wait up to SECONDS, then SIGKILL; reaps our children
    local pid=$1 secs=$2 i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < secs * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    set +e
    trap - INT TERM
    if [ -n "$BG_PID" ]; then stop_pid "$BG_PID" 5; fi
    if [ "$MODE" = engine ] && [ -n "$DOCKERD_PID" ]; then
        log "teardown: docker-compose down -v; stopping dockerd"
        timeout 120 docker-compose down -v --remove-orphans -t 5 >>"$W/compose.log" 2>&1
        stop_pid "$DOCKERD_PID" 30
    fi
    if [ "$MODE" = host ]; then
        [ -n "$SERVER_PID" ] && stop_pid "$SERVER_PID" 10
        if [ -n "$HOST_DB" ]; then
            psql -h 127.0.0.1 -U postgres -d postgres -w -q -v ON_ERROR_STOP=1 \
                -c "DROP DATABASE IF EXISTS \"$HOST_DB\" WITH (FORCE)" >/dev/null 2>&1 \
                || echo "container-e2e: warning: could not drop database $HOST_DB" >&2
        fi
        if [ -n "$REDIS_PREFIX" ]; then
            redis-cli -h 127.0.0.1 -p 6379 --scan --pattern "${REDIS_PREFIX}*" 2>/dev/null \
                | xargs -r redis-cli -h 127.0.0.1 -p 6379 del >/dev/null 2>&1
        fi
        [ -n "$HOST_TMP" ] && rm -rf "$HOST_TMP"
    fi
    if [ "$rc" -ne 0 ]; then
        echo "container-e2e: FAIL (exit $rc after $(elapsed); logs in $W)" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_logged LABEL LOG CMD...: runs CMD with all output in LOG, printing a progress line
# every HEARTBEAT_SECONDS; returns CMD's status.
run_logged() {
    local label=$1 logf=$2 t=$SECONDS next rc=0 last
    shift 2
    "$@" >"$logf" 2>&1 9>&- &
    BG_PID=$!
    next=$((SECONDS + HEARTBEAT_SECONDS))
    while kill -0 "$BG_PID" 2>/dev/null; do
        sleep 1
        if [ "$SECONDS" -ge "$next" ]; then
            # The last progress line (cargo's Compiling, the builder's Step), colours stripped.
            last=$(tr '\r' '\n' <"$logf" | sed 's/\x1b\[[0-9;]*[A-Za-z]//g' \
                | grep -E '^ *(Compiling|Step [0-9]|Building|Get:|I: )' | tail -n 1 | cut -c1-110 || true)
            log "  ... $label: $(elapsed "$t") so far; $last"
            next=$((SECONDS + HEARTBEAT_SECONDS))
        fi
    done
    wait "$BG_PID" || rc=$?
    BG_PID=""
    return "$rc"
}

# http_status URL: prints the HTTP status of a GET (000 when there is no answer).
http_status() {
    python3 - "$1" <<'EOF' 2>/dev/null || echo 000
import sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
        print(r.status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print("000")
EOF
}

ensure_pyjwt() {
    # The verifier's only dependency besides the standard library (as in ci/jwt-smoke.sh).
    if ! python3 -c 'import jwt, cryptography' >/dev/null 2>&1; then
        PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install -q 'pyjwt[crypto]' \
            || die "could not install pyjwt[crypto]"
    fi
}

# verify BASE ISSUER: token, JWKS verification, refresh and reuse checks (ci/jwt_smoke.py).
# On failure VERIFY_ERROR holds the verifier's reason.
VERIFY_ERROR=""
verify() {
    local out
    if out=$(python3 "$ROOT/ci/jwt_smoke.py" --base-url "$1" --issuer "$2" \
        --username "$E2E_USER" --alg ES256 --refresh 2>&1); then
        log "verified: $out"
    else
        printf '%s\n' "$out" >&2
        VERIFY_ERROR=$(printf '%s\n' "$out" | tail -n 1)
        return 1
    fi
}

# ------------------------------------------------------------------------------------------
# Host fallback
# ------------------------------------------------------------------------------------------

# The AUTHD__* environment the compose file's authd service runs with: the Dockerfile's
# final-stage ENV, then the service's `environment:` (which wins), one KEY=VALUE a line.
compose_authd_env() {
    if ! python3 -c 'import yaml' >/dev/null 2>&1; then
        PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install -q pyyaml \
            || die "could not install pyyaml (to read docker-compose.yml)"
    fi
    python3 - "$ROOT/Dockerfile" "$ROOT/docker-compose.yml" <<'EOF'
import re, shlex, sys, yaml

env = {}
# Dockerfile: ENV lines after the last FROM (line continuations joined).
text = re.sub(r"\\\n", " ", open(sys.argv[1]).read())
stage = []
for line in text.splitlines():
    word = line.strip().split(None, 1)
    if not word or word[0].startswith("#"):
        continue
    if word[0].upper() == "FROM":
        stage = []
    elif word[0].upper() == "ENV" and len(word) == 2:
        stage.append(word[1])
for args in stage:
    parts = shlex.split(args)
    if parts and "=" not in parts[0]:  # legacy form: ENV KEY value
        env[parts[0]] = " ".join(parts[1:])
    else:
        for p in parts:
            k, _, v = p.partition("=")
            env[k] = v

compose = yaml.safe_load(open(sys.argv[2]))
service_env = compose["services"]["authd"].get("environment") or {}
if isinstance(service_env, list):
    service_env = dict(e.split("=", 1) if "=" in e else (e, "") for e in service_env)
for k, v in service_env.items():
    env[k] = "" if v is None else str(v)
for k, v in env.items():
    if k.startswith("AUTHD__"):
        print(f"{k}={v}")
EOF
}

# The host port the compose file publishes authd's 8080 on (18080).
compose_published_port() {
    python3 - "$ROOT/docker-compose.yml" <<'EOF'
import sys, yaml
for p in yaml.safe_load(open(sys.argv[1]))["services"]["authd"].get("ports") or []:
    parts = str(p).split(":")
    if parts[-1].split("/")[0] == "8080" and len(parts) >= 2:
        print(parts[-2])
        break
EOF
}

# port_free PORT: nothing listens on 127.0.0.1:PORT (SO_REUSEADDR, as servers bind, so
# TIME_WAIT leftovers of an earlier run do not count).
port_free() {
    python3 -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" >/dev/null 2>&1
}

host_run() {
    local reason=$1 t target bin port line key value issuer_override ready="" i code t_stop
    MODE=host
    echo "container-e2e: WARNING engine unavailable: $reason; falling back to host run" >&2
    log "WARNING: the Dockerfile and docker-compose.yml are NOT exercised by this run"
    ensure_pyjwt
    # Only the compose file's environment applies, not the caller's.
    while read -r key; do unset "$key"; done < <(compgen -e | grep '^AUTHD__' || true)

    log "host: PostgreSQL and Redis on 127.0.0.1 (ci/services.sh)"
    bash "$ROOT/ci/services.sh" 9>&- | sed 's/^/container-e2e:   /'

    t=$SECONDS
    log "host: cargo build --release --locked (log: $W/host-build.log)"
    if ! run_logged "cargo build --release" "$W/host-build.log" cargo build --release --locked; then
        tail_file "$W/host-build.log" 60
        die "host: cargo build --release --locked failed"
    fi
    target=$(cargo metadata --format-version 1 --no-deps --locked \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    bin=$target/release/authd
    [ -x "$bin" ] || die "host: no binary at $bin after the build"
    local build_time=$((SECONDS - t))
    log "host: built $bin in ${build_time}s"

    HOST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/authd-e2e-host.XXXXXX")
    # The image's WORKDIR: relative defaults (keys/) resolve here; keys/ is 0700 like the
    # image's directory.
    mkdir -p "$HOST_TMP/work"
    mkdir -m 0700 "$HOST_TMP/work/keys"

    HOST_DB=authd_e2e_$$_$RANDOM
    psql -h 127.0.0.1 -U postgres -d postgres -w -q -v ON_ERROR_STOP=1 \
        -c "CREATE DATABASE \"$HOST_DB\"" >/dev/null || { HOST_DB=""; die "host: could not create a scratch database"; }
    REDIS_PREFIX="authd-e2e-$$-$RANDOM:"

    port=$(compose_published_port)
    [ -n "$port" ] || port=18080
    issuer_override=""
    if ! port_free "$port"; then
        port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        issuer_override=http://localhost:$port
        log "host: the published port is busy; using $port"
    fi

    # The service's environment, with the container-network addresses replaced by the
    # host's services.
    while IFS= read -r line; do
        key=${line%%=*}
        value=${line#*=}
        case $key in
            AUTHD__DATABASE__URL) value=postgres://postgres@127.0.0.1:5432/$HOST_DB ;;
            AUTHD__REDIS__URL) value=redis://127.0.0.1:6379 ;;
            AUTHD__SERVER__BIND) value=127.0.0.1:$port ;;
            AUTHD__SERVER__ISSUER) [ -z "$issuer_override" ] || value=$issuer_override ;;
        esac
        export "$key=$value"
    done < <(compose_authd_env)
    [ -n "${AUTHD__SERVER__BIND:-}" ] || export AUTHD__SERVER__BIND=127.0.0.1:$port
    export AUTHD__REDIS__KEY_PREFIX=$REDIS_PREFIX
    local issuer=${AUTHD__SERVER__ISSUER:-http://localhost:8080}
    local base=http://127.0.0.1:$port
    log "host: environment: $(compgen -e | grep '^AUTHD__' | sort | while read -r k; do printf '%s=%s ' "$k" "${!k}"; done)"

    cd "$HOST_TMP/work"
    "$bin" serve >"$HOST_TMP/server.log" 2>&1 9>&- &
    SERVER_PID=$!
    log "host: authd serve started; waiting for $base/readyz"
    for ((i = 0; i < READY_WAIT_SECONDS * 2; i++)); do
        kill -0 "$SERVER_PID" 2>/dev/null || { tail_file "$HOST_TMP/server.log"; die "host: authd serve exited"; }
        [ "$(http_status "$base/readyz")" = 200 ] && { ready=1; break; }
        sleep 0.5
    done
    [ -n "$ready" ] || { tail_file "$HOST_TMP/server.log"; die "host: /readyz not 200 within ${READY_WAIT_SECONDS}s"; }
    code=$(http_status "$base/healthz")
    [ "$code" = 200 ] || die "host: /healthz answered $code"
    log "host: /readyz and /healthz answer 200"

    printf '%s\n' "$PASSWORD" | "$bin" user add "$E2E_USER" --password-stdin >"$HOST_TMP/user-add.log" 2>&1 \
        || { tail_file "$HOST_TMP/user-add.log"; die "host: authd user add failed"; }
    log "host: created user $E2E_USER with authd user add --password-stdin"

    verify "$base" "$issuer" || { tail_file "$HOST_TMP/server.log"; die "host: token checks failed: $VERIFY_ERROR"; }

    t_stop=$SECONDS
    kill -TERM "$SERVER_PID"
    for ((i = 0; i < STOP_TIMEOUT_SECONDS * 10; i++)); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        tail_file "$HOST_TMP/server.log"
        die "host: authd did not stop within ${STOP_TIMEOUT_SECONDS}s of SIGTERM"
    fi
    wait "$SERVER_PID" || true
    SERVER_PID=""
    log "host: authd stopped on SIGTERM in $(elapsed "$t_stop")"
    cd "$ROOT"

    log "ok (HOST FALLBACK, engine unavailable: $reason; build ${build_time}s, total $(elapsed); user add, /readyz, token verified against the JWKS with PyJWT, refresh, reuse refused, SIGTERM stop)"
    exit 0
}

# ------------------------------------------------------------------------------------------
# Engine
# ------------------------------------------------------------------------------------------

# Unmounts anything left mounted under DIR (an interrupted dockerd or debootstrap).
unmount_under() {
    findmnt -rn -o TARGET | awk -v d="$1/" 'index($0, d) == 1' | sort -r \
        | while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

# Stops what an earlier, interrupted run of this script left behind in the work dir: its
# dockerd (and containerd shims), identified by their command lines naming this work dir.
# We hold the lock, so no live run owns them.
clean_stale_engine() {
    local pid cmd
    if [ -f "$W/dockerd.pid" ]; then
        pid=$(cat "$W/dockerd.pid" 2>/dev/null || true)
        if [ -n "$pid" ] && cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") \
            && [[ $cmd == *dockerd*"--data-root $W/data"* ]]; then
            log "stopping dockerd $pid left over from an interrupted run"
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$W/dockerd.pid"
    fi
    # If dockerd died hard: its containerd and shims (their command lines name our exec
    # root), the containers under them, and docker-proxy processes orphaned on our port.
    local leftovers=() port d ppid
    port=$(compose_published_port 2>/dev/null || true)
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        cmd=$(tr '\0' ' ' 2>/dev/null <"$d/cmdline") || continue
        if [[ $cmd == *"$W/exec/"* ]]; then
            leftovers+=("$pid")
        elif [[ -n $port && $cmd == *docker-proxy*"-host-port $port "* ]]; then
            ppid=$(awk '{print $4}' "$d/stat" 2>/dev/null || true)
            [ "$ppid" != 1 ] || leftovers+=("$pid")
        fi
    done
    if [ "${#leftovers[@]}" -gt 0 ]; then
        # Collect the whole process trees, then kill them all at once.
        local all=("${leftovers[@]}") i=0 child
        while [ "$i" -lt "${#all[@]}" ]; do
            for child in $(ps -o pid= --ppid "${all[$i]}" 2>/dev/null); do all+=("$child"); done
            i=$((i + 1))
        done
        log "stopping ${#all[@]} process(es) left over from an interrupted run: ${all[*]}"
        kill -KILL "${all[@]}" 2>/dev/null || true
        sleep 1
    fi
    unmount_under "$W"
    rm -rf "$W/exec" "$W/docker.sock"
}

engine_info_ok() { timeout 10 docker info >/dev/null 2>&1; }

# Starts dockerd; returns 1 (with ENGINE_REASON) if it is not ready in time.
start_dockerd() {
    local i
    clean_stale_engine
    mkdir -p "$W/data" "$W/exec"
    dockerd --data-root "$W/data" --exec-root "$W/exec" -H "$DOCKER_HOST" \
        --pidfile "$W/dockerd.pid" >"$W/dockerd.log" 2>&1 9>&- &
    DOCKERD_PID=$!
    for ((i = 0; i < ENGINE_WAIT_SECONDS; i++)); do
        if ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
            wait "$DOCKERD_PID" 2>/dev/null || true
            DOCKERD_PID=""
            ENGINE_REASON="dockerd exited: $(grep -iE 'level=(fatal|error)|failed' "$W/dockerd.log" | tail -n 1 | cut -c1-300)"
            return 1
        fi
        engine_info_ok && return 0
        sleep 1
    done
    ENGINE_REASON="dockerd not ready within ${ENGINE_WAIT_SECONDS}s"
    stop_pid "$DOCKERD_PID" 20
    DOCKERD_PID=""
    return 1
}

image_key() { docker image inspect -f "{{index .Config.Labels \"$KEY_LABEL\"}}" "$1" 2>/dev/null || true; }
image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }

# Runs a throwaway container of IMAGE (default network): proves the engine can run containers.
probe_run() { timeout 120 docker run --rm "$@" >/dev/null 2>>"$W/probe.log"; }

build_base_image() {
    local mirror
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
    unmount_under "$W/rootfs"
    rm -rf "$W/rootfs"
    if ! run_logged debootstrap "$W/debootstrap.log" debootstrap --variant=minbase bookworm "$W/rootfs" "$mirror"; then
        tail_file "$W/debootstrap.log"
        die "debootstrap of bookworm from $mirror failed"
    fi
    unmount_under "$W/rootfs"
    rm -rf "$W"/rootfs/var/cache/apt/archives/*.deb "$W"/rootfs/var/lib/apt/lists/*
    # Outbound TLS is re-signed by a local CA here: the image must trust what the host trusts.
    mkdir -p "$W/rootfs/usr/local/share/ca-certificates" "$W/rootfs/etc/ssl/certs"
    cp /usr/local/share/ca-certificates/*.crt "$W/rootfs/usr/local/share/ca-certificates/" 2>/dev/null || true
    cp /etc/ssl/certs/ca-certificates.crt "$W/rootfs/etc/ssl/certs/"
    tar -C "$W/rootfs" -c . | docker import --change 'CMD ["bash"]' \
        --change "LABEL $KEY_LABEL=$1" - debian:bookworm-slim >/dev/null \
        || die "docker import of the debootstrap rootfs failed"
    rm -rf "$W/rootfs"
}

build_rust_image() { # build_rust_image TAG KEY
    docker rm -f authd-e2e-rust-tmp >/dev/null 2>&1 || true
    # Like the official rust:*-slim images: gcc, libc6-dev, ca-certificates; the toolchain
    # is this machine's, under /usr/local/rust.
    if ! run_logged "rust stand-in" "$W/rust-image.log" docker run --name authd-e2e-rust-tmp \
        -v "$(rustc --print sysroot)":/opt/host-rust:ro debian:bookworm-slim sh -c '
            set -e
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                gcc libc6-dev ca-certificates >/dev/null
            rm -rf /var/lib/apt/lists/*
            mkdir -p /usr/local/rust /usr/local/cargo
            cp -a /opt/host-rust/bin /opt/host-rust/lib /usr/local/rust/'; then
        tail_file "$W/rust-image.log"
        die "building the $1 stand-in failed"
    fi
    docker commit --change 'ENV CARGO_HOME=/usr/local/cargo' \
        --change 'ENV PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change "LABEL $KEY_LABEL=$2" --change 'CMD ["bash"]' \
        authd-e2e-rust-tmp "$1" >/dev/null || die "docker commit of the $1 stand-in failed"
    docker rm authd-e2e-rust-tmp >/dev/null
}

dir_hash() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16; }

# ensure_standins: every image the Dockerfile and compose file name, as a local stand-in.
# Falls back to the host run only if the engine cannot run a container at all.
ensure_standins() {
    local key rust_tag rust_key rust_ver host_ver name t

    # debian:bookworm-slim
    t=$SECONDS
    key="bookworm-minbase-$(cat /etc/ssl/certs/ca-certificates.crt /usr/local/share/ca-certificates/*.crt 2>/dev/null | sha256sum | cut -c1-16)"
    if [ "$(image_key debian:bookworm-slim)" != "$key" ]; then
        log "building debian:bookworm-slim (debootstrap minbase + host CA certificates)"
        docker rmi -f debian:bookworm-slim >/dev/null 2>&1 || true
        build_base_image "$key"
        log "built debian:bookworm-slim in $(elapsed "$t")"
    fi
    if ! probe_run debian:bookworm-slim true; then
        log "debian:bookworm-slim does not run; rebuilding it"
        docker rmi -f debian:bookworm-slim >/dev/null 2>&1 || true
        build_base_image "$key"
        if ! probe_run debian:bookworm-slim true; then
            engine_fallback "the engine cannot run a container: $(tail -n 1 "$W/probe.log" | cut -c1-200)"
        fi
    fi
    log "engine runs containers (debian:bookworm-slim)"

    # rust:<tag> from the Dockerfile's builder stage, with this machine's toolchain.
    rust_tag=$(awk 'toupper($1) == "FROM" && $2 ~ /^rust:/ {print $2; exit}' Dockerfile)
    if [ -n "$rust_tag" ]; then
        command -v rustc >/dev/null 2>&1 || die "rustc is needed to build the $rust_tag stand-in"
        host_ver=$(rustc --version | awk '{print $2}')
        rust_ver=${rust_tag#rust:}
        rust_ver=${rust_ver%%-*}
        case $host_ver in
            "$rust_ver" | "$rust_ver".*) ;;
            *) echo "container-e2e: warning: $rust_tag is stood in for by this machine's rustc $host_ver" >&2 ;;
        esac
        rust_key="$(rustc -vV | sha256sum | cut -c1-16)-$(image_id debian:bookworm-slim | cut -c8-23)"
        if [ "$(image_key "$rust_tag")" != "$rust_key" ] || ! probe_run --network none "$rust_tag" cargo --version; then
            t=$SECONDS
            log "building $rust_tag (this machine's rustc $host_ver + gcc, libc6-dev)"
            docker rmi -f "$rust_tag" >/dev/null 2>&1 || true
            build_rust_image "$rust_tag" "$rust_key"
            probe_run --network none "$rust_tag" cargo --version || die "the new $rust_tag stand-in does not run cargo"
            log "built $rust_tag in $(elapsed "$t")"
        fi
    fi

    # postgres:15 and redis:7 from ci/images/<name>.
    for name in postgres:15 redis:7; do
        key="$(dir_hash "ci/images/${name%%:*}")-$(image_id debian:bookworm-slim | cut -c8-23)"
        if [ "$(image_key "$name")" != "$key" ]; then
            t=$SECONDS
            log "building $name from ci/images/${name%%:*}"
            docker rmi -f "$name" >/dev/null 2>&1 || true
            if ! docker build -q --label "$KEY_LABEL=$key" -t "$name" "ci/images/${name%%:*}" >"$W/image-${name%%:*}.log" 2>&1; then
                tail_file "$W/image-${name%%:*}.log"
                die "building the $name stand-in failed"
            fi
            log "built $name in $(elapsed "$t")"
        fi
    done
}

# engine_fallback REASON: dockerd runs but cannot run containers: stop it, run on the host.
engine_fallback() {
    tail_file "$W/probe.log" 10
    if [ -n "$DOCKERD_PID" ]; then stop_pid "$DOCKERD_PID" 30; fi
    DOCKERD_PID=""
    host_run "$1"
}

install_engine_packages() {
    local need=()
    command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
    command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
    command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
    [ "${#need[@]}" -gt 0 ] || return 0
    log "installing ${need[*]} (apt-get)"
    if ! apt-get update -qq >"$W/apt.log" 2>&1 \
        || ! apt-get install -y -qq --no-install-recommends "${need[@]}" >>"$W/apt.log" 2>&1; then
        tail_file "$W/apt.log" 15
        ENGINE_REASON="apt-get install ${need[*]} failed"
        return 1
    fi
    command -v docker >/dev/null 2>&1 || { ENGINE_REASON="no docker CLI after installing docker.io"; return 1; }
}

# container_of SERVICE: the container id of a compose service.
container_of() { docker-compose ps -q "$1" 2>/dev/null | head -n 1; }

compose_logs() { docker-compose logs --no-color --tail=60 >&2 2>&1 || true; }

engine_run() {
    local t t_build t_up cid hostport base issuer i ready="" code state exit_code t_stop
    MODE=engine
    ensure_pyjwt
    docker container prune -f >/dev/null 2>&1 || true

    ensure_standins

    log "docker-compose config -q"
    docker-compose config -q || die "docker-compose config rejects docker-compose.yml"
    # A stack left by an interrupted run would hold the port and the volumes.
    timeout 180 docker-compose down -v --remove-orphans -t 5 >"$W/compose.log" 2>&1 || true

    # The builder stage is built (and tagged) first, with the same context and builder as
    # docker-compose, which then reuses it from the cache: the tag keeps the dependency
    # layer alive when dangling images of earlier runs are pruned below.
    t_build=$SECONDS
    log "building the authd image: builder stage (log: $W/build.log)"
    if ! run_logged "docker build" "$W/build.log" docker build --target builder -t "$BUILDER_CACHE_TAG" .; then
        tail_file "$W/build.log" 60
        die "docker build (builder stage) failed"
    fi
    log "builder stage done in $(elapsed "$t_build"); docker-compose build"
    if ! run_logged "docker-compose build" "$W/compose-build.log" docker-compose build; then
        tail_file "$W/compose-build.log" 60
        die "docker-compose build failed"
    fi
    log "image built in $(elapsed "$t_build")"

    t_up=$SECONDS
    log "docker-compose up -d"
    if ! timeout 300 docker-compose up -d >>"$W/compose.log" 2>&1; then
        tail_file "$W/compose.log"
        compose_logs
        die "docker-compose up -d failed"
    fi
    cid=$(container_of authd)
    [ -n "$cid" ] || { compose_logs; die "no authd container after up -d"; }
    hostport=$(docker-compose port authd 8080 2>/dev/null | tail -n 1)
    [ -n "$hostport" ] || die "authd's port 8080 is not published"
    base=http://$hostport
    issuer=$(docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$cid" | sed -n 's/^AUTHD__SERVER__ISSUER=//p')
    [ -n "$issuer" ] || issuer=http://localhost:8080
    log "waiting for $base/readyz (published port; issuer $issuer)"
    for ((i = 0; i < READY_WAIT_SECONDS; i++)); do
        state=$(docker inspect -f '{{.State.Status}}' "$cid" 2>/dev/null || echo gone)
        if [ "$state" != running ]; then
            compose_logs
            die "the authd container is $state"
        fi
        [ "$(http_status "$base/readyz")" = 200 ] && { ready=1; break; }
        sleep 1
    done
    [ -n "$ready" ] || { compose_logs; die "$base/readyz not 200 within ${READY_WAIT_SECONDS}s"; }
    code=$(http_status "$base/healthz")
    [ "$code" = 200 ] || die "$base/healthz answered $code"
    log "stack up in $(elapsed "$t_up"): /readyz and /healthz answer 200 through $hostport"

    # The password goes in on stdin (exec -T forwards it), never on the command line.
    if ! printf '%s\n' "$PASSWORD" | timeout 60 docker-compose exec -T authd authd user add "$E2E_USER" --password-stdin \
        >"$W/user-add.log" 2>&1; then
        tail_file "$W/user-add.log"
        die "docker-compose exec authd authd user add failed"
    fi
    log "created user $E2E_USER with docker-compose exec -T authd authd user add --password-stdin"

    verify "$base" "$issuer" || { compose_logs; die "token checks through $base failed: $VERIFY_ERROR"; }

    t_stop=$SECONDS
    timeout 120 docker-compose stop -t "$STOP_TIMEOUT_SECONDS" authd >>"$W/compose.log" 2>&1 || die "docker-compose stop authd failed"
    exit_code=$(docker inspect -f '{{.State.ExitCode}}' "$cid")
    if [ "$exit_code" = 137 ]; then
        compose_logs
        die "authd ignored SIGTERM: killed after ${STOP_TIMEOUT_SECONDS}s (exit 137)"
    fi
    log "authd stopped on SIGTERM in $(elapsed "$t_stop") (exit code $exit_code)"

    log "docker-compose down -v"
    timeout 180 docker-compose down -v --remove-orphans -t 5 >>"$W/compose.log" 2>&1 || die "docker-compose down -v failed"
    [ -z "$(docker-compose ps -q 2>/dev/null)" ] || die "containers left after down -v"
    # Old images of earlier runs (stand-ins and builder stages are tagged, so they stay).
    docker image prune -f >/dev/null 2>&1 || true

    local versions
    versions="dockerd $(docker version -f '{{.Server.Version}}' 2>/dev/null), docker-compose $(docker-compose version --short 2>/dev/null)"
    log "stopping dockerd"
    stop_pid "$DOCKERD_PID" 30
    DOCKERD_PID=""
    log "ok (engine: $versions; image build $((t_up - t_build))s, total $(elapsed); user add via exec, /readyz, token verified against the JWKS with PyJWT, refresh, reuse refused, SIGTERM stop, down -v)"
}

# ------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------
if [ "${CONTAINER_E2E_FORCE_HOST:-}" = 1 ]; then
    host_run "CONTAINER_E2E_FORCE_HOST=1 (engine skipped on request)"
fi

ENGINE_REASON=""
install_engine_packages || host_run "$ENGINE_REASON"

export DOCKER_HOST=unix://$W/docker.sock
if [ -n "$FRESH" ]; then
    log "CONTAINER_E2E_FRESH=1: wiping $W"
    clean_stale_engine
    rm -rf "$W/data" "$W/rootfs"
fi
log "starting a private dockerd (data and socket under $W)"
if ! start_dockerd; then
    if [ -d "$W/data" ] && [ -n "$(ls -A "$W/data" 2>/dev/null)" ]; then
        tail_file "$W/dockerd.log" 10
        log "dockerd failed to start ($ENGINE_REASON); wiping its data root and retrying once"
        unmount_under "$W"
        rm -rf "$W/data"
        start_dockerd || { tail_file "$W/dockerd.log" 20; host_run "$ENGINE_REASON"; }
    else
        tail_file "$W/dockerd.log" 20
        host_run "$ENGINE_REASON"
    fi
fi
MODE=engine
log "dockerd $(docker version -f '{{.Server.Version}}' 2>/dev/null) ready ($(elapsed))"

engine_run
