# Python quick start 2: entropic semi-discrete OT from NumPy points: a Gaussian source
# transported onto 50 atoms, then the barycentric map and hard assignment of new points.
import numpy as np

import lsekit

rng = np.random.default_rng(0)
X = rng.normal(size=(5000, 2))               # source samples
Y = rng.uniform(-2, 2, size=(50, 2))         # atoms
b = np.full(50, 1 / 50)                      # their weights

ot = lsekit.SemiDiscreteOT(epsilon=0.1, solver="softplus", batch=64, epochs=20, seed=1)
ot.fit(X, Y, b)
print(ot.result_.brief_report)
print("semi-dual value H(g) = %.6f" % -ot.objective_)
print("marginal error |b - mean chi|_1 = %.2e" % ot.result_.metrics["marginal_error"])

Xnew = rng.normal(size=(5, 2))
print("T(x) =", np.round(ot.transform(Xnew), 3).tolist())
print("atom =", ot.assign(Xnew).tolist())

exact = lsekit.solve_ot(X, Y, b, 0.1, solver="full")  # the reference (L-BFGS)
print("reference H = %.6f (%s)" % (-exact.objective, exact.status))
