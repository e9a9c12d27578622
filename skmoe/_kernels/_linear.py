"""Sufficient statistics of K weighted least-squares problems."""

import numpy as np
from numba import njit

from ._config import ROW_TILE
from ._vector import VECTOR_JIT_KWARGS, tile_dot


@njit(**VECTOR_JIT_KWARGS)
def linear_sufficient_stats(X, y, W):
    """``X1^T diag(W_k) X1``, ``X1^T diag(W_k) y`` and ``sum_i W_ik y_i^2`` for every k.

    ``X1 = [X, 1]``.  All three are the upper triangle of
    ``sum_i W_ik v_i v_i^T`` with ``v_i = [x_i, 1, y_i]``: half the flops of
    K separate Gram matrices (symmetry) and no temporary of the size of X.
    The rows are taken a tile at a time, held column by column, and every
    entry is a vectorised dot product over the tile's rows
    (:func:`~skmoe._kernels._vector.tile_dot`).

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
    v = np.empty((p, ROW_TILE))
    wv = np.empty((p, ROW_TILE))
    for a0 in range(0, n, ROW_TILE):
        nb = min(ROW_TILE, n - a0)
        for j in range(nb):
            for t in range(d):
                v[t, j] = X[a0 + j, t]
            v[d, j] = 1.0
            v[d + 1, j] = y[a0 + j]
        for k in range(K):
            for a in range(p):
                for j in range(nb):
                    wv[a, j] = W[a0 + j, k] * v[a, j]
            idx = 0
            for a in range(p):
                for c in range(a, p):
                    S[k, idx] += tile_dot(wv[a], v[c], nb)
                    idx += 1
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


@njit(**VECTOR_JIT_KWARGS)
def weighted_mean(y, W):
    """``sum_ik W_ik y_i / sum_ik W_ik`` (0 when the weights sum to zero).

    A kernel rather than ``np.einsum``: NumPy's reductions take a different
    summation order for unaligned input (an array unpickled on a Dask
    worker, say), and this value must be the same everywhere.
    """
    n, K = W.shape
    num = 0.0
    den = 0.0
    for i in range(n):
        w = 0.0
        for k in range(K):
            w += W[i, k]
        num += w * y[i]
        den += w
    return num / den if den > 0.0 else 0.0
