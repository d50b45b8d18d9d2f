#!/usr/bin/env bash
# The benchmark: one command (see BENCHMARKS.md).
#
#   bench/run.sh [--duration SECONDS] [--quick] [--skip-peer] [--skip-pgbench] [--configs postgres,sqlite]
#
# Installs what it needs when missing (wrk and Node.js from Debian, Postgres and Redis via
# ci/services.sh), builds release, and runs bench/bench.py. Loopback only; every load is
# bounded by --duration (default 15 s per workload; about 6 minutes in all), then the
# admin API with 1,000,000 users per configuration (bench/admin.py, about 3 minutes).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

need_apt=()
command -v wrk >/dev/null || need_apt+=(wrk)
command -v node >/dev/null || need_apt+=(nodejs npm)
command -v pgbench >/dev/null || need_apt+=(postgresql-client)
if [ ${#need_apt[@]} -gt 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${need_apt[@]}"
fi
bash ci/services.sh
cargo build --release --bin authd --example ops --example static_baseline --example mint_refresh
python3 bench/bench.py "$@"
# The admin API at scale: 1,000,000 users per configuration (issue #14).
python3 bench/admin.py "$@"
