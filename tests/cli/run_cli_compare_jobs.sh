#!/usr/bin/env bash
# lsekit compare with grid axes, run with --jobs 1 and --jobs 2: both files must be well
# formed (every run, a summary row per run, F* per lambda) and every run's final objective,
# solution and trace must be bitwise identical, since each run is single-threaded.
# usage: run_cli_compare_jobs.sh LSEKIT WORKDIR
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/lib.sh" "$@"  # LSEKIT, PY, a fresh WORK as cwd; pass/fail counters, expect, no_file

expect 0 "wrote" -- "$LSEKIT" gen regression --out reg.h5 --n 400 --p 3 --n-test 50 --seed 5
# 2 solvers x 2 steps x 2 seeds x 2 lambdas = 16 stochastic runs + 1 L-BFGS reference per lambda;
# the least-squares start is computed before the runs, so it is covered too.
grid=(--solvers softplus,biased-softmax,full --step-sizes 1e-2,3e-2 --seeds 2 --lambdas 0.5,2
      --batch 20 --epochs 3 --init ls --no-plots -q)
expect 0 "lambda = 0.5: F\\* \\(full" -- "$LSEKIT" compare reg.h5 --out j1.h5 --jobs 1 "${grid[@]}"
expect 0 "lambda = 2: F\\* \\(full" -- "$LSEKIT" compare reg.h5 --out j2.h5 --jobs 2 "${grid[@]}"

if $PY - <<'PYEOF'
import h5py, numpy as np, sys
N = 18
files = [h5py.File(f, "r") for f in ("j1.h5", "j2.h5")]
for f in files:
    assert f.attrs["format"] == "lsekit-result" and f.attrs["kind"] == "compare", f.filename
    assert f.attrs["init"] == "ls" and f.attrs["lambdas"] == "0.5,2", dict(f.attrs)
    assert len(f["runs"]) == N, (f.filename, len(f["runs"]))
    s = f["summary"]
    for c in ["run", "solver", "seed", "status", "steps", "step_size", "final_objective", "time_s",
              "lambda", "optimizer", "schedule", "variance_reduction", "batch", "rho", "f_star", "gap",
              "passes", "test_rmse"]:
        assert c in s and s[c].shape == (N,), (f.filename, c)
    # String columns read as str with .asstr(), the run column names the group under /runs.
    solver = s["solver"].asstr()[()]
    assert list(s["run"].asstr()[()]) == sorted(f["runs"]), list(s["run"].asstr()[()])
    assert set(s["status"].asstr()[()]) <= {"converged", "budget-exhausted", "diverged", "interrupted"}
    for i, rid in enumerate(sorted(f["runs"])):
        g = f["runs"][rid]
        for k in ["solution/weights", "solution/intercept", "trace/objective", "metrics"]:
            assert k in g, (f.filename, rid, k)
        assert g["solution/weights"].shape == (3,)
        assert g.attrs["solver"] == solver[i] and g.attrs["status"] == s["status"].asstr()[i]
        assert g.attrs["optimizer"] == s["optimizer"].asstr()[i]
        assert g.attrs["lambda"] == s["lambda"][i]
        assert g.attrs["step"] == s["step_size"][i] or (solver[i] == "full" and np.isnan(s["step_size"][i]))
        assert g.attrs["objective"] == s["final_objective"][i] and g.attrs["batch"] == s["batch"][i]
        assert g.attrs["f_star"] == s["f_star"][i]
    # F* per lambda: the L-BFGS reference of that lambda, and it differs between lambdas.
    lam, obj, fs = (s[c][:] for c in ("lambda", "final_objective", "f_star"))
    sol, full = solver, "full"
    for l in (0.5, 2.0):
        ref = obj[(lam == l) & (sol == full)]
        assert ref.size == 1 and np.all(fs[lam == l] == ref[0]), (l, ref, fs[lam == l])
        assert np.all(obj[lam == l] >= ref[0] - 1e-9 * abs(ref[0]))
    assert fs[lam == 0.5][0] != fs[lam == 2.0][0]
    assert sorted(set(lam.tolist())) == [0.5, 2.0] and np.sum(sol == full) == 2
    assert np.all(s["batch"][:][sol != full] == 20)

# --jobs must not change any run: objective, solution and trace bitwise equal.
a, b = files
for rid in sorted(a["runs"]):
    ga, gb = a["runs"][rid], b["runs"][rid]
    for k in ["solver", "optimizer", "lambda", "step", "seed", "batch", "rho_option", "status"]:
        assert ga.attrs[k] == gb.attrs[k], (rid, k)
    assert np.float64(ga.attrs["objective"]).tobytes() == np.float64(gb.attrs["objective"]).tobytes(), \
        (rid, ga.attrs["objective"], gb.attrs["objective"])
    for k in ["solution/weights", "solution/intercept", "trace/objective"]:
        assert ga[k][()].tobytes() == gb[k][()].tobytes(), (rid, k, ga[k][()], gb[k][()])
