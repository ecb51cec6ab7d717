#!/usr/bin/env bash
# Step-size robustness of the tilted loss (A. Shtoff, "Untilting", alexshtf.github.io, 2024):
# line fit, n = 100, x ~ N(0, 1), y = 0.8 x - 1 + 0.3 t_3 (Student-t noise, 3 dof), tilts
# t in {0.25, 1, 2} (lambda = 1/t), batch 1, 100 epochs, constant step, start 0, 5 seeds.
# sumexp (the "stripped" sum of exponentials), variational-log and softplus (adaptive rho),
# final exact tilted loss vs step size for plain SGD (the blog's grid geomspace(1e-7, 1e-4, 20),
# plus an extension up to 1 that the blog does not have) and Adam (geomspace(1e-5, 1e2, 30)).
# F* per lambda from `full` (L-BFGS). Writes build/bench-claims/blog/ (compare files, plots
# {sgd,sgd_wide,adam}_plots/step_robustness.png, table.md) and prints the markdown table.
# usage: bench/claims/blog.sh   (LSEKIT_SKIP_SETUP=1: use the existing build; LSEKIT_JOBS=N)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh" blog
SECONDS=0
cd "$out"

# The data: `lsekit gen regression` draws random coefficients, so write it directly.
"$PY" - <<'PYEOF'
import numpy as np
from claims import write_regression_dataset
rng = np.random.default_rng(20240614)
x = rng.standard_normal(100)
y = 0.8 * x - 1.0 + 0.3 * rng.standard_t(3, 100)
write_regression_dataset("line.h5", x[:, None], y)
PYEOF

common=(--solvers sumexp,variational-log,softplus,full --lambdas 4,1,0.5 --batch 1 --epochs 100
        --schedule constant --seeds 5 --jobs "$jobs" --force -q)
"$lsekit" compare line.h5 --out sgd.h5 --optimizers sgd --step-sizes "$(geom 1e-7 1e-4 20)" "${common[@]}" > sgd.log
"$lsekit" compare line.h5 --out sgd_wide.h5 --optimizers sgd --step-sizes "$(geom 1e-4 1 13)" "${common[@]}" > sgd_wide.log
"$lsekit" compare line.h5 --out adam.h5 --optimizers adam --step-sizes "$(geom 1e-5 1e2 30)" "${common[@]}" > adam.log

"$PY" - <<'PYEOF' | tee table.md
import numpy as np
from claims import runs, group, markdown

def g(v):
    return f"{v:.3g}"

print("Converged = median over 5 seeds within 1% of F* and no seed diverged; "
      "'first diverged' = smallest step at which a seed diverged.\n")
for title, path in (("plain SGD, blog grid geomspace(1e-7, 1e-4, 20)", "sgd.h5"),
                    ("plain SGD, extension geomspace(1e-4, 1, 13) (not in the blog)", "sgd_wide.h5"),
                    ("Adam, blog grid geomspace(1e-5, 1e2, 30)", "adam.h5")):
    print(f"**{title}**\n")
    rows = []
    for (solver, lam), rs in group([r for r in runs(path) if r["solver"] != "full"], "solver", "lam").items():
        f_star = rs[0]["f_star"]
        conv, first_div, best = [], None, (np.inf, None)
        for step, at in sorted(group(rs, "step").items()):
            diverged = any(r["status"] == "diverged" for r in at)
            gap = (np.median([r["final"] if r["status"] != "diverged" else np.inf for r in at]) - f_star) / f_star
            if diverged and first_div is None:
                first_div = step[0]
            if not diverged and gap <= 0.01:
                conv.append(step[0])
            if gap < best[0]:
                best = (gap, step[0])
        n_steps = len({r["step"] for r in rs})
        rows.append([solver, g(1 / lam), g(lam), f"{f_star:.6g}",
                     f"{g(min(conv))} … {g(max(conv))} ({len(conv)}/{n_steps})" if conv else f"none (0/{n_steps})",
                     f"{best[0]:.2e} at {g(best[1])}" if best[1] else "all diverged",
                     g(first_div) if first_div else "none"])
    rows.sort(key=lambda r: (-float(r[2]), ["sumexp", "variational-log", "softplus"].index(r[0])))
    markdown(["solver", "t", "λ", "F*", "converged steps (count)", "best median (F−F*)/F*", "first diverged"], rows)
PYEOF
echo "blog: ${SECONDS} s; plots in $out/{sgd,sgd_wide,adam}_plots/"
