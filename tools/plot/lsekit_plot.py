#!/usr/bin/python3
"""Plots of an lsekit compare file (matplotlib reading the HDF5 file with h5py).

usage: lsekit_plot.py COMPARE.h5 [--out-dir DIR] [--prefix NAME]

Runs are grouped by solver and by the grid axes that vary in the file (optimizer, batch,
softplus rho); when the temperature (lambda) varies, every figure has one panel per value,
each against its own F*. Writes PNG and SVG for:
  * objective.{png,svg}        exact objective (suboptimality F - F*, log scale, when the file
                               has f_star) vs epochs, per group at its best step size:
                               median over seeds with a min-max band;
  * objective_time.{png,svg}   the same vs solver time;
  * step_robustness.{png,svg}  final objective vs step size per group (median, min-max band;
                               diverged runs marked x);
  * marginal_error.{png,svg}   (OT files) marginal error vs time.
Prints the paths it wrote. Exit 2 for a file that is not an lsekit compare file, 3 for I/O.
"""
import argparse
import os
import sys
from collections import defaultdict

try:
    import h5py
    import numpy as np
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError as e:  # pragma: no cover
    print(f"lsekit plot: error: {e} (install python3-h5py and python3-matplotlib)", file=sys.stderr)
    sys.exit(3)


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def load(path):
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        print(f"lsekit plot: I/O error: {path}: {e}", file=sys.stderr)
        sys.exit(3)
    if text(f.attrs.get("format", "")) != "lsekit-result" or "runs" not in f:
        print(f"lsekit plot: error: {path}: not an lsekit compare file (needs format = "
              f"lsekit-result and a /runs group)", file=sys.stderr)
        sys.exit(2)
    root_f_star = float(f.attrs["f_star"]) if "f_star" in f.attrs else None
    runs = []
    for rid in sorted(f["runs"].keys()):
        g = f["runs"][rid]
        tr = g["trace"]
        temp_key = "epsilon" if "epsilon" in g.attrs else "lambda"
        runs.append({
            "solver": text(g.attrs["solver"]),
            "optimizer": text(g.attrs.get("optimizer", "")),
            "step": float(g.attrs["step"]),
            "seed": int(g.attrs["seed"]),
            "rho": float(g.attrs.get("rho_option", g.attrs.get("rho", 0.0))),
            "batch": int(g.attrs.get("batch", 0)),
            "status": text(g.attrs.get("status", "")),
            "final": float(g.attrs.get("objective", np.nan)),
            "temp_key": temp_key,
            "temp": float(g.attrs[temp_key]),
            # F* of this run's temperature (compare files with several lambdas keep it per run)
            "f_star": float(g.attrs["f_star"]) if "f_star" in g.attrs else root_f_star,
            "trace": {k: np.asarray(tr[k][()], dtype=float) for k in tr.keys()},
        })
    meta = {k: text(f.attrs[k]) for k in ("problem", "input_path") if k in f.attrs}
    f.close()
    return runs, meta


def make_label(runs):
    """Label function: the solver plus the values of the grid axes that vary in `runs`
    (the full L-BFGS reference has no optimizer or batch axis)."""
    stochastic = [r for r in runs if r["optimizer"] not in ("lbfgs", "sinkhorn")]
    vary_opt = len({r["optimizer"] for r in stochastic}) > 1
    vary_batch = len({r["batch"] for r in stochastic}) > 1
    vary_rho = len({r["rho"] for r in runs if r["solver"] == "softplus"}) > 1

    def label(r):
        lab = r["solver"]
        if r["optimizer"] not in ("lbfgs", "sinkhorn"):
            if vary_opt:
                lab += f" {r['optimizer']}"
            if vary_batch:
                lab += f" B={r['batch']}"
        if r["solver"] == "softplus" and (vary_rho or r["rho"] > 0):
            lab += f" rho={r['rho']:g}" if r["rho"] > 0 else " rho=adaptive"
        return lab
    return label


