#!/usr/bin/env bash
# Command-line tests: drive the real `lsekit` binary and check exit codes, messages,
# output files and that every file it writes reads with plain h5py.
# usage: run_cli_tests.sh LSEKIT WORKDIR
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/lib.sh" "$@"  # LSEKIT, PY, a fresh WORK as cwd; pass/fail counters, expect, no_file

# ---- generation, solve, eval, info -------------------------------------------------
expect 0 "wrote" -- "$LSEKIT" gen regression --out reg.h5 --n 500 --p 4 --n-test 100 --seed 3
expect 2 "exists" -- "$LSEKIT" gen regression --out reg.h5 --n 500 --p 4
for s in biased-softmax variational-log softplus sumexp erm full; do
  opts=(--variance-reduction none --epochs 3 --batch 20 --step 1e-2)  # the plain minibatch estimators
  [ "$s" = full ] && opts=()  # L-BFGS takes none of them (given, they are refused)
  expect 0 "F = " -- "$LSEKIT" solve reg.h5 --solver "$s" --out "res-$s.h5" "${opts[@]}" --quiet
done
expect 0 "objective" -- "$LSEKIT" eval res-softplus.h5 reg.h5
expect 0 "lsekit-result" -- "$LSEKIT" info res-softplus.h5
expect 0 "lsekit-dataset" -- "$LSEKIT" info reg.h5
expect 0 "--solver" -- "$LSEKIT" solve --help
expect 0 "0.01" -- "$LSEKIT" solve --help   # defaults shown as users write them
expect 0 "rho" -- "$LSEKIT" compare --help

# h5py reads the result with no custom code, and it has the SPEC fields.
if $PY - <<'PYEOF'
import h5py, numpy as np, sys
f = h5py.File("res-softplus.h5", "r")
a = f.attrs
assert a["format"] == "lsekit-result" and a["format_version"] == 1
for k in ["version", "command_line", "created", "problem", "solver", "optimizer", "schedule",
          "lambda", "l2", "rho", "step", "batch", "seed", "threads", "input_path"]:
    assert k in a, k
assert a["solver"] == "softplus" and a["problem"] == "dro-regression"
assert f["/solution/weights"].shape == (4,) and f["/solution/intercept"].shape == ()
assert f["/solution/alpha"].shape == (1,)
for c in ["step", "epoch", "time_s", "objective", "estimate", "train_rmse", "test_rmse"]:
    assert c in f["trace"], c
obj = f["/trace/objective"][:]
assert np.all(np.isfinite(obj)) and obj[-1] < obj[0]
assert "objective" in f["metrics"].attrs and "train_rmse" in f["metrics"].attrs
d = h5py.File("reg.h5", "r")
assert d.attrs["format"] == "lsekit-dataset" and d["/train/X"].shape == (500, 4)
PYEOF
then ok; else bad "h5py check of result file"; fi

# Same seed, same result (bitwise trace and solution); thread count does not matter.
"$LSEKIT" solve reg.h5 --solver softplus --out d1.h5 --epochs 2 --seed 7 --threads 1 -q >/dev/null
"$LSEKIT" solve reg.h5 --solver softplus --out d2.h5 --epochs 2 --seed 7 --threads 2 -q >/dev/null
if $PY - <<'PYEOF'
import h5py, numpy as np
a, b = h5py.File("d1.h5"), h5py.File("d2.h5")
assert np.array_equal(a["/solution/weights"][:], b["/solution/weights"][:])
assert np.array_equal(a["/trace/objective"][:], b["/trace/objective"][:])
PYEOF
then ok; else bad "determinism across thread counts"; fi

# Config file: options from FILE, command line wins.
printf 'solver = erm\nepochs = 1\nbatch = 10\n' > conf.ini
expect 0 "erm: " -- "$LSEKIT" solve reg.h5 --config conf.ini --out conf.h5 -q
printf 'no-such-option = 1\n' > badconf.ini
expect 2 "badconf.ini" -- "$LSEKIT" solve reg.h5 --config badconf.ini --out badconf.h5 -q
no_file badconf.h5

# Compare on a tiny grid.
expect 0 "F\\* \\(full" -- "$LSEKIT" compare reg.h5 --out cmp.h5 --solvers softplus,full,sumexp --step-sizes 1e-2,1e-1 --seeds 2 --epochs 2 -q
if $PY -c "
import h5py; f = h5py.File('cmp.h5'); assert len(f['runs']) == 9, len(f['runs']); assert f['/summary/final_objective'].shape == (9,)
"; then ok; else bad "compare file layout"; fi

