"""Weighted column sums of a block of rows, in one pass and a fixed order.

NumPy offers ``w @ A`` (a BLAS gemv: threaded, and on a busy machine its
spinning workers cost milliseconds per call on a thin block) or
``np.einsum("i,ik->k", w, A)`` (single-threaded, but ~10x slower than the
memory bandwidth for a few columns: 23 ms against 2.3 ms for 10^6 x 4).
These loops read each row once, add in row order (so the result does not
depend on threads or blocking beyond the engines' own ordered sums), and run
at memory speed.
"""

import numpy as np
from numba import njit

from . import _cache  # noqa: F401  (before any kernel: keys their cache to the package)
from ._vector import VECTOR_JIT_KWARGS


def weighted_column_sums(w, A):
    """``sum_i w_i A[i, :]``, shape (n_columns,)."""
    out = np.zeros(A.shape[1])
    _weighted_sums(w, A, out, False, out)  # (``centre`` unused: any float64 vector)
    return out


def weighted_centred_squares(w, A, centre):
    """``sum_i w_i (A[i, :] - centre)^2``, shape (n_columns,), without a temporary."""
    out = np.zeros(A.shape[1])
    _weighted_sums(w, A, centre, True, out)
    return out


@njit(**VECTOR_JIT_KWARGS)
def _weighted_sums(w, A, centre, squares, out):
    """Both sums, adding into ``out`` (zeros; allocated in Python, so that Numba
    compiles no ``np.zeros`` for it): the centred squares if ``squares``, else
    the plain sums.

    One kernel for the two (a branch outside the loops): a fit needs both
    (the frame's two passes), and each compiled function costs ~0.1 s in a
    fresh install.
    """
    n, k = A.shape
    if squares:
        for i in range(n):
            wi = w[i]
            for j in range(k):
                d = A[i, j] - centre[j]
                out[j] += wi * d * d
    else:
        for i in range(n):
            wi = w[i]
            for j in range(k):
                out[j] += wi * A[i, j]
