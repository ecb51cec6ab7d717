"""Array API: results, dtype and memory-order handling, defaults."""
import numpy as np
import pytest

import lsekit
from conftest import SOLVERS, classification_data, ot_data, regression_data

FAST = dict(epochs=3, eval_points=5)


def same(a, b):
    """Bitwise equality of two results' solutions, objectives and traces."""
    assert a.solution.keys() == b.solution.keys()
    for k in a.solution:
        np.testing.assert_array_equal(a.solution[k], b.solution[k])
    assert a.objective == b.objective
    np.testing.assert_array_equal(a.trace["objective"], b.trace["objective"])


def test_regression_result_fields():
    X, y = regression_data()
    r = lsekit.solve_dro_regression(X, y, lam=2.0, l2=1e-3, **FAST)
    assert r.status in ("converged", "budget-exhausted")
    assert r.solution["weights"].shape == (4,) and r.solution["intercept"].shape == ()
    assert np.isfinite(r.objective) and r.objective == r.metrics["objective"]
    for field in ("grad_norm", "gap_bound", "passes", "time_s", "criterion", "kappa"):
        assert isinstance(getattr(r, field), float)
    assert r.theta.shape == (5,)
    n = len(r.trace["step"])
    assert n >= 2 and all(len(v) == n for v in r.trace.values())
    for col in ("objective", "time_s", "grad_norm", "gap_bound", "passes", "train_rmse"):
        assert col in r.trace
    assert r.attrs["lambda"] == 2.0 and r.attrs["l2"] == 1e-3
    assert r.attrs["format"] == "lsekit-result"


def test_defaults_come_from_the_library():
    d = lsekit.defaults()
    X, y = regression_data(n=100)
    r = lsekit.solve_dro_regression(X, y, epochs=1, eval_points=2)
    assert r.attrs["solver"] == d["solver"]
    assert r.attrs["optimizer"] == d["optimizer"]
    assert r.attrs["step"] == d["step"] and r.attrs["batch"] == d["batch"]
    assert r.attrs["seed"] == d["seed"] and r.attrs["lambda"] == d["lam"]
    # `full` takes L-BFGS unless an optimizer is given, as on the command line
    assert lsekit.solve_dro_regression(X, y, solver="full", max_iter=5).attrs["optimizer"] == "lbfgs"


@pytest.mark.parametrize("solver", SOLVERS)
def test_every_solver_on_every_problem(solver):
    X, y = regression_data(n=200)
    opts = dict(solver=solver, epochs=2, eval_points=3, max_iter=20)
    assert np.isfinite(lsekit.solve_dro_regression(X, y, **opts).objective)
    Xc, yc = classification_data(n=150)
    assert np.isfinite(lsekit.solve_dro_classification(Xc, yc, l2=1e-3, **opts).objective)
    Xo, Yo, bo = ot_data(n=100)
    assert np.isfinite(lsekit.solve_ot(Xo, Yo, bo, 0.5, **opts).objective)


def test_same_seed_same_result_other_seed_other_result():
    X, y = regression_data()
    a = lsekit.solve_dro_regression(X, y, seed=3, **FAST)
    same(a, lsekit.solve_dro_regression(X, y, seed=3, **FAST))
    b = lsekit.solve_dro_regression(X, y, seed=4, **FAST)
    assert not np.array_equal(a.solution["weights"], b.solution["weights"])


def test_c_and_f_order_and_strided_views_give_identical_results():
    X, y = regression_data()
    ref = lsekit.solve_dro_regression(X, y, **FAST)
    same(ref, lsekit.solve_dro_regression(np.asfortranarray(X), y, **FAST))
    wide = np.zeros((X.shape[0], 2 * X.shape[1]))
    wide[:, ::2] = X  # a non-contiguous view: copied once, same values
    same(ref, lsekit.solve_dro_regression(wide[:, ::2], y, **FAST))
    yy = np.zeros(2 * len(y))
    yy[::2] = y
    same(ref, lsekit.solve_dro_regression(X, yy[::2], **FAST))


def test_float32_is_converted_exactly():
    X32, y32 = regression_data(dtype=np.float32)
    r32 = lsekit.solve_dro_regression(X32, y32, **FAST)
    r64 = lsekit.solve_dro_regression(X32.astype(np.float64), y32.astype(np.float64), **FAST)
    same(r32, r64)
    same(r32, lsekit.solve_dro_regression(np.asfortranarray(X32), y32, **FAST))
    # integer arrays are accepted too (converted to float64)
    Xi = np.rint(X32 * 10).astype(np.int32)
    same(lsekit.solve_dro_regression(Xi, y32, **FAST),
         lsekit.solve_dro_regression(Xi.astype(np.float64), y32, **FAST))


