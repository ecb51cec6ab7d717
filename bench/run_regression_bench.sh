#!/usr/bin/env bash
# Builds lsekit (Release) and runs the DRO regression throughput benchmark.
# usage: bench/run_regression_bench.sh [--quick]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${LSEKIT_BUILD_DIR:-$root/build}"
bash "$root/tools/setup.sh"
cmake --build "$build" --target bench_regression -j "$(nproc)"
"$build/bench/bench_regression" "$@"
