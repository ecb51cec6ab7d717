"""The scikit-learn-style estimators, each on its problem with every solver."""
import numpy as np
import pytest

import lsekit
from conftest import SOLVERS, classification_data, ot_data, regression_data

FAST = dict(epochs=3, eval_points=3, max_iter=50)


@pytest.mark.parametrize("solver", SOLVERS)
def test_dro_regressor(solver):
    X, y = regression_data(n=300)
    Xt, yt = regression_data(n=200, seed=5)
    m = lsekit.DRORegressor(lam=5.0, l2=1e-3, solver=solver, **FAST)
    assert m.fit(X, y) is m
    assert m.coef_.shape == (4,) and isinstance(m.intercept_, float)
    assert m.status_ in ("converged", "budget-exhausted") and np.isfinite(m.objective_)
    pred = m.predict(Xt)
    assert pred.shape == (200,)
    np.testing.assert_allclose(pred, Xt @ m.coef_ + m.intercept_)
    assert m.score(Xt, yt) <= 1.0
    p = m.worst_case_weights(X, y)
    assert p.shape == (300,) and abs(p.sum() - 1) < 1e-12 and (p >= 0).all()
    loss = (m.predict(X) - y) ** 2
    assert np.argmax(p) == np.argmax(loss)  # the adversary weights the worst sample most
    # lam * log mean exp(l/lam) + l2/2 |w|^2 is the objective it reports
    F = 5.0 * np.log(np.mean(np.exp(loss / 5.0))) + 0.5e-3 * m.coef_ @ m.coef_
    np.testing.assert_allclose(m.objective_, F, rtol=1e-9)


def test_dro_regressor_fits_well_with_the_reference_solver():
    X, y = regression_data(n=500)
    m = lsekit.DRORegressor(lam=50.0, solver="full").fit(X, y)
    assert m.status_ == "converged"
    assert m.score(X, y) > 0.9


@pytest.mark.parametrize("solver", SOLVERS)
def test_dro_classifier(solver):
    X, codes = classification_data(n=300)
    Xt, ct = classification_data(n=200, seed=1)  # same centres, fresh draw below
    labels = np.array([10, 20, 30])[codes]
    m = lsekit.DROClassifier(lam=1.0, l2=1e-3, solver=solver, **FAST).fit(X, labels)
    np.testing.assert_array_equal(m.classes_, [10, 20, 30])
    assert m.coef_.shape == (3, 5) and m.intercept_.shape == (3,)
    proba = m.predict_proba(X)
    assert proba.shape == (300, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    pred = m.predict(X)
    assert set(np.unique(pred)) <= {10, 20, 30}
    np.testing.assert_array_equal(pred, m.classes_[proba.argmax(axis=1)])
    assert m.score(X, labels) == np.mean(pred == labels)
    assert np.isfinite(m.objective_) and m.status_ in ("converged", "budget-exhausted")


def test_dro_classifier_learns_and_handles_string_labels():
    X, codes = classification_data(n=600)
    labels = np.array(["cat", "dog", "emu"])[codes]
    m = lsekit.DROClassifier(lam=1.0, l2=1e-3, solver="full").fit(X[:400], labels[:400])
    assert m.score(X[400:], labels[400:]) > 0.8
    assert m.predict(X[400:]).dtype.kind == "U"
    with pytest.raises(ValueError, match="at least 2"):
        lsekit.DROClassifier().fit(X[:10], np.zeros(10))


@pytest.mark.parametrize("solver", SOLVERS)
def test_semidiscrete_ot(solver):
    X, Y, b = ot_data(n=200)
    Xt, _, _ = ot_data(n=50, seed=9)
    m = lsekit.SemiDiscreteOT(epsilon=0.5, solver=solver, batch=16, **FAST).fit(X, Y, b)
    g = m.potential_
    assert g.shape == (15,) and abs(b @ g) < 1e-9
    T = m.transform(Xt)
    assert T.shape == (50, 2)
    a = m.assign(Xt)
    assert a.dtype == np.int64 and a.shape == (50,) and a.min() >= 0 and a.max() < 15
    f = m.c_transform(Xt)
    # direct formulas: f(x) = -eps log sum_j b_j exp((g_j - |x - y_j|^2)/eps), chi, T
    C = ((Xt[:, None, :] - Y[None, :, :]) ** 2).sum(axis=2)
    Z = np.log(b) + (g - C) / 0.5
    lse = np.log(np.exp(Z).sum(axis=1))
    np.testing.assert_allclose(f, -0.5 * lse, rtol=1e-10)
    chi = np.exp(Z - lse[:, None])
    np.testing.assert_allclose(T, chi @ Y, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(a, chi.argmax(axis=1))
    # F = mean_i(-f(x_i)) - sum_j b_j g_j, the objective it reports
    np.testing.assert_allclose(m.objective_, -np.mean(m.c_transform(X)) - b @ g, rtol=1e-10)


def test_semidiscrete_ot_reference_solver_balances_the_marginals():
    X, Y, b = ot_data(n=300)
    m = lsekit.SemiDiscreteOT(epsilon=0.5, solver="full").fit(X, Y, b)
    assert m.status_ == "converged"
    C = ((X[:, None, :] - Y[None, :, :]) ** 2).sum(axis=2)
    Z = np.log(b) + (m.potential_ - C) / 0.5
    chi = np.exp(Z - np.log(np.exp(Z).sum(axis=1))[:, None])
    marginal_error = np.abs(chi.mean(axis=0) - b).sum()
    assert marginal_error < 1e-3
    np.testing.assert_allclose(m.result_.metrics["marginal_error"], marginal_error, rtol=1e-6, atol=1e-12)


def test_get_set_params_and_unfitted():
    m = lsekit.DRORegressor(lam=2.0, step=0.05)
    assert m.get_params()["lam"] == 2.0 and m.get_params()["step"] == 0.05
    m.set_params(lam=3.0, batch=8)
    assert m.lam == 3.0 and m.options["batch"] == 8
    with pytest.raises(AttributeError, match="not fitted"):
        m.predict(np.zeros((2, 3)))
    assert "lam=3.0" in repr(m)
