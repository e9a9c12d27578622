"""Sufficient statistics of K weighted least-squares problems."""

import numpy as np
from numba import njit

from ._config import JIT_KWARGS


@njit(**JIT_KWARGS)
def linear_sufficient_stats(X, y, W):
    """``X1^T diag(W_k) X1``, ``X1^T diag(W_k) y`` and ``sum_i W_ik y_i^2`` for every k.

    ``X1 = [X, 1]``.  All three come from the upper triangle of the outer
    product ``v_i v_i^T`` of ``v_i = [x_i, 1, y_i]``, formed once per row and
    added into the K weighted sums: half the flops of K separate Gram
    matrices (symmetry), no temporary of the size of X, and the inner loop
    is an elementwise update over contiguous memory.  Rows are taken four at
    a time so each running sum is read and written once per four rows.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    W : ndarray of shape (n_samples, K)
        Weights, one column per problem.

    Returns
    -------
    A : ndarray of shape (K, n_features + 1, n_features + 1)
    b : ndarray of shape (K, n_features + 1)
    syy : ndarray of shape (K,)
    """
    n, d = X.shape
    K = W.shape[1]
    p = d + 2
    q = p * (p + 1) // 2
    S = np.zeros((K, q))
    v = np.empty(p)
    P = np.zeros((4, q))
    wr = np.zeros((4, K))
    for i0 in range(0, n, 4):
        m = min(4, n - i0)
        for r in range(4):
            if r < m:
                i = i0 + r
                for j in range(d):
                    v[j] = X[i, j]
                v[d] = 1.0
                v[d + 1] = y[i]
                for k in range(K):
                    wr[r, k] = W[i, k]
            else:
                for j in range(p):
                    v[j] = 0.0
                for k in range(K):
                    wr[r, k] = 0.0
            idx = 0
            for a in range(p):
                va = v[a]
                for c in range(a, p):
                    P[r, idx] = va * v[c]
                    idx += 1
        for k in range(K):
            w0 = wr[0, k]
            w1 = wr[1, k]
            w2 = wr[2, k]
            w3 = wr[3, k]
            for t in range(q):
                S[k, t] += (w0 * P[0, t] + w1 * P[1, t]) + (w2 * P[2, t] + w3 * P[3, t])
    A = np.empty((K, d + 1, d + 1))
    b = np.empty((K, d + 1))
    syy = np.empty(K)
    for k in range(K):
        idx = 0
        for a in range(p):
            for c in range(a, p):
                val = S[k, idx]
                idx += 1
                if c <= d:
                    A[k, a, c] = val
                    A[k, c, a] = val
                elif a <= d:
                    b[k, a] = val
                else:
                    syy[k] = val
    return A, b, syy
