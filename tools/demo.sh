#!/usr/bin/env bash
# The main job on default data shipped by the set-up: sets up and builds lsekit, imports a
# 10000-image training subset of Fashion-MNIST (Debian package dataset-fashion-mnist; the full
# 10000-image test set) and compares every solver and baseline on KL-DRO classification
# (tilted multinomial logistic regression) at lambda = 1, mu = 1e-3: 3 step sizes x 2 seeds
# per stochastic solver plus the exact L-BFGS reference. Prints the summary table and where
# the plots are. About 2-3 minutes on 2 cores. Extra arguments go to `lsekit compare`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/tools/setup.sh"
build="${LSEKIT_BUILD_DIR:-$root/build}"
out="${LSEKIT_DEMO_DIR:-$root/demo-output}"
mkdir -p "$out"
"$build/tools/lsekit" import fashion-mnist --n-train 10000 --out "$out/fashion-mnist-10k.h5" --force
"$build/tools/lsekit" compare "$out/fashion-mnist-10k.h5" --out "$out/compare.h5" --force \
  --lambda 1 --l2 1e-3 --batch 100 --epochs 10 --step-sizes 3e-3,1e-2,3e-2 --seeds 2 \
  --gtol 1e-6 "$@"
