"""Log-space forward-backward for a hidden Markov chain (homogeneous or not).

One kernel serves the HMM-sequence experts (one call per sequence) and the
Markov-switching mixtures (time-varying transitions from an input-dependent
softmax).  Everything is accumulated in float64 whatever the input dtype;
outputs are returned in the dtype of ``log_emit``.

The recursions are the textbook ones in log space,

    log_alpha[0, s]   = log_start[s] + log_emit[0, s]
    log_alpha[t+1, j] = logsumexp_i(log_alpha[t, i] + log_trans[t, i, j]) + log_emit[t+1, j]
    log_beta[T-1, s]  = 0
    log_beta[t, i]    = logsumexp_j(log_trans[t, i, j] + log_emit[t+1, j] + log_beta[t+1, j])

evaluated with a max shift on the *state* vector and the transition
probabilities taken out of the log (``exp(log_trans)`` is formed once for a
homogeneous chain), which costs S exponentials per step instead of S**2.  When
that shortcut underflows (forbidden or astronomically unlikely transitions,
sum below ``_TINY``) the exact ``logsumexp`` over the S*S terms is used
instead, so the result is the log-space one to rounding.
"""

import numpy as np
from numba import njit

from . import _cache  # noqa: F401  (before any kernel: keys their cache to the package)
from ._config import JIT_KWARGS

# Below this the scaled sum may have lost relative precision to underflow
# (or be exactly zero): fall back to the exact log-sum-exp.
_TINY = 1e-280


