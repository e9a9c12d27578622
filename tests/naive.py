"""Slow, obviously-correct NumPy twins of the Numba kernels in ``skmoe._kernels``.

In the spirit of stumpy's ``tests/naive.py``: every kernel exported by
``skmoe._kernels`` has a function of the same name here, written with
whole-array NumPy operations and no cleverness, always computed in float64
(whatever the input dtype) so that it can serve as the reference for both the
float32 and the float64 versions of the kernel.

Only NumPy is used (no scipy.special, no skmoe) so that a bug shared with a
library helper cannot hide in the reference.  ``tests/test_kernels.py`` checks
that this module covers every exported kernel.
"""

import numpy as np


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


def softmax_regression_loss_grad(X, W, b, targets, weights):
    """Loss of softmax regression ``softmax(X W + b)`` and its gradients in ``W`` and ``b``.

    The chain rule on top of :func:`softmax_cross_entropy`:
    ``grad_W = X^T G``, ``grad_b = sum_i G_i``.  Rows of zero weight contribute
    nothing (they are dropped before the arithmetic, so 0 * inf cannot arise).
    """
    X, W, b, t, w = _f64(X), _f64(W), _f64(b), _f64(targets), _f64(weights)
    keep = w != 0
    X, t, w = X[keep], t[keep], w[keep]
    loss, G = softmax_cross_entropy(X @ W + b, t, w)
    return loss, X.T @ G, G.sum(axis=0)


def log_proba_of_labels(proba, y_index, floor):
    """``log(max(proba[i, y_i], floor))`` with NaN (or anything not >= floor) -> floor."""
    p = _f64(proba)[np.arange(len(y_index)), np.asarray(y_index)]
    p = np.where(p >= floor, p, floor)  # NaN >= floor is False
    return np.log(p)
