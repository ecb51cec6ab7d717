#!/usr/bin/env bash
# Command-line tests of DRO classification: `lsekit gen classification`, `lsekit import
# fashion-mnist|csv`, and solve / eval / info / compare on a generated classification dataset.
# Checks exit codes, messages, output files (read with plain h5py) and that bad input exits 2
# (3 for a missing file) with a message naming the file, leaving no output file.
# usage: run_cli_classification.sh LSEKIT WORKDIR
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/lib.sh" "$@"  # LSEKIT, PY, a fresh WORK as cwd; pass/fail counters, expect, no_file
pycheck() {  # pycheck NAME <<'EOF' ... EOF
  if $PY -; then ok; else bad "$1"; fi
}

# ---- gen classification, solve, eval, info, compare ----------------------------------------
expect 0 "wrote cls.h5: classification, 400 x 5 train, 200 test, 3 classes" -- \
  "$LSEKIT" gen classification --out cls.h5 --n 400 --p 5 --classes 3 --n-test 200 --noise 0.1 --seed 4
expect 2 "exists" -- "$LSEKIT" gen classification --out cls.h5
expect 0 "classification" -- "$LSEKIT" gen --help
expect 0 "--separation" -- "$LSEKIT" gen classification --help
for s in biased-softmax variational-log softplus sumexp erm full; do
  opts=(--variance-reduction none --epochs 3 --batch 20 --step 3e-3)  # the plain minibatch estimators
  [ "$s" = full ] && opts=()  # L-BFGS takes none of them (given, they are refused)
  expect 0 "F = " -- "$LSEKIT" solve cls.h5 --solver "$s" --out "res-$s.h5" "${opts[@]}" --l2 1e-3 --quiet
done
expect 0 "test_worst_class_acc" -- "$LSEKIT" eval res-softplus.h5 cls.h5
expect 0 "dro-classification" -- "$LSEKIT" info res-full.h5
expect 0 "lsekit-dataset" -- "$LSEKIT" info cls.h5

pycheck "h5py check of a classification result" <<'PYEOF'
import h5py, numpy as np
f = h5py.File("res-softplus.h5", "r")
a = f.attrs
assert a["format"] == "lsekit-result" and a["problem"] == "dro-classification", dict(a)
assert a["lambda"] == 1.0 and a["l2"] == 1e-3
assert f["/solution/weights"].shape == (3, 5) and f["/solution/intercept"].shape == (3,)
assert f["/solution/weights"].dtype == np.float64
for c in ["objective", "train_acc_subset", "test_acc"]:
    assert c in f["trace"], c
obj = f["/trace/objective"][:]
assert np.all(np.isfinite(obj)) and obj[-1] < obj[0]
m = f["metrics"].attrs
for k in ["objective", "kappa", "test_acc", "test_worst_class_acc", "test_acc_class_0",
          "test_acc_class_2", "test_objective", "train_objective_clean", "train_acc_clean"]:
    assert k in m, k
assert m["test_worst_class_acc"] <= m["test_acc"] <= 1.0
assert min(m["test_acc_class_%d" % k] for k in range(3)) == m["test_worst_class_acc"]
# The stored predictions agree with a numpy recomputation of the test accuracy.
d = h5py.File("cls.h5", "r")
W, c = f["/solution/weights"][:], f["/solution/intercept"][:]
pred = np.argmax(d["/test/X"][:] @ W.T + c, axis=1)
assert abs(np.mean(pred == d["/test/y"][:]) - m["test_acc"]) < 1e-12
# The generated file: int64 labels, y_clean with exactly 10% flips.
assert d.attrs["task"] == "classification" and d.attrs["num_classes"] == 3
assert d["/train/y"].dtype == np.int64
assert int(np.sum(d["/train/y"][:] != d["/train/y_clean"][:])) == 40
# full (L-BFGS) is the optimum: no stochastic run is below it.
fstar = h5py.File("res-full.h5", "r").attrs["objective"]
for s in ["biased-softmax", "variational-log", "softplus", "sumexp", "erm"]:
    assert h5py.File("res-%s.h5" % s, "r").attrs["objective"] >= fstar - 1e-12, s
PYEOF

