"""Invalid input raises ValueError with the message `lsekit solve` prints for the same content
("(arrays)" in place of the file name), in the library's wording: options are named by field,
which is the keyword argument (`batch=100` where the command line prints --batch 100)."""
import numpy as np
import pytest

import lsekit
from conftest import classification_data, cli_wording, ot_data, regression_data, run_cli, write_dataset, write_ot


def test_bad_options_raise_value_error():
    X, y = regression_data(n=50)
    with pytest.raises(ValueError, match=r"^\(arrays\): `batch=100` exceeds the 50 training samples"):
        lsekit.solve_dro_regression(X, y, batch=100)
    with pytest.raises(ValueError, match=r"`solver`: unknown value 'nope' \(choose one of"):
        lsekit.solve_dro_regression(X, y, solver="nope")
    with pytest.raises(ValueError, match=r"`step` must be finite and > 0"):
        lsekit.solve_dro_regression(X, y, step=-1, variance_reduction="none")
    with pytest.raises(ValueError, match=r"`lambda` must be finite and > 0 \(DRO regression\)"):
        lsekit.solve_dro_regression(X, y, lam=0)
    with pytest.raises(ValueError, match=r"`l2` must be finite and >= 0"):
        lsekit.solve_dro_regression(X, y, l2=float("nan"))
    with pytest.raises(ValueError, match=r"`rho` must be in \(0, 1\)"):
        lsekit.solve_dro_regression(X, y, rho=2.0)
    with pytest.raises(ValueError, match=r"`optimizer=lbfgs` is only available with `solver=full`"):
        lsekit.solve_dro_regression(X, y, optimizer="lbfgs")
    with pytest.raises(TypeError, match="unexpected solver option 'stepp'"):
        lsekit.solve_dro_regression(X, y, stepp=0.1)


def test_bad_arrays_raise_value_error():
    X, y = regression_data(n=50)
    Xn = X.copy()
    Xn[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"^\(arrays\): /train/X: non-finite value at row 3, column 1"):
        lsekit.solve_dro_regression(Xn, y)
    with pytest.raises(ValueError, match=r"/train/y: has length 49, but /train/X has 50 rows"):
        lsekit.solve_dro_regression(X, y[:-1])
    with pytest.raises(ValueError, match="X must be a 2-D array"):
        lsekit.solve_dro_regression(X[:, 0], y)
    with pytest.raises(TypeError, match="numeric"):
        lsekit.solve_dro_regression(X.astype(str), y)
    Xc, yc = classification_data(n=60, k=3)
    with pytest.raises(ValueError, match=r"/train/y: label 3 at row \d+ is outside 0..2"):
        lsekit.solve_dro_classification(Xc, np.where(yc == 2, 3, yc), num_classes=3)
    with pytest.raises(ValueError, match=r"/train/y: label at row 0 is not an integer"):
        lsekit.solve_dro_classification(Xc, yc + 0.5, num_classes=4)
    Xo, Yo, bo = ot_data()
    with pytest.raises(ValueError, match=r"^\(arrays\): /target/b: weights sum to .* normalize b"):
        lsekit.solve_ot(Xo, Yo, 2 * bo, 0.5)
    with pytest.raises(ValueError, match=r"`epsilon` must be finite and > 0"):
        lsekit.solve_ot(Xo, Yo, bo, -1.0)
    with pytest.raises(ValueError, match=r"/target/b: has length"):
        lsekit.solve_ot(Xo, Yo, bo[:-1] / bo[:-1].sum(), 0.5)


def cli_error(cli, *args):
    code, out, err = run_cli(cli, "solve", *args)
    assert code == 2, (code, out, err)
    prefix = "lsekit solve: error: "
    assert err.startswith(prefix), err
    return err[len(prefix):].strip()