# Plots: compare draws them when matplotlib is present; lsekit plot redraws them.
if /usr/bin/python3 -c "import matplotlib, h5py" 2>/dev/null; then
  for f in objective objective_time step_robustness; do
    for ext in png svg; do
      if [ -s "cmp_plots/$f.$ext" ]; then ok; else bad "plot cmp_plots/$f.$ext missing or empty"; fi
    done
  done
  expect 0 "replot/step_robustness.svg" -- "$LSEKIT" plot cmp.h5 --out-dir replot
  expect 2 "reg.h5: not an lsekit result" -- "$LSEKIT" plot reg.h5 --out-dir noplot
fi

# ---- bad input: exit 2, message names the file/dataset/option, no output file ------------
$PY - <<'PYEOF'
import h5py, numpy as np, shutil
def copy(name):
    shutil.copy("reg.h5", name)
    return h5py.File(name, "r+")
f = copy("missing_x.h5"); del f["/train/X"]; f.close()
f = copy("wrong_shape.h5"); y = f["/train/y"][:]; del f["/train/y"]; f["/train/y"] = y[:-3]; f.close()
f = copy("nan_x.h5"); X = f["/train/X"][:]; X[3, 1] = np.nan; f["/train/X"][...] = X; f.close()
f = copy("bad_format.h5"); f.attrs["format"] = "something-else"; f.close()
f = copy("f32.h5"); X = f["/train/X"][:]; del f["/train/X"]; f["/train/X"] = X.astype(np.float32); f.close()
f = copy("f32_nan.h5"); X = f["/train/X"][:].astype(np.float32); X[4, 2] = np.nan; del f["/train/X"]; f["/train/X"] = X; f.close()
PYEOF
printf 'not an hdf5 file' > text.h5
expect 2 "missing_x.h5.*/train/X" -- "$LSEKIT" solve missing_x.h5 --out o1.h5 -q
no_file o1.h5
expect 2 "wrong_shape.h5.*/train/y" -- "$LSEKIT" solve wrong_shape.h5 --out o2.h5 -q
no_file o2.h5
expect 2 "nan_x.h5.*/train/X.*(non-finite|NaN)" -- "$LSEKIT" solve nan_x.h5 --out o3.h5 -q
no_file o3.h5
expect 2 "bad_format.h5.*format" -- "$LSEKIT" solve bad_format.h5 --out o4.h5 -q
no_file o4.h5
# float32 X (what numpy/pandas often write) is read and converted to float64 (issue 12);
# its non-finite values are refused like float64 ones.
expect 0 "wrote o5.h5" -- "$LSEKIT" solve f32.h5 --out o5.h5 -q
# ... and the conversion is in the result's provenance.
expect 0 'input_conversions.*/train/X: float32 converted to float64' -- "$LSEKIT" info o5.h5
expect 2 "f32_nan.h5.*/train/X.*non-finite value at row 4, column 2" -- "$LSEKIT" solve f32_nan.h5 --out o5n.h5 -q
no_file o5n.h5
expect 0 '@generator +"regression"' -- "$LSEKIT" info reg.h5
expect 0 '@param_n +500' -- "$LSEKIT" info reg.h5
expect 0 '@seed +3' -- "$LSEKIT" info reg.h5
expect 2 "reg.h5.*--lambda" -- "$LSEKIT" solve reg.h5 --lambda 0 --out o6.h5 -q
no_file o6.h5
expect 2 "reg.h5.*--lambda" -- "$LSEKIT" solve reg.h5 --lambda -1 --out o7.h5 -q
no_file o7.h5
expect 2 "--rho" -- "$LSEKIT" solve reg.h5 --rho 1.5 --out o8.h5 -q
no_file o8.h5
expect 2 "--rho" -- "$LSEKIT" solve reg.h5 --rho -0.1 --out o9.h5 -q
no_file o9.h5
expect 2 "reg.h5.*--batch 501" -- "$LSEKIT" solve reg.h5 --batch 501 --out o10.h5 -q
no_file o10.h5
expect 2 "--solver.*no-such" -- "$LSEKIT" solve reg.h5 --solver no-such --out o11.h5 -q
no_file o11.h5
expect 3 "does-not-exist.h5" -- "$LSEKIT" solve does-not-exist.h5 --out o12.h5 -q
no_file o12.h5
expect 3 "text.h5" -- "$LSEKIT" solve text.h5 --out o13.h5 -q
no_file o13.h5
expect 2 "exists.*--force" -- "$LSEKIT" solve reg.h5 --out res-erm.h5 -q
expect 2 "--step" -- "$LSEKIT" solve reg.h5 --step 0 --out o14.h5 -q
no_file o14.h5
expect 2 "unknown command" -- "$LSEKIT" frobnicate
expect 2 "" -- "$LSEKIT" solve reg.h5 --out o15.h5 --epochs notanumber
no_file o15.h5