expect 0 "F\\* \\(full" -- "$LSEKIT" compare cls.h5 --out cmp.h5 --solvers softplus,full --step-sizes 1e-2,3e-2 \
  --epochs 2 --l2 1e-3 -q
expect 0 "test_acc" -- "$LSEKIT" eval cmp.h5 cls.h5 --run 0000

# ---- import csv ------------------------------------------------------------------------------
$PY - <<'PYEOF'
import numpy as np
rng = np.random.default_rng(1)
with open("data.csv", "w") as f:
    f.write("f1,f2,label,f3\n")
    for i in range(120):
        y = ["cat", "dog", "owl"][i % 3]
        x = rng.normal(size=3) + (i % 3)
        f.write("%.6f,%.6f,%s,%.6f\n" % (x[0], x[1], y, x[2]))
with open("bad.csv", "w") as f:
    f.write("a,b,y\n1,2,0\n3,x,1\n")
with open("badlabel.csv", "w") as f:
    f.write("a,b,y\n1,2,0\n3,4,7\n")
PYEOF
expect 0 "0=cat 1=dog 2=owl" -- "$LSEKIT" import csv data.csv --out csv.h5 --label label --labels remap \
  --test-fraction 0.25 --seed 2
pycheck "h5py check of an imported CSV" <<'PYEOF'
import h5py
d = h5py.File("csv.h5", "r")
assert d["/train/X"].shape == (90, 3) and d["/test/X"].shape == (30, 3), d["/train/X"].shape
assert d.attrs["num_classes"] == 3
PYEOF
expect 0 "F = " -- "$LSEKIT" solve csv.h5 --solver softplus --out res-csv.h5 --epochs 2 --batch 10 -q
expect 2 "bad.csv.*line 3.*column b.*'x' is not a number" -- "$LSEKIT" import csv bad.csv --out o1.h5 --label y
no_file o1.h5
expect 2 "badlabel.csv.*line 3.*label 7 is outside 0..1.*remap" -- \
  "$LSEKIT" import csv badlabel.csv --out o2.h5 --label y --num-classes 2
no_file o2.h5
expect 2 "--label" -- "$LSEKIT" import csv data.csv --out o3.h5
no_file o3.h5
expect 3 "missing.csv" -- "$LSEKIT" import csv missing.csv --out o4.h5 --label y
no_file o4.h5

# ---- import csv keeps meaning (issue 12): --task inferred or asked for, pandas index dropped,
# labels 1..K refused, names and provenance stored and shown -----------------------------------
$PY - <<'PYEOF'
import numpy as np
rng = np.random.default_rng(3)
with open("house.csv", "w") as f:  # as pandas' to_csv() writes it: an unnamed index column
    f.write(",rooms,age,price\n")
    for i in range(200):
        f.write("%d,%d,%.3f,%.4f\n" % (i, rng.integers(1, 8), rng.uniform(0, 50), rng.normal(300, 80)))
with open("ages.csv", "w") as f:  # an integer target with 70 distinct values: ambiguous
    f.write("x1,x2,age\n")
    for i in range(200):
        f.write("%.4f,%.4f,%d\n" % (rng.normal(), rng.normal(), 18 + i % 70))
with open("onebased.csv", "w") as f:  # labels 1..3
    f.write("x1,x2,grade\n")
    for i in range(60):
        f.write("%.4f,%.4f,%d\n" % (rng.normal(), rng.normal(), 1 + i % 3))
PYEOF
expect 0 "wrote house.h5: house.csv, regression, 200 x 2 train" -- \
  "$LSEKIT" import csv house.csv --out house.h5 --label price
expect 0 "house.csv: dropped column 0 \(no name in the header\): a pandas row index" -- \
  "$LSEKIT" import csv house.csv --out house.h5 --label price --force
expect 0 "task: regression \(label column price holds real numbers" -- \
  "$LSEKIT" import csv house.csv --out house.h5 --label price --force
