"""lsekit: stochastic minimization of LogSumExp objectives from Python.

Array API (NumPy in, a :class:`Result` out)::

    lsekit.solve_dro_regression(X, y, lam=None, l2=None, solver=None, tol=None, seed=None, **options)
    lsekit.solve_dro_classification(X, y, lam=1.0, l2=0.0, ...)   # y: integer labels 0..K-1
    lsekit.solve_ot(X, Y, b, epsilon, ...)                           # b=None: uniform weights

File API (the same as ``lsekit solve``)::

    lsekit.solve_file("data.h5", "result.h5", lam=1.0, **options)
    lsekit.read_result("result.h5")

Estimators in the style of scikit-learn: :class:`DRORegressor`, :class:`DROClassifier`,
:class:`SemiDiscreteOT`.

``**options`` are the solver flags of ``lsekit solve`` with ``_`` for ``-`` (``step``,
``batch``, ``epochs``, ``steps``, ``optimizer``, ``schedule``, ``rho``, ``variance_reduction``,
``time_limit``, ``eval_points``, ``gtol``, ``max_iter``, ``threads``, ...). An option not given
takes the C++ library's default (``lsekit.defaults()``); ``None`` means "not given".
``progress`` is an optional callable called with each trace row (a dict); returning ``False``
stops the run (status ``interrupted``).

Arrays: float64 and float32, C- or F-ordered, are read in place and copied into lsekit's own
storage in one pass that also converts dtype and order; anything else is converted by NumPy first. The solve
runs without the GIL; Ctrl-C stops it and raises KeyboardInterrupt. Invalid input raises
ValueError with the message ``lsekit solve`` prints (``(arrays)`` stands for the file name).
"""

import numpy as _np

from . import _lsekit
from ._lsekit import __version__

__all__ = [
    "Result", "solve_dro_regression", "solve_dro_classification", "solve_ot", "solve_file",
    "read_result", "defaults", "DRORegressor", "DROClassifier", "SemiDiscreteOT",
    "__version__",
]


def defaults():
    """The C++ library's default options (SolverOptions and ProblemOptions)."""
    return dict(_lsekit.defaults())


class Result:
    """The outcome of one solve, from memory or from an lsekit-result file.

    Attributes: ``status`` ("converged", "budget-exhausted", "diverged", "interrupted"),
    ``message``, ``solver``, ``objective`` (exact F), ``grad_norm``, ``gap_bound``,
    ``criterion``, ``passes``, ``eval_passes``, ``time_s``, ``eval_time_s``, ``kappa``,
    ``rho``, ``steps``, ``epochs``; ``solution`` (dict of arrays: ``weights``, ``intercept``,
    ``potential``, ``alpha``, ...), ``trace`` (dict of arrays, one entry per trace row),
    ``metrics`` (dict), ``attrs`` (the result file's root attributes), ``theta`` (the flat
    parameter vector, in-memory solves only).
    """

    _FIELDS = ("status", "message", "solver", "objective", "grad_norm", "gap_bound",
               "marginal_error", "criterion", "certified", "tol", "passes", "eval_passes",
               "time_s", "eval_time_s", "kappa", "rho", "steps", "epochs", "estimate",
               "fail_step")

    def __init__(self, doc, run=None):
        attrs = doc["attrs"]
        datasets = doc["datasets"]
        self.attrs = dict(attrs.get("/", {}))
        self.solution = {k[len("/solution/"):]: v for k, v in datasets.items()
                         if k.startswith("/solution/")}
        self.outputs = {k[len("/outputs/"):]: v for k, v in datasets.items()
                        if k.startswith("/outputs/")}
        self.trace = {k[len("/trace/"):]: v for k, v in datasets.items() if k.startswith("/trace/")}
        self.metrics = dict(attrs.get("/metrics", {}))
        if run is not None:
            for k, v in run["trace"].items():  # solver columns the file does not carry (yet)
                self.trace.setdefault(k, v)
            for k, v in run["metrics"].items():
                self.metrics.setdefault(k, v)
            self.theta = run["theta"]
            self.alpha = run["alpha"]
            self.brief_report = run["brief_report"]
            for k in self._FIELDS:
                setattr(self, k, run[k])
        else:
            self.theta = None
            self.alpha = self.solution.get("alpha")
            self.brief_report = None
            renamed = {"steps": "steps_done", "epochs": "epochs_done"}
            for k in self._FIELDS:
                src = renamed.get(k, k)
                v = self.metrics.get(src, self.attrs.get(src, _np.nan))
                setattr(self, k, v)

    def __repr__(self):
        return ("lsekit.Result(status=%r, solver=%r, objective=%.12g, grad_norm=%.3g, passes=%.3g, "
                "time_s=%.3g)" % (self.status, self.solver, self.objective, self.grad_norm,
                                  self.passes, self.time_s))


