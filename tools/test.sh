#!/usr/bin/env bash
# Sets up and builds lsekit (tools/setup.sh), then runs the whole test suite with ctest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/tools/setup.sh"
cd "${LSEKIT_BUILD_DIR:-$root/build}"
ctest --output-on-failure -j 2 "$@"
