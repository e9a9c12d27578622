"""Slow, obviously-correct NumPy twins of the Numba kernels in ``skmoe._kernels``.

In the spirit of stumpy's ``tests/naive.py``: every kernel exported by
``skmoe._kernels`` has a function of the same name here, written with
whole-array NumPy operations and no cleverness, always computed in float64
(whatever the input dtype) so that it can serve as the reference for both the
float32 and the float64 versions of the kernel.

Only NumPy is used (no skmoe) so that a bug shared with a library helper
cannot hide in the reference; the densities of the non-Gaussian expert
families are taken from ``scipy.stats``, an independent implementation.  ``tests/test_kernels.py`` checks
that this module covers every exported kernel.
"""

import numpy as np
from scipy import stats


def _f64(a):
    return np.asarray(a, dtype=np.float64)


def _logsumexp_rows(a):
    """Row-wise ``log(sum(exp(a)))`` with the max trick; a row of -inf gives -inf."""
    m = np.max(a, axis=1, keepdims=True)
    m_safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(a - m_safe), axis=1)) + m_safe[:, 0]
    return out


def posterior_from_logs(log_gate, log_lik):
    """Responsibilities ``softmax(log_gate + log_lik)`` and their row log-normaliser.

    A row in which every expert has zero joint probability (all ``-inf``)
    gets uniform responsibilities ``1/K`` and a log-normaliser of ``-inf``, the
    documented contract of the kernel (no NaN).
    """
    a = _f64(log_gate) + _f64(log_lik)
    n, K = a.shape
    log_norm = _logsumexp_rows(a)
    resp = np.full((n, K), 1.0 / K)
    ok = np.isfinite(log_norm)
    resp[ok] = np.exp(a[ok] - log_norm[ok, None])
    return resp, log_norm


def log_softmax(logits):
    """Row-wise ``logits - logsumexp(logits)``."""
    z = _f64(logits)
    return z - _logsumexp_rows(z)[:, None]


def gaussian_log_density(y, mean, var):
    """``log N(y_i; mean_ik, var_k)``, straight from the formula."""
    y, mean, var = _f64(y), _f64(mean), _f64(var)
    r = y[:, None] - mean
    return -0.5 * np.log(2.0 * np.pi * var)[None, :] - 0.5 * r**2 / var[None, :]


def softmax_cross_entropy(logits, targets, weights):
    """Weighted soft-target cross-entropy and its gradient w.r.t. the logits.

    ``loss = -sum_i w_i sum_k t_ik log p_ik`` and
    ``grad_ik = w_i (sum_j t_ij) p_ik - w_i t_ik`` with ``p = softmax(logits)``.
    """
    z, t, w = _f64(logits), _f64(targets), _f64(weights)
    logp = log_softmax(z)
    p = np.exp(logp)
    loss = -np.sum(w[:, None] * t * logp)
    grad = w[:, None] * (t.sum(axis=1, keepdims=True) * p - t)
    return float(loss), grad


def softmax_regression_loss_grad(X, W, b, targets, weights, shift=None):
    """Loss of softmax regression ``softmax((X - shift) W + b)`` and its gradients in ``W``, ``b``.

    The chain rule on top of :func:`softmax_cross_entropy`:
    ``grad_W = X^T G``, ``grad_b = sum_i G_i``.  Rows of zero weight contribute
    nothing (they are dropped before the arithmetic, so 0 * inf cannot arise).
    """
    X, W, b, t, w = _shifted(X, shift), _f64(W), _f64(b), _f64(targets), _f64(weights)
    keep = w != 0
    X, t, w = X[keep], t[keep], w[keep]
    loss, G = softmax_cross_entropy(X @ W + b, t, w)
    return loss, X.T @ G, G.sum(axis=0)


def log_proba_of_labels(proba, y_index, floor):
    """``log(max(proba[i, y_i], floor))`` with NaN (or anything not >= floor) -> floor."""
    p = _f64(proba)[np.arange(len(y_index)), np.asarray(y_index)]
    p = np.where(p >= floor, p, floor)  # NaN >= floor is False
    return np.log(p)


