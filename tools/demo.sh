#!/usr/bin/env bash
# The main job on built-in default data: sets up and builds lsekit, generates the
# 20640 x 8 heavy-tailed DRO regression instance with 1% outliers, and compares
# every solver (and the baselines) on it at lambda = 1, printing the summary table.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/tools/setup.sh"
build="${LSEKIT_BUILD_DIR:-$root/build}"
out="${LSEKIT_DEMO_DIR:-$root/demo-output}"
mkdir -p "$out"
"$build/tools/lsekit" gen regression --out "$out/regression.h5" --force
"$build/tools/lsekit" compare "$out/regression.h5" --out "$out/compare.h5" --force \
  --lambda 1 --l2 1e-3 --batch 100 --epochs 20 --step-sizes 3e-3,1e-2,3e-2 --seeds 3 "$@"
