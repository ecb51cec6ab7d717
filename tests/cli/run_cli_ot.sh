#!/usr/bin/env bash
# Command-line tests of entropic semi-discrete OT: `lsekit gen ot`, solve (every solver,
# Sinkhorn), eval, info, compare; result files read with plain h5py; invalid instances exit 2
# naming the dataset and leave no output file; epsilon = 1e-3 numerics.
# usage: run_cli_ot.sh LSEKIT WORKDIR
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/lib.sh" "$@"  # LSEKIT, PY, a fresh WORK as cwd; pass/fail counters, expect, no_file

# ---- generation -----------------------------------------------------------------------
expect 0 "wrote ot.h5: entropic OT" -- "$LSEKIT" gen ot --out ot.h5 --n 600 --n-test 200 --m 20 --seed 3
expect 2 "exists" -- "$LSEKIT" gen ot --out ot.h5 --n 600
expect 0 "wrote" -- "$LSEKIT" gen ot --out ot-u.h5 --n 300 --m 10 --d 5 --weights uniform --components 2 --seed 4
expect 2 "--weights" -- "$LSEKIT" gen ot --out ot-bad.h5 --weights bogus
no_file ot-bad.h5
expect 2 "--epsilon" -- "$LSEKIT" gen ot --out ot-bad.h5 --epsilon 0
no_file ot-bad.h5
expect 0 "--components" -- "$LSEKIT" gen ot --help
expect 0 "ot " -- "$LSEKIT" gen --help
expect 0 "lsekit-ot" -- "$LSEKIT" info ot.h5
expect 0 "sinkhorn" -- "$LSEKIT" solve --help

if $PY - <<'PYEOF'
import h5py, numpy as np
f = h5py.File("ot.h5", "r")
a = f.attrs
assert a["format"] == "lsekit-ot" and a["format_version"] == 1 and a["cost"] == "sqeuclidean"
assert abs(a["epsilon"] - 0.05) < 1e-15
assert f["/source/X"].shape == (600, 2) and f["/source/X_test"].shape == (200, 2)
assert f["/target/Y"].shape == (20, 2) and f["/target/b"].shape == (20,)
b = f["/target/b"][:]
assert np.all(b >= 0) and abs(b.sum() - 1) < 1e-12 and b.std() > 0
u = h5py.File("ot-u.h5", "r")
assert u["/source/X"].shape == (300, 5) and np.all(u["/target/b"][:] == 0.1)
PYEOF
then ok; else bad "h5py check of the generated instance"; fi

# ---- solve every solver, eval, info ----------------------------------------------------------
for s in biased-softmax variational-log softplus sumexp erm full; do
  opts=(--epochs 5 --batch 20)
  [ "$s" = full ] && opts=(--tol 0)  # the exact reference: L-BFGS to --gtol
  expect 0 "F = " -- "$LSEKIT" solve ot.h5 --solver "$s" --out "res-$s.h5" "${opts[@]}" -q
done
# the plain softplus estimator keeps its per-sample shifts alpha in the solution
expect 0 "F = " -- "$LSEKIT" solve ot.h5 --solver softplus --variance-reduction none --epochs 5 --batch 20 --out res-softplus-plain.h5 -q
expect 0 "marginal error .* <= gtol" -- "$LSEKIT" solve ot.h5 --solver full --optimizer sinkhorn --tol 0 --out res-sinkhorn.h5 -q
expect 0 "F = " -- "$LSEKIT" solve ot.h5 --solver softplus --atoms 8 --out res-atoms.h5 --epochs 5 -q
expect 0 "F = " -- "$LSEKIT" solve ot.h5 --solver biased-softmax --variance-reduction none --batch 1 --optimizer sgd --schedule inv-sqrt --step 2 --average --out res-genevay.h5 --epochs 3 -q
expect 0 "marginal_error" -- "$LSEKIT" eval res-softplus.h5 ot.h5
expect 0 "transport_cost" -- "$LSEKIT" eval res-sinkhorn.h5 ot.h5
expect 0 "lsekit-result" -- "$LSEKIT" info res-sinkhorn.h5

