"""The same data, options and seed give bitwise the same result through Python (arrays and
files) and through the `lsekit solve` binary."""
import h5py
import numpy as np
import pytest

import lsekit
from conftest import SOLVERS, classification_data, ot_data, regression_data, run_cli, write_dataset, write_ot

OPTS = {"epochs": 3, "eval_points": 5, "seed": 7}


def options(solver):
    """The options each kind of run takes: `full` is the exact reference (--tol 0, no epochs),
    the unbiased estimators run SVRG by default (one trace row per snapshot: no eval_points),
    "<solver>+none" is the plain minibatch estimator (variance_reduction="none")."""
    if solver == "full":
        return {"seed": 7, "tol": 0, "solver": solver}
    if solver.endswith("+none"):
        return dict(OPTS, solver=solver[:-5], variance_reduction="none")
    if solver == "biased-softmax":  # plain by default (biased: no SVRG)
        return dict(OPTS, solver=solver)
    return {"epochs": 3, "seed": 7, "solver": solver}


def flags(opts):
    out = []
    for k, v in opts.items():
        out += ["--" + k.replace("_", "-"), str(v)]
    return out


def read_cli_result(path):
    with h5py.File(path, "r") as f:
        sol = {k: f["solution"][k][()] for k in f["solution"]}
        trace = {k: f["trace"][k][()] for k in f["trace"]}
        metrics = dict(f["metrics"].attrs)
        attrs = dict(f.attrs)
    return sol, trace, metrics, attrs


def assert_same(py, path):
    sol, trace, metrics, attrs = read_cli_result(path)
    assert set(sol) == set(py.solution)
    for k in sol:
        np.testing.assert_array_equal(sol[k], py.solution[k], err_msg=k)
    for k in ("objective", "epoch", "estimate", "kappa", "grad_norm"):
        np.testing.assert_array_equal(trace[k], py.trace[k], err_msg=k)
    assert metrics["objective"] == py.objective
    for k, v in metrics.items():
        if k in py.metrics and not k.endswith("time_s"):  # wall-clock times differ
            assert v == py.metrics[k] or (np.isnan(v) and np.isnan(py.metrics[k])), k
    assert attrs["status"] == py.status
    assert attrs["solver"] == py.solver or attrs["solver"] == py.attrs["solver"]


@pytest.mark.parametrize("solver", ["softplus", "softplus+none", "biased-softmax", "full"])
def test_regression(cli, workdir, solver):
    X, y = regression_data()
    data = workdir / "reg.h5"
    write_dataset(data, X, y)
    opts = dict(options(solver), lam=2.0, l2=1e-3)
    code, out, err = run_cli(cli, "solve", data, "--out", workdir / "cli.h5", "--quiet",
                             *flags({k: v for k, v in opts.items() if k != "lam"}), "--lambda", "2")
    assert code == 0, err
    py = lsekit.solve_dro_regression(X, y, **opts)
    assert_same(py, workdir / "cli.h5")
    # the estimator and the file API give the same again
    est = lsekit.DRORegressor(**opts).fit(X, y)
    assert est.objective_ == py.objective
    np.testing.assert_array_equal(est.coef_, py.solution["weights"])
    f = lsekit.solve_file(data, workdir / "py.h5", **opts)
    assert_same(f, workdir / "cli.h5")
    assert_same(lsekit.read_result(workdir / "py.h5"), workdir / "cli.h5")


@pytest.mark.parametrize("solver", ["softplus", "variational-log", "variational-log+none"])
def test_classification(cli, workdir, solver):
    X, labels = classification_data()
    data = workdir / "cls.h5"
    write_dataset(data, X, labels, classes=3)
    opts = dict(options(solver), l2=1e-3)
    code, out, err = run_cli(cli, "solve", data, "--out", workdir / "cli.h5", "--quiet", *flags(opts))
    assert code == 0, err
    py = lsekit.solve_dro_classification(X, labels, **opts)
    assert_same(py, workdir / "cli.h5")
    # any label values through the estimator: same problem, same result
    names = np.array(["ankle boot", "bag", "coat"])
    est = lsekit.DROClassifier(**opts).fit(X, names[labels])
    assert est.objective_ == py.objective
    np.testing.assert_array_equal(est.coef_, py.solution["weights"])


@pytest.mark.parametrize("solver", ["softplus", "erm", "erm+none", "full"])
def test_ot(cli, workdir, solver):
    X, Y, b = ot_data()
    data = workdir / "ot.h5"
    write_ot(data, X, Y, b, 0.5)
    opts = dict(options(solver), **({} if solver == "full" else {"batch": 16}))
    code, out, err = run_cli(cli, "solve", data, "--out", workdir / "cli.h5", "--quiet", *flags(opts))
    assert code == 0, err
    py = lsekit.solve_ot(X, Y, b, 0.5, **opts)
    assert_same(py, workdir / "cli.h5")
    est = lsekit.SemiDiscreteOT(0.5, **opts).fit(X, Y, b)
    np.testing.assert_array_equal(est.potential_, py.solution["potential"])
    # the estimator's c-transform matches the solver's (to rounding: numpy vs the evaluator)
    np.testing.assert_allclose(est.c_transform(X), py.solution["c_transform"], rtol=1e-10, atol=1e-10)
