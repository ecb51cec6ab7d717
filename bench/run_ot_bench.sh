#!/usr/bin/env bash
# Builds lsekit (Release) and runs the entropic OT benchmark and acceptance study
# (bench/bench_ot.cpp; about 15 minutes on 2 cores; --quick for a smoke run).
# Check that the machine is otherwise idle (uptime load < 1) before trusting the timings.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/tools/setup.sh"
"${LSEKIT_BUILD_DIR:-$root/build}/bench/bench_ot" "$@"
