"""Fused multinomial cross-entropy: loss and gradient w.r.t. the logits."""

import numpy as np
from numba import njit

from ._config import JIT_KWARGS


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


@njit(**JIT_KWARGS)
def softmax_regression_loss_grad(X, W, b, targets, weights):
    """Loss and parameter gradient of weighted soft-target softmax regression.

    The fully fused form of :func:`softmax_cross_entropy`: the logits
    ``X W + b`` and the per-row gradient are formed one row at a time, so the
    pass reads X once and allocates nothing of size n.  One ``exp`` per
    entry (the exponentials of the normaliser are reused for the
    probabilities) and one ``log`` per row.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    W : ndarray of shape (n_features, n_classes)
    b : ndarray of shape (n_classes,)
    targets : ndarray of shape (n_samples, n_classes)
    weights : ndarray of shape (n_samples,)
        Rows of zero weight are skipped entirely (their X may be anything).

    Returns
    -------
    loss : float
        ``-sum_i w_i sum_k t_ik log softmax(x_i W + b)_k``.
    grad_W : ndarray of shape (n_features, n_classes)
        ``X^T G`` with ``G_ik = w_i (s_i p_ik - t_ik)``, ``s_i = sum_k t_ik``.
    grad_b : ndarray of shape (n_classes,)
        ``sum_i G_ik``.
    """
    n, d = X.shape
    K = W.shape[1]
    # W transposed, so that each logit is a dot product over a contiguous
    # row held in a register accumulator, and each class's gradient row is
    # an elementwise update over contiguous memory.
    Wt = np.empty((K, d))
    for j in range(d):
        for k in range(K):
            Wt[k, j] = W[j, k]
    gWt = np.zeros((K, d))
    gb = np.zeros(K)
    z = np.empty(K)
    loss = 0.0
    for i in range(n):
        w = weights[i]
        if w == 0.0:
            continue
        xi = X[i]
        m = -np.inf
        for k in range(K):
            acc = np.float64(b[k])
            for j in range(d):
                acc += xi[j] * Wt[k, j]
            z[k] = acc
            if acc > m:
                m = acc
        # -sum_k t_k log p_k = sum_k t_k (m - z_k) + t_sum log(sum_k exp(z_k - m));
        # z_k - m is formed once and exp(z_k - m) is kept for p_k.
        t_sum = 0.0
        tz = 0.0
        s = 0.0
        for k in range(K):
            t = targets[i, k]
            t_sum += t
            tz += t * (m - z[k])
            e = np.exp(z[k] - m)
            z[k] = e
            s += e
        loss += w * (tz + t_sum * np.log(s))
        c = w * t_sum / s
        for k in range(K):
            g = c * z[k] - w * targets[i, k]
            gb[k] += g
            for j in range(d):
                gWt[k, j] += xi[j] * g
    gW = np.empty((d, K))
    for j in range(d):
        for k in range(K):
            gW[j, k] = gWt[k, j]
    return loss, gW, gb
