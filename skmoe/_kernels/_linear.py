"""Sufficient statistics of K weighted least-squares problems."""

import numpy as np
from numba import njit

from . import _cache  # noqa: F401  (before any kernel: keys their cache to the package)
from ._estep import as_f64, tile_buffers
from ._vector import HELPER_JIT_KWARGS, VECTOR_JIT_KWARGS, _gram_block
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

    The rows are taken a tile at a time (``GRAM_TILE`` rows), held column by
    column, and the upper triangle is formed in 4 x 4 blocks
    (:func:`_gram_block`): each pass over a block's 8 columns of the tile
    feeds 16 running sums, where one dot product per entry fed one sum from
    2 columns; the kernel is then bound by the multiply-adds, not by the
    loads (1.5-2x faster at 5 to 50 features, issue 16).  Calls on fewer
    than ``GRAM_MIN_ROWS`` rows take one dot product per entry
    (:func:`_linear_sufficient_stats_dots`).  A Python wrapper of the
    compiled kernels, which are compiled for one type of frame (arrays and
    floats, never ``None``).

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
    A, b, syy = np.empty((K, d + 1, d + 1)), np.empty((K, d + 1)), np.empty(K)
    frame = (sh, sc, float(y_shift), float(y_inv_scale))
    if X.shape[0] < GRAM_MIN_ROWS:
        # Few rows: a C-contiguous copy costs nothing, and the kernel is
        # compiled for that layout only (a column view of a table, say,
        # would compile it a second time).
        X, y, W = np.ascontiguousarray(X), np.ascontiguousarray(y), np.ascontiguousarray(W)
        S = np.zeros((K, p * (p + 1) // 2))
        v, wv = tile_buffers(p, p)
        _linear_sufficient_stats_dots(X, y, W, *frame, S, v, wv, A, b, syy)
        return A, b, syy
    # Rows of the tile padded to a multiple of the block (the padding rows
    # stay zero, so the blocks that overlap them add zeros).  The rows of
    # the scratch tiles are a little longer than the tile: a row stride of
    # exactly 4 KiB would put a row's column of the tile in the same cache
    # set as every other row's (4K aliasing), and the transposing copy
    # would then miss on every store.
    P = -(-p // _BLOCK) * _BLOCK
    G = np.zeros((K, P, P))
    v = _aligned_zeros((P, GRAM_TILE + _PAD))
    w = _aligned_zeros((K, GRAM_TILE + _PAD))
    wv = _aligned_zeros((_BLOCK, GRAM_TILE + _PAD))
    _linear_sufficient_stats_blocks(X, y, W, *frame, G, v, w, wv, A, b, syy)
    return A, b, syy


# Tile of rows and block of the Gram kernel.  The tile is larger than the
# other kernels' ROW_TILE: a longer inner loop amortises each block's 16
# horizontal sums and its setup.  The blocks' columns then stream from the
# L2 cache (the tile is (d + 2) * 1024 * 8 bytes: 180 KiB at 20 features,
# 400 KiB at 50), which keeps up with the multiply-adds.  1024 rows against
# 512: 1.10x at d=20, K=8 and 1.13x at d=50, K=16 (bench_gram.py); 2048 and
# 4096 gained little more (at most 1.03x) and need a larger L2 cache.
GRAM_TILE = 1024
_BLOCK = 4
_PAD = 8
# Calls on fewer rows take the dot-product kernel: the blocked kernel's
# first compile (~0.3 s) would cost more than it saves there.  The choice
# depends on the rows of the call (a function of n_samples and the thread
# blocks), never on the number of threads.
GRAM_MIN_ROWS = 1024


def _aligned_zeros(shape):
    """A C-contiguous float64 array of zeros whose data start on a 64-byte
    boundary (a cache line; NumPy only guarantees 16 bytes).

    The blocked kernel's loops load 32 bytes of four tile rows at a time;
    from a 16-byte offset every other load straddles two cache lines.  The
    tiles' rows are a multiple of 64 bytes long, so every row starts
    aligned: 1.01-1.09x on the kernel at the three shapes of issue 16
    (``benchmarks/bench_gram.py``).  The compiled loops are the same, so the
    sums are too, bit for bit.  (The other kernels' tiles gained nothing
    from it, or lost a little: their many small tiles then alias.)
    """
    size = int(np.prod(shape))
    raw = np.zeros(size + 8)
    start = (-(raw.ctypes.data // 8)) % 8
    return raw[start : start + size].reshape(shape)


@njit(inline="always", **HELPER_JIT_KWARGS)
def _frame_tile(X, y, sh, sc, y_shift, y_inv_scale, a0, nb, v):
    """Rows ``a0 .. a0 + nb`` of ``[(X - sh) * sc, 1, (y - y_shift) * y_inv_scale]``
    into the first ``nb`` columns of the tile ``v``, one variable per row of
    ``v`` (inlined into both kernels: no compile of its own)."""
    d = X.shape[1]
    for j in range(nb):
        for t in range(d):
            v[t, j] = (X[a0 + j, t] - sh[t]) * sc[t]
        v[d, j] = 1.0
        v[d + 1, j] = (y[a0 + j] - y_shift) * y_inv_scale


@njit(inline="always", **HELPER_JIT_KWARGS)
def _frame_tile_rows4(X, y, W, sh, sc, y_shift, y_inv_scale, a0, nb, v, w):
    """:func:`_frame_tile` and the weights' tile ``w[k, j] = W[a0 + j, k]``, four
    rows at a time (the same values).

    Four rows per pass over the columns give each row of the tile four
    neighbouring stores where one row at a time gave one: the transposing
    copy then runs at about the memory's speed (1.5x faster at 20 features
    and 8 experts, ~6% of the blocked kernel).  Only the blocked kernel
    inlines it; the dot-product kernel of small calls keeps the shorter
    loop, which compiles faster.
    """
    d = X.shape[1]
    K = W.shape[1]
    nb4 = nb - nb % 4
    for j in range(0, nb4, 4):
        r = a0 + j
        for t in range(d):
            st = sh[t]
            ct = sc[t]
            v[t, j] = (X[r, t] - st) * ct
            v[t, j + 1] = (X[r + 1, t] - st) * ct
            v[t, j + 2] = (X[r + 2, t] - st) * ct
            v[t, j + 3] = (X[r + 3, t] - st) * ct
        for k in range(K):
            w[k, j] = W[r, k]
            w[k, j + 1] = W[r + 1, k]
            w[k, j + 2] = W[r + 2, k]
            w[k, j + 3] = W[r + 3, k]
    for j in range(nb4, nb):
        for t in range(d):
            v[t, j] = (X[a0 + j, t] - sh[t]) * sc[t]
        for k in range(K):
            w[k, j] = W[a0 + j, k]
    for j in range(nb):
        v[d, j] = 1.0
        v[d + 1, j] = (y[a0 + j] - y_shift) * y_inv_scale


@njit(**VECTOR_JIT_KWARGS)
def _linear_sufficient_stats_blocks(X, y, W, sh, sc, y_shift, y_inv_scale, G, v, w, wv, A, b, syy):
    """:func:`linear_sufficient_stats` in 4 x 4 blocks: ``G`` zeros (the padded
    blocks), the scratch tiles (``v`` with zero padding rows) and the
    outputs given."""
    n, d = X.shape
    K = W.shape[1]
    P = v.shape[0]
    tile = v.shape[1] - _PAD
    for a0 in range(0, n, tile):
        nb = min(tile, n - a0)
        _frame_tile_rows4(X, y, W, sh, sc, y_shift, y_inv_scale, a0, nb, v, w)
        for k in range(K):
            # Blocks on and above the diagonal; the lower triangle is the mirror.
            for r in range(0, P, 4):
                for i in range(4):
                    for j in range(nb):
                        wv[i, j] = w[k, j] * v[r + i, j]
                for c in range(r, P, 4):
                    _gram_block(
                        wv[0], wv[1], wv[2], wv[3],
                        v[c], v[c + 1], v[c + 2], v[c + 3], nb, G, k, r, c,
                    )  # fmt: skip
    for k in range(K):
        for a in range(d + 1):
            for c in range(a, d + 1):
                A[k, a, c] = G[k, a, c]
                A[k, c, a] = G[k, a, c]
            b[k, a] = G[k, a, d + 1]
        syy[k] = G[k, d + 1, d + 1]


@njit(**VECTOR_JIT_KWARGS)
def _linear_sufficient_stats_dots(X, y, W, sh, sc, y_shift, y_inv_scale, S, v, wv, A, b, syy):
    """:func:`linear_sufficient_stats` on few rows: one vectorised dot product
    per entry of the packed upper triangles ``S`` (zeros), ``v`` and ``wv``
    scratch tiles (their length is the tile), the outputs given.  Compiles in a
    fraction of the time of the blocked kernel, which a small fit (the demo's
    first fit in a fresh install, say) then never compiles."""
    n, d = X.shape
    K = W.shape[1]
    p = d + 2
    tile = v.shape[1]
    for a0 in range(0, n, tile):
        nb = min(tile, n - a0)
        _frame_tile(X, y, sh, sc, y_shift, y_inv_scale, a0, nb, v)
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
