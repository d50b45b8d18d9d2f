#!/usr/bin/env bash
# End-to-end check of authd's access tokens with an independent JWT library (PyJWT).
#
#   ci/jwt-smoke.sh [PATH-TO-AUTHD]      (default: target/debug/authd in the repo)
#
# In a fresh temp directory (SQLite database and keys there, nothing else touched):
# `authd migrate`, `authd user add smoke --password-stdin`, then `authd serve` on a free
# loopback port; once /healthz answers, ci/jwt_smoke.py verifies a token the way a
# resource server would. Then `authd keys rotate --alg RS256 --now` switches the running
# server to an RSA key, and an RS256 token is verified the same way, with the ES256 key
# still published. Prints `jwt-smoke: ok alg=... kid=...` twice; on failure, the reason and the
# end of the server log, and exits 1. The server is stopped and the directory removed
# on every exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
USERNAME=smoke
PASSWORD='correct horse battery staple'
HEALTH_WAIT_SECONDS=30

die() { echo "jwt-smoke: FAIL $*" >&2; exit 1; }

# An explicit path is taken relative to the caller's directory, the default relative to
# the repo; either way made absolute, since everything below runs in the temp directory.
BIN=${1:-$ROOT/target/debug/authd}
[ -f "$BIN" ] && [ -x "$BIN" ] || die "no executable authd binary at $BIN (build it first)"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

# The verifier's only dependency besides the standard library. `python3 -m pip` installs
# into the interpreter that will run the script.
if ! python3 -c 'import jwt, cryptography' >/dev/null 2>&1; then
    PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install -q 'pyjwt[crypto]' \
        || die "could not install pyjwt[crypto]"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/authd-jwt-smoke.XXXXXX")
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        # authd shuts down on SIGTERM; don't hang here if it does not.
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM   # run the EXIT trap on interruption too

# Let the kernel pick a free loopback port. (Released before authd binds it: a small
# race, harmless on a CI machine.)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT

# Absolute paths, so the relative defaults (data/, keys/) never apply. The keys
# directory must be 0700 and owned by the user running authd.
export AUTHD__DATABASE__URL=sqlite://$TMP/authd.db
export AUTHD__KEYS__DIR=$TMP/keys
export AUTHD__SERVER__BIND=127.0.0.1:$PORT
export AUTHD__SERVER__ISSUER=$BASE
# Pick up the CLI's key rotation within a second.
export AUTHD__KEYS__REFRESH_INTERVAL=1s
export AUTHD__KEYS__PREPUBLISH=2s
mkdir -m 0700 "$AUTHD__KEYS__DIR"
cd "$TMP"

"$BIN" migrate >"$TMP/migrate.log" 2>&1 || { cat "$TMP/migrate.log" >&2; die "authd migrate failed"; }
printf '%s\n' "$PASSWORD" | "$BIN" user add "$USERNAME" --password-stdin >"$TMP/user-add.log" 2>&1 \
    || { cat "$TMP/user-add.log" >&2; die "authd user add failed"; }

"$BIN" serve >"$TMP/server.log" 2>&1 &
SERVER_PID=$!

server_log_tail() { echo "--- last lines of the authd serve log:" >&2; tail -n 40 "$TMP/server.log" >&2 || true; }

healthy() { python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$BASE/healthz" >/dev/null 2>&1; }
ready=""
for _ in $(seq $((HEALTH_WAIT_SECONDS * 2))); do
    kill -0 "$SERVER_PID" 2>/dev/null || { server_log_tail; die "authd serve exited before answering /healthz"; }
    if healthy; then ready=1; break; fi
    sleep 0.5
done
[ -n "$ready" ] || { server_log_tail; die "authd serve did not answer $BASE/healthz within ${HEALTH_WAIT_SECONDS}s"; }

# On failure the server log comes first, so the verifier's one-line reason is the last line.
verify() {
    local out
    if out=$(JWT_SMOKE_PASSWORD=$PASSWORD python3 "$ROOT/ci/jwt_smoke.py" \
        --base-url "$BASE" --issuer "$BASE" --username "$USERNAME" "$@" 2>&1); then
        printf '%s\n' "$out"
    else
        server_log_tail
        printf '%s\n' "$out" >&2
        exit 1
    fi
}

verify --alg ES256
"$BIN" keys rotate --alg RS256 --now >"$TMP/rotate.log" 2>&1 \
    || { cat "$TMP/rotate.log" >&2; die "authd keys rotate --alg RS256 --now failed"; }
verify --alg RS256 --wait 10
