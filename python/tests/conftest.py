"""Shared fixtures: small seeded problems, the lsekit binary (LSEKIT_CLI, set by ctest) and
lsekit-dataset / lsekit-ot files written with h5py exactly as SPEC section 4 describes them."""
import os
import re
import shutil
import subprocess

import h5py
import numpy as np
import pytest

import lsekit

SOLVERS = ["biased-softmax", "variational-log", "softplus", "sumexp", "erm", "full"]


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("LSEKIT_CLI") or shutil.which("lsekit")
    if not path:
        pytest.skip("LSEKIT_CLI not set (ctest sets it to the built lsekit)")
    return path


def run_cli(cli, *args):
    """Runs `lsekit ARGS`; returns (exit code, stdout, stderr)."""
    p = subprocess.run([cli, *map(str, args)], capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def cli_wording(message):
    """A library message as `lsekit` prints it: each backquoted option field becomes its flag
    (`rho` -> --rho, `batch=64` -> --batch 64). Every flag of the command line's table
    (tools/solver_cli.cpp, kFieldFlags) is its field with '-' for '_'."""
    return re.sub(r"`([a-z][a-z0-9_]*)(?:=([^`]*))?`",
                  lambda m: "--" + m.group(1).replace("_", "-") + (" " + m.group(2) if m.group(2) is not None else ""),
                  message)


def regression_data(n=400, p=4, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = X @ np.arange(1.0, p + 1) + 0.5 + 0.2 * rng.standard_t(3, size=n)
    return X.astype(dtype), y.astype(dtype)


def classification_data(n=300, p=5, k=3, seed=1):
    rng = np.random.default_rng(seed)
    centres = 2.0 * rng.normal(size=(k, p))
    labels = rng.integers(0, k, size=n)
    X = centres[labels] + rng.normal(size=(n, p))
    return X, labels


def ot_data(n=200, m=15, d=2, seed=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = rng.uniform(-2, 2, size=(m, d))
    b = rng.uniform(0.5, 1.5, size=m)
    b /= b.sum()
    return X, Y, b


def write_dataset(path, X, y, classes=None):
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "lsekit-dataset"
        f.attrs["format_version"] = np.int64(1)
        if classes is None:
            f.attrs["task"] = "regression"
            f["train/y"] = np.asarray(y, dtype=np.float64)
        else:
            f.attrs["task"] = "classification"
            f.attrs["num_classes"] = np.int64(classes)
            f["train/y"] = np.asarray(y, dtype=np.int64)
        f["train/X"] = np.asarray(X, dtype=np.float64)


def write_ot(path, X, Y, b, epsilon):
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "lsekit-ot"
        f.attrs["format_version"] = np.int64(1)
        f.attrs["epsilon"] = float(epsilon)
        f.attrs["cost"] = "sqeuclidean"
        f["source/X"] = np.asarray(X, dtype=np.float64)
        f["target/Y"] = np.asarray(Y, dtype=np.float64)
        f["target/b"] = np.asarray(b, dtype=np.float64)


@pytest.fixture
def workdir(tmp_path):
    return tmp_path