# ---- library messages: options by flag on the terminal, by field in the result file ------
expect 0 "raise --epochs or use variance reduction \(--variance-reduction svrg\)" -- "$LSEKIT" solve reg.h5 \
  --variance-reduction none --epochs 1 --out budget.h5 -q
expect 0 'raise `epochs` or use variance reduction \(`variance_reduction=svrg`\)' -- "$LSEKIT" info budget.h5
expect 0 "^ *--optimizer/--schedule \\(paper" -- "$LSEKIT" solve --help  # a library name table's help

# ---- divergence: exit 1, result written with the last finite iterate -------------------
expect 1 "reduce --step" -- "$LSEKIT" solve reg.h5 --solver sumexp --variance-reduction none --optimizer sgd --schedule constant --step 1e3 --out div.h5 -q
if $PY -c "
import h5py, numpy as np; f = h5py.File('div.h5'); assert f.attrs['status'] == 'diverged'
assert np.all(np.isfinite(f['/solution/weights'][:]))
"; then ok; else bad "diverged result file"; fi

# ---- never waste a run: outputs proven writable before any work (exit 3, plain message) ------
mkdir -p ro rw && chmod 555 ro && chmod 777 rw && chmod 755 . && cp reg.h5 rw/locked.h5 && chmod 444 rw/locked.h5
for cmd in "solve reg.h5 -q" "compare reg.h5 -q --solvers erm --no-plots" "gen regression --n 50 --p 2" \
  "gen classification --n 50 --p 2" "gen ot --n 50 --m 5 --d 2"; do
  # shellcheck disable=SC2086
  out="$(as_other "$LSEKIT" $cmd --out ro/x.h5 2>&1)"
  rc=$?
  if [ $rc -eq 3 ] && grep -q "cannot write ro/x.h5: permission denied" <<<"$out"; then ok; else
    bad "$cmd into an unwritable directory: exit $rc (want 3) :: $out"; fi
  no_match "tmp-|HDF5|H5[A-Z]|F = " "$out"  # no temporary name, no HDF5 stack, no work done
done
expect 3 "cannot write rw/locked.h5: permission denied" -- as_other "$LSEKIT" solve reg.h5 -q --out rw/locked.h5 --force
expect 3 "cannot write ro/ck.h5: permission denied" -- as_other "$LSEKIT" solve reg.h5 -q --out rw/ok.h5 \
  --checkpoint-every 100 --checkpoint ro/ck.h5
no_file rw/ok.h5
expect 3 "cannot write nodir/x.h5: directory nodir does not exist" -- "$LSEKIT" solve reg.h5 -q --out nodir/x.h5
if csv_dir=$(mktemp -d) && printf 'a,b,y\n1,2,3\n4,5,6\n7,8,9\n' > "$csv_dir/t.csv"; then
  expect 3 "cannot write ro/x.h5: permission denied" -- as_other "$LSEKIT" import csv "$csv_dir/t.csv" --label y \
    --task regression --out ro/x.h5
  rm -rf "$csv_dir"
fi

# ---- options that do not apply: exit 2 naming the option and why -----------------------------
"$LSEKIT" gen ot --out ot.h5 --n 60 --m 6 --d 2 --seed 1 >/dev/null
expect 2 "--epsilon does not apply to reg.h5.*temperature" -- "$LSEKIT" solve reg.h5 --epsilon 0.1 --out n1.h5 -q
expect 2 "--atoms does not apply to reg.h5" -- "$LSEKIT" solve reg.h5 --atoms 4 --out n1.h5 -q
expect 2 "--lambda does not apply to ot.h5.*--epsilon" -- "$LSEKIT" solve ot.h5 --lambda 2 --out n1.h5 -q
expect 2 "--l2 does not apply to ot.h5" -- "$LSEKIT" solve ot.h5 --l2 0 --out n1.h5 -q
expect 2 "--init does not apply to ot.h5" -- "$LSEKIT" solve ot.h5 --init zero --out n1.h5 -q
for o in "--rho 0.01" "--rho-kappa 0.01"; do
  # shellcheck disable=SC2086
  expect 2 "${o%% *} does not apply.*--solver biased-softmax.*softplus" -- "$LSEKIT" solve reg.h5 --solver biased-softmax $o --out n1.h5 -q
