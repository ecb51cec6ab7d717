"""Independent numpy references of the minibatch-bias study (bench/claims/bias.sh), written
from the formulas of docs/math.md and sharing no code with lsekit: the DRO regression
objective F, the softplus relaxation's exact optimum (damped Newton on (theta, alpha)), a
sample-average fixed point of biased-softmax, and Monte Carlo means of the three minibatch
gradient estimators at theta*.

  F(theta)     = lam log mean_i exp(l_i/lam),  l_i = (x_i.w + b - y_i)^2
  F_rho        = min_alpha alpha - lam + (lam/rho) mean_i softplus((l_i - alpha)/lam + log rho)
  biased-softmax fixed point: theta_B minimizing G_B = E_{|S|=B} lam log mean_{i in S} exp(l_i/lam)
               (its gradient is the expected minibatch gradient); here G_B is replaced by the
               mean over M random batches, each a block of a fresh random permutation.
"""
import h5py
import numpy as np


def logsumexp(a, axis=None):
    m = np.max(a, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out.item() if axis is None else np.squeeze(out, axis=axis)


def newton(fgh, z, gtol=1e-10, max_iter=200):
    """Damped Newton (Armijo backtracking) on a smooth convex function given as
    z -> (value, gradient, Hessian); stops when |grad| <= gtol max(1, |value|) or no step
    decreases the value. Returns (z, value, |grad|)."""
    val, g, h = fgh(z)
    for _ in range(max_iter):
        if np.linalg.norm(g) <= gtol * max(1.0, abs(val)):
            break
        d = -np.linalg.solve(h, g)
        t, slope = 1.0, g @ d
        while t > 1e-12:
            v2, g2, h2 = fgh(z + t * d)
            if v2 <= val + 1e-4 * t * slope:
                break
            t *= 0.5
        else:
            break
        z, val, g, h = z + t * d, v2, g2, h2
    return z, val, np.linalg.norm(g)


def load(path):
    """(X~ = [X, 1], y) of an lsekit-dataset's training set."""
    with h5py.File(path, "r") as f:
        x = f["/train/X"][:]
        y = f["/train/y"][:]
    return np.hstack([x, np.ones((x.shape[0], 1))]), y


def theta_of(result_path):
    """(w, b) of an lsekit-result file as one vector."""
    with h5py.File(result_path, "r") as f:
        return np.append(np.ravel(f["/solution/weights"][()]), np.ravel(f["/solution/intercept"][()]))


def objective(xt, y, theta, lam):
    l = (xt @ theta - y) ** 2
    return lam * (logsumexp(l / lam) - np.log(len(l)))


def kappa(xt, y, theta, lam):
    """E u^2 / (E u)^2, u = exp(l/lam)."""
    s = (xt @ theta - y) ** 2 / lam
    return float(np.exp(logsumexp(2 * s) - 2 * logsumexp(s) + np.log(len(s))))


def softplus_optimum(xt, y, lam, rho, theta0):
    """theta_rho*, alpha*, F_rho* of the softplus relaxation, by damped Newton on the jointly
    convex (theta, alpha) objective; returns (theta, alpha, value, gradient norm)."""
    n = len(y)
    lr = np.log(rho)

    def fgh(z):
        th, a = z[:-1], z[-1]
        r = xt @ th - y
        u = (r * r - a) / lam + lr
        sig = 0.5 * (1.0 + np.tanh(0.5 * u))              # sigmoid(u), stable
        val = a - lam + lam / rho * np.mean(np.logaddexp(0.0, u))
        c = sig / (rho * n)
        g = np.append(xt.T @ (2.0 * c * r), 1.0 - c.sum())
        d = c * (1.0 - sig) / lam                           # softplus'' / (rho n lam)
        h = np.empty((len(z), len(z)))
        h[:-1, :-1] = xt.T @ (xt * (4.0 * d * r * r + 2.0 * c)[:, None])
        h[:-1, -1] = h[-1, :-1] = -(xt.T @ (2.0 * d * r))
        h[-1, -1] = d.sum()
        return val, g, h

    l0 = (xt @ theta0 - y) ** 2
    z, val, gnorm = newton(fgh, np.append(theta0, lam * (logsumexp(l0 / lam) - np.log(n))))
    return z[:-1], z[-1], val, gnorm


def biased_softmax_fixed_point(xt, y, lam, batch, n_batches, seed, theta0):
    """Minimizer of the mean over n_batches random batches (blocks of fresh permutations) of
    lam log mean_S exp(l/lam): the sample-average estimate of biased-softmax's fixed point."""
    n = len(y)
    rng = np.random.default_rng(seed)
    per = n // batch
    perms = -(-n_batches // per)
    idx = np.concatenate([rng.permutation(n)[: per * batch] for _ in range(perms)])[: n_batches * batch]
    xb, yb = xt[idx].reshape(n_batches, batch, -1), y[idx].reshape(n_batches, batch)

    def fgh(th):
        r = xb @ th - yb
        s = r * r / lam
        lse = logsumexp(s, axis=1)
        p = np.exp(s - lse[:, None])                         # softmax within each batch
        val = lam * np.mean(lse - np.log(batch))
        a = 2.0 * r                                          # dl/dscore
        gi = p * a                                           # per-sample weight on x
        gb = np.matmul(gi[:, None, :], xb)[:, 0, :]          # per-batch gradient
        g = gb.mean(axis=0)
        # Hessian: sum_i p_i (2 x x^T + a_i^2/lam x x^T) - (1/lam) g_b g_b^T, averaged
        xf = xb.reshape(-1, xb.shape[-1])
        h = (xf * (p * (2.0 + a * a / lam)).reshape(-1, 1)).T @ xf / n_batches
        h -= gb.T @ gb / (lam * n_batches)
        return val, g, h

    th, _, gnorm = newton(fgh, theta0.copy())
    return th, gnorm


def softplus_alpha(xt, y, theta, lam, rho):
    """The softplus shift's optimum at theta: mean_i sigmoid((l_i - alpha)/lam + log rho) = rho
    (bisection; the left side decreases in alpha)."""
    l = (xt @ theta - y) ** 2
    lo, hi = l.min() - 50.0 * lam, l.max() + 50.0 * lam
    for _ in range(200):
        a = 0.5 * (lo + hi)
        u = (l - a) / lam + np.log(rho)
        if np.mean(0.5 * (1.0 + np.tanh(0.5 * u))) > rho:
            lo = a
        else:
            hi = a
    return 0.5 * (lo + hi)


def estimator_terms(xt, y, idx, theta, lam, rho, alpha_sp, f):
    """Per-batch gradient estimates of the batches idx (m, B): biased-softmax, variational-log
    at alpha = f and softplus at alpha_sp (docs/math.md's weights times dl/dtheta)."""
    xb, r = xt[idx], xt[idx] @ theta - y[idx]
    s = r * r / lam
    a = 2.0 * r
    p = np.exp(s - logsumexp(s, axis=1)[:, None])
    u = (r * r - alpha_sp) / lam + np.log(rho)
    w = {"biased-softmax": p * idx.shape[1],
         "variational-log": np.exp(s - f / lam),
         "softplus": 0.5 * (1.0 + np.tanh(0.5 * u)) / rho}
    return {k: np.matmul((v * a)[:, None, :], xb)[:, 0, :] / idx.shape[1] for k, v in w.items()}


def estimator_means(xt, y, theta, lam, rho, batch, n_batches, seed):
    """Monte Carlo check of (un)biasedness at theta: for each estimator, the mean over
    n_batches batches drawn uniformly with replacement, its standard error, and its exact
    target (biased-softmax and variational-log: grad F; softplus: the gradient in theta of the
    relaxation at its optimal shift, its own full-sample mean)."""
    n = len(y)
    rng = np.random.default_rng(seed)
    f = objective(xt, y, theta, lam)
    a_sp = softplus_alpha(xt, y, theta, lam, rho)
    full = estimator_terms(xt, y, np.arange(n)[None, :], theta, lam, rho, a_sp, f)
    target = {"biased-softmax": full["variational-log"][0], "variational-log": full["variational-log"][0],
              "softplus": full["softplus"][0]}
    sums = None
    chunk, done = max(1, 200000 // batch), 0
    while done < n_batches:
        m = min(chunk, n_batches - done)
        t = estimator_terms(xt, y, rng.integers(0, n, size=(m, batch)), theta, lam, rho, a_sp, f)
        part = {k: (v.sum(axis=0), (v * v).sum(axis=0)) for k, v in t.items()}
        sums = part if sums is None else {k: (sums[k][0] + part[k][0], sums[k][1] + part[k][1]) for k in part}
        done += m
    out = {}
    for k, (s1, s2) in sums.items():
        mean = s1 / n_batches
        se = np.sqrt(np.maximum(s2 / n_batches - mean * mean, 0.0) / n_batches)
        out[k] = (mean, se, target[k])
    return out
