"""Gaussian expert log-densities."""

import numpy as np
from numba import njit

from . import _cache  # noqa: F401  (before any kernel: keys their cache to the package)
from ._config import JIT_KWARGS
from ._estep import _tile_linear, as_f64, as_shift, tile_buffers, use_wide, wide_of
from ._vector import VECTOR_JIT_KWARGS, OneCompile, array

_LOG_2PI = np.log(2.0 * np.pi)


@njit(**JIT_KWARGS)
def gaussian_log_density(y, mean, var):
    """``log N(y_i; mean_ik, var_k)`` for every sample and expert.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    mean : ndarray of shape (n_samples, n_experts)
    var : ndarray of shape (n_experts,), strictly positive

    Returns
    -------
    out : ndarray of shape (n_samples, n_experts)
    """
    n, K = mean.shape
    out = np.empty((n, K), dtype=mean.dtype)
    log_var = np.log(var)
    inv_var = 1.0 / var
    for i in range(n):
        for k in range(K):
            r = y[i] - mean[i, k]
            out[i, k] = -0.5 * (_LOG_2PI + log_var[k] + r * r * inv_var[k])
    return out


def linear_gaussian_log_density(X, y, coef, intercept, var, shift=None):
    """``log N(y_i; (x_i - shift) . coef[:, k] + intercept_k, var_k)`` in one pass.

    :func:`gaussian_log_density` with the means formed tile by tile (the
    (n_samples, n_experts) matrix of means is never made); a Python wrapper
    of the compiled :func:`_linear_gaussian_log_density_into`.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    coef : ndarray of shape (n_features, n_experts)
    intercept : ndarray of shape (n_experts,)
    var : ndarray of shape (n_experts,), strictly positive
    shift : ndarray of shape (n_features,) or None
        Column centres subtracted from X (None: zero); the intercept is
        then the mean at ``x = shift``.

    Returns
    -------
    out : ndarray of shape (n_samples, n_experts)
    """
    out = np.empty((X.shape[0], coef.shape[1]), dtype=np.float64)
    _linear_gaussian_log_density_into(
        X, y, as_f64(coef), as_f64(intercept), as_f64(var), out, as_shift(shift, X.shape[1])
    )
    return out


def _linear_gaussian_log_density_into(X, y, coef, intercept, var, out, shift):
    """:func:`linear_gaussian_log_density` writing into ``out`` (e.g. a row slice)."""
    d, K = X.shape[1], coef.shape[1]
    coef, intercept, var, shift = as_f64(coef), as_f64(intercept), as_f64(var), as_f64(shift)
    buffers = [np.empty(K), np.empty(K), *tile_buffers(d, K)]
    wide = use_wide(X.shape[0], d, K)
    kernel = _linear_gaussian_log_density_wide if wide else _linear_gaussian_log_density_one
    kernel(X, y, coef, intercept, var, out, shift, *buffers)


@njit(**VECTOR_JIT_KWARGS)
def _linear_gaussian_log_density_tiles(
    X, y, coef, intercept, var, out, shift, const, inv_var, xt, z
):
    """:func:`_linear_gaussian_log_density_into` with its scratch given (the compiled kernel)."""
    n = X.shape[0]
    K = coef.shape[1]
    for k in range(K):
        const[k] = -0.5 * (_LOG_2PI + np.log(var[k]))
        inv_var[k] = -0.5 / var[k]
    tile = z.shape[1]
    for a in range(0, n, tile):
        nb = min(tile, n - a)
        _tile_linear(X, a, nb, coef, intercept, xt, z, shift)
        for j in range(nb):
            yj = y[a + j]
            for k in range(K):
                r = yj - z[k, j]
                out[a + j, k] = const[k] + r * r * inv_var[k]


# One compile for any layout of X, y and out (see :class:`OneCompile`).
_linear_gaussian_log_density_one = OneCompile(
    _linear_gaussian_log_density_tiles,
    [array(2, "A", True), array(1, "A", True), array(2, "C", True), array(1, "C", True)]
    + [array(1, "C", True), array(2, "A"), array(1, "C", True)]
    + [array(1), array(1), array(2), array(2)],
)

# The same kernel with the predictions four by four (the same bits): large calls.
_linear_gaussian_log_density_wide = wide_of(
    _linear_gaussian_log_density_one, "_linear_gaussian_log_density_wide"
)
