#!/usr/bin/env bash
# Progress and the printed resume command of `lsekit solve`: a progress line appears between
# two trace rows (from the cheap every-64-steps poll, at most one line per second), SIGINT
# then stops the run with exit 130, and the resume command the run prints works exactly as
# printed, ending bitwise identical to the same run never stopped.
# Its run must outlast the one-second spacing of progress lines, so it is long (8M steps);
# the sanitizer pass of tools/test.sh leaves it out: SIGINT, the final checkpoint and resuming
# from it run there in run_cli_checkpoint.sh.
# usage: run_cli_progress.sh LSEKIT WORKDIR
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/lib.sh" "$@"  # LSEKIT, PY, a fresh WORK as cwd; pass/fail counters, expect, no_file, same

"$LSEKIT" gen regression --out reg.h5 --n 20000 --p 20 --n-test 100 --seed 3 >/dev/null

# With --eval-points 2 the only trace rows are the first and the last: a progress line at a step
# strictly between them that still shows the first row's F "(step 0)" comes from the cheap
# every-64-steps poll. The run is waited on until such a line appears (the lines are at most one
# per second, and a loaded machine may print the step-0 row's own line first: neither the time
# nor the line count is assumed), then SIGINT is sent.
args2=(--solver biased-softmax --variance-reduction none --tol 0 --batch 1 --epochs 400 --eval-points 2)
between='step [1-9][0-9]*/[0-9]+ .*\(step 0\)'
"$LSEKIT" solve reg.h5 --out pr.ref.h5 -q "${args2[@]}" >/dev/null 2>&1
"$LSEKIT" solve reg.h5 --out pr.h5 --checkpoint-every 1000000 "${args2[@]}" >pr.out 2>pr.err &
pid=$!
if wait_for pr.err "$between" "$pid"; then
  kill -INT "$pid"
  wait "$pid"
  rc=$?
  line="$(grep -E "$between" pr.err | head -1)"
  if [[ "$line" =~ step\ ([0-9]+)/([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -gt 0 ] &&
    [ "${BASH_REMATCH[1]}" -lt "${BASH_REMATCH[2]}" ]; then ok; else bad "progress between trace rows :: $line"; fi
  if [ "$rc" -eq 130 ]; then ok; else bad "SIGINT after the first progress line: exit $rc (want 130)"; fi
  cmd="$(grep -A1 "continue with:" pr.out | tail -1)"
  if [ -n "$cmd" ]; then
    # exactly as printed (no --force added): --resume replaces the --out of its own run
    expect 0 "wrote pr.h5" -- bash -c "$cmd"
    same pr.ref.h5 pr.h5
    no_file pr.h5.checkpoint.h5
  else
    bad "no resume command printed :: $(cat pr.out)"
  fi
else
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  bad "no progress line between the trace rows of a run with --eval-points 2 :: $(cat pr.err)"
fi

echo "cli progress: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
