"""Helpers of the published-claims reproductions (bench/claims/*.sh): write a dataset in the
lsekit format, read an lsekit compare file into one record per run, and print markdown."""
from collections import defaultdict

import h5py
import numpy as np


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def write_regression_dataset(path, x, y):
    """An lsekit-dataset file (SPEC section 4): /train/X (n, p) and /train/y (n), float64."""
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "lsekit-dataset"
        f.attrs["format_version"] = np.int64(1)
        f.attrs["task"] = "regression"
        f["/train/X"] = np.asarray(x, dtype=np.float64)
        f["/train/y"] = np.asarray(y, dtype=np.float64)


def runs(path):
    """One dict per run of a compare file, from the run's own attributes: its grid point
    (solver, optimizer, lam, batch, rho, step, seed), outcome (status, message, final exact
    objective) and reference (f_star of its lambda; f0 = exact objective at the start)."""
    out = []
    with h5py.File(path, "r") as f:
        for rid in sorted(f["runs"]):
            g = f["runs"][rid]
            a = g.attrs
            out.append({
                "solver": text(a["solver"]), "optimizer": text(a["optimizer"]),
                "lam": float(a["lambda"]), "batch": int(a["batch"]), "rho": float(a["rho_option"]),
                "step": float(a["step"]), "seed": int(a["seed"]),
                "status": text(a["status"]), "message": text(a["message"]),
                "final": float(a["objective"]),
                "f_star": float(a["f_star"]) if "f_star" in a else np.nan,
                "f0": float(g["trace/objective"][0]),
            })
    return out


def group(records, *keys):
    """Records grouped by the values of `keys`, in order of first appearance."""
    out = defaultdict(list)
    for r in records:
        out[tuple(r[k] for k in keys)].append(r)
    return out


def markdown(header, rows):
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
    print()