if $PY - <<'PYEOF'
import h5py, numpy as np
inst = h5py.File("ot.h5", "r")
b = inst["/target/b"][:]
for name in ["softplus", "softplus-plain", "sinkhorn", "full", "atoms", "genevay"]:
    f = h5py.File(f"res-{name}.h5", "r")
    a = f.attrs
    assert a["format"] == "lsekit-result" and a["problem"] == "entropic-ot", name
    for k in ["version", "command_line", "created", "solver", "optimizer", "schedule", "epsilon",
              "rho", "step", "batch", "atoms", "seed", "threads", "input_path"]:
        assert k in a, (name, k)
    assert abs(a["epsilon"] - 0.05) < 1e-15
    g = f["/solution/potential"][:]
    assert g.shape == (20,) and np.all(np.isfinite(g)), name
    assert abs(np.dot(b, g)) < 1e-12, name  # normalized
    assert f["/solution/c_transform"].shape == (600,)
    assert f["/outputs/test_c_transform"].shape == (200,)
    assert f["/outputs/test_barycentric_map"].shape == (200, 2)
    asg = f["/outputs/test_assignment"][:]
    assert asg.dtype.kind == "i" and asg.min() >= 0 and asg.max() < 20
    m = f["metrics"].attrs
    for k in ["objective", "kappa", "marginal_error", "train_dual", "test_dual", "transport_cost",
              "plan_kl", "entropic_cost_kl"]:
        assert k in m, (name, k)
    for c in ["step", "epoch", "time_s", "objective", "estimate", "test_dual"]:
        assert c in f["trace"], (name, c)
assert h5py.File("res-softplus-plain.h5", "r")["/solution/alpha"].shape == (600,)
for name in ["softplus", "softplus-plain"]:
    obj = h5py.File(f"res-{name}.h5", "r")["/trace/objective"][:]
    assert np.all(np.isfinite(obj)) and obj[-1] < obj[0], name
sk, lb = h5py.File("res-sinkhorn.h5", "r"), h5py.File("res-full.h5", "r")
assert sk.attrs["optimizer"] == "sinkhorn" and lb.attrs["optimizer"] == "lbfgs"
fs, fl = sk["metrics"].attrs["objective"], lb["metrics"].attrs["objective"]
assert abs(fs - fl) <= 1e-8 * abs(fl), (fs, fl)
assert sk["metrics"].attrs["marginal_error"] < 1e-6 and lb["metrics"].attrs["marginal_error"] < 1e-6
# strong duality at the optimum (KL convention): primal value of the plan = semi-dual value
m = sk["metrics"].attrs
assert abs(m["entropic_cost_kl"] - m["train_dual"]) < 1e-6
assert np.abs(sk["/solution/potential"][:] - lb["/solution/potential"][:]).max() < 1e-5
PYEOF
then ok; else bad "h5py check of OT result files"; fi

# --epsilon overrides the instance; eval takes it from the result.
expect 0 "F = " -- "$LSEKIT" solve ot.h5 --solver full --epsilon 0.2 --out res-eps.h5 -q
expect 0 "epsilon = 0.2" -- "$LSEKIT" eval res-eps.h5 ot.h5
if $PY -c "
import h5py; f = h5py.File('res-eps.h5'); assert abs(f.attrs['epsilon'] - 0.2) < 1e-15
"; then ok; else bad "epsilon override recorded"; fi

# Same seed, same result for 1 and 2 threads.
"$LSEKIT" solve ot.h5 --solver softplus --out d1.h5 --epochs 2 --seed 7 --threads 1 -q >/dev/null
"$LSEKIT" solve ot.h5 --solver softplus --out d2.h5 --epochs 2 --seed 7 --threads 2 -q >/dev/null
if $PY - <<'PYEOF'
import h5py, numpy as np
a, b = h5py.File("d1.h5"), h5py.File("d2.h5")
assert np.array_equal(a["/solution/potential"][:], b["/solution/potential"][:])
assert np.array_equal(a["/trace/objective"][:], b["/trace/objective"][:])
PYEOF
then ok; else bad "OT determinism across thread counts"; fi

expect 0 "F\\* \\(full" -- "$LSEKIT" compare ot.h5 --out cmp.h5 --solvers biased-softmax,softplus,full --step-sizes 1e-2,3e-2 --epochs 2 -q

# ---- options that do not apply ------------------------------------------------------------
"$LSEKIT" gen regression --out reg.h5 --n 200 --p 3 >/dev/null
expect 2 "sinkhorn.*entropic OT" -- "$LSEKIT" solve reg.h5 --solver full --optimizer sinkhorn --out o1.h5 -q
no_file o1.h5
expect 2 "sinkhorn.*--solver full" -- "$LSEKIT" solve ot.h5 --solver softplus --optimizer sinkhorn --out o2.h5 -q
no_file o2.h5
expect 2 "--l2.*entropic OT" -- "$LSEKIT" solve ot.h5 --l2 0.1 --out o3.h5 -q
no_file o3.h5
expect 2 "--epsilon" -- "$LSEKIT" solve ot.h5 --epsilon -1 --out o4.h5 -q
no_file o4.h5
expect 2 "--batch 601.*source samples" -- "$LSEKIT" solve ot.h5 --batch 601 --out o5.h5 -q
no_file o5.h5

# ---- invalid instances: exit 2, the dataset named, no output file -------------------------------
$PY - <<'PYEOF'
import h5py, numpy as np, shutil
def copy(name):
    shutil.copy("ot.h5", name)
    return h5py.File(name, "r+")
