#!/usr/bin/env bash
# A short run of every cargo-fuzz target (libFuzzer, nightly toolchain), from the
# committed seeds: proof that the targets build and that no known input crashes.
# The long runs and their findings are recorded in docs/SECURITY.md.
#
#   ci/fuzz-smoke.sh [SECONDS-PER-TARGET]     (default 20)
#
# Installs cargo-fuzz from crates.io when missing. Without a nightly toolchain it says
# so loudly and fails: the smoke run is part of CI.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"
SECONDS_PER_TARGET=${1:-20}

die() { echo "fuzz-smoke: FAIL $*" >&2; exit 1; }

rustup toolchain list | grep -q '^nightly' \
    || die "no nightly toolchain (cargo-fuzz needs one): rustup toolchain install nightly --profile minimal"
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked || die "could not install cargo-fuzz"
fi

cargo +nightly fmt -- --check || die "fuzz targets are not formatted (cargo fmt in fuzz/)"
cargo +nightly fuzz build -O
for target in $(cargo +nightly fuzz list); do
    mkdir -p "corpus/$target"
    # Fresh corpus from the seeds each time: the run must not depend on earlier ones.
    set +e
    cargo +nightly fuzz run -O "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 >"corpus/$target.log" 2>&1
    status=$?
    set -e
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY|Done)' "corpus/$target.log" || true
    # cargo fuzz exits non-zero on a crash (libFuzzer writes the input to artifacts/).
    [ "$status" = 0 ] || { tail -n 40 "corpus/$target.log" >&2; die "$target crashed: see fuzz/artifacts/$target"; }
    echo "fuzz-smoke: ok $target"
done