def test_file_api_raises_the_cli_message(cli, workdir):
    X, y = regression_data(n=50)
    data = workdir / "reg.h5"
    write_dataset(data, X, y)
    cases = [({"batch": 100}, ["--batch", "100"]),
             ({"solver": "nope"}, ["--solver", "nope"]),
             ({"lam": -1.0}, ["--lambda", "-1"]),
             ({"init": "ones"}, ["--init", "ones"])]
    for kw, flags in cases:
        msg = cli_error(cli, data, "--out", workdir / "cli.h5", *flags)
        with pytest.raises(ValueError) as e:
            lsekit.solve_file(data, workdir / "py.h5", **kw)
        assert " --" not in str(e.value)  # Python names the keyword argument, not the flag
        assert cli_wording(str(e.value)) == msg
    Xo, Yo, bo = ot_data()
    ot = workdir / "ot.h5"
    write_ot(ot, Xo, Yo, bo, 0.5)
    msg = cli_error(cli, ot, "--out", workdir / "cli.h5", "--l2", "1")
    with pytest.raises(ValueError) as e:
        lsekit.solve_file(ot, workdir / "py.h5", l2=1.0)
    assert cli_wording(str(e.value)) == msg
    assert not (workdir / "py.h5").exists()


def test_file_errors(workdir):
    with pytest.raises(OSError):
        lsekit.solve_file(workdir / "missing.h5", workdir / "out.h5")
    X, y = regression_data(n=50)
    write_dataset(workdir / "d.h5", X, y)
    (workdir / "out.h5").write_text("keep me")
    with pytest.raises(ValueError, match="exists; pass `force=True`"):
        lsekit.solve_file(workdir / "d.h5", workdir / "out.h5", epochs=1)
    assert (workdir / "out.h5").read_text() == "keep me"
    with pytest.raises(ValueError, match="not an lsekit-result file"):
        lsekit.read_result(workdir / "d.h5")


def test_array_errors_are_the_cli_messages_with_arrays_for_the_file(cli, workdir):
    """The same invalid content gives the same message in a file (CLI) and in arrays (Python)."""
    X, y = regression_data(n=50)
    X[3, 1] = np.inf
    path = workdir / "bad.h5"
    write_dataset(path, X, y)
    msg = cli_error(cli, path, "--out", workdir / "cli.h5")
    with pytest.raises(ValueError) as e:
        lsekit.solve_dro_regression(X, y)
    assert cli_wording(str(e.value)) == msg.replace(str(path), "(arrays)")

    Xo, Yo, bo = ot_data()
    bo[2] = -bo[2]
    path = workdir / "bad_ot.h5"
    write_ot(path, Xo, Yo, bo, 0.5)
    msg = cli_error(cli, path, "--out", workdir / "cli.h5")
    with pytest.raises(ValueError) as e:
        lsekit.solve_ot(Xo, Yo, bo, 0.5)
    assert cli_wording(str(e.value)) == msg.replace(str(path), "(arrays)")

    X, y = regression_data(n=50)
    path = workdir / "ok.h5"
    write_dataset(path, X, y)
    # a bad value of an option that applies (plain minibatch steps) ...
    msg = cli_error(cli, path, "--out", workdir / "cli.h5", "--batch", "64", "--clip", "-1",
                    "--variance-reduction", "none")
    with pytest.raises(ValueError) as e:
        lsekit.solve_dro_regression(X, y, batch=64, clip=-1, variance_reduction="none")
    assert cli_wording(str(e.value)) == msg.replace(str(path), "(arrays)")
    # ... and an option that does not apply (SVRG safeguards its own step): the file API refuses
    # it with the command line's message (the array API ignores options a solver does not use)
    msg = cli_error(cli, path, "--out", workdir / "cli.h5", "--clip", "1")
    assert "does not apply" in msg
    with pytest.raises(ValueError) as e:
        lsekit.solve_file(path, workdir / "py.h5", clip=1)
    assert cli_wording(str(e.value)) == msg
    msg = cli_error(cli, path, "--out", workdir / "cli.h5", "--solver", "full", "--step", "0.1")
    with pytest.raises(ValueError) as e:
        lsekit.solve_file(path, workdir / "py.h5", solver="full", step=0.1)
    assert cli_wording(str(e.value)) == msg
    assert not (workdir / "py.h5").exists()