def band(ax, xs_list, ys_list, label, color):
    """Median with min-max band over runs sharing a label (traces on a common grid)."""
    n = min(len(y) for y in ys_list)
    x = np.median(np.vstack([xx[:n] for xx in xs_list]), axis=0)
    y = np.vstack([yy[:n] for yy in ys_list])
    ax.plot(x, np.median(y, axis=0), label=label, color=color)
    if len(ys_list) > 1:
        ax.fill_between(x, y.min(axis=0), y.max(axis=0), color=color, alpha=0.2, lw=0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--out-dir", default=None)
    ap.add_argument("--prefix", default="")
    a = ap.parse_args()
    runs, meta = load(a.file)
    out_dir = a.out_dir or os.path.splitext(a.file)[0] + "_plots"
    os.makedirs(out_dir, exist_ok=True)
    label_of = make_label(runs)
    temp_key = runs[0]["temp_key"] if runs else "lambda"
    # One panel per temperature, each with its own runs, groups and F*.
    panels = []
    for temp in sorted({r["temp"] for r in runs}):
        groups = defaultdict(list)
        for r in runs:
            if r["temp"] == temp:
                groups[label_of(r)].append(r)
        f_star = next(iter(groups.values()))[0]["f_star"]
        panels.append((f"{meta.get('problem', '')} {temp_key} = {temp:g}", groups, f_star))
    labels = list(dict.fromkeys(label_of(r) for r in runs))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    if len(labels) > len(colors):  # the default cycle has 10 colours: distinct ones for up to 20
        colors = [plt.cm.tab20(i) for i in range(20)]
    color = {lab: colors[i % len(colors)] for i, lab in enumerate(labels)}

    def yval(v, f_star):
        if f_star is None:
            return v
        return np.maximum(v - f_star, 1e-16 * max(1.0, abs(f_star)))

    written = []

    def figure():
        fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 4.5), squeeze=False)
        return fig, axes[0]

    def save(fig, name):
        for ext in ("png", "svg"):
            p = os.path.join(out_dir, f"{a.prefix}{name}.{ext}")
            fig.savefig(p, dpi=110, bbox_inches="tight")
            written.append(p)
        plt.close(fig)

    def best_step(rs):
        """Smallest median final objective among non-diverged step sizes."""
        by_step = defaultdict(list)
        for r in rs:
            by_step[r["step"]].append(r)
        scored = []
        for st, rr in by_step.items():
            finals = [r["final"] if r["status"] != "diverged" and np.isfinite(r["final"]) else np.inf
                      for r in rr]
            scored.append((np.median(finals), st))
        return min(scored)[1]

    for xkey, name, xlabel in (("epoch", "objective", "epochs"),
                               ("time_s", "objective_time", "solver time [s]")):
        fig, axes = figure()
        for ax, (title, groups, f_star) in zip(axes, panels):
            for lab, rs in groups.items():
                best = best_step(rs)
                sel = [r for r in rs if r["step"] == best and np.all(np.isfinite(r["trace"]["objective"]))]
                if not sel:
                    continue
                band(ax, [r["trace"][xkey] for r in sel], [yval(r["trace"]["objective"], f_star) for r in sel],
                     f"{lab} (step {best:g})", color[lab])
            ax.set_xlabel(xlabel)
            ax.set_ylabel("F - F*" if f_star is not None else "exact objective F")
            if f_star is not None:
                ax.set_yscale("log")
            if xkey == "time_s":
                ax.set_xscale("symlog", linthresh=1e-3)
            ax.set_title(title)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        save(fig, name)

    fig, axes = figure()
    for ax, (title, groups, f_star) in zip(axes, panels):
        for lab, rs in groups.items():
            steps = sorted({r["step"] for r in rs})
            if len(steps) < 2:
                continue
            med, lo, hi, div = [], [], [], []
            for st in steps:
                v = np.array([yval(r["final"], f_star) if r["status"] != "diverged" and np.isfinite(r["final"])
                              else np.nan for r in rs if r["step"] == st])
                ok = v[np.isfinite(v)]
                med.append(np.median(ok) if ok.size else np.nan)
                lo.append(ok.min() if ok.size else np.nan)
                hi.append(ok.max() if ok.size else np.nan)
                div.append(np.sum(~np.isfinite(v)) > 0)
            ax.plot(steps, med, marker="o", ms=3, label=lab, color=color[lab])
            ax.fill_between(steps, lo, hi, color=color[lab], alpha=0.2, lw=0)
            ys = np.nanmax(np.array(hi, dtype=float)) if np.any(np.isfinite(hi)) else 1.0
            for st, d in zip(steps, div):
                if d:
                    ax.plot([st], [ys], marker="x", color=color[lab], ms=7)
        ax.set_xscale("log")
        if f_star is not None:
            ax.set_yscale("log")
        ax.set_xlabel("step size")
        ax.set_ylabel("final F - F*" if f_star is not None else "final exact objective F")
        ax.set_title(title + "  (x: diverged)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    save(fig, "step_robustness")

    if any("marginal_error" in r["trace"] for r in runs):
        fig, axes = figure()
        for ax, (title, groups, f_star) in zip(axes, panels):
            for lab, rs in groups.items():
                best = best_step(rs)
                sel = [r for r in rs if r["step"] == best and "marginal_error" in r["trace"]]
                if sel:
                    band(ax, [r["trace"]["time_s"] for r in sel], [r["trace"]["marginal_error"] for r in sel],
                         lab, color[lab])
            ax.set_yscale("log")
            ax.set_xscale("symlog", linthresh=1e-3)
            ax.set_xlabel("solver time [s]")
            ax.set_ylabel("marginal error |b - mean chi|_1")
            ax.set_title(title)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        save(fig, "marginal_error")

    for p in written:
        print(p)


if __name__ == "__main__":
    main()
