#!/usr/bin/env bash
# The README's Convergence table: each default solver (`lsekit solve IN --out R.h5`, nothing but
# the problem's lambda / mu) against L-BFGS, passes at the run's own `converged` stop and passes
# to true relative suboptimality (F - F*)/max(1,|F*|) <= 1e-6, F* from `--solver full --tol 0
# --gtol 1e-11`; median (range) over generator seeds, and the Fashion-MNIST plot.
#
# usage: bench/convergence/defaults.sh [LSEKIT] [WORKDIR]
#   LSEKIT   the lsekit binary (default build/tools/lsekit)
#   WORKDIR  instances and results (default bench/convergence/defaults-out)
# env: SEEDS="1 2 3"  PY=/usr/bin/python3 (h5py, matplotlib)
# Prints the table (Markdown) and writes docs/images/convergence_fmnist_defaults.png.
# Every solve runs on one thread, one at a time, so seconds compare within a row.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
B=$(realpath "${1:-$root/build/tools/lsekit}")
W=${2:-$root/bench/convergence/defaults-out}
SEEDS=${SEEDS:-"1 2 3"}
PY=${PY:-/usr/bin/python3}
mkdir -p "$W"
cd "$W"
for s in $SEEDS; do
  [ -s reg_s$s.h5 ] || "$B" gen regression --n 350 --p 10 --outliers 0 --seed $s --out reg_s$s.h5 --force >/dev/null
  [ -s heavy_s$s.h5 ] || "$B" gen regression --n 20640 --p 8 --seed $s --out heavy_s$s.h5 --force >/dev/null
  [ -s cls_s$s.h5 ] || "$B" gen classification --n 1400 --p 64 --classes 10 --noise 0.2 --seed $s --out cls_s$s.h5 --force >/dev/null
  [ -s ot005_s$s.h5 ] || "$B" gen ot --n 4000 --m 200 --d 2 --epsilon 0.05 --seed $s --out ot005_s$s.h5 --force >/dev/null
  [ -s ot001_s$s.h5 ] || "$B" gen ot --n 4000 --m 200 --d 2 --epsilon 0.01 --seed $s --out ot001_s$s.h5 --force >/dev/null
done
[ -s fm_s1.h5 ] || "$B" import fashion-mnist --n-train 6000 --out fm_s1.h5 --force >/dev/null
run() {  # tag data [problem options]
  local tag=$1 data=$2; shift 2
  [ -s ${tag}_fstar.h5 ] || "$B" solve $data --out ${tag}_fstar.h5 --force -q --threads 1 "$@" --solver full --tol 0 --gtol 1e-11 >/dev/null
  "$B" solve $data --out ${tag}_sp.h5 --force -q --threads 1 "$@" --solver softplus >/dev/null
  "$B" solve $data --out ${tag}_vl.h5 --force -q --threads 1 "$@" --solver variational-log >/dev/null
  "$B" solve $data --out ${tag}_lb.h5 --force -q --threads 1 "$@" --solver full >/dev/null
}
for s in $SEEDS; do
  run reg1_s$s reg_s$s.h5 --lambda 1
  run reg02_s$s reg_s$s.h5 --lambda 0.2
  run heavy_s$s heavy_s$s.h5 --lambda 1
  run cls1_s$s cls_s$s.h5 --lambda 1 --l2 1e-3
  run cls02_s$s cls_s$s.h5 --lambda 0.2 --l2 1e-3
  run ot005_s$s ot005_s$s.h5
  run ot001_s$s ot001_s$s.h5
done
run fm_s1 fm_s1.h5 --lambda 1 --l2 1e-3
"$PY" "$here/defaults_table.py" "$W" "$root/docs/images/convergence_fmnist_defaults.png"
