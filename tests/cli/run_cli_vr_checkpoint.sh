#!/usr/bin/env bash
# Crash safety of the variance-reduced runs of `lsekit solve` (checkpoints at epoch boundaries):
# a run killed with SIGKILL after its first checkpoint and resumed with --resume ends bitwise
# identical to the same run never stopped (every dataset of the result but wall-clock times),
# for SVRG on DRO regression, SAGA on DRO classification, Prospect on DRO regression and SVRG on
# entropic OT (preconditioned). SIGINT in the middle of a SAGA epoch writes the state at the
# epoch's start: resuming it ends identical too. A checkpoint of another variance reduction is
# refused naming the difference.
# Runs have a fixed budget (--tol 1e-14: the certificate gate runs, the budget ends the run) of a
# second or two; the first checkpoint comes after about a tenth of it.
# usage: run_cli_vr_checkpoint.sh LSEKIT WORKDIR
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/lib.sh" "$@"  # LSEKIT, PY, a fresh WORK as cwd; pass/fail counters, expect, no_file,
                      # same, killed_resume, interrupted_resume

"$LSEKIT" gen regression --out reg.h5 --n 5000 --p 8 --n-test 100 --seed 3 >/dev/null
"$LSEKIT" gen classification --out cls.h5 --n 4000 --p 30 --classes 5 --n-test 200 --seed 4 >/dev/null
"$LSEKIT" gen ot --out ot.h5 --n 2000 --m 100 --d 4 --n-test 100 --seed 5 >/dev/null

# One epoch: 2n steps of one sample (SVRG, SAGA, Prospect), a checkpoint every ~2 epochs;
# OT: N/(2m) = 10 steps of m source samples, a checkpoint every 4 epochs.
killed_resume svrg reg.h5 20000 --variance-reduction svrg --solver softplus --tol 1e-14 --epochs 60
killed_resume saga cls.h5 16000 --variance-reduction saga --solver softplus --l2 1e-3 --tol 1e-14 --epochs 80
killed_resume prospect reg.h5 20000 --solver prospect --tol 1e-14 --epochs 60
killed_resume svrg-ot ot.h5 40 --variance-reduction svrg --tol 1e-14 --epochs 150

# ---- SIGINT in the middle of an epoch: the state at its start is the checkpoint -------------
args=(--variance-reduction saga --solver variational-log --tol 1e-14 --epochs 80)
interrupted_resume int reg.h5 20000 "${args[@]}"

# ---- misuse: the checkpoint of an SVRG run is not a SAGA run's --------------------------------
"$LSEKIT" solve reg.h5 --out keep.h5 -q --checkpoint-every 20000 --variance-reduction svrg --solver softplus \
  --tol 1e-14 --epochs 60 >/dev/null 2>&1 &
pid=$!
wait_for_file keep.h5.checkpoint.h5 "$pid" || bad "misuse: no checkpoint keep.h5.checkpoint.h5 appeared"
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
expect 2 "keep\.h5\.checkpoint\.h5.*another run.*variance_reduction = svrg" -- "$LSEKIT" solve reg.h5 --out keep.h5 -q \
  --checkpoint-every 20000 --resume keep.h5.checkpoint.h5 --variance-reduction saga --solver softplus --tol 1e-14 --epochs 60
no_file keep.h5

echo "cli vr checkpoint: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
