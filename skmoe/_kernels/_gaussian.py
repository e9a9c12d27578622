"""Gaussian expert log-densities."""

import numpy as np
from numba import njit

from ._config import JIT_KWARGS

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