# A real-valued target as classification, and an ambiguous integer target: the hint is --task
# regression, never --labels remap (which would make a class per value).
no_remap_hint() {  # no_remap_hint PATTERN -- command...: exit 2, matches PATTERN, no "remap"
  local pattern="$1" out
  shift 2
  out="$("$@" 2>&1)"
  if [ $? -eq 2 ] && grep -Eq -- "$pattern" <<<"$out" && ! grep -q remap <<<"$out"; then
    ok
  else
    bad "want exit 2, /$pattern/ and no remap hint: $* :: $out"
  fi
}
no_remap_hint "house.csv.*'[0-9.]+' is not an integer class label.*--task regression" -- \
  "$LSEKIT" import csv house.csv --out o5.h5 --label price --task classification
no_file o5.h5
no_remap_hint "ages.csv: cannot infer --task.*70 distinct integer values \\(18..87\\).*--task regression" -- \
  "$LSEKIT" import csv ages.csv --out o6.h5 --label age
no_file o6.h5
expect 0 "wrote ages.h5: ages.csv, regression" -- "$LSEKIT" import csv ages.csv --out ages.h5 --label age \
  --task regression
expect 2 "onebased.csv: label column grade: label 0 of 0..3 never occurs.*--labels remap" -- \
  "$LSEKIT" import csv onebased.csv --out o7.h5 --label grade
no_file o7.h5
expect 0 "0=1 1=2 2=3" -- "$LSEKIT" import csv onebased.csv --out onebased.h5 --label grade --labels remap
expect 0 '/meta/feature_names +string +\(2,\) += "rooms", "age"' -- "$LSEKIT" info house.h5
expect 0 '@importer +"csv"' -- "$LSEKIT" info house.h5
expect 0 '/meta/class_names +string +\(3,\) += "cat", "dog", "owl"' -- "$LSEKIT" info csv.h5
expect 0 '@generator +"classification"' -- "$LSEKIT" info cls.h5
pycheck "h5py reads names and provenance with no custom code" <<'PYEOF'
import h5py
h = h5py.File("house.h5", "r")
assert list(h["/meta/feature_names"].asstr()[()]) == ["rooms", "age"], h["/meta/feature_names"][()]
a = dict(h.attrs)
assert a["importer"] == "csv" and a["source"] == "house.csv" and a["param_label"] == "price", a
assert a["param_task"] == "regression" and a["param_task_inferred"] == 1, a
assert a["param_dropped_index_column"] == 1 and a["seed"] == 1, a
c = h5py.File("csv.h5", "r")
assert list(c["/meta/class_names"].asstr()[()]) == ["cat", "dog", "owl"]
assert list(c["/meta/feature_names"].asstr()[()]) == ["f1", "f2", "f3"]
assert c.attrs["param_labels"] == "remap" and c.attrs["seed"] == 2 and c.attrs["param_test_fraction"] == 0.25
g = h5py.File("cls.h5", "r").attrs
assert g["generator"] == "classification" and g["seed"] == 4 and g["param_n"] == 400, dict(g)
assert g["param_classes"] == 3 and g["param_noise"] == 0.1 and g["param_separation"] == 3.0, dict(g)
PYEOF

# ---- import fashion-mnist (small IDX files written here) ---------------------------------------
mkdir -p fmnist
$PY - <<'PYEOF'
import gzip, struct
def idx(path, dims, payload, code=0x08):
    with gzip.open(path, "wb") as f:
        f.write(bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload)
n, nt = 100, 30
idx("fmnist/train-images-idx3-ubyte.gz", [n, 4, 4], bytes((7 * i + j) % 256 for i in range(n) for j in range(16)))
idx("fmnist/train-labels-idx1-ubyte.gz", [n], bytes(i % 10 for i in range(n)))
idx("fmnist/t10k-images-idx3-ubyte.gz", [nt, 4, 4], bytes((3 * i + j) % 256 for i in range(nt) for j in range(16)))
idx("fmnist/t10k-labels-idx1-ubyte.gz", [nt], bytes(i % 10 for i in range(nt)))
# Broken variants.
import os, shutil
for name in ["trunc", "badlabel", "nan"]:
    shutil.copytree("fmnist", name)
