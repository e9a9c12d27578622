"""Fused multinomial cross-entropy: loss and gradient w.r.t. the logits."""

import numpy as np
from numba import njit

from . import _cache  # noqa: F401  (before any kernel: keys their cache to the package)
from ._config import JIT_KWARGS
from ._estep import (
    _tile_linear,
    _tile_logsumexp,
    as_f64,
    as_shift,
    readonly,
    tile_buffers,
    use_wide,
    wide_of,
)
from ._vector import VECTOR_JIT_KWARGS, OneCompile, _tile_cross, array
from ._vector import _tile_dots as tile_grad
from ._vector import _tile_sum as tile_sum
from ._vector import log_inline as fast_log


@njit(**JIT_KWARGS)
def softmax_cross_entropy(logits, targets, weights):
    """Weighted cross-entropy of soft targets against ``softmax(logits)``.

    One pass over the rows computes the log-normaliser, the loss and the
    gradient with respect to the logits, so the solver touches each row once.

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_classes)
    targets : ndarray of shape (n_samples, n_classes)
        Non-negative soft targets (responsibilities or one-hot labels).
    weights : ndarray of shape (n_samples,)
        Non-negative sample weights.

    Returns
    -------
    loss : float
        ``-sum_i w_i sum_k t_ik log softmax(logits_i)_k``.
    grad : ndarray of shape (n_samples, n_classes)
        ``w_i (s_i p_ik - t_ik)`` with ``s_i = sum_k t_ik``.
    """
    n, K = logits.shape
    grad = np.empty((n, K), dtype=logits.dtype)
    row_loss = np.empty(n, dtype=np.float64)
    for i in range(n):
        m = logits[i, 0]
        for k in range(1, K):
            if logits[i, k] > m:
                m = logits[i, k]
        s = 0.0
        for k in range(K):
            e = np.exp(logits[i, k] - m)
            grad[i, k] = e
            s += e
        lse = m + np.log(s)
        inv = 1.0 / s
        w = weights[i]
        t_sum = 0.0
        loss_i = 0.0
        for k in range(K):
            t = targets[i, k]
            t_sum += t
            loss_i -= t * (logits[i, k] - lse)
        for k in range(K):
            grad[i, k] = w * (t_sum * grad[i, k] * inv - targets[i, k])
        row_loss[i] = w * loss_i
    # Summing the per-row losses afterwards (rather than accumulating in the
    # loop) keeps the result independent of any future loop parallelisation.
    return row_loss.sum(), grad


def softmax_regression_loss_grad(X, W, b, targets, weights, shift=None):
    """Loss and parameter gradient of weighted soft-target softmax regression.

    A Python wrapper of the compiled :func:`_softmax_regression_loss_grad`,
    the fully fused form of :func:`softmax_cross_entropy`: the logits
    ``X W + b`` and the per-row gradient are formed one tile of rows at a
    time (held column by column, see ``_vector.py``), so the pass reads X
    once and allocates nothing of size n.  One ``exp`` per entry (the
    exponentials of the normaliser are reused for the probabilities) and one
    ``log`` per row, both vectorised.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    W : ndarray of shape (n_features, n_classes)
    b : ndarray of shape (n_classes,)
    targets : ndarray of shape (n_samples, n_classes)
    weights : ndarray of shape (n_samples,)
        Rows of zero weight contribute nothing (their X may be anything,
        even NaN).
    shift : ndarray of shape (n_features,) or None
        Column centres: the model is ``softmax((x - shift) W + b)`` (None:
        zero).  Centring here, not in ``b``, keeps logits and gradient exact
        for features far from zero.

    Returns
    -------
    loss : float
        ``-sum_i w_i sum_k t_ik log softmax((x_i - shift) W + b)_k``.
    grad_W : ndarray of shape (n_features, n_classes)
        ``(X - shift)^T G`` with ``G_ik = w_i (s_i p_ik - t_ik)``, ``s_i = sum_k t_ik``.
    grad_b : ndarray of shape (n_classes,)
        ``sum_i G_ik``.
    """
    d, K = X.shape[1], W.shape[1]
    sh = as_shift(shift, d)
    gW = np.zeros((d, K))
    gb = np.zeros(K)
    buffers = tile_buffers(d, K, K, K, None, None, None, None, None)
    kernel = (
        _loss_grad_wide_one if use_wide(X.shape[0], d, K) else _softmax_regression_loss_grad_one
    )
    loss = kernel(*map(readonly, (X, as_f64(W), as_f64(b), targets, weights, sh)), gW, gb, *buffers)
    return loss, gW, gb


@njit(**VECTOR_JIT_KWARGS)
def _softmax_regression_loss_grad(
    X, W, b, targets, weights, sh, gW, gb, xt, z, e, t, m, s, tsum, row_loss, wt
):
    """:func:`softmax_regression_loss_grad` with the shift a float64 vector, ``gW`` and
    ``gb`` zeros to add the gradient to, and the scratch tiles given (the compiled
    kernel); returns the loss."""
    n, d = X.shape
    K = W.shape[1]
    loss = 0.0
    tile = m.shape[0]
    for a in range(0, n, tile):
        nb = min(tile, n - a)
        _tile_linear(X, a, nb, W, b, xt, z, sh)
        for j in range(nb):
            wt[j] = weights[a + j]
            tsum[j] = 0.0
            row_loss[j] = 0.0
        for k in range(K):
            for j in range(nb):
                t[k, j] = targets[a + j, k]
        for k in range(K):
            for j in range(nb):
                e[k, j] = z[k, j]
                tsum[j] += t[k, j]
                row_loss[j] -= t[k, j] * z[k, j]
        _tile_logsumexp(e, nb, m, s)
        for j in range(nb):
            # -sum_k t_k log p_k = t_sum * lse - sum_k t_k z_k
            lse = m[j] + fast_log(s[j])
            keep = wt[j] != 0.0
            row_loss[j] = wt[j] * (tsum[j] * lse + row_loss[j]) if keep else 0.0
            s[j] = wt[j] * tsum[j] / s[j]
        for k in range(K):
            for j in range(nb):
                g = s[j] * e[k, j] - wt[j] * t[k, j]
                e[k, j] = g if wt[j] != 0.0 else 0.0
        for t_ in range(d):
            for j in range(nb):
                xt[t_, j] = xt[t_, j] if wt[j] != 0.0 else 0.0
        loss += tile_sum(row_loss, nb)
        for k in range(K):
            gb[k] += tile_sum(e[k], nb)
        tile_grad(xt, e, d, K, nb, gW)
    return loss


# One compile for any layout of X, the targets and the weights, with the
# E-step kernels' types for X (read-only 'A'): their helper _tile_linear is
# then compiled once for both, not once more for a C-contiguous X (~0.15-0.3 s
# of a fresh install's first fit).  Parameters read-only C, outputs and
# scratch tiles C.
_softmax_regression_loss_grad_one = OneCompile(
    _softmax_regression_loss_grad,
    [array(2, "A", True), array(2, "C", True), array(1, "C", True)]
    + [array(2, "A", True), array(1, "A", True), array(1, "C", True), array(2), array(1)]
    + [array(2), array(2), array(2), array(2)]
    + [array(1), array(1), array(1), array(1), array(1)],
)


# The wide variant (the same source; logits and gradient four by four,
# skmoe._kernels._estep.use_wide): calls of many rows, features and classes.
_loss_grad_wide_one = wide_of(
    _softmax_regression_loss_grad_one, "_softmax_regression_loss_grad_wide", tile_grad=_tile_cross
)
