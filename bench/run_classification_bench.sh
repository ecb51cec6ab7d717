#!/usr/bin/env bash
# Builds lsekit (Release), imports Fashion-MNIST twice (balanced; classes 0-4 kept at 10%) and
# runs the DRO classification benchmark (bench_classification.cpp): single-thread speed,
# exact evaluation on 1 and 2 threads, exact optima (L-BFGS) and the solver x step grid at
# lambda in {0.2, 1, 5} and batch in {10, 100}. About 25 minutes on 2 cores.
# Extra arguments go to bench_classification (e.g. --epochs 5 --steps 1e-3,3e-3).
# Output: the report on stdout and in $LSEKIT_BENCH_DIR/report.md, every run in grid.csv.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/tools/setup.sh"
build="${LSEKIT_BUILD_DIR:-$root/build}"
work="${LSEKIT_BENCH_DIR:-$build/bench-classification}"
mkdir -p "$work"
lsekit="$build/tools/lsekit"
[ -f "$work/fmnist.h5" ] || "$lsekit" import fashion-mnist --out "$work/fmnist.h5"
[ -f "$work/fmnist-imbalanced.h5" ] ||
  "$lsekit" import fashion-mnist --keep 0.1,0.1,0.1,0.1,0.1,1,1,1,1,1 --out "$work/fmnist-imbalanced.h5"
"$build/bench/bench_classification" --data "$work/fmnist.h5" --imbalanced "$work/fmnist-imbalanced.h5" \
  --csv "$work/grid.csv" "$@" | tee "$work/report.md"
