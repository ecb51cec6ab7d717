"""Estimators in the style of scikit-learn over lsekit's solvers.

Constructor arguments are stored unchanged (``get_params``/``set_params`` work as in
scikit-learn); ``None`` for an option means the C++ library's default. ``fit`` returns the
estimator; the full :class:`lsekit.Result` is kept in ``result_``.
"""

import inspect

import numpy as np

from . import solve_dro_classification, solve_dro_regression, solve_ot


class _Base:
    def __init__(self, **options):
        self.options = options

    @classmethod
    def _param_names(cls):
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values()
                if p.name != "self" and p.kind != p.VAR_KEYWORD]

    def get_params(self, deep=True):
        params = {k: getattr(self, k) for k in self._param_names()}
        params.update(self.options)
        return params

    def set_params(self, **params):
        names = self._param_names()
        for k, v in params.items():
            if k in names:
                setattr(self, k, v)
            else:
                self.options[k] = v
        return self

    def __repr__(self):
        args = ", ".join("%s=%r" % kv for kv in self.get_params().items() if kv[1] is not None)
        return "%s(%s)" % (type(self).__name__, args)

    def _check_fitted(self):
        if not hasattr(self, "result_"):
            raise AttributeError("%s is not fitted yet: call fit() first" % type(self).__name__)

    def _fitted(self, result):
        self.result_ = result
        self.objective_ = result.objective
        self.status_ = result.status
        return self


def _features(X, p=None):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError("X must be a 2-D array, got shape %s" % (X.shape,))
    if p is not None and X.shape[1] != p:
        raise ValueError("X has %d features, but the estimator was fitted with %d" % (X.shape[1], p))
    return X


class DRORegressor(_Base):
    """KL-DRO (tilted) least squares: min lam log mean exp((w.x_i + b - y_i)^2 / lam) + l2/2 |w|^2.

    Attributes after fit: ``coef_`` (p), ``intercept_``, ``objective_`` (exact F),
    ``status_``, ``result_``."""

    def __init__(self, lam=None, l2=None, solver=None, tol=None, seed=None, init="zero", **options):
        super().__init__(**options)
        self.lam, self.l2, self.solver, self.tol, self.seed, self.init = lam, l2, solver, tol, seed, init

    def fit(self, X, y, progress=None):
        r = solve_dro_regression(X, y, lam=self.lam, l2=self.l2, solver=self.solver, tol=self.tol,
                                 seed=self.seed, init=self.init, progress=progress, **self.options)
        self.coef_ = np.asarray(r.solution["weights"])
        self.intercept_ = float(r.solution["intercept"])
        self.n_features_in_ = self.coef_.shape[0]
        self.lam_ = float(r.attrs.get("lambda", np.nan))
        return self._fitted(r)

    def predict(self, X):
        self._check_fitted()
        return _features(X, self.n_features_in_) @ self.coef_ + self.intercept_

    def score(self, X, y):
        """R^2 of the predictions (as scikit-learn's regressors)."""
        y = np.asarray(y, dtype=np.float64)
        r = y - self.predict(X)
        tot = ((y - y.mean()) ** 2).sum()
        return 1.0 - (r @ r) / tot if tot > 0 else 0.0

    def worst_case_weights(self, X, y):
        """The adversarial distribution p_i = softmax(l_i / lam) over the rows of (X, y),
        l_i = (w.x_i + b - y_i)^2: the KL-DRO worst case at the fitted model."""
        l = (self.predict(X) - np.asarray(y, dtype=np.float64)) ** 2
        z = l / self.lam_
        z -= z.max()
        p = np.exp(z)
        return p / p.sum()


