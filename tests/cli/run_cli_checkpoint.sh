#!/usr/bin/env bash
# Crash safety of `lsekit solve`: a run killed with SIGKILL after a checkpoint and resumed
# with --resume ends bitwise identical to the same run never stopped (solution, shifts, trace
# objectives, estimates, rho and metrics: every dataset except wall-clock times), for DRO
# regression (softplus, adaptive rho, batch 1), DRO classification (variational-log, sampling
# with replacement, Polyak averaging) and entropic OT (softplus with sampled atoms). SIGINT
# writes the result with status interrupted (exit 130) and a final checkpoint; resuming that
# ends identical too. Misuse exits 2 naming the file: another run's checkpoint, a corrupt one,
# --checkpoint-every with --solver full, an existing checkpoint without --resume or --force.
# (The printed resume command and the progress lines: run_cli_progress.sh.)
# usage: run_cli_checkpoint.sh LSEKIT WORKDIR
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/lib.sh" "$@"  # LSEKIT, PY, a fresh WORK as cwd; pass/fail counters, expect, no_file,
                      # same, killed_resume, interrupted_resume

"$LSEKIT" gen regression --out reg.h5 --n 20000 --p 20 --n-test 100 --seed 3 >/dev/null
"$LSEKIT" gen classification --out cls.h5 --n 4000 --p 30 --classes 5 --n-test 200 --seed 4 >/dev/null
"$LSEKIT" gen ot --out ot.h5 --n 4000 --m 200 --d 8 --seed 5 >/dev/null

# Plain minibatch runs (variance-reduced runs: run_cli_vr_checkpoint.sh) of fixed length (--tol 0).
# lambda = 100: at lambda = 1 the unbiased estimators at batch 1 climb above their start on
# this data (kappa ~ 1e4) and stop as diverged; this test is about resuming, not conditioning.
killed_resume reg reg.h5 20000 --solver softplus --variance-reduction none --tol 0 --lambda 100 --batch 1 --epochs 10 --eval-points 40
killed_resume cls cls.h5 2000 --solver variational-log --variance-reduction none --tol 0 --batch 4 --epochs 60 --sampling replacement \
  --average --step 3e-3
killed_resume ot ot.h5 2000 --solver softplus --variance-reduction none --tol 0 --rho 1e-2 --batch 2 --atoms 8 --epochs 30 \
  --optimizer sgd --step 0.05

# ---- SIGINT: status interrupted, exit 130, a checkpoint to resume from ----------------------
# SIGINT is sent once the first checkpoint (after 10 of 100 epochs) exists: the run is then in
# its step loop with its handler installed and has ~90% of its work ahead (seconds, never a race).
args=(--solver biased-softmax --variance-reduction none --tol 0 --batch 1 --epochs 100 --eval-points 30)
interrupted_resume int reg.h5 200000 "${args[@]}"

# ---- misuse --------------------------------------------------------------------------------
"$LSEKIT" solve reg.h5 --out keep.h5 -q --checkpoint-every 100000 "${args[@]}" >/dev/null 2>&1 &
pid=$!
wait_for_file keep.h5.checkpoint.h5 "$pid" || bad "misuse: no checkpoint keep.h5.checkpoint.h5 appeared"
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
expect 2 "keep\.h5\.checkpoint\.h5.*another run.*step = 0\.02" -- "$LSEKIT" solve reg.h5 --out keep.h5 -q \
  --checkpoint-every 100000 --resume keep.h5.checkpoint.h5 "${args[@]}" --step 0.02
no_file keep.h5
expect 2 "keep\.h5\.checkpoint\.h5 exists.*--resume" -- "$LSEKIT" solve reg.h5 --out keep.h5 -q \
  --checkpoint-every 100000 "${args[@]}"
expect 2 "keep\.h5\.checkpoint\.h5.*another run.*solver" -- "$LSEKIT" solve reg.h5 --out keep.h5 -q \
  --resume keep.h5.checkpoint.h5 --solver softplus --variance-reduction none --tol 0 --batch 1 --epochs 100 --eval-points 30
head -c 3000 keep.h5.checkpoint.h5 >trunc.checkpoint.h5
expect 3 "trunc\.checkpoint\.h5" -- "$LSEKIT" solve reg.h5 --out trunc.h5 -q --resume trunc.checkpoint.h5 "${args[@]}"
no_file trunc.h5
expect 2 "reg\.ref\.h5.*lsekit checkpoint" -- "$LSEKIT" solve reg.h5 --out notckpt.h5 -q \
  --resume reg.ref.h5 "${args[@]}"
expect 2 "checkpoint-every.*full" -- "$LSEKIT" solve reg.h5 --out full.h5 -q --solver full --checkpoint-every 10
expect 2 "--checkpoint-every must be >= 0" -- "$LSEKIT" solve reg.h5 --out neg.h5 -q --checkpoint-every -1
expect 2 "--checkpoint needs --checkpoint-every" -- "$LSEKIT" solve reg.h5 --out c.h5 -q --checkpoint c.ckpt.h5
no_file full.h5
no_file neg.h5

echo "cli checkpoint: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