def _tree_paths(branching, depth):
    """``paths[leaf, level] = (node, branch)`` on the root-to-leaf path.

    Leaf ``l`` written in base ``branching`` (most significant digit first)
    lists the branch taken at each level; the node reached at level ``lev``
    is the number formed by the first ``lev`` digits, offset by the
    ``(B**lev - 1) / (B - 1)`` nodes of the levels above (breadth-first order).
    """
    B, D = int(branching), int(depth)
    paths = np.zeros((B**D, D, 2), dtype=np.intp)
    for leaf in range(B**D):
        digits = [(leaf // B ** (D - 1 - lev)) % B for lev in range(D)]
        prefix = 0
        for lev, digit in enumerate(digits):
            paths[leaf, lev] = ((B**lev - 1) // (B - 1) + prefix, digit)
            prefix = prefix * B + digit
    return paths


def tree_downward(node_log_proba, branching, depth):
    """Leaf log-probabilities: sum of the branch log-probabilities on each path."""
    lp = _f64(node_log_proba)
    paths = _tree_paths(branching, depth)
    return lp[:, paths[:, :, 0], paths[:, :, 1]].sum(axis=2)


def tree_upward(leaf_resp, branching, depth):
    """Mass through every (node, branch): leaf responsibilities times an incidence matrix."""
    r = _f64(leaf_resp)
    B, D = int(branching), int(depth)
    paths = _tree_paths(B, D)
    n_nodes = (B**D - 1) // (B - 1)
    incidence = np.zeros((B**D, n_nodes * B))
    for leaf in range(B**D):
        incidence[leaf, paths[leaf, :, 0] * B + paths[leaf, :, 1]] = 1.0
    return (r @ incidence).reshape(r.shape[0], n_nodes, B)


def student_t_log_density(y, loc, scale2, df):
    """Location-scale Student-t log-density, from ``scipy.stats.t``."""
    y, loc, scale2, df = _f64(y), _f64(loc), _f64(scale2), _f64(df)
    return stats.t.logpdf(y[:, None], df[None, :], loc=loc, scale=np.sqrt(scale2)[None, :])


def student_t_weights(y, loc, scale2, df):
    """``E[u | y]`` of the t as a Gaussian scale mixture: ``(v + 1) / (v + r^2 / s2)``."""
    y, loc, scale2, df = _f64(y), _f64(loc), _f64(scale2), _f64(df)
    delta = (y[:, None] - loc) ** 2 / scale2[None, :]
    return (df[None, :] + 1.0) / (df[None, :] + delta)


def poisson_log_density(y, eta):
    """``log Poisson(y; exp(eta))``, from ``scipy.stats.poisson``."""
    y, eta = _f64(y), _f64(eta)
    return stats.poisson.logpmf(y[:, None], np.exp(eta))


def binomial_log_density(successes, trials, eta):
    """``log Binomial(s; m, sigmoid(eta))``.

    The log-binomial coefficient from ``scipy.stats.binom`` at p = 1/2, the
    Bernoulli terms as ``s log p + (m - s) log(1 - p)`` with
    ``log p = -logaddexp(0, -eta)`` so that huge logits stay finite (a term
    whose count is zero contributes exactly zero, even when its log is -inf).
    """
    s, m, eta = _f64(successes)[:, None], _f64(trials)[:, None], _f64(eta)
    log_comb = stats.binom.logpmf(s, m, 0.5) - m * np.log(0.5)
    log_p = -np.logaddexp(0.0, -eta)
    log_q = -np.logaddexp(0.0, eta)
    with np.errstate(invalid="ignore"):
        return (
            log_comb + np.where(s > 0, s * log_p, 0.0) + np.where(m - s > 0, (m - s) * log_q, 0.0)
        )


def forward_backward(log_start, log_trans, log_emit):
    """Log-space forward-backward with whole-vector ``logsumexp`` at every step.

    Same contract as the kernel: ``xi`` summed over time when ``log_trans``
    holds one matrix, per step otherwise; a row of ``gamma`` with no possible
    state is uniform, an impossible step of ``xi`` is zero.
    """
    ls, lt, le = _f64(log_start), _f64(log_trans), _f64(log_emit)
    T, S = le.shape
    homogeneous = lt.shape[0] == 1
    step = (lambda t: lt[0]) if homogeneous else (lambda t: lt[t])
    la = np.empty((T, S))
    lb = np.zeros((T, S))
    la[0] = ls + le[0]
    for t in range(T - 1):
        # (S, S) matrix a_i + log A_ij, log-sum-exp down each column j
        la[t + 1] = _logsumexp_rows((la[t][:, None] + step(t)).T) + le[t + 1]
    for t in range(T - 2, -1, -1):
        lb[t] = _logsumexp_rows(step(t) + (le[t + 1] + lb[t + 1])[None, :])
    log_likelihood = _logsumexp_rows(la[-1][None, :])[0]
    gamma = posterior_from_logs(la, lb)[0]
    xi = np.zeros((1 if homogeneous else T - 1, S, S))
    for t in range(T - 1):
        joint = la[t][:, None] + step(t) + (le[t + 1] + lb[t + 1])[None, :]
        resp, norm = posterior_from_logs(joint.reshape(1, -1), np.zeros((1, S * S)))
        if np.isfinite(norm[0]):
            xi[0 if homogeneous else t] += resp.reshape(S, S)
    return float(log_likelihood), la, gamma, xi


def linear_sufficient_stats(X, y, W, x_shift=None, x_inv_scale=None, y_shift=0.0, y_inv_scale=1.0):
    """``Z1^T diag(W_k) Z1``, ``Z1^T diag(W_k) u``, ``sum_i W_ik u_i^2``; ``Z1 = [Z, 1]``.

    ``Z = (X - x_shift) * x_inv_scale``, ``u = (y - y_shift) * y_inv_scale``.
    """
    X, y, W = _f64(X), _f64(y), _f64(W)
    if x_shift is not None:
        X = X - _f64(x_shift)
    if x_inv_scale is not None:
        X = X * _f64(x_inv_scale)
    y = (y - y_shift) * y_inv_scale
    X1 = np.column_stack([X, np.ones(X.shape[0])])
    A = np.einsum("ik,ia,ib->kab", W, X1, X1)
    b = np.einsum("ik,ia,i->ka", W, X1, y)
    syy = (y * y) @ W
    return A, b, syy


def _shifted(X, shift):
    return _f64(X) if shift is None else _f64(X) - _f64(shift)


def linear_log_softmax(X, W, b, shift=None):
    """``log_softmax((X - shift) @ W + b)`` with the logits formed explicitly."""
    return log_softmax(_shifted(X, shift) @ _f64(W) + _f64(b))


def linear_gaussian_log_density(X, y, coef, intercept, var, shift=None):
    """``gaussian_log_density(y, (X - shift) @ coef + intercept, var)``."""
    return gaussian_log_density(y, _shifted(X, shift) @ _f64(coef) + _f64(intercept), var)


def weighted_mean(y, W):
    """``sum_ik W_ik y_i / sum_ik W_ik`` (0 for zero total weight)."""
    w = _f64(W).sum(axis=1)
    total = w.sum()
    return float(w @ _f64(y) / total) if total > 0 else 0.0


def fast_exp(x):
    """The C library's ``exp``."""
    return np.exp(np.float64(x))


def fast_log(x):
    """The C library's ``log``."""
    return np.log(np.float64(x))


def tile_dot(a, b, n):
    """``a[:n] . b[:n]``."""
    return float(_f64(a)[:n] @ _f64(b)[:n])


def tile_sum(a, n):
    """``sum(a[:n])``."""
    return float(_f64(a)[:n].sum())


def weighted_column_sums(w, A):
    return _f64(w) @ _f64(A)


def weighted_centred_squares(w, A, centre):
    D = _f64(A) - _f64(centre)
    return _f64(w) @ (D * D)


def softmax_gaussian_estep(Xg, Xe, y, sw, Wg, bg, shift_g, coef, intercept, var, shift_e):
    """The fused E-step: the gate's log-softmax, the experts' Gaussian log-densities,
    the posterior, the gate's loss and gradient on it and the responsibility masses,
    each by the twin of its separate kernel."""
    log_gate = linear_log_softmax(Xg, Wg, bg, shift_g)
    log_lik = linear_gaussian_log_density(Xe, y, coef, intercept, var, shift_e)
    resp, log_norm = posterior_from_logs(log_gate, log_lik)
    loss, grad_W, grad_b = softmax_regression_loss_grad(Xg, Wg, bg, resp, sw, shift_g)
    return resp, log_norm, loss, grad_W, grad_b, _f64(sw) @ resp