done
for o in "--step 0.1" "--epochs 2" "--steps 5" "--schedule constant" "--batch 8" "--sampling replacement" \
  "--momentum 0.5" "--beta1 0.5" "--beta2 0.9" "--average" "--clip 1" "--decay-k0 3"; do
  # shellcheck disable=SC2086
  expect 2 "${o%% *} does not apply.*--solver full --optimizer lbfgs" -- "$LSEKIT" solve reg.h5 --solver full $o --out n1.h5 -q
done
expect 0 "full: " -- "$LSEKIT" solve reg.h5 --solver full --optimizer sgd --step 0.05 --epochs 3 --out n2.h5 -q
for o in "--gtol 1e-3" "--max-iter 10" "--lbfgs-memory 4"; do
  # shellcheck disable=SC2086
  expect 2 "${o%% *} does not apply.*--solver softplus" -- "$LSEKIT" solve reg.h5 --solver softplus $o --out n1.h5 -q
done
for o in "--optimizer sgd" "--schedule constant" "--step 0.1" "--momentum 0.5"; do
  # shellcheck disable=SC2086
  expect 2 "${o%% *} does not apply.*SVRG" -- "$LSEKIT" solve reg.h5 --variance-reduction svrg $o --out n1.h5 -q
done
expect 2 "--extrapolate does not apply.*SVRG.*epoch extrapolation" -- "$LSEKIT" solve reg.h5 --variance-reduction svrg --extrapolate off --out n1.h5 -q
expect 2 "--extrapolate does not apply to ot.h5" -- "$LSEKIT" solve ot.h5 --extrapolate off --out n1.h5 -q
expect 0 "prospect: " -- "$LSEKIT" solve reg.h5 --solver prospect --extrapolate off --out n2.h5 --force -q
expect 2 "--rho does not apply.*none of|--rho does not apply.*nor to any" -- "$LSEKIT" compare reg.h5 --solvers erm,full --rho 0.01 --out n1.h5 -q
no_file n1.h5
printf 'solver = full\nstep = 0.5\n' > full.ini  # a config file's value counts as given
expect 2 "--step does not apply" -- "$LSEKIT" solve reg.h5 --config full.ini --out n1.h5 -q
no_file n1.h5
# eval takes lambda and l2 from the result: no complaint about an --l2 nobody gave.
out="$("$LSEKIT" eval res-softplus.h5 ot.h5 2>&1)"
rc=$?
if [ $rc -eq 2 ] && grep -q "res-softplus.h5 is a dro-regression result, but ot.h5 is an entropic OT" <<<"$out"; then ok; else
  bad "eval of a regression result on an OT instance: exit $rc :: $out"; fi
no_match "--l2" "$out"

# ---- compare files: string summary, info prints it, eval --run 7 ----------------------------
if $PY - <<'PYEOF'
import h5py, numpy as np
f = h5py.File("cmp.h5", "r")
s = f["summary"]
cols = {k: (v.asstr()[()] if v.dtype.kind == "O" else v[()]) for k, v in s.items()}  # the README one-liner
n = len(f["runs"])
assert all(np.shape(v) == (n,) for v in cols.values()), {k: np.shape(v) for k, v in cols.items()}
assert list(cols["run"]) == sorted(f["runs"]), cols["run"]
for k in ("solver", "status", "optimizer", "schedule", "variance_reduction"):
    assert all(isinstance(x, str) for x in cols[k]), k
for k in ("step_size", "seed", "batch", "lambda", "rho", "final_objective", "gap", "passes", "time_s", "test_rmse"):
    assert k in cols, k
i = list(cols["run"]).index("0004")
g = f["runs/0004"]
assert cols["solver"][i] == g.attrs["solver"] and cols["status"][i] == g.attrs["status"]
assert cols["final_objective"][i] == g.attrs["objective"]
assert np.isclose(cols["gap"][i], g.attrs["objective"] - g.attrs["f_star"])
assert cols["test_rmse"][i] == g["metrics"].attrs["test_rmse"]
PYEOF
then ok; else bad "compare /summary read in one line with string columns"; fi
out="$("$LSEKIT" info cmp.h5 2>&1)"
if [ "$(wc -l <<<"$out")" -lt 40 ] && grep -q "/summary: 9 runs" <<<"$out" && grep -Eq "^0000 +softplus +adam +budget-exhausted" <<<"$out"; then ok; else
  bad "info on a compare file: the summary table :: $(head -c 2000 <<<"$out")"; fi
