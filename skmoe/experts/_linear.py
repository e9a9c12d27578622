"""Closed-form weighted linear expert."""

from numbers import Real

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .._kernels import linear_gaussian_log_density, linear_sufficient_stats
from .._kernels._config import THREAD_BLOCK_ROWS
from .._kernels._gaussian import _linear_gaussian_log_density_into
from .._threading import blas_single_threaded, block_bounds, map_blocks


def weighted_linear_stats(X, y, W):
    """Sufficient statistics of K weighted least-squares problems at once.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    W : ndarray of shape (n_samples, K)
        Non-negative weights, one column per problem.

    Returns
    -------
    A : ndarray of shape (K, n_features + 1, n_features + 1)
        ``X1^T diag(W_k) X1`` with ``X1 = [X, 1]``.
    b : ndarray of shape (K, n_features + 1)
        ``X1^T (W_k * y)``.
    syy : ndarray of shape (K,)
        ``sum_i W_ik y_i^2``.

    Notes
    -----
    The statistics add up over blocks of rows, which is what mini-batch EM
    and map-reduce over Dask blocks rely on.  Each block of about
    ``THREAD_BLOCK_ROWS`` rows is one call of the Numba kernel
    :func:`~skmoe._kernels.linear_sufficient_stats` (symmetric: half the
    flops of K Gram matrices, no copy of X); the blocks run in parallel
    threads and are added up in block order, so the result does not depend
    on the number of threads.
    """
    bounds = block_bounds(X.shape[0], THREAD_BLOCK_ROWS)
    results = map_blocks(lambda a, z: linear_sufficient_stats(X[a:z], y[a:z], W[a:z]), bounds)
    A, b, syy = results[0]
    for A_block, b_block, syy_block in results[1:]:
        A += A_block
        b += b_block
        syy += syy_block
    return A, b, syy


def linear_predict(X, coef, intercept):
    """``X @ coef + intercept`` over fixed row blocks, in parallel.

    Single-threaded BLAS per block (see :mod:`skmoe._threading`): the product
    is memory-bound, and a multi-threaded BLAS on a busy machine can be
    orders of magnitude slower than one thread.
    """
    n = X.shape[0]
    out = np.empty((n, coef.shape[1]))

    def block(a, z):
        np.matmul(X[a:z], coef, out=out[a:z])
        out[a:z] += intercept

    with blas_single_threaded():
        map_blocks(block, block_bounds(n, THREAD_BLOCK_ROWS))
    return out


def linear_gaussian_log_prob(X, y, coef, intercept, variance):
    """``log N(y_i; x_i . coef_k + intercept_k, variance_k)``, shape (n_samples, K).

    The fused kernel :func:`~skmoe._kernels.linear_gaussian_log_density`
    over fixed row blocks in parallel: the (n_samples, K) matrix of means is
    never formed, and no BLAS call is made.
    """
    n = X.shape[0]
    coef_t = np.ascontiguousarray(coef, dtype=np.float64)  # (n_features, K)
    intercept = np.asarray(intercept, dtype=np.float64)
    variance = np.asarray(variance, dtype=np.float64)
    bounds = block_bounds(n, THREAD_BLOCK_ROWS)
    if len(bounds) == 2:
        return linear_gaussian_log_density(X, y, coef_t, intercept, variance)
    out = np.empty((n, coef_t.shape[1]))

    def block(a, z):
        _linear_gaussian_log_density_into(X[a:z], y[a:z], coef_t, intercept, variance, out[a:z])

    map_blocks(block, bounds)
    return out


