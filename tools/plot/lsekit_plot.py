#!/usr/bin/python3
"""Plots of an lsekit compare file or a single solve result (matplotlib reading the HDF5 file with h5py).

usage: lsekit_plot.py FILE.h5 [--out-dir DIR] [--prefix NAME] [--force]

Runs are grouped by solver and by the grid axes that vary in the file (optimizer, batch,
softplus rho); when the temperature (lambda) varies, every figure has one panel per value,
each against its own F*. Each group is drawn at its best step size: the median over seeds
with a min-max band (the legend says so). Work is counted in passes over the data: the
/trace/passes column where the file has one, else epochs; `full` (L-BFGS, Sinkhorn) counts one
exact evaluation as one pass, so every solver shares one axis. Both axes are logarithmic and
only positive values are drawn. Writes PNG and SVG for:
  * objective.{png,svg}        F - F* (F where the file has no F*) vs passes;
  * objective_time.{png,svg}   the same vs solver time;
  * step_robustness.{png,svg}  final F - F* vs step size (only with >= 2 step sizes;
                               x marks step sizes at which a run diverged);
  * accuracy.{png,svg}         classification: test accuracy and worst-class test accuracy vs passes;
  * marginal_error.{png,svg}   entropic OT: marginal error |b - mean chi|_1 vs passes.
Prints the paths it wrote. Refuses to replace existing plots without --force.
Exit 2 for a file that is not an lsekit result or existing plots without --force, 3 for I/O.
"""
import argparse
import os
import signal
import sys
from collections import defaultdict

try:
    import h5py
    import numpy as np
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
except ImportError as e:  # pragma: no cover
    print(f"lsekit plot: error: {e} (install python3-h5py and python3-matplotlib)", file=sys.stderr)
    sys.exit(3)

FULL_OPTIMIZERS = ("lbfgs", "sinkhorn")
# One colour, marker and line style per solver (the same solver keeps them in every figure).
SOLVER_STYLE = {
    "full": ("black", "s", "-"),
    "softplus": ("tab:blue", "o", "-"),
    "variational-log": ("tab:orange", "^", "--"),
    "biased-softmax": ("tab:green", "v", "-."),
    "sumexp": ("tab:red", "D", ":"),
    "erm": ("tab:purple", "P", (0, (5, 1, 1, 1))),
}
EXTRA_COLORS = ["tab:brown", "tab:pink", "tab:gray", "tab:olive", "tab:cyan"]
EXTRA_MARKERS = ["X", "*", "h", "<", ">"]


def fail(code, msg):
    print(f"lsekit plot: {'I/O error' if code == 3 else 'error'}: {msg}", file=sys.stderr)
    sys.exit(code)


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def read_run(g, root_attrs, root_f_star):
    tr = g["trace"]
    temp_key = "epsilon" if "epsilon" in g.attrs else "lambda"
    trace = {k: np.asarray(tr[k][()], dtype=float) for k in tr.keys()}
    # Work axis: passes where the solver records them (non-zero), else epochs.
    passes = trace.get("passes")
    if passes is None or not np.any(passes > 0):
        passes = trace.get("epoch", np.arange(len(trace.get("objective", []))))
    trace["work"] = passes
    return {
        "solver": text(g.attrs["solver"]),
        "optimizer": text(g.attrs.get("optimizer", "")),
        "step": float(g.attrs.get("step", np.nan)),
        "seed": int(g.attrs.get("seed", 0)),
        "rho": float(g.attrs.get("rho_option", g.attrs.get("rho", 0.0))),
        "batch": int(g.attrs.get("batch", 0)),
        "status": text(g.attrs.get("status", "")),
        "final": float(g.attrs.get("objective", np.nan)),
        "temp_key": temp_key,
        "temp": float(g.attrs[temp_key]),
        "l2": float(g.attrs.get("l2", root_attrs.get("l2", 0.0))),
        "f_star": float(g.attrs["f_star"]) if "f_star" in g.attrs else root_f_star,
        "trace": trace,
    }


