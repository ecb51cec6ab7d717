#!/usr/bin/env bash
# Builds lsekit (Release) and runs the DRO regression throughput benchmark.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/tools/setup.sh"
"${LSEKIT_BUILD_DIR:-$root/build}/bench/bench_regression" "$@"
