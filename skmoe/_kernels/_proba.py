"""Classification expert log-likelihoods from predicted probabilities."""

import numpy as np
from numba import njit

from . import _cache  # noqa: F401  (before any kernel: keys their cache to the package)
from ._config import JIT_KWARGS


@njit(**JIT_KWARGS)
def log_proba_of_labels(proba, y_index, floor):
    """``log(max(proba[i, y_index[i]], floor))`` for every sample.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
    y_index : ndarray of shape (n_samples,), integer
        Column of the observed class of each sample.
    floor : float
        Probabilities below it are raised to it before the log.

    Returns
    -------
    out : ndarray of shape (n_samples,)
    """
    n = proba.shape[0]
    out = np.empty(n, dtype=proba.dtype)
    for i in range(n):
        p = proba[i, y_index[i]]
        if not p >= floor:  # also catches NaN from a misbehaving expert
            p = floor
        out[i] = np.log(p)
    return out