def load(path):
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        fail(3, f"{path}: {e}")
    with f:
        if text(f.attrs.get("format", "")) != "lsekit-result":
            fail(2, f"{path}: not an lsekit result or compare file (root attribute format)")
        root = {k: f.attrs[k] for k in f.attrs}
        root_f_star = float(f.attrs["f_star"]) if "f_star" in f.attrs else None
        if "runs" in f:
            runs = [read_run(f["runs"][rid], root, root_f_star) for rid in sorted(f["runs"].keys())]
        elif "trace" in f:  # a single solve result
            runs = [read_run(f, root, root_f_star)]
        else:
            fail(2, f"{path}: an lsekit result without /runs or /trace: nothing to plot")
        meta = {k: text(f.attrs[k]) for k in ("problem", "input_path") if k in f.attrs}
    return runs, meta


def is_full(r):
    return r["solver"] == "full" and r["optimizer"] in FULL_OPTIMIZERS


def make_label(runs):
    """Label function: the solver plus the values of the grid axes that vary in `runs`;
    full with L-BFGS/Sinkhorn is named by its method, never by a step size."""
    stochastic = [r for r in runs if not is_full(r)]
    vary_opt = len({r["optimizer"] for r in stochastic}) > 1
    vary_batch = len({r["batch"] for r in stochastic}) > 1
    vary_rho = len({r["rho"] for r in runs if r["solver"] == "softplus"}) > 1

    def label(r):
        if is_full(r):
            return "full (L-BFGS)" if r["optimizer"] == "lbfgs" else "full (Sinkhorn)"
        lab = r["solver"]
        if r["solver"] == "full":
            lab += f" ({r['optimizer']})"
        elif vary_opt:
            lab += f" {r['optimizer']}"
        if vary_batch and r["solver"] != "full":
            lab += f" B={r['batch']}"
        if r["solver"] == "softplus" and (vary_rho or r["rho"] > 0):
            lab += f" rho={r['rho']:g}" if r["rho"] > 0 else " rho=adaptive"
        return lab
    return label


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--out-dir", default=None)
    ap.add_argument("--prefix", default="")
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args()
    runs, meta = load(a.file)
    if not runs:
        fail(2, f"{a.file}: no runs to plot")
    out_dir = a.out_dir or (a.file[:-3] if a.file.endswith(".h5") else a.file) + "_plots"
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as e:
        fail(3, f"cannot write {out_dir}: {e.strerror.lower() if e.strerror else e}")
    if not os.access(out_dir, os.W_OK | os.X_OK):
        fail(3, f"cannot write {out_dir}: permission denied")

    label_of = make_label(runs)
    temp_key = runs[0]["temp_key"]
    problem = meta.get("problem", "")
    dataset = os.path.basename(meta.get("input_path", a.file))
    classification = problem == "dro-classification" or any("test_acc" in r["trace"] for r in runs)
    ot = problem == "entropic-ot" or temp_key == "epsilon"
    batches = sorted({r["batch"] for r in runs if r["solver"] != "full"})
    l2s = sorted({r["l2"] for r in runs})

    # One panel per temperature, each with its own groups and F*.
    panels = []
    for temp in sorted({r["temp"] for r in runs}):
        groups = defaultdict(list)
        for r in runs:
            if r["temp"] == temp:
                groups[label_of(r)].append(r)
        f_star = next((r["f_star"] for g in groups.values() for r in g if r["f_star"] is not None), None)
        panels.append((temp, groups, f_star))

    # Style per label: its solver's colour, marker and line style; variants of a solver
    # (another optimizer, batch, rho) keep the line style and get their own colour and marker.
    style, used = {}, defaultdict(int)
    for r in runs:
        lab = label_of(r)
        if lab in style:
            continue
        color, marker, ls = SOLVER_STYLE.get(r["solver"], ("tab:gray", "o", "-"))
        k = used[r["solver"]]
        used[r["solver"]] += 1
        if k > 0:
            color = EXTRA_COLORS[(k - 1) % len(EXTRA_COLORS)]
            marker = EXTRA_MARKERS[(k - 1) % len(EXTRA_MARKERS)]
        style[lab] = (color, marker, ls)

    names = ["objective", "objective_time", "step_robustness", "accuracy", "marginal_error"]
    if not a.force:
        existing = [os.path.join(out_dir, f"{a.prefix}{n}.{e}") for n in names for e in ("png", "svg")]
        existing = [p for p in existing if os.path.exists(p)]
        if existing:
            fail(2, f"{existing[0]} exists; pass --force to replace the plots in {out_dir}")

    def title_of(temp):
        sym = "ε" if ot else "λ"
        parts = [dataset, problem, f"{sym} = {temp:g}"]
        if not ot:
            parts.append("μ = " + ", ".join(f"{v:g}" for v in l2s))
        if batches:
            parts.append("batch " + ", ".join(str(b) for b in batches))
        return "  ·  ".join(p for p in parts if p)

    written = []

    def figure(ncols=1):
        fig, axes = plt.subplots(ncols, len(panels), figsize=(6.4 * len(panels), 4.3 * ncols), squeeze=False)
        return fig, axes

    def save(fig, name):
        for ext in ("png", "svg"):
            p = os.path.join(out_dir, f"{a.prefix}{name}.{ext}")
            try:
                fig.savefig(p, dpi=130, bbox_inches="tight")
            except OSError as e:
                fail(3, f"cannot write {p}: {e.strerror.lower() if e.strerror else e}")
            written.append(p)
        plt.close(fig)

    def usable(r):
        return r["status"] in ("converged", "budget-exhausted") and np.isfinite(r["final"])

    def best_step(rs):
        """The step size with the smallest median final F over usable runs (None for full)."""
        by_step = defaultdict(list)
        for r in rs:
            by_step[r["step"]].append(r)
        scored = []
        for st, rr in by_step.items():
            finals = [r["final"] if usable(r) else np.inf for r in rr]
            scored.append((np.median(finals), st))
        return min(scored)[1]

    def curve(ax, rs, xkey, ykey, lab, transform, with_step, log_y=True):
        """Median over the runs of one group at its best step with a min-max band; positive
        values only (log axes). Returns True when a band was drawn."""
        if not rs:
            return False
        best = best_step(rs)
        sel = [r for r in rs if r["step"] == best and ykey in r["trace"] and xkey in r["trace"]]
        if not sel:
            return False
        n = min(len(r["trace"][ykey]) for r in sel)
        x = np.median(np.vstack([r["trace"][xkey][:n] for r in sel]), axis=0)
        y = np.vstack([transform(r["trace"][ykey][:n]) for r in sel])
        med = np.median(y, axis=0)
        keep = (x > 0) & np.isfinite(med) & ((med > 0) if log_y else True)
        if not np.any(keep):
            return False
        color, marker, ls = style[lab]
        text_lab = lab if is_full(sel[0]) or not with_step else f"{lab} (step {best:g})"
        # Markers on every `every`-th point, shifted per label: curves that overlap (sumexp and
        # variational-log often do) still show each solver's own markers.
        every = max(1, int(keep.sum()) // 8)
        offset = (list(style).index(lab) * max(1, every // 3)) % every
        ax.plot(x[keep], med[keep], color=color, ls=ls, marker=marker, ms=4.5, markevery=(offset, every), lw=1.5,
                label=text_lab, zorder=3)
        if len(sel) > 1:
            lo, hi = y.min(axis=0), y.max(axis=0)
            ok = keep & ((lo > 0) if log_y else True)
            ax.fill_between(x[ok], lo[ok], hi[ok], color=color, alpha=0.12, lw=0, zorder=1)
            return True
        return False

    def finish(ax, banded, nseeds, diverged=False):
        handles, labels = ax.get_legend_handles_labels()
        if banded:
            handles.append(Patch(color="gray", alpha=0.3))
            labels.append(f"band: min–max over {nseeds} seeds (line: median)")
        if diverged:
            handles.append(Line2D([], [], color="gray", marker="x", ls="none", mew=2))
            labels.append("x (top, in the solver's colour): a run diverged at this step size")
        if handles:  # outside the axes: a legend never hides data
            ax.legend(handles, labels, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
        ax.grid(alpha=0.3, which="both")

    nseeds = max(len({r["seed"] for r in g}) for _, groups, _ in panels for g in groups.values())
    work_label = "passes over the data (gradient evaluations / n; full: 1 per evaluation)"

    def gap(f_star):
        if f_star is None:
            return lambda v: v
        return lambda v: v - f_star

    for xkey, name, xlabel in (("work", "objective", work_label), ("time_s", "objective_time", "solver time [s]")):
        fig, axes = figure()
        for ax, (temp, groups, f_star) in zip(axes[0], panels):
            banded = False
            for lab, rs in groups.items():
                banded |= curve(ax, rs, xkey, "objective", lab, gap(f_star), True, f_star is not None)
            ax.set_xscale("log")
            if f_star is not None:  # F itself may be negative (OT): linear without F*
                ax.set_yscale("log")
            ax.set_xlabel(xlabel)
            ax.set_ylabel("F − F*  (F* from full, L-BFGS)" if f_star is not None else "exact objective F")
            ax.set_title(title_of(temp), fontsize=9)
            finish(ax, banded, nseeds)
        save(fig, name)

    if any(len({r["step"] for r in rs if not is_full(r)}) >= 2 for _, groups, _ in panels for rs in groups.values()):
        fig, axes = figure()
        for ax, (temp, groups, f_star) in zip(axes[0], panels):
            any_div, banded, ndiv = False, False, 0
            for lab, rs in groups.items():
                steps = sorted({r["step"] for r in rs})
                if len(steps) < 2 or is_full(rs[0]):
                    continue
                color, marker, ls = style[lab]
                med, lo, hi, div = [], [], [], []
                for st in steps:
                    v = np.array([gap(f_star)(r["final"]) if usable(r) else np.nan for r in rs if r["step"] == st])
                    ok = v[np.isfinite(v) & (v > 0)]
                    med.append(np.median(ok) if ok.size else np.nan)
                    lo.append(ok.min() if ok.size else np.nan)
                    hi.append(ok.max() if ok.size else np.nan)
                    div.append(any(r["status"] == "diverged" for r in rs if r["step"] == st))
                ax.plot(steps, med, marker=marker, ms=4, ls=ls, label=lab, color=color)
                if len({r["seed"] for r in rs}) > 1:
                    ax.fill_between(steps, lo, hi, color=color, alpha=0.18, lw=0)
                    banded = True
                # Diverged: an x near the top edge of the axes at that step size, one row per solver
                # so that solvers diverging at the same step size stay visible.
                if any(div):
                    for st, d in zip(steps, div):
                        if d:
                            ax.plot([st], [0.96 - 0.05 * ndiv], marker="x", color=color, ms=8, mew=2, ls="none",
                                    transform=ax.get_xaxis_transform(), clip_on=False)
                    any_div = True
                    ndiv += 1
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("step size")
            ax.set_ylabel("final F − F*" if f_star is not None else "final exact objective F")
            ax.set_title(title_of(temp) + ("\n(x: diverged)" if any_div else ""), fontsize=9)
            finish(ax, banded, nseeds, any_div)
        save(fig, "step_robustness")

    if classification and any("test_acc" in r["trace"] for r in runs):
        fig, axes = figure(2)
        for col, (temp, groups, f_star) in enumerate(panels):
            for row, (key, ylabel) in enumerate((("test_acc", "test accuracy"),
                                                 ("test_worst_class_acc", "worst-class test accuracy"))):
                ax = axes[row][col]
                banded = False
                for lab, rs in groups.items():
                    banded |= curve(ax, rs, "work", key, lab, lambda v: v, True, False)
                ax.set_xscale("log")
                ax.set_xlabel(work_label)
                ax.set_ylabel(ylabel)
                if row == 0:
                    ax.set_title(title_of(temp), fontsize=9)
                finish(ax, banded, nseeds)
        save(fig, "accuracy")

    if ot and any("marginal_error" in r["trace"] for r in runs):
        fig, axes = figure()
        for ax, (temp, groups, f_star) in zip(axes[0], panels):
            banded = False
            for lab, rs in groups.items():
                banded |= curve(ax, rs, "work", "marginal_error", lab, lambda v: v, True)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel(work_label)
            ax.set_ylabel("marginal error ‖b − mean χ‖₁")
            ax.set_title(title_of(temp), fontsize=9)
            finish(ax, banded, nseeds)
        save(fig, "marginal_error")

    for p in written:
        print(p)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `lsekit plot F | head`: no traceback
    main()