expect 0 "/runs/0004" -- "$LSEKIT" info --all cmp.h5
a="$("$LSEKIT" eval cmp.h5 reg.h5 --run 7 2>&1)"
b="$("$LSEKIT" eval cmp.h5 reg.h5 --run 0007 2>&1)"
if [ -n "$a" ] && [ "$a" = "$b" ] && grep -q objective <<<"$a"; then ok; else bad "eval --run 7 vs 0007 :: $a :: $b"; fi
expect 2 "no run '99'.*valid ids: 0000 \.\. 0008" -- "$LSEKIT" eval cmp.h5 reg.h5 --run 99
out="$("$LSEKIT" compare reg.h5 --out cmp2.h5 --solvers softplus,full,sumexp --step-sizes 1e-2,1e3 --epochs 2 --no-plots 2>&1)"
if grep -q "runs per step (step:converged/budget-exhausted/diverged)" <<<"$out" && grep -Eq "1000:0/0/1" <<<"$out"; then ok; else
  bad "compare table counts statuses per step :: $out"; fi
no_match "\binf\b|\bnan\b|-nan" "$out"

# ---- --config on every subcommand --------------------------------------------------------
printf 'n = 40\np = 2\nseed = 9\n' > gen.ini
expect 0 "40 x 2 train" -- "$LSEKIT" gen regression --config gen.ini --out cfg-gen.h5
printf 'run = 3\n' > ev.ini
expect 0 "objective" -- "$LSEKIT" eval cmp.h5 reg.h5 --config ev.ini
printf 'all = true\n' > info.ini
expect 0 "/runs/0004" -- "$LSEKIT" info cmp.h5 --config info.ini
printf 'n = 2\np = 1\n' > csvcfg.ini
expect 2 "csvcfg.ini" -- "$LSEKIT" import fashion-mnist --config csvcfg.ini --out cfg-imp.h5

# ---- plots: --force, unwritable directories, single results, step plot only with >= 2 steps --
if /usr/bin/python3 -c "import matplotlib, h5py" 2>/dev/null; then
  before=$(stat -c %Y replot/objective.png)
  expect 2 "objective.png exists; pass --force" -- "$LSEKIT" plot cmp.h5 --out-dir replot
  if [ "$(stat -c %Y replot/objective.png)" = "$before" ]; then ok; else bad "plot without --force replaced a file"; fi
  expect 0 "replot/objective.svg" -- "$LSEKIT" plot cmp.h5 --out-dir replot --force
  out="$(as_other "$LSEKIT" plot cmp.h5 --out-dir ro/plots 2>&1)"
  rc=$?
  if [ $rc -eq 3 ] && grep -q "cannot write ro/plots: permission denied" <<<"$out"; then ok; else
    bad "plot into an unwritable directory: exit $rc (want 3) :: $out"; fi
  no_match "Traceback" "$out"
  printf 'out-dir = cfgplots\n' > plot.ini
  expect 0 "cfgplots/objective.png" -- "$LSEKIT" plot cmp.h5 --config plot.ini
  expect 0 "one_plots/objective_time.png" -- "$LSEKIT" plot res-softplus.h5 --out-dir one_plots
  "$LSEKIT" compare reg.h5 --out onestep.h5 --solvers softplus,full --epochs 2 -q >/dev/null 2>&1
  if [ -s onestep_plots/objective.png ] && [ ! -e onestep_plots/step_robustness.png ]; then ok; else
    bad "one step size: objective plot without a step-robustness plot :: $(ls onestep_plots)"; fi
  expect 0 "cmp2_plots/step_robustness.png" -- "$LSEKIT" plot cmp2.h5
  if $PY - <<'PYEOF'
import h5py
# The plots use the passes column where it is filled, else epochs, and the status strings.
f = h5py.File("cmp2.h5", "r")
assert any(f["runs"][r].attrs["status"] == "diverged" for r in f["runs"])
PYEOF
  then ok; else bad "cmp2.h5 has a diverged run (for the x marks)"; fi
fi

# No temporary files left behind anywhere.
if ls ./*.tmp-* >/dev/null 2>&1; then bad "temporary files left: $(ls ./*.tmp-*)"; else ok; fi

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