def replace(f, path, value):
    del f[path]
    f[path] = value
f = copy("neg_b.h5"); b = f["/target/b"][:]; d = b[0] + 0.01; b[0] = -0.01; b[1] += d; replace(f, "/target/b", b); f.close()
f = copy("sum_b.h5"); b = f["/target/b"][:]; b[0] += 0.01; replace(f, "/target/b", b); f.close()
f = copy("eps0.h5"); f.attrs["epsilon"] = 0.0; f.close()
f = copy("epsneg.h5"); f.attrs["epsilon"] = -0.5; f.close()
f = copy("dim_y.h5"); replace(f, "/target/Y", np.ones((20, 3))); f.close()
f = copy("len_b.h5"); replace(f, "/target/b", np.full(19, 1 / 19)); f.close()
f = copy("nan_x.h5"); X = f["/source/X"][:]; X[5, 1] = np.nan; replace(f, "/source/X", X); f.close()
f = copy("dim_xt.h5"); replace(f, "/source/X_test", np.ones((10, 4))); f.close()
f = copy("fmt.h5"); f.attrs["format"] = "lsekit-otx"; f.close()
f = copy("cost.h5"); f.attrs["cost"] = "euclidean"; f.close()
f = copy("no_b.h5"); del f["/target/b"]; f.close()
PYEOF
expect 2 "neg_b.h5.*/target/b.*negative.*entropic OT" -- "$LSEKIT" solve neg_b.h5 --out n1.h5 -q
no_file n1.h5
expect 2 "sum_b.h5.*/target/b.*off by 0.01.*entropic OT" -- "$LSEKIT" solve sum_b.h5 --out n2.h5 -q
no_file n2.h5
expect 2 "eps0.h5.*epsilon.*entropic OT" -- "$LSEKIT" solve eps0.h5 --out n3.h5 -q
no_file n3.h5
expect 2 "epsneg.h5.*epsilon" -- "$LSEKIT" solve epsneg.h5 --out n4.h5 -q
no_file n4.h5
expect 2 "dim_y.h5.*/target/Y.*columns" -- "$LSEKIT" solve dim_y.h5 --out n5.h5 -q
no_file n5.h5
expect 2 "len_b.h5.*/target/b.*length 19" -- "$LSEKIT" solve len_b.h5 --out n6.h5 -q
no_file n6.h5
expect 2 "nan_x.h5.*/source/X.*non-finite" -- "$LSEKIT" solve nan_x.h5 --out n7.h5 -q
no_file n7.h5
expect 2 "dim_xt.h5.*/source/X_test" -- "$LSEKIT" solve dim_xt.h5 --out n8.h5 -q
no_file n8.h5
expect 2 "fmt.h5.*format" -- "$LSEKIT" solve fmt.h5 --out n9.h5 -q
no_file n9.h5
expect 2 "cost.h5.*cost.*sqeuclidean" -- "$LSEKIT" solve cost.h5 --out n10.h5 -q
no_file n10.h5
expect 2 "no_b.h5.*/target/b.*missing" -- "$LSEKIT" solve no_b.h5 --out n11.h5 -q
no_file n11.h5
expect 2 "neg_b.h5.*/target/b" -- "$LSEKIT" eval res-softplus.h5 neg_b.h5

# ---- epsilon = 1e-3: bounded solvers stay finite, unbounded ones stop cleanly ----------------
expect 0 "wrote" -- "$LSEKIT" gen ot --out small-eps.h5 --n 400 --m 20 --epsilon 1e-3 --seed 5
for s in biased-softmax softplus; do
  expect 0 "F = " -- "$LSEKIT" solve small-eps.h5 --solver "$s" --out "eps-$s.h5" --variance-reduction none --epochs 3 --step 0.3 -q
done
expect 1 "reduce --step.*softplus" -- "$LSEKIT" solve small-eps.h5 --solver variational-log --variance-reduction none --optimizer sgd --schedule constant --step 1 --out eps-div.h5 -q
if $PY - <<'PYEOF'
import h5py, numpy as np
for n in ["eps-biased-softmax.h5", "eps-softplus.h5"]:
    f = h5py.File(n); assert f.attrs["status"] in ("converged", "budget-exhausted"), n
    assert np.all(np.isfinite(f["/trace/objective"][:])) and np.all(np.isfinite(f["/solution/potential"][:]))
f = h5py.File("eps-div.h5"); assert f.attrs["status"] == "diverged"
assert np.all(np.isfinite(f["/solution/potential"][:])) and np.isfinite(f["metrics"].attrs["objective"])
PYEOF
then ok; else bad "epsilon = 1e-3 result files"; fi

if ls ./*.tmp-* >/dev/null 2>&1; then bad "temporary files left: $(ls ./*.tmp-*)"; else ok; fi

echo "cli-ot: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