@njit(**JIT_KWARGS)
def forward_backward(log_start, log_trans, log_emit):
    """Forward-backward pass of a hidden Markov chain, in log space.

    Parameters
    ----------
    log_start : ndarray of shape (S,)
        Log-probabilities of the first state.
    log_trans : ndarray of shape (Tt, S, S)
        ``log_trans[t, i, j] = log P(z_{t+1} = j | z_t = i)``.  ``Tt == 1``: a
        homogeneous chain (the same matrix at every step); ``Tt == T - 1``:
        one matrix per step.  Entries may be ``-inf`` (forbidden moves).
    log_emit : ndarray of shape (T, S)
        ``log p(obs_t | z_t = s)``.

    Returns
    -------
    log_likelihood : float
        ``log p(obs_1, ..., obs_T)`` (``-inf`` if the sequence is impossible).
    log_alpha : ndarray of shape (T, S)
        ``log p(obs_1..t, z_t = s)`` (log filtered joint).
    gamma : ndarray of shape (T, S)
        Smoothed posteriors ``p(z_t = s | obs_1..T)``; rows sum to one.  A row
        with no possible state is uniform ``1/S`` (never NaN).
    xi : ndarray of shape (1, S, S) if ``Tt == 1`` else (T - 1, S, S)
        Posterior transition probabilities ``p(z_t = i, z_{t+1} = j | obs)``,
        summed over ``t`` for a homogeneous chain, per step otherwise.  All
        zeros when ``T == 1`` (no transition) and for an impossible step.
    """
    T, S = log_emit.shape
    Tt = log_trans.shape[0]
    if log_start.shape[0] != S or log_trans.shape[1] != S or log_trans.shape[2] != S:
        raise ValueError("forward_backward: state dimensions of the inputs differ")
    if T < 1:
        raise ValueError("forward_backward: empty sequence (T == 0)")
    homogeneous = Tt == 1
    if not homogeneous and Tt != T - 1:
        raise ValueError("forward_backward: log_trans must have 1 or T - 1 matrices")

    la = np.empty((T, S))  # log alpha
    lb = np.empty((T, S))  # log beta
    P = np.empty((S, S))  # transition probabilities of the current step
    w = np.empty(S)  # shifted state vector

    if homogeneous:
        for i in range(S):
            for j in range(S):
                P[i, j] = np.exp(np.float64(log_trans[0, i, j]))

    # ---------------- forward ----------------
    for s in range(S):
        la[0, s] = np.float64(log_start[s]) + np.float64(log_emit[0, s])
    for t in range(T - 1):
        tt = 0 if homogeneous else t
        if not homogeneous:
            for i in range(S):
                for j in range(S):
                    P[i, j] = np.exp(np.float64(log_trans[tt, i, j]))
        m = -np.inf
        for i in range(S):
            if la[t, i] > m:
                m = la[t, i]
        if m == -np.inf:
            for j in range(S):
                la[t + 1, j] = -np.inf
            continue
        for i in range(S):
            w[i] = np.exp(la[t, i] - m)
        for j in range(S):
            acc = 0.0
            for i in range(S):
                acc += w[i] * P[i, j]
            if acc > _TINY:
                v = m + np.log(acc)
            else:  # exact log-sum-exp over i
                mm = -np.inf
                for i in range(S):
                    u = la[t, i] + np.float64(log_trans[tt, i, j])
                    if u > mm:
                        mm = u
                if mm == -np.inf:
                    v = -np.inf
                else:
                    acc = 0.0
                    for i in range(S):
                        acc += np.exp(la[t, i] + np.float64(log_trans[tt, i, j]) - mm)
                    v = mm + np.log(acc)
            la[t + 1, j] = v + np.float64(log_emit[t + 1, j])

    m = -np.inf
    for s in range(S):
        if la[T - 1, s] > m:
            m = la[T - 1, s]
    if m == -np.inf:
        log_likelihood = -np.inf
    else:
        acc = 0.0
        for s in range(S):
            acc += np.exp(la[T - 1, s] - m)
        log_likelihood = m + np.log(acc)

    # ---------------- backward ----------------
    for s in range(S):
        lb[T - 1, s] = 0.0
    if homogeneous:
        for i in range(S):
            for j in range(S):
                P[i, j] = np.exp(np.float64(log_trans[0, i, j]))
    for t in range(T - 2, -1, -1):
        tt = 0 if homogeneous else t
        if not homogeneous:
            for i in range(S):
                for j in range(S):
                    P[i, j] = np.exp(np.float64(log_trans[tt, i, j]))
        m = -np.inf
        for j in range(S):
            w[j] = np.float64(log_emit[t + 1, j]) + lb[t + 1, j]
            if w[j] > m:
                m = w[j]
        if m == -np.inf:
            for i in range(S):
                lb[t, i] = -np.inf
            continue
        for j in range(S):
            w[j] = np.exp(w[j] - m)
        for i in range(S):
            acc = 0.0
            for j in range(S):
                acc += P[i, j] * w[j]
            if acc > _TINY:
                lb[t, i] = m + np.log(acc)
            else:
                mm = -np.inf
                for j in range(S):
                    u = (
                        np.float64(log_trans[tt, i, j])
                        + np.float64(log_emit[t + 1, j])
                        + lb[t + 1, j]
                    )
                    if u > mm:
                        mm = u
                if mm == -np.inf:
                    lb[t, i] = -np.inf
                else:
                    acc = 0.0
                    for j in range(S):
                        acc += np.exp(
                            np.float64(log_trans[tt, i, j])
                            + np.float64(log_emit[t + 1, j])
                            + lb[t + 1, j]
                            - mm
                        )
                    lb[t, i] = mm + np.log(acc)

    # ---------------- posteriors ----------------
    dtype = log_emit.dtype
    log_alpha = np.empty((T, S), dtype=dtype)
    gamma = np.empty((T, S), dtype=dtype)
    for t in range(T):
        m = -np.inf
        for s in range(S):
            log_alpha[t, s] = la[t, s]
            u = la[t, s] + lb[t, s]
            w[s] = u
            if u > m:
                m = u
        if m == -np.inf:
            for s in range(S):
                gamma[t, s] = 1.0 / S
            continue
        acc = 0.0
        for s in range(S):
            w[s] = np.exp(w[s] - m)
            acc += w[s]
        for s in range(S):
            gamma[t, s] = w[s] / acc

    n_xi = 1 if homogeneous else T - 1
    xi = np.zeros((n_xi, S, S), dtype=dtype)
    xacc = np.zeros((n_xi, S, S))
    L = np.empty((S, S))
    for t in range(T - 1):
        tt = 0 if homogeneous else t
        m = -np.inf
        for i in range(S):
            for j in range(S):
                u = (
                    la[t, i]
                    + np.float64(log_trans[tt, i, j])
                    + np.float64(log_emit[t + 1, j])
                    + lb[t + 1, j]
                )
                L[i, j] = u
                if u > m:
                    m = u
        if m == -np.inf:
            continue
        acc = 0.0
        for i in range(S):
            for j in range(S):
                L[i, j] = np.exp(L[i, j] - m)
                acc += L[i, j]
        for i in range(S):
            for j in range(S):
                xacc[tt, i, j] += L[i, j] / acc
    for k in range(n_xi):
        for i in range(S):
            for j in range(S):
                xi[k, i, j] = xacc[k, i, j]
    return log_likelihood, log_alpha, gamma, xi