class DROClassifier(_Base):
    """KL-DRO multinomial logistic regression (tilted cross-entropy); any label values.

    Attributes after fit: ``classes_``, ``coef_`` (K, p), ``intercept_`` (K), ``objective_``,
    ``status_``, ``result_``. Use l2 > 0 (e.g. 1e-3) when an exact optimum matters."""

    def __init__(self, lam=None, l2=None, solver=None, tol=None, seed=None, **options):
        super().__init__(**options)
        self.lam, self.l2, self.solver, self.tol, self.seed = lam, l2, solver, tol, seed

    def fit(self, X, y, progress=None):
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError("y must be a 1-D array, got shape %s" % (y.shape,))
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError("y has %d distinct label(s); DRO classification needs at least 2"
                             % len(self.classes_))
        r = solve_dro_classification(X, codes.astype(np.float64), lam=self.lam, l2=self.l2,
                                     solver=self.solver, tol=self.tol, seed=self.seed,
                                     num_classes=len(self.classes_), progress=progress,
                                     **self.options)
        self.coef_ = np.asarray(r.solution["weights"])
        self.intercept_ = np.asarray(r.solution["intercept"])
        self.n_features_in_ = self.coef_.shape[1]
        return self._fitted(r)

    def decision_function(self, X):
        self._check_fitted()
        return _features(X, self.n_features_in_) @ self.coef_.T + self.intercept_

    def predict_proba(self, X):
        z = self.decision_function(X)
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X):
        return self.classes_[np.argmax(self.decision_function(X), axis=1)]

    def score(self, X, y):
        """Accuracy."""
        return float(np.mean(self.predict(X) == np.asarray(y)))


class SemiDiscreteOT(_Base):
    """Entropic semi-discrete OT (semi-dual, cost |x - y|^2, KL(pi | mu x nu) regularizer).

    ``fit(X, Y, b=None)``: source samples X (n, d), atoms Y (m, d), weights b (uniform if None).
    Attributes after fit: ``potential_`` g (m, with sum_j b_j g_j = 0), ``atoms_``, ``weights_``,
    ``objective_`` (exact F = -H(g)), ``status_``, ``result_``."""

    def __init__(self, epsilon, solver=None, tol=None, seed=None, **options):
        super().__init__(**options)
        self.epsilon, self.solver, self.tol, self.seed = epsilon, solver, tol, seed

    def fit(self, X, Y, b=None, progress=None):
        r = solve_ot(X, Y, b, self.epsilon, solver=self.solver, tol=self.tol, seed=self.seed,
                     progress=progress, **self.options)
        self.potential_ = np.asarray(r.solution["potential"])
        self.atoms_ = np.asarray(Y, dtype=np.float64)
        m = self.atoms_.shape[0]
        self.weights_ = np.full(m, 1.0 / m) if b is None else np.asarray(b, dtype=np.float64)
        self.epsilon_ = float(r.attrs.get("epsilon", self.epsilon))
        return self._fitted(r)

    def _log_terms(self, X):
        """(f(x), log chi_j(x)) for the rows of X, in row blocks (memory O(block * m))."""
        self._check_fitted()
        X = _features(X, self.atoms_.shape[1])
        eps, g, Y = self.epsilon_, self.potential_, self.atoms_
        with np.errstate(divide="ignore"):
            logb = np.log(self.weights_)
        y2 = (Y ** 2).sum(axis=1)
        for i0 in range(0, X.shape[0], 4096):
            x = X[i0:i0 + 4096]
            c = (x ** 2).sum(axis=1)[:, None] + y2[None, :] - 2.0 * x @ Y.T
            z = logb + (g - c) / eps
            zmax = z.max(axis=1, keepdims=True)
            lse = zmax[:, 0] + np.log(np.exp(z - zmax).sum(axis=1))
            yield -eps * lse, z - lse[:, None]

    def c_transform(self, X):
        """f(x) = -eps log sum_j b_j exp((g_j - |x - y_j|^2) / eps)."""
        parts = [f for f, _ in self._log_terms(X)]
        return np.concatenate(parts) if parts else np.empty(0)

    def transform(self, X):
        """Barycentric map T(x) = sum_j chi_j(x) y_j."""
        parts = [np.exp(lc) @ self.atoms_ for _, lc in self._log_terms(X)]
        return np.concatenate(parts) if parts else np.empty((0, self.atoms_.shape[1]))

    def assign(self, X):
        """Hard assignment argmax_j chi_j(x) (int64 atom indices)."""
        parts = [np.argmax(lc, axis=1) for _, lc in self._log_terms(X)]
        return np.concatenate(parts).astype(np.int64) if parts else np.empty(0, np.int64)
