"""Penalised multinomial logistic regression on soft targets.

Shared by :class:`~skmoe.gating.SoftmaxGate` (targets are responsibilities)
and :class:`~skmoe.experts.LogisticExpert` (targets are one-hot labels).

The model is fitted in standardised coordinates ``z = (x - mean) / scale``
without materialising ``z``: the standardisation is folded into the
coefficients, so no copy of ``X`` is made.  Penalising the standardised
coefficients makes the fit invariant to the units of each feature.
"""

import numpy as np
from scipy.optimize import minimize

from ._kernels import softmax_cross_entropy


def feature_moments(X, weights):
    """Weighted mean and scale of each column (scale 1 for constant columns)."""
    wsum = weights.sum()
    mean = (weights @ X) / wsum
    var = (weights @ (X * X)) / wsum - mean * mean
    scale = np.sqrt(np.maximum(var, 0.0))
    scale[scale <= 1e-12 * (1.0 + np.abs(mean))] = 1.0
    return mean, scale


def raw_coefficients(V, c, mean, scale):
    """Map standardised ``(V, c)`` to ``(coef, intercept)`` acting on raw X."""
    coef = V / scale[:, None]
    intercept = c - mean @ coef
    return coef, intercept


def fit_multinomial(X, targets, weights, *, alpha, mean, scale, V0, c0, max_iter, tol):
    """Minimise the weighted soft-target cross-entropy plus ``alpha/2 ||V||^2``.

    The objective is divided by ``sum(weights)`` inside the solver so that
    ``tol`` means the same thing for 100 or 10^6 rows; ``alpha`` is on the
    scale of a summed loss, like ``1 / C`` in scikit-learn's
    ``LogisticRegression``.

    Returns
    -------
    V, c : ndarrays
        Standardised coefficients (n_features, K) and intercepts (K,).
    objective : float
        Summed penalised loss at the solution.
    n_iter : int
        L-BFGS iterations used.
    """
    n_features = X.shape[1]
    K = targets.shape[1]
    wsum = float(weights.sum())
    inv_scale = 1.0 / scale
    shift = mean * inv_scale

    def fun(theta):
        V = theta[: n_features * K].reshape(n_features, K)
        c = theta[n_features * K :]
        W = V * inv_scale[:, None]
        b = c - shift @ V
        logits = X @ W
        logits += b
        loss, G = softmax_cross_entropy(logits, targets, weights)
        del logits
        g_sum = G.sum(axis=0)
        # d/dV of sum_i loss(z_i V + c) with z = (x - mean) / scale
        gV = (X.T @ G - np.outer(mean, g_sum)) * inv_scale[:, None]
        gV += alpha * V
        loss += 0.5 * alpha * float(np.sum(V * V))
        grad = np.concatenate([gV.ravel(), g_sum])
        return loss / wsum, grad / wsum

    theta0 = np.concatenate([np.asarray(V0, dtype=np.float64).ravel(), np.asarray(c0, dtype=np.float64)])
    res = minimize(
        fun,
        theta0,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "gtol": tol, "ftol": tol * 1e-3},
    )
    theta = res.x
    V = theta[: n_features * K].reshape(n_features, K).copy()
    c = theta[n_features * K :].copy()
    # Softmax is invariant to a common shift of the intercepts; centring them
    # keeps the parameters (and pickles) reproducible and bounded.
    c -= c.mean()
    return V, c, float(res.fun) * wsum, int(res.nit)
