#!/usr/bin/env bash
# schemathesis (PyPI, unmodified) against a running authd, with the server's own OpenAPI
# document as the oracle (admin-api.md §1): every default check, 0 failures.
#
#   ci/schemathesis.sh [PATH-TO-AUTHD] [MAX-EXAMPLES]
#
# In a fresh temp directory (SQLite database and keys there; Postgres when
# AUTHD_TEST_DATABASE_URL names a server: a scratch database is created and dropped)
# the script registers an admin client with every admin scope and a user, starts
# `authd serve` on a free loopback port, and runs schemathesis twice: the admin API with
# the admin client's client_credentials token, the account API with the user's access
# token. The number of generated requests is printed (`schemathesis: N requests`).
# schemathesis is installed into a cached virtualenv (~/.cache/authd-ci/schemathesis).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES=${2:-25}
VENV=${AUTHD_CI_CACHE:-$HOME/.cache/authd-ci}/schemathesis
PASSWORD='correct horse battery staple'

die() { echo "schemathesis: FAIL $*" >&2; exit 1; }

BIN=${1:-$ROOT/target/debug/authd}
[ -f "$BIN" ] && [ -x "$BIN" ] || die "no executable authd binary at $BIN (build it first)"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    rm -rf "$VENV"
    python3 -m venv "$VENV" || die "could not create a virtualenv (apt install python3-venv)"
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION" \
        || die "could not install schemathesis==$SCHEMATHESIS_VERSION"
fi
ST=$VENV/bin/schemathesis

TMP=$(mktemp -d "${TMPDIR:-/tmp}/authd-schemathesis.XXXXXX")
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
export AUTHD__LOG__LEVEL=warn
mkdir -m 0700 "$AUTHD__KEYS__DIR"
cd "$TMP"

run() { "$@" >"$TMP/step.log" 2>&1 || { cat "$TMP/step.log" >&2; die "$*"; }; }
run "$BIN" migrate
ADMIN_SCOPES="admin:users:read admin:users:write admin:roles:assign admin:clients:read admin:clients:write admin:keys:read admin:keys:write admin:audit:read"
scope_args=()
for s in $ADMIN_SCOPES; do scope_args+=(--scope "$s"); done
ADMIN_SECRET=$(head -c 32 /dev/urandom | base64 | tr -d '/+=' | head -c 40)
# Two of each caller: one for a pass over every operation, one for the operations that
# can take away their caller's credentials, run last (see below).
for c in st-admin st-admin-2; do
    printf '%s\n' "$ADMIN_SECRET" | run "$BIN" client add "$c" --secret-stdin \
        --grant client_credentials --audience authd-admin "${scope_args[@]}"
done
for u in st-user st-user-2; do
    printf '%s\n' "$PASSWORD" | run "$BIN" user add "$u" --password-stdin
done

"$BIN" serve >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 60); do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 40 "$TMP/server.log" >&2; die "authd serve exited"; }
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$BASE/healthz" \
        >/dev/null 2>&1 && break
    sleep 0.5
done

token() {
    python3 - "$BASE" "$@" <<'EOF'
import base64, json, sys, urllib.parse, urllib.request
base, kind = sys.argv[1], sys.argv[2]
headers = {"Content-Type": "application/x-www-form-urlencoded"}
if kind == "client":
    form = {"grant_type": "client_credentials"}
    basic = base64.b64encode(f"{sys.argv[3]}:{sys.argv[4]}".encode()).decode()
    headers["Authorization"] = f"Basic {basic}"
else:
    form = {"grant_type": "password", "username": sys.argv[3], "password": sys.argv[4]}
req = urllib.request.Request(base + "/auth/token", urllib.parse.urlencode(form).encode(), headers)
print(json.load(urllib.request.urlopen(req))["access_token"])
EOF
}
# Every token up front: the fuzzing changes clients and users (their grants, passwords,
# sessions), which refuses new tokens but leaves the issued ones valid.
ADMIN_TOKEN=$(token client st-admin "$ADMIN_SECRET") || die "no admin token"
ADMIN_TOKEN_2=$(token client st-admin-2 "$ADMIN_SECRET") || die "no admin token"
USER_TOKEN=$(token user st-user "$PASSWORD") || die "no user token"
USER_TOKEN_2=$(token user st-user-2 "$PASSWORD") || die "no user token"

total=0
# fuzz NAME TOKEN FILTER...: one schemathesis run over the operations FILTER selects.
fuzz() {
    local name=$1 token=$2
    shift 2
    local report=$TMP/report-$total.ndjson
    echo "schemathesis: $name ($*), up to $MAX_EXAMPLES examples per operation"
    if ! SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH=$ROOT/ci "$ST" --config-file "$ROOT/ci/schemathesis.toml" run "$BASE/admin/v1/openapi.json" \
        "$@" \
        -H "Authorization: Bearer $token" \
        --max-examples "$MAX_EXAMPLES" --seed 1 \
        --workers 2 --request-timeout 10 \
        --report ndjson --report-ndjson-path "$report" \
        --no-color; then
        tail -n 40 "$TMP/server.log" >&2
        die "$name: schemathesis found failures (above)"
    fi
    local n
    n=$(python3 - "$report" <<'EOF'
import json, sys
count = 0
for line in open(sys.argv[1]):
    event = json.loads(line)
    for kind, body in event.items():
        if kind == "ScenarioFinished":
            count += len((body.get("recorder") or {}).get("interactions", {}))
print(count)
EOF
)
    echo "schemathesis: $name: $n requests, 0 failures"
    total=$((total + n))
}

# Some operations can take away the fuzzer's own credentials: ending its session or
# changing its password (account), deleting the signing key of its token or its client
# (admin), and any admin change to the account pass's user. So the account API goes
# first, each API's credential-destroying operations run last in passes of their own
# with a second caller, and every other operation is exercised with a working token.
ACCOUNT_LAST='^(delete_account_v1_sessions_sid|post_account_v1_password)$'
ADMIN_LAST='^(delete_admin_v1_keys_kid|delete_admin_v1_clients_id)$'
fuzz "account API" "$USER_TOKEN" --include-path-regex '^/account/v1/' \
    --exclude-operation-id-regex "$ACCOUNT_LAST"
fuzz "account API, session-ending operations" "$USER_TOKEN_2" \
    --include-operation-id-regex "$ACCOUNT_LAST"
fuzz "admin API" "$ADMIN_TOKEN" --include-path-regex '^/admin/v1/' \
    --exclude-operation-id-regex "$ADMIN_LAST"
fuzz "admin API, credential-destroying operations" "$ADMIN_TOKEN_2" \
    --include-operation-id-regex "$ADMIN_LAST"
echo "schemathesis: ok, $total requests generated in all"
