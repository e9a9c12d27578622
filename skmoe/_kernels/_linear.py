"""Sufficient statistics of K weighted least-squares problems."""

import numpy as np
from numba import njit

from ._config import ROW_TILE
from ._estep import as_f64, tile_buffers
from ._vector import VECTOR_JIT_KWARGS
from ._vector import _tile_dot as tile_dot


def linear_sufficient_stats(X, y, W, x_shift=None, x_inv_scale=None, y_shift=0.0, y_inv_scale=1.0):
    """``Z1^T diag(W_k) Z1``, ``Z1^T diag(W_k) u`` and ``sum_i W_ik u_i^2`` for every k.

    ``Z1 = [Z, 1]`` with ``Z = (X - x_shift) * x_inv_scale`` and
    ``u = (y - y_shift) * y_inv_scale``: the statistics in a centred, scaled
    frame, formed in the tile copy (no temporary of the size of X).  Raw
    sums of a feature near 1.7e9 (a timestamp) would cancel all the digits
    of its spread; about its centre they keep them.  All three are the upper triangle of
    ``sum_i W_ik v_i v_i^T`` with ``v_i = [x_i, 1, y_i]``: half the flops of
    K separate Gram matrices (symmetry) and no temporary of the size of X.
    The rows are taken a tile at a time, held column by column, and every
    entry is a vectorised dot product over the tile's rows
    (:func:`~skmoe._kernels._vector.tile_dot`).  A Python wrapper of the
    compiled :func:`_linear_sufficient_stats`, which is compiled for one
    type of frame (arrays and floats, never ``None``).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    W : ndarray of shape (n_samples, K)
        Weights, one column per problem.
    x_shift, x_inv_scale : ndarray of shape (n_features,) or None
        The frame of X (None: zeros and ones).
    y_shift, y_inv_scale : float
        The frame of y.

    Returns
    -------
    A : ndarray of shape (K, n_features + 1, n_features + 1)
    b : ndarray of shape (K, n_features + 1)
    syy : ndarray of shape (K,)
    """
    d = X.shape[1]
    sh = np.zeros(d) if x_shift is None else as_f64(np.asarray(x_shift)[:d])
    sc = np.ones(d) if x_inv_scale is None else as_f64(np.asarray(x_inv_scale)[:d])
    K, p = W.shape[1], d + 2
    S = np.zeros((K, p * (p + 1) // 2))
    A, b, syy = np.empty((K, d + 1, d + 1)), np.empty((K, d + 1)), np.empty(K)
    v, wv = tile_buffers(p, p)
    _linear_sufficient_stats(
        X, y, W, sh, sc, float(y_shift), float(y_inv_scale), S, v, wv, A, b, syy
    )
    return A, b, syy


@njit(**VECTOR_JIT_KWARGS)
def _linear_sufficient_stats(X, y, W, sh, sc, y_shift, y_inv_scale, S, v, wv, A, b, syy):
    """:func:`linear_sufficient_stats` with the frame as float64 arrays and floats, ``S``
    zeros (the packed upper triangles), the scratch tiles and the outputs given
    (the compiled kernel)."""
    n, d = X.shape
    K = W.shape[1]
    p = d + 2
    for a0 in range(0, n, ROW_TILE):
        nb = min(ROW_TILE, n - a0)
        for j in range(nb):
            for t in range(d):
                v[t, j] = (X[a0 + j, t] - sh[t]) * sc[t]
            v[d, j] = 1.0
            v[d + 1, j] = (y[a0 + j] - y_shift) * y_inv_scale
        for k in range(K):
            for a in range(p):
                for j in range(nb):
                    wv[a, j] = W[a0 + j, k] * v[a, j]
            idx = 0
            for a in range(p):
                for c in range(a, p):
                    S[k, idx] += tile_dot(wv[a], v[c], nb)
                    idx += 1
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
