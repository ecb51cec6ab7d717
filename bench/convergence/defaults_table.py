"""The README's Convergence table and the Fashion-MNIST plot from bench/convergence/defaults.sh.

usage: defaults_table.py WORKDIR PLOT.png
Each cell: passes at the run's own stop / passes to (F - F*)/max(1,|F*|) <= 1e-6 read from
its trace, median (range) over the seeds found; a run that did not report `converged`, or
whose final iterate is above 1e-6, is marked.
"""
import glob
import os
import statistics as st
import sys

import h5py
import numpy as np

INSTANCES = [
    ("reg1", "regression 350×10, λ 1", 100),
    ("reg02", "regression 350×10, λ 0.2", 300),
    ("heavy", "heavy-tailed regression 20640×8, λ 1", 130),
    ("cls1", "noisy-label classification 1400×64×10, λ 1, μ 1e-3", 120),
    ("cls02", "same, λ 0.2", 400),
    ("ot005", "2-D OT n 4000, m 200, ε 0.05", 30),
    ("ot001", "2-D OT, ε 0.01", 100),
    ("fm", "Fashion-MNIST 6000×784×10, λ 1, μ 1e-3", 300),
]
SOLVERS = [("sp", "softplus"), ("vl", "variational-log"), ("lb", "L-BFGS (--solver full)")]


def relative(fstar, path):
    t = h5py.File(path, "r")["trace"]
    return (t["objective"][:] - fstar) / max(1.0, abs(fstar)), t["passes"][:], t["time_s"][:]


def one(fstar, path):
    if not os.path.exists(path):
        return None
    f = h5py.File(path, "r")
    rel, ps, _ = relative(fstar, path)
    hit = np.nonzero(rel <= 1e-6)[0]
    return dict(status=str(f.attrs["status"]), passes=float(f.attrs["passes"]),
                p6=float(ps[hit[0]]) if len(hit) else float("nan"), time=float(f.attrs["time_s"]),
                rel=(f.attrs["objective"] - fstar) / max(1.0, abs(fstar)))


def fmt(rows, key):
    v = [r[key] for r in rows]
    if key == "time":
        return f"{st.median(v):.2g}"
    if any(np.isnan(v)):
        return "–"
    return f"{st.median(v):.0f}" + (f" ({min(v):.0f}–{max(v):.0f})" if len(v) > 1 else "")


def table(work):
    print("| instance | target | softplus: converged at / 1e-6 at (passes) | variational-log: converged at / "
          "1e-6 at | L-BFGS: converged at / 1e-6 at | s (softplus / vlog / L-BFGS) |")
    print("|---|---:|---|---|---|---|")
    for tag, name, target in INSTANCES:
        cols, times = [], []
        for sv, _ in SOLVERS:
            rows = []
            for fsf in sorted(glob.glob(os.path.join(work, f"{tag}_s*_fstar.h5"))):
                r = one(h5py.File(fsf, "r").attrs["objective"], fsf.replace("_fstar", "_" + sv))
                if r:
                    rows.append(r)
            if not rows:
                cols.append("n/a")
                times.append("")
                continue
            conv = sum(r["status"] == "converged" for r in rows)
            ok = all(r["rel"] <= 1e-6 for r in rows)
            cols.append(f"{fmt(rows, 'passes')} / {fmt(rows, 'p6')}" +
                        ("" if conv == len(rows) else f" [{conv}/{len(rows)} converged]") +
                        ("" if ok else " [final > 1e-6]"))
            times.append(fmt(rows, "time"))
        print(f"| {name} | {target} | {cols[0]} | {cols[1]} | {cols[2]} | {' / '.join(times)} |")


def plot(work, out):
    fsf = os.path.join(work, "fm_s1_fstar.h5")
    if not os.path.exists(fsf):
        return
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fstar = h5py.File(fsf, "r").attrs["objective"]
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    for sv, label in SOLVERS:
        path = os.path.join(work, f"fm_s1_{sv}.h5")
        if not os.path.exists(path):
            continue
        rel, ps, ts = relative(fstar, path)
        rel = np.maximum(rel, 1e-12)
        ax[0].semilogy(ps, rel, label=label)
        ax[1].semilogy(ts, rel, label=label)
    for a, xl in zip(ax, ["passes over the data", "seconds (one thread)"]):
        a.axhline(1e-6, color="grey", lw=0.8, ls="--")
        a.set_xlabel(xl)
        a.set_ylabel("(F − F*) / max(1, |F*|)")
        a.grid(True, which="major", alpha=0.3)
        a.legend()
    fig.suptitle("Fashion-MNIST subset 6000×784×10, λ = 1, μ = 1e-3: defaults against L-BFGS")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    table(sys.argv[1])
    plot(sys.argv[1], sys.argv[2])