idx("trunc/train-images-idx3-ubyte.gz", [n, 4, 4], bytes(16 * (n - 1)))
idx("badlabel/train-labels-idx1-ubyte.gz", [n], bytes([3] * 41 + [12] + [3] * (n - 42)))
idx("nan/train-images-idx3-ubyte.gz", [n, 4, 4],
    b"".join(struct.pack(">f", float("nan") if k == 16 * 9 + 2 else 0.5) for k in range(16 * n)), 0x0D)
PYEOF
expect 0 "100 x 16 train, 30 test, 10 classes" -- "$LSEKIT" import fashion-mnist --dir fmnist --out fm.h5
expect 0 "label noise: 20 of 100 training labels flipped" -- "$LSEKIT" import fashion-mnist --dir fmnist \
  --out fm-noisy.h5 --noise 0.2 --noise-kind class-conditional --seed 3
expect 0 "train class counts: 1 1 1 1 1 10 10 10 10 10" -- "$LSEKIT" import fashion-mnist --dir fmnist \
  --out fm-imb.h5 --keep 0.1,0.1,0.1,0.1,0.1,1,1,1,1,1
expect 0 "40 x 16 train" -- "$LSEKIT" import fashion-mnist --dir fmnist --out fm-sub.h5 --n-train 40 \
  --scale standardize
pycheck "h5py check of imported Fashion-MNIST files" <<'PYEOF'
import h5py, numpy as np
d = h5py.File("fm.h5", "r")
assert d["/train/X"].shape == (100, 16) and d["/test/X"].shape == (30, 16)
assert np.array_equal(d["/train/y"][:], np.arange(100) % 10)
x = d["/train/X"][:]
assert abs(x[3, 5] - ((7 * 3 + 5) % 256) / 255.0) < 1e-15
n = h5py.File("fm-noisy.h5", "r")
y, yc = n["/train/y"][:], n["/train/y_clean"][:]
assert np.array_equal(yc, np.arange(100) % 10)
flipped = y != yc
assert flipped.sum() == 20 and np.all(y[flipped] == (yc[flipped] + 1) % 10)
assert "y_clean" not in n["test"]
PYEOF
expect 0 "F = " -- "$LSEKIT" solve fm-noisy.h5 --solver softplus --out res-fm.h5 --epochs 2 --batch 10 -q
expect 2 "trunc/train-images-idx3-ubyte.gz.*truncated" -- "$LSEKIT" import fashion-mnist --dir trunc --out o5.h5
no_file o5.h5
expect 2 "badlabel/train-labels-idx1-ubyte.gz.*label 12 at row 41 is outside 0..9" -- \
  "$LSEKIT" import fashion-mnist --dir badlabel --out o6.h5
no_file o6.h5
expect 2 "nan/train-images-idx3-ubyte.gz.*non-finite pixel.*image 9" -- \
  "$LSEKIT" import fashion-mnist --dir nan --out o7.h5
no_file o7.h5
expect 2 "--keep has 9 fractions.*10 classes" -- "$LSEKIT" import fashion-mnist --dir fmnist --out o8.h5 \
  --keep 1,1,1,1,1,1,1,1,1
no_file o8.h5
expect 2 "--noise" -- "$LSEKIT" import fashion-mnist --dir fmnist --out o9.h5 --noise 1.5
no_file o9.h5
expect 2 "--noise-kind.*uniform, class-conditional" -- "$LSEKIT" import fashion-mnist --dir fmnist --out o10.h5 \
  --noise-kind sometimes
no_file o10.h5
expect 2 "--n-train 101 exceeds" -- "$LSEKIT" import fashion-mnist --dir fmnist --out o11.h5 --n-train 101
no_file o11.h5
expect 3 "no-such-dir.*dataset-fashion-mnist" -- "$LSEKIT" import fashion-mnist --dir no-such-dir --out o12.h5
no_file o12.h5
expect 2 "unknown or missing kind 'mnist'" -- "$LSEKIT" import mnist --out o13.h5
expect 0 "fashion-mnist" -- "$LSEKIT" import --help
expect 0 "--noise-kind" -- "$LSEKIT" import fashion-mnist --help

