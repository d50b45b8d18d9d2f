#!/usr/bin/env bash
# The authd-verify library from a shell: its `verify` example accepts a fresh token of a
# real server and refuses a forged one.
#
#   ci/verify-smoke.sh [PATH-TO-AUTHD] [PATH-TO-VERIFY-EXAMPLE]
#       (defaults: target/debug/authd, target/debug/examples/verify; `cargo test` builds both)
#
# In a fresh temp directory: `authd migrate`, `authd user add smoke`, `authd serve` on a
# free loopback port whose issuer is its own address; a password login gives a token.
# Then `verify --issuer BASE --audience api` (discovery, JWKS, every check) must print the
# token's claims as JSON and exit 0, and for the same token with its payload changed
# (signature no longer matching) and for an alg-none token must print one line
# `error: KIND: ...` and exit 1. Prints `verify-smoke: ok ...` lines; on failure the
# reason and the end of the server log, exit 1. Cleans up on every exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
USERNAME=smoke
PASSWORD='correct horse battery staple'

die() { echo "verify-smoke: FAIL $*" >&2; exit 1; }

absolute() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
BIN=${1:-$ROOT/target/debug/authd}
VERIFY=${2:-$ROOT/target/debug/examples/verify}
[ -x "$BIN" ] || die "no executable authd binary at $BIN (build it first)"
[ -x "$VERIFY" ] || die "no verify example at $VERIFY (cargo build -p authd-verify --example verify)"
BIN=$(absolute "$BIN")
VERIFY=$(absolute "$VERIFY")

TMP=$(mktemp -d "${TMPDIR:-/tmp}/authd-verify-smoke.XXXXXX")
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
export AUTHD__DATABASE__URL=sqlite://$TMP/authd.db
export AUTHD__KEYS__DIR=$TMP/keys
export AUTHD__SERVER__BIND=127.0.0.1:$PORT
export AUTHD__SERVER__ISSUER=$BASE
mkdir -m 0700 "$AUTHD__KEYS__DIR"
cd "$TMP"

"$BIN" migrate >"$TMP/migrate.log" 2>&1 || { cat "$TMP/migrate.log" >&2; die "authd migrate failed"; }
printf '%s\n' "$PASSWORD" | "$BIN" user add "$USERNAME" --password-stdin >"$TMP/user-add.log" 2>&1 \
    || { cat "$TMP/user-add.log" >&2; die "authd user add failed"; }
"$BIN" serve >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
server_log_tail() { echo "--- last lines of the authd serve log:" >&2; tail -n 40 "$TMP/server.log" >&2 || true; }

ready=""
for _ in $(seq 60); do
    kill -0 "$SERVER_PID" 2>/dev/null || { server_log_tail; die "authd serve exited before answering /healthz"; }
    if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$BASE/healthz" >/dev/null 2>&1; then
        ready=1; break
    fi
    sleep 0.5
done
[ -n "$ready" ] || { server_log_tail; die "authd serve did not answer $BASE/healthz within 30s"; }

# A password login; then the forgeries, built from the real token in Python (stdlib only).
TOKEN=$(SMOKE_PASSWORD=$PASSWORD python3 - "$BASE" "$USERNAME" <<'PY'
import json, os, sys, urllib.request
base, user = sys.argv[1], sys.argv[2]
body = json.dumps({"username": user, "password": os.environ["SMOKE_PASSWORD"]}).encode()
req = urllib.request.Request(base + "/auth/token", body, {"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(req, timeout=10))["access_token"])
PY
) || { server_log_tail; die "login failed"; }
read -r TAMPERED UNSIGNED < <(python3 - "$TOKEN" <<'PY'
import base64, json, sys
def dec(s): return json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
def enc(o): return base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=").decode()
header, claims, signature = sys.argv[1].split(".")
c = dec(claims); c["roles"] = ["admin"]
h = dec(header); h["alg"] = "none"
print(f"{header}.{enc(c)}.{signature}", f"{enc(h)}.{enc(c)}.")
PY
)

# The accepted token: claims as JSON on stdout, exit 0.
if ! out=$(printf '%s\n' "$TOKEN" | "$VERIFY" --issuer "$BASE" --audience api 2>"$TMP/verify.err"); then
    server_log_tail; cat "$TMP/verify.err" >&2; die "a fresh token was refused: $out"
fi
python3 -c 'import json, sys; c = json.loads(sys.argv[1]); assert c["iss"] == sys.argv[2] and c["aud"] == ["api"], c' "$out" "$BASE" \
    || die "the claims printed are not the token's: $out"
echo "verify-smoke: ok accepted a fresh token (sub=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["sub"])' "$out"))"

# The forgeries: one line, the error kind, exit 1.
refused() {
    local name=$1 token=$2 kind=$3 out status=0
    out=$(printf '%s\n' "$token" | "$VERIFY" --issuer "$BASE" --audience api 2>"$TMP/verify.err") || status=$?
    [ "$status" = 1 ] || die "$name: exit $status, expected 1 (output: $out)"
    [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || die "$name: expected one line, got: $out"
    case "$out" in
        "error: $kind:"*) echo "verify-smoke: ok refused $name ($out)" ;;
        *) die "$name: expected 'error: $kind: ...', got: $out" ;;
    esac
}
refused "a tampered payload" "$TAMPERED" bad_signature
refused "an alg-none token" "$UNSIGNED" unsigned