def _float_array(a, name, ndim):
    a = _np.asarray(a)
    if a.dtype not in (_np.float64, _np.float32):
        if a.dtype.kind not in "biuf":
            raise TypeError("%s must be a numeric array, got dtype %s" % (name, a.dtype))
        a = a.astype(_np.float64)
    if a.ndim != ndim:
        raise ValueError("%s must be a %d-D array, got shape %s" % (name, ndim, a.shape))
    if not (a.flags.c_contiguous or a.flags.f_contiguous):
        a = _np.ascontiguousarray(a)
    return a


def _opts(solver, tol, seed, options):
    o = dict(options)
    o.update(solver=solver, tol=tol, seed=seed)
    return o  # None: the C++ default (SolverOptions)


_DEFAULTS = None


def _problem_default(name, value):
    """lam / l2: None means ProblemOptions' default."""
    global _DEFAULTS
    if value is not None:
        return float(value)
    if _DEFAULTS is None:
        _DEFAULTS = _lsekit.defaults()
    return _DEFAULTS[name]


def solve_dro_regression(X, y, lam=None, l2=None, solver=None, tol=None, seed=None,
                         init="zero", progress=None, **options):
    """KL-DRO regression: min over (w, b) of lam log mean exp((w.x_i + b - y_i)^2 / lam) + l2/2 |w|^2.

    ``result.solution["weights"]`` (p) and ``["intercept"]`` (scalar)."""
    run = _lsekit.solve_dro_regression(_float_array(X, "X", 2), _float_array(y, "y", 1),
                                       _problem_default("lam", lam), _problem_default("l2", l2),
                                       init, _opts(solver, tol, seed, options), progress)
    return Result(run["doc"], run)


def solve_dro_classification(X, y, lam=None, l2=None, solver=None, tol=None, seed=None,
                             num_classes=None, progress=None, **options):
    """KL-DRO multinomial logistic regression; ``y`` holds integer labels 0..K-1.

    ``result.solution["weights"]`` (K, p) and ``["intercept"]`` (K)."""
    y = _float_array(y, "y", 1)
    if num_classes is None:
        finite = y[_np.isfinite(y)]
        num_classes = int(finite.max()) + 1 if finite.size else 2
    run = _lsekit.solve_dro_classification(_float_array(X, "X", 2), y, int(num_classes),
                                           _problem_default("lam", lam), _problem_default("l2", l2),
                                           _opts(solver, tol, seed, options), progress)
    return Result(run["doc"], run)


def solve_ot(X, Y, b=None, epsilon=None, solver=None, tol=None, seed=None, progress=None,
             **options):
    """Entropic semi-discrete OT (semi-dual) from source samples X (n, d) to atoms Y (m, d)
    with weights b (uniform if None). ``result.solution["potential"]`` (m), normalized so that
    sum_j b_j g_j = 0."""
    if epsilon is None:
        raise TypeError("solve_ot() needs epsilon (the entropic temperature, > 0)")
    Y = _float_array(Y, "Y", 2)
    b = _np.full(Y.shape[0], 1.0 / max(Y.shape[0], 1)) if b is None else _float_array(b, "b", 1)
    run = _lsekit.solve_ot(_float_array(X, "X", 2), Y, b, epsilon,
                           _opts(solver, tol, seed, options), progress)
    return Result(run["doc"], run)


def solve_file(input_h5, out_h5, lam=None, epsilon=0.0, l2=None, init="zero", force=False,
               progress=None, **options):
    """``lsekit solve INPUT --out OUT`` from Python: reads an lsekit-dataset or lsekit-ot file,
    writes an lsekit-result file and returns its :class:`Result`. ``epsilon=0`` keeps the
    instance's epsilon."""
    run = _lsekit.solve_file(str(input_h5), str(out_h5), bool(force), _problem_default("lam", lam),
                             float(epsilon), _problem_default("l2", l2), init,
                             dict(options), progress)
    return Result(run["doc"], run)


def read_result(path):
    """Reads an lsekit-result file into a :class:`Result`."""
    return Result(_lsekit.read_result(str(path)))


from .estimators import DROClassifier, DRORegressor, SemiDiscreteOT  # noqa: E402