assert a["summary/final_objective"][:].tobytes() == b["summary/final_objective"][:].tobytes()
PYEOF
then ok; else bad "compare --jobs 1 vs --jobs 2: file layout or bitwise equality"; fi

# The least-squares start: a zero-step run ends where it starts, at the OLS solution.
"$LSEKIT" solve reg.h5 --solver erm --variance-reduction none --init ls --steps 1 --step 1e-300 --optimizer sgd --out ls.h5 -q >/dev/null
if $PY - <<'PYEOF'
import h5py, numpy as np
d, r = h5py.File("reg.h5", "r"), h5py.File("ls.h5", "r")
X, y = d["/train/X"][:], d["/train/y"][:]
A = np.hstack([X, np.ones((X.shape[0], 1))])
ols = np.linalg.lstsq(A, y, rcond=None)[0]
theta = np.append(r["/solution/weights"][:], r["/solution/intercept"][()])
assert np.allclose(theta, ols, rtol=1e-10, atol=1e-12), (theta, ols)
PYEOF
then ok; else bad "--init ls starts at the least-squares solution"; fi

# Invalid grids and starts: exit 2 naming the option, no file written.
expect 2 "--lambda and --lambdas" -- "$LSEKIT" compare reg.h5 --out e1.h5 --lambda 1 --lambdas 0.5,2 -q
expect 2 "--rhos: invalid value '1.5'" -- "$LSEKIT" compare reg.h5 --out e2.h5 --rhos 1e-3,1.5 -q
expect 2 "--batches: invalid value '0'" -- "$LSEKIT" compare reg.h5 --out e3.h5 --batches 0,10 -q
expect 2 "--optimizers: unknown step rule 'newton'" -- "$LSEKIT" compare reg.h5 --out e4.h5 --optimizers sgd,newton -q
expect 2 "--init: unknown value 'ones'" -- "$LSEKIT" solve reg.h5 --out e5.h5 --init ones -q
"$LSEKIT" gen classification --out cls.h5 --n 100 --p 3 >/dev/null
expect 2 "cls.h5.*--init ls.*DRO regression only" -- "$LSEKIT" solve cls.h5 --out e6.h5 --init ls -q
for f in e1 e2 e3 e4 e5 e6; do no_file "$f.h5"; done

# ---- Ctrl-C: exit 130, finished and interrupted runs written with their status, no inf/nan --
# SIGINT is sent once the first run has reported its end (its progress line).
"$LSEKIT" gen regression --out big.h5 --n 20000 --p 10 --seed 3 >/dev/null
"$LSEKIT" compare big.h5 --out cint.h5 --solvers softplus,sumexp,full --step-sizes 1e-3,1e-2 --seeds 4 \
  --epochs 30 --batch 1 --jobs 2 >cint.out 2>cint.err &
pid=$!
if wait_for cint.err "^\[1/17\]" "$pid"; then
  kill -INT "$pid"
  wait "$pid"
  rc=$?
  if [ "$rc" -eq 130 ]; then ok; else bad "compare after SIGINT: exit $rc (want 130) :: $(cat cint.out cint.err)"; fi
  no_match "\binf\b|\bnan\b|-nan" "$(cat cint.out)"
  if grep -Eq "runs: [0-9]+ converged, [0-9]+ budget-exhausted, [0-9]+ diverged, [0-9]+ interrupted, [0-9]+ not started" cint.out; then
    ok; else bad "compare after SIGINT: status counts :: $(cat cint.out)"; fi
  if $PY - <<'PYEOF'
import h5py, numpy as np
f = h5py.File("cint.h5", "r")
assert f.attrs["status"] == "interrupted", dict(f.attrs)
s = f["summary"]
st = list(s["status"].asstr()[()])
assert 1 <= len(st) < 17 and len(f["runs"]) == len(st), (len(st), len(f["runs"]))
assert "interrupted" in st and any(x != "interrupted" for x in st), st
for rid, status in zip(s["run"].asstr()[()], st):
    g = f["runs"][rid]
    assert g.attrs["status"] == status and np.isfinite(g.attrs["objective"]), (rid, status)
PYEOF
  then ok; else bad "compare after SIGINT: the written runs and their status"; fi
else
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  bad "compare: no run finished (or all did) before SIGINT could be sent :: $(cat cint.err)"
fi

echo "cli compare jobs: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