def solve_weighted_linear(A, b, syy, alpha):
    """Solve the K ridge-stabilised weighted least-squares problems.

    The ridge on feature j is ``alpha * var_w(x_j)``: a penalty on the
    standardised slope, so "tiny" means the same thing in any units.  The
    intercept is not penalised.

    Returns
    -------
    beta : ndarray of shape (K, n_features + 1)
        Slopes followed by the intercept.
    rss : ndarray of shape (K,)
        Weighted residual sums of squares (clipped at zero).
    mass : ndarray of shape (K,)
        Total weight of each problem.
    """
    K, p, _ = A.shape
    d = p - 1
    beta = np.zeros((K, p))
    rss = np.zeros(K)
    mass = A[:, d, d].copy()
    for k in range(K):
        Ak = A[k]
        nk = mass[k]
        if nk <= 0:
            continue
        mu = Ak[:d, d] / nk
        var = np.diag(Ak)[:d] / nk - mu * mu
        ridge = alpha * nk * np.maximum(var, 1e-12 * (1.0 + mu * mu))
        M = Ak.copy()
        M[np.arange(d), np.arange(d)] += ridge
        try:
            # Cholesky as solve(assume_a="pos") does, but a numerically
            # singular M (a column constant in this expert's weighted rows
            # duplicates the intercept) goes to lstsq instead of returning a
            # solution with a LinAlgWarning: cond(M) >= (max/min diag L)^2.
            L = linalg.cho_factor(M, lower=True, check_finite=False)
            diag = np.abs(np.diag(L[0]))
            if not diag.min() > np.sqrt(np.finfo(float).eps) * diag.max():
                raise linalg.LinAlgError("numerically singular")
            beta[k] = linalg.cho_solve(L, b[k], check_finite=False)
        except (linalg.LinAlgError, ValueError):
            beta[k] = linalg.lstsq(M, b[k])[0]
        bk = beta[k]
        rss[k] = max(syy[k] - 2.0 * bk @ b[k] + bk @ Ak @ bk, 0.0)
    return beta, rss, mass


def solve_weighted_lstsq(X, y, w, alpha):
    """One weighted ridge problem of :func:`solve_weighted_linear`, solved stably.

    Same objective (ridge ``alpha * var_w(x_j)`` per unit of weight on each
    slope, intercept unpenalised), but solved in weighted-standardised
    coordinates by a least-squares factorisation of the ``sqrt(w)``-scaled
    design stacked on the ridge rows, instead of through the normal
    equations: the error grows with the condition number of the
    standardised design rather than with the square of that of the raw one.
    With the tiny default ridge and more features than weighted rows, or a
    feature far from zero relative to its spread, the normal equations lose
    most of their digits (and fitting with integer weights would no longer
    match fitting on repeated rows).

    Returns
    -------
    beta : ndarray of shape (n_features + 1,)
        Slopes followed by the intercept.
    """
    n, d = X.shape
    nk = float(w.sum())
    if nk <= 0:
        return np.zeros(d + 1)
    mu = (w @ X) / nk
    Z = X - mu
    scale = np.sqrt(np.maximum((w @ Z**2) / nk, 1e-12 * (1.0 + mu * mu)))
    Z /= scale
    y_mean = float(w @ y) / nk
    # On standardised slopes v_j = scale_j * beta_j the ridge is alpha * nk.
    sqrt_w = np.sqrt(w)
    design = np.zeros((n + d, d))
    np.multiply(Z, sqrt_w[:, None], out=design[:n])
    design[n + np.arange(d), np.arange(d)] = np.sqrt(alpha * nk)
    rhs = np.zeros(n + d)
    rhs[:n] = sqrt_w * (y - y_mean)
    v = linalg.lstsq(design, rhs, check_finite=False)[0]
    coef = v / scale
    return np.append(coef, y_mean - mu @ coef)


class LinearExpert(RegressorMixin, BaseEstimator):
    """Weighted least squares with an intercept and a tiny ridge, in closed form.

    The default expert of :class:`~skmoe.MixtureOfExpertsRegressor`.  Inside
    the mixture all experts are solved together from shared sufficient
    statistics; used alone it is an ordinary scikit-learn regressor.

    Parameters
    ----------
    alpha : float, default=1e-8
        Ridge penalty on the standardised slopes (the intercept is not
        penalised).  Only there to keep the normal equations solvable when an
        expert's weighted design is rank deficient.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features,)
        Defined only when X has feature names that are all strings.
    """

    _parameter_constraints = {"alpha": [Interval(Real, 0, None, closed="left")]}

    def __init__(self, alpha=1e-8):
        self.alpha = alpha

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit by weighted least squares.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : LinearExpert
        """
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        # Alone, one problem: a QR-type solve is as cheap as forming the Gram
        # matrix and much more accurate (see solve_weighted_lstsq).
        beta = solve_weighted_lstsq(X, y, sw, self.alpha)
        self.coef_ = beta[:-1]
        self.intercept_ = float(beta[-1])
        return self

    def predict(self, X):
        """Predict ``X @ coef_ + intercept_``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_ + self.intercept_