# The real package, when installed: a small subset (decompressing the 26 MB archive takes ~1 s).
if [ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  expect 0 "500 x 784 train, 0 test, 10 classes" -- "$LSEKIT" import fashion-mnist --out real.h5 \
    --n-train 500 --no-test
fi

# ---- bad classification datasets and results: exit 2, no output ---------------------------------
$PY - <<'PYEOF'
import h5py, numpy as np, shutil
def copy(name):
    shutil.copy("cls.h5", name)
    return h5py.File(name, "r+")
f = copy("label_range.h5"); y = f["/train/y"][:]; y[17] = 3; f["/train/y"][...] = y; f.close()
f = copy("neg_label.h5"); y = f["/test/y"][:]; y[2] = -1; f["/test/y"][...] = y; f.close()
f = copy("nan_x.h5"); X = f["/train/X"][:]; X[5, 2] = np.inf; f["/train/X"][...] = X; f.close()
f = copy("float_y.h5"); y = f["/train/y"][:]; del f["/train/y"]; f["/train/y"] = y.astype(np.float64); f.close()
f = copy("half_y.h5"); y = f["/train/y"][:]; del f["/train/y"]; f["/train/y"] = y + 0.5; f.close()
f = copy("k4.h5"); f.attrs["num_classes"] = 4; f.close()
f = copy("k1.h5"); f.attrs["num_classes"] = 1; f.close()
PYEOF
expect 2 "label_range.h5.*/train/y.*label 3 at row 17 is outside 0..2" -- \
  "$LSEKIT" solve label_range.h5 --out b1.h5 -q
no_file b1.h5
expect 2 "neg_label.h5.*/test/y.*label -1" -- "$LSEKIT" solve neg_label.h5 --out b2.h5 -q
no_file b2.h5
expect 2 "nan_x.h5.*/train/X.*non-finite" -- "$LSEKIT" solve nan_x.h5 --out b3.h5 -q
no_file b3.h5
# float64 labels holding integers (what numpy gives after arithmetic) are read as int64.
expect 0 "wrote b4.h5" -- "$LSEKIT" solve float_y.h5 --out b4.h5 -q
expect 2 "half_y.h5.*/train/y.*label at row 0 is [0-9.]+5, not an integer" -- \
  "$LSEKIT" solve half_y.h5 --out b4h.h5 -q
no_file b4h.h5
expect 2 "k1.h5.*num_classes" -- "$LSEKIT" solve k1.h5 --out b5.h5 -q
no_file b5.h5
# K mismatch: a 3-class result evaluated on a 4-class dataset.
expect 2 "res-full.h5.*/solution/weights has shape \\(3, 5\\).*4 classes" -- "$LSEKIT" eval res-full.h5 k4.h5
expect 2 "cls.h5.*--lambda" -- "$LSEKIT" solve cls.h5 --lambda 0 --out b6.h5 -q
no_file b6.h5
expect 2 "--batch 401" -- "$LSEKIT" solve cls.h5 --batch 401 --out b7.h5 -q
no_file b7.h5
# A regression result is not a classification solution.
"$LSEKIT" gen regression --out reg.h5 --n 100 --p 5 --n-test 10 >/dev/null
"$LSEKIT" solve reg.h5 --solver erm --out res-reg.h5 --epochs 1 -q >/dev/null
expect 2 "res-reg.h5.*/solution/weights has shape \\(5\\)" -- "$LSEKIT" eval res-reg.h5 cls.h5
expect 2 "--classes" -- "$LSEKIT" gen classification --out b8.h5 --classes 1
no_file b8.h5
expect 2 "--noise" -- "$LSEKIT" gen classification --out b9.h5 --noise -0.1
no_file b9.h5

# ---- divergence: exit 1, the result keeps the last finite iterate ------------------------------
expect 1 "non-finite .*reduce --step" -- "$LSEKIT" solve cls.h5 --solver sumexp --variance-reduction none --optimizer sgd --schedule constant \
  --step 1e4 --lambda 0.05 --out div.h5 -q
pycheck "diverged classification result" <<'PYEOF'
import h5py, numpy as np
f = h5py.File("div.h5", "r")
assert f.attrs["status"] == "diverged"
assert np.all(np.isfinite(f["/solution/weights"][:]))
PYEOF

if ls ./*.tmp-* >/dev/null 2>&1; then bad "temporary files left: $(ls ./*.tmp-*)"; else ok; fi

echo "cli classification: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
