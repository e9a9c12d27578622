"""Log-densities of the non-Gaussian expert families (Student-t, Poisson, binomial).

Each takes the targets of n rows and one (n_samples, n_experts) array of
per-expert locations or linear predictors, and returns the (n_samples,
n_experts) log-densities that the E-step adds to the gate's log-probabilities.
"""

import math

import numpy as np
from numba import njit

from . import _cache  # noqa: F401  (before any kernel: keys their cache to the package)
from ._config import JIT_KWARGS

_LOG_PI = math.log(math.pi)


@njit(**JIT_KWARGS)
def student_t_log_density(y, loc, scale2, df):
    """``log t_df(y_i; loc_ik, scale2_k)`` for every sample and expert.

    The location-scale Student-t density
    ``Gamma((v+1)/2) / (Gamma(v/2) sqrt(v pi s2)) (1 + (y-m)^2 / (v s2))^(-(v+1)/2)``.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    loc : ndarray of shape (n_samples, n_experts)
    scale2 : ndarray of shape (n_experts,), strictly positive
        Squared scales ``s_k^2`` (not variances: the variance is
        ``s_k^2 v_k / (v_k - 2)`` for ``v_k > 2``).
    df : ndarray of shape (n_experts,), strictly positive
        Degrees of freedom ``v_k``.

    Returns
    -------
    out : ndarray of shape (n_samples, n_experts)
    """
    n, K = loc.shape
    out = np.empty((n, K), dtype=loc.dtype)
    const = np.empty(K)
    half = np.empty(K)
    inv = np.empty(K)
    for k in range(K):
        v = float(df[k])
        s2 = float(scale2[k])
        const[k] = (
            math.lgamma(0.5 * (v + 1.0))
            - math.lgamma(0.5 * v)
            - 0.5 * (_LOG_PI + math.log(v) + math.log(s2))
        )
        half[k] = 0.5 * (v + 1.0)
        inv[k] = 1.0 / (v * s2)
    for i in range(n):
        for k in range(K):
            r = float(y[i]) - float(loc[i, k])
            out[i, k] = const[k] - half[k] * math.log1p(r * r * inv[k])
    return out


@njit(**JIT_KWARGS)
def student_t_weights(y, loc, scale2, df):
    """Latent precision weights ``u_ik = (v_k + 1) / (v_k + (y_i - loc_ik)^2 / s2_k)``.

    ``E[u | y]`` of the Gaussian scale-mixture form of the t density: the
    E-step quantity of the ECM algorithm (Peel & McLachlan 2000), small for
    rows far from expert k's line (outliers are down-weighted).

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    loc : ndarray of shape (n_samples, n_experts)
    scale2 : ndarray of shape (n_experts,), strictly positive
    df : ndarray of shape (n_experts,), strictly positive

    Returns
    -------
    u : ndarray of shape (n_samples, n_experts), in ``(0, (v_k + 1) / v_k]``
    """
    n, K = loc.shape
    out = np.empty((n, K), dtype=loc.dtype)
    for i in range(n):
        for k in range(K):
            r = float(y[i]) - float(loc[i, k])
            v = float(df[k])
            out[i, k] = (v + 1.0) / (v + r * r / float(scale2[k]))
    return out


@njit(**JIT_KWARGS)
def poisson_log_density(y, eta):
    """``log Poisson(y_i; exp(eta_ik))`` for every sample and expert.

    ``y_i eta_ik - exp(eta_ik) - log(y_i!)``.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Non-negative whole counts.
    eta : ndarray of shape (n_samples, n_experts)
        Log-means (linear predictors).

    Returns
    -------
    out : ndarray of shape (n_samples, n_experts)
    """
    n, K = eta.shape
    out = np.empty((n, K), dtype=eta.dtype)
    for i in range(n):
        yi = float(y[i])
        log_fact = math.lgamma(yi + 1.0)
        for k in range(K):
            e = float(eta[i, k])
            out[i, k] = yi * e - math.exp(e) - log_fact
    return out


@njit(**JIT_KWARGS)
def _log_sigmoid(x):
    if x >= 0.0:
        return -math.log1p(math.exp(-x))
    return x - math.log1p(math.exp(x))


@njit(**JIT_KWARGS)
def binomial_log_density(successes, trials, eta):
    """``log Binomial(s_i; m_i, sigmoid(eta_ik))`` for every sample and expert.

    ``log C(m_i, s_i) + s_i log p + (m_i - s_i) log(1 - p)`` with
    ``log p = log_sigmoid(eta)`` and ``log(1 - p) = log_sigmoid(-eta)``,
    evaluated without overflow for any finite logit.

    Parameters
    ----------
    successes : ndarray of shape (n_samples,)
        Whole numbers of successes ``0 <= s_i <= m_i``.
    trials : ndarray of shape (n_samples,)
        Whole numbers of trials ``m_i >= 1``.
    eta : ndarray of shape (n_samples, n_experts)
        Logits of the success probability.

    Returns
    -------
    out : ndarray of shape (n_samples, n_experts)
    """
    n, K = eta.shape
    out = np.empty((n, K), dtype=eta.dtype)
    for i in range(n):
        s = float(successes[i])
        m = float(trials[i])
        log_comb = math.lgamma(m + 1.0) - math.lgamma(s + 1.0) - math.lgamma(m - s + 1.0)
        for k in range(K):
            e = float(eta[i, k])
            val = log_comb
            if s > 0.0:
                val += s * _log_sigmoid(e)
            if m - s > 0.0:
                val += (m - s) * _log_sigmoid(-e)
            out[i, k] = val
    return out
