"""E-step kernels: combine gate and expert log-likelihoods in log space."""

import numpy as np
from numba import njit

from ._config import JIT_KWARGS


@njit(**JIT_KWARGS)
def posterior_from_logs(log_gate, log_lik):
    """Row-normalise ``log_gate + log_lik`` into responsibilities.

    Parameters
    ----------
    log_gate, log_lik : ndarray of shape (n_samples, n_experts)
        Gate log-probabilities and expert log-likelihoods ``log p_k(y_i|x_i)``.

    Returns
    -------
    resp : ndarray of shape (n_samples, n_experts)
        Posterior probabilities ``r_ik`` (rows sum to one).
    log_norm : ndarray of shape (n_samples,)
        ``log sum_k g_k(x_i) p_k(y_i|x_i)``, the per-sample log-likelihood.
    """
    n, K = log_gate.shape
    resp = np.empty((n, K), dtype=log_gate.dtype)
    log_norm = np.empty(n, dtype=log_gate.dtype)
    for i in range(n):
        m = -np.inf
        for k in range(K):
            v = log_gate[i, k] + log_lik[i, k]
            resp[i, k] = v
            if v > m:
                m = v
        if m == -np.inf:
            # Every expert gives zero density: share the row equally rather
            # than produce NaN; the caller floors densities so this is rare.
            for k in range(K):
                resp[i, k] = 1.0 / K
            log_norm[i] = -np.inf
            continue
        s = 0.0
        for k in range(K):
            e = np.exp(resp[i, k] - m)
            resp[i, k] = e
            s += e
        inv = 1.0 / s
        for k in range(K):
            resp[i, k] *= inv
        log_norm[i] = m + np.log(s)
    return resp, log_norm


@njit(**JIT_KWARGS)
def log_softmax(logits):
    """Row-wise ``logits - logsumexp(logits)``, returned as a new array."""
    n, K = logits.shape
    out = np.empty((n, K), dtype=logits.dtype)
    for i in range(n):
        m = logits[i, 0]
        for k in range(1, K):
            if logits[i, k] > m:
                m = logits[i, k]
        s = 0.0
        for k in range(K):
            s += np.exp(logits[i, k] - m)
        lse = m + np.log(s)
        for k in range(K):
            out[i, k] = logits[i, k] - lse
    return out
