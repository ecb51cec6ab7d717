#!/usr/bin/env bash
# Convergence study (issue 14 item 4): relative suboptimality (F - F*)/max(1,|F*|) against
# passes and wall time for SVRG (default) softplus and variational-log, the same estimators
# without variance reduction (fixed budget), L-BFGS, on DRO SAGA (softplus, variational-log)
# and the Prospect comparator, and on OT Sinkhorn.
#
# usage: bench/convergence/run.sh [LSEKIT] [WORKDIR]
#   LSEKIT   path to the lsekit binary (default build/tools/lsekit)
#   WORKDIR  where instances and results go (default bench/convergence/out)
# env: SEEDS="1 2 3"   generator seeds;  FM_SEEDS="1"  Fashion-MNIST subset seeds
#      RUN_TIMEOUT=300 seconds before a solve is killed (SIGKILL: a hung solve ignores SIGTERM)
#      JOBS=2          parallel solves (each single-threaded, so wall times are comparable)
#      PY=/usr/bin/python3 (needs h5py + matplotlib)
# Writes docs/results/convergence.md and docs/images/convergence_<instance>.png.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
B=$(realpath "${1:-$root/build/tools/lsekit}")
W=${2:-$root/bench/convergence/out}
SEEDS=${SEEDS:-"1 2 3"}
FM_SEEDS=${FM_SEEDS:-"1"}
JOBS=${JOBS:-2}
PY=${PY:-/usr/bin/python3}
mkdir -p "$W/data" "$W/runs"
cmds="$W/commands.txt"; : > "$cmds"

# ---- instances: name|generator command (DATA is replaced by the file) ----
gen() {  # name seed command...
  local name=$1 seed=$2; shift 2
  local f="$W/data/${name}_s${seed}.h5"
  [ -s "$f" ] || "$B" "$@" --out "$f" --seed "$seed" --force >/dev/null
  echo "$*" "--out DATA --seed $seed" >> "$W/gen_commands.txt"
}
: > "$W/gen_commands.txt"
for s in $SEEDS; do
  gen reg350 "$s" gen regression --n 350 --p 10 --outliers 0
  gen heavy  "$s" gen regression --n 20640 --p 8
  gen cls    "$s" gen classification --n 1400 --p 64 --classes 10 --noise 0.2
  gen ot005  "$s" gen ot --n 4000 --m 200 --d 2 --epsilon 0.05
  gen ot001  "$s" gen ot --n 4000 --m 200 --d 2 --epsilon 0.01
done
for s in $FM_SEEDS; do
  f="$W/data/fm_s${s}.h5"
  [ -s "$f" ] || "$B" import fashion-mnist --out "$f" --n-train 6000 --seed "$s" --force >/dev/null
  echo "import fashion-mnist --n-train 6000 --out DATA --seed $s" >> "$W/gen_commands.txt"
done

# ---- instance table: tag|data prefix|problem options|minibatch epochs|seeds ----
instances=(
  "reg350_l1|reg350|--lambda 1|100|$SEEDS"
  "reg350_l0.2|reg350|--lambda 0.2|100|$SEEDS"
  "heavy_l1|heavy|--lambda 1|100|$SEEDS"
  "cls_l1|cls|--lambda 1 --l2 1e-3|100|$SEEDS"
  "cls_l0.2|cls|--lambda 0.2 --l2 1e-3|100|$SEEDS"
  "ot_eps0.05|ot005||100|$SEEDS"
  "ot_eps0.01|ot001||100|$SEEDS"
  "fmnist_l1|fm|--lambda 1 --l2 1e-3|30|$FM_SEEDS"
)
jobs="$W/jobs.txt"; : > "$jobs"
for row in "${instances[@]}"; do
  IFS='|' read -r tag data popt ep seeds <<< "$row"
  for s in $seeds; do
    in="$W/data/${data}_s${s}.h5"; o="$W/runs/${tag}_s${s}"
    run() { echo "$B solve $in --out ${o}_$1.h5 --force -q --threads 1 $popt ${*:2}" >> "$jobs"; }
    run fstar     --solver full --tol 0 --gtol 1e-11
    run lbfgs     --solver full
    run softplus_svrg --solver softplus
    run vlog_svrg     --solver variational-log
    run softplus_none --solver softplus --variance-reduction none --tol 0 --epochs "$ep"
    run vlog_none     --solver variational-log --variance-reduction none --tol 0 --epochs "$ep"
    case $tag in
      ot*) run sinkhorn --solver full --optimizer sinkhorn ;;
      *) run softplus_saga --solver softplus --variance-reduction saga
         run vlog_saga     --solver variational-log --variance-reduction saga
         run prospect      --solver prospect ;;  # SAGA and Prospect: DRO only (O(nK) tables)
    esac
  done
done
sed "s|$B|lsekit|; s|$W/||g" "$jobs" > "$cmds"
# Largest instances first so the two workers finish together.
{ grep fmnist "$jobs" || true; grep -v fmnist "$jobs"; } |
  xargs -P "$JOBS" -I{} sh -c "timeout -s KILL ${RUN_TIMEOUT:-300} {} > /dev/null 2>&1 || true"

"$PY" "$here/tabulate.py" --runs "$W/runs" --commands "$cmds" --gen "$W/gen_commands.txt" \
  --md "$root/docs/results/convergence.md" --images "$root/docs/images"