def test_float32_classification_and_ot():
    X, labels = classification_data()
    same(lsekit.solve_dro_classification(X.astype(np.float32), labels, l2=1e-3, **FAST),
         lsekit.solve_dro_classification(X.astype(np.float32).astype(np.float64), labels, l2=1e-3,
                                         **FAST))
    Xo, Yo, bo = ot_data()
    same(lsekit.solve_ot(np.asfortranarray(Xo.astype(np.float32)), Yo.astype(np.float32), bo, 0.5,
                         **FAST),
         lsekit.solve_ot(Xo.astype(np.float32).astype(np.float64),
                         Yo.astype(np.float32).astype(np.float64), bo, 0.5, **FAST))


def test_inputs_are_not_modified():
    X, y = regression_data()
    X0, y0 = X.copy(), y.copy()
    lsekit.solve_dro_regression(X, y, **FAST)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


def test_ot_solution_is_normalized_and_uniform_b_default():
    X, Y, b = ot_data()
    r = lsekit.solve_ot(X, Y, b, 0.5, **FAST)
    assert abs(b @ r.solution["potential"]) < 1e-9
    assert r.attrs["epsilon"] == 0.5 and "marginal_error" in r.metrics
    u = lsekit.solve_ot(X, Y, None, 0.5, **FAST)
    same(u, lsekit.solve_ot(X, Y, np.full(len(Y), 1.0 / len(Y)), 0.5, **FAST))


def test_progress_callback_sees_every_trace_row_and_can_stop():
    X, y = regression_data()
    rows = []
    r = lsekit.solve_dro_regression(X, y, tol=0, epochs=4, eval_points=6, progress=rows.append)
    assert [row["step"] for row in rows] == list(r.trace["step"])
    assert rows[-1]["objective"] == r.trace["objective"][-1]

    stopped = lsekit.solve_dro_regression(X, y, tol=0, epochs=50, eval_points=20,
                                          progress=lambda row: row["step"] == 0)
    assert stopped.status == "interrupted"
    assert len(stopped.trace["step"]) < 20


def test_progress_callback_exception_propagates():
    X, y = regression_data()

    def boom(row):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        lsekit.solve_dro_regression(X, y, **FAST, progress=boom)


def test_gil_is_released_while_solving():
    import threading
    import time
    X, y = regression_data(n=20000, p=20)
    ticks = []
    done = threading.Event()

    def count():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.005)

    t = threading.Thread(target=count)
    t.start()
    t0 = time.perf_counter()
    lsekit.solve_dro_regression(X, y, tol=0, epochs=300, eval_points=3)
    t1 = time.perf_counter()
    done.set()
    t.join()
    during = [s for s in ticks if t0 < s < t1]
    # the other thread kept running while the solver ran (no tick at all if the GIL were held)
    assert t1 - t0 > 0.1, "the solve is too short to tell"
    assert len(during) >= 5, (t1 - t0, len(during))


def test_thread_count_does_not_change_the_result():
    X, y = regression_data(n=3000, p=8)
    default = lsekit.solve_dro_regression(X, y, **FAST)
    one = lsekit.solve_dro_regression(X, y, threads=1, **FAST)
    two = lsekit.solve_dro_regression(X, y, threads=2, **FAST)
    same(one, two)
    same(one, default)
    assert one.attrs["threads"] == 1 and two.attrs["threads"] == 2
    # `threads` applies to its own solve only
    assert lsekit.solve_dro_regression(X, y, **FAST).attrs["threads"] == default.attrs["threads"]


def test_extrapolate_switches_sagas_epoch_extrapolation():
    # The default SAGA run ends some epochs at their extrapolated point and says so;
    # extrapolate=False runs SAGA as published (and the file API refuses it where it does not apply).
    X, y = classification_data(n=300)
    on = lsekit.solve_dro_classification(X, y, l2=1e-3)
    off = lsekit.solve_dro_classification(X, y, l2=1e-3, extrapolate=False)
    assert "extrapolated point" in on.attrs["message"]
    assert "extrapolated" not in off.attrs["message"]
    assert on.attrs["status"] == off.attrs["status"] == "converged"
