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
  expect 0 "F = " -- "$LSEKIT" solve reg.h5 --solver "$s" --out "res-$s.h5" --epochs 3 --batch 20 --step 1e-2 --quiet
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
  expect 2 "not an lsekit compare file" -- "$LSEKIT" plot reg.h5 --out-dir noplot
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

# ---- divergence: exit 1, result written with the last finite iterate -------------------
expect 1 "reduce --step" -- "$LSEKIT" solve reg.h5 --solver sumexp --optimizer sgd --schedule constant --step 1e3 --out div.h5 -q
if $PY -c "
import h5py, numpy as np; f = h5py.File('div.h5'); assert f.attrs['status'] == 'diverged'
assert np.all(np.isfinite(f['/solution/weights'][:]))
"; then ok; else bad "diverged result file"; fi

# No temporary files left behind anywhere.
if ls ./*.tmp-* >/dev/null 2>&1; then bad "temporary files left: $(ls ./*.tmp-*)"; else ok; fi

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
