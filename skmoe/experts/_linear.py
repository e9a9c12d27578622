"""Closed-form weighted linear expert."""

import math
from numbers import Real

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .._docs import DocLinkMixin
from .._frame import frame_inverse_scale
from .._kernels import (
    _linear_gaussian_log_density_into,
    linear_gaussian_log_density,
    linear_sufficient_stats,
)
from .._kernels._config import THREAD_BLOCK_ROWS
from .._threading import blas_single_threaded, block_bounds, map_blocks
from .._unchanged import fit_unchanged_on_error
from .._validation import check_sample_weight, validate_numeric_data

try:  # the gufuncs behind np.linalg.cholesky / solve (without their wrappers)
    from numpy.linalg import _umath_linalg
except ImportError:  # pragma: no cover - a NumPy without it takes the public path
    _umath_linalg = None


def weighted_linear_stats(X, y, W, frame=None):
    """Sufficient statistics of K weighted least-squares problems at once.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    W : ndarray of shape (n_samples, K)
        Non-negative weights, one column per problem.
    frame : tuple or None
        ``(x_shift, x_inv_scale, y_shift, y_inv_scale)``: the statistics are
        those of ``Z = (X - x_shift) * x_inv_scale`` and
        ``u = (y - y_shift) * y_inv_scale`` (None: raw X and y).

    Returns
    -------
    A : ndarray of shape (K, n_features + 1, n_features + 1)
        ``Z1^T diag(W_k) Z1`` with ``Z1 = [Z, 1]``.
    b : ndarray of shape (K, n_features + 1)
        ``Z1^T (W_k * u)``.
    syy : ndarray of shape (K,)
        ``sum_i W_ik u_i^2``.

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
    frame = (None, None, 0.0, 1.0) if frame is None else frame
    if X.shape[0] <= THREAD_BLOCK_ROWS:  # one block: the kernel's own result
        return linear_sufficient_stats(X, y, W, *frame)
    bounds = block_bounds(X.shape[0], THREAD_BLOCK_ROWS)
    results = map_blocks(
        lambda a, z: linear_sufficient_stats(X[a:z], y[a:z], W[a:z], *frame), bounds
    )
    A, b, syy = results[0]
    for A_block, b_block, syy_block in results[1:]:
        A += A_block
        b += b_block
        syy += syy_block
    return A, b, syy


def linear_predict(X, coef, intercept, shift=None):
    """``(X - shift) @ coef + intercept`` over fixed row blocks, in parallel.

    With ``shift`` the column centres and ``intercept`` the prediction at
    them, no digit is lost for features far from zero.

    Single-threaded BLAS per block (see :mod:`skmoe._threading`): the product
    is memory-bound, and a multi-threaded BLAS on a busy machine can be
    orders of magnitude slower than one thread.
    """
    n = X.shape[0]
    out = np.empty((n, coef.shape[1]))

    def block(a, z):
        Xb = X[a:z] if shift is None else X[a:z] - shift
        np.matmul(Xb, coef, out=out[a:z])
        out[a:z] += intercept

    with blas_single_threaded():
        map_blocks(block, block_bounds(n, THREAD_BLOCK_ROWS))
    return out


def linear_gaussian_log_prob(X, y, coef, intercept, variance, shift=None):
    """``log N(y_i; (x_i - shift) . coef_k + intercept_k, variance_k)``, shape (n_samples, K).

    The fused kernel :func:`~skmoe._kernels.linear_gaussian_log_density`
    over fixed row blocks in parallel: the (n_samples, K) matrix of means is
    never formed, and no BLAS call is made.
    """
    n = X.shape[0]
    coef_t = np.ascontiguousarray(coef, dtype=np.float64)  # (n_features, K)
    intercept = np.asarray(intercept, dtype=np.float64)
    variance = np.asarray(variance, dtype=np.float64)
    shift = np.zeros(X.shape[1]) if shift is None else np.asarray(shift, dtype=np.float64)
    bounds = block_bounds(n, THREAD_BLOCK_ROWS)
    if len(bounds) == 2:
        return linear_gaussian_log_density(X, y, coef_t, intercept, variance, shift)
    out = np.empty((n, coef_t.shape[1]))

    def block(a, z):
        _linear_gaussian_log_density_into(
            X[a:z], y[a:z], coef_t, intercept, variance, out[a:z], shift
        )

    map_blocks(block, bounds)
    return out


# Systems of at most this many unknowns (features + 1) are solved by the
# scalar code of :func:`_solve_weighted_linear_small` (~2-3x faster at one
# or two features; from three on its conversions cost what they save).
_SMALL_SOLVE = 3


def solve_weighted_linear(A, b, syy, alpha, ridge_scale=1.0):
    """Solve the K ridge-stabilised weighted least-squares problems from their statistics.

    Each problem is centred at its own weighted means before it is solved
    (``C = A_xx - n_k m m^T``), so the solve sees the spread of the data, not
    its distance from the origin; the centred system plus the ridge is
    factorised by Cholesky.  The ridge on slope j is
    ``alpha * n_k * ridge_scale_j``; the intercept is not penalised.  The
    statistics are formed in a scaled frame (:func:`weighted_linear_stats`
    with a frame), where the default ``ridge_scale`` of 1 is a penalty on
    the slopes of standardised features, whatever the units of X.

    Returns
    -------
    beta : ndarray of shape (K, n_features + 1)
        Slopes followed by the intercept (in the statistics' frame).
    rss : ndarray of shape (K,)
        Weighted residual sums of squares (clipped at zero).
    mass : ndarray of shape (K,)
        Total weight of each problem.
    """
    K, p, _ = A.shape
    d = p - 1
    if p <= _SMALL_SOLVE:
        fast = _solve_weighted_linear_small(A, b, syy, alpha, ridge_scale, d)
        if fast is not None:
            return fast
    mass = A[:, d, d].copy()
    live = mass > 0
    # All K problems at once (a few stacked NumPy calls instead of a dozen
    # small ones per expert: at small n the M-step is call overhead).
    nk = np.where(live, mass, 1.0)
    m = A[:, :d, d] / nk[:, None]
    ybar = b[:, d] / nk
    C = A[:, :d, :d] - nk[:, None, None] * (m[:, :, None] * m[:, None, :])
    cxy = b[:, :d] - (nk * ybar)[:, None] * m
    syy_c = syy - nk * ybar * ybar
    M = C.copy()
    idx = np.arange(d)
    M[:, idx, idx] += alpha * nk[:, None] * ridge_scale
    # A problem without weight solves a harmless identity system; zeroed below.
    M[~live] = np.eye(d)
    v = None
    if d:
        try:
            L = np.linalg.cholesky(M)
            v = np.linalg.solve(M, cxy[:, :, None])[:, :, 0]
            if not (np.all(np.isfinite(v)) and np.all(np.isfinite(L))):
                v = None
        except np.linalg.LinAlgError:
            v = None
        if v is None:
            # Some system is numerically indefinite: each one on its own.
            v = np.stack([_solve_spd(M[k], cxy[k]) for k in range(K)])
    else:
        v = np.zeros((K, 0))
    v[~live] = 0.0
    beta = np.zeros((K, p))
    beta[:, :d] = v
    beta[:, d] = np.where(live, ybar - np.einsum("kj,kj->k", m, v), 0.0)
    Cv = np.einsum("kij,kj->ki", C, v)
    rss = syy_c - 2.0 * np.einsum("kj,kj->k", v, cxy) + np.einsum("kj,kj->k", v, Cv)
    rss = np.where(live, np.maximum(rss, 0.0), 0.0)
    return beta, rss, mass


def _solve_weighted_linear_small(A, b, syy, alpha, ridge_scale, d):
    """:func:`solve_weighted_linear`'s NumPy path, bit for bit, on Python floats (d = 1, 2).

    At a few features that path is ~40 NumPy calls on arrays of a few
    numbers, each costing more than its arithmetic.  The elementwise parts
    here are the same IEEE operations in the same order on Python floats;
    the solves of two or more unknowns are LAPACK's through the gufuncs that
    ``np.linalg.cholesky`` and ``np.linalg.solve`` call, and one unknown is
    the division LAPACK does.  Returns None when some system is not
    numerically positive definite (or none of this applies): the caller's
    NumPy path then handles it, fallbacks included.
    """
    if not 1 <= d <= 2 or (d == 2 and _umath_linalg is None):
        return None
    K = A.shape[0]
    As = np.asarray(A, dtype=np.float64).tolist()
    bs = np.asarray(b, dtype=np.float64).tolist()
    ss = np.asarray(syy, dtype=np.float64).tolist()
    if isinstance(ridge_scale, float):
        ridge = [ridge_scale] * d
    else:
        ridge = np.broadcast_to(np.asarray(ridge_scale, dtype=np.float64), (d,)).tolist()
    alpha = float(alpha)
    rng = range(d)
    mass, live, ms, ybars, Cs, cxys, syy_cs, Ms = [], [], [], [], [], [], [], []
    for k in range(K):
        Ak, bk = As[k], bs[k]
        mk = Ak[d][d]
        alive = mk > 0
        nk = mk if alive else 1.0
        m = [Ak[j][d] / nk for j in rng]
        ybar = bk[d] / nk
        C = [[Ak[i][j] - nk * (m[i] * m[j]) for j in rng] for i in rng]
        nky = nk * ybar
        mass.append(mk)
        live.append(alive)
        ms.append(m)
        ybars.append(ybar)
        Cs.append(C)
        cxys.append([bk[j] - nky * m[j] for j in rng])
        syy_cs.append(ss[k] - nk * ybar * ybar)
        if alive:
            an = alpha * nk
            M = [row[:] for row in C]
            for j in rng:
                M[j][j] += an * ridge[j]
        else:  # a problem without weight solves a harmless identity system
            M = [[1.0 if i == j else 0.0 for j in rng] for i in rng]
        Ms.append(M)
    if d == 1:
        # Cholesky exists iff the pivot is positive (not NaN); the LU solve
        # of a 1 x 1 system is one division.
        vs = []
        for M, cxy in zip(Ms, cxys, strict=True):
            a = M[0][0]
            if not (a > 0.0 and math.isfinite(a)):
                return None
            v = cxy[0] / a
            if not math.isfinite(v):
                return None
            vs.append([v])
    else:
        Ma = np.array(Ms)
        # NaN (and no exception) where a system is not positive definite or
        # is singular; np.linalg raises there instead.
        with np.errstate(invalid="ignore", divide="ignore", over="ignore", under="ignore"):
            L = _umath_linalg.cholesky_lo(Ma, signature="d->d")
            va = _umath_linalg.solve(Ma, np.array(cxys)[:, :, None], signature="dd->d")[:, :, 0]
        if not (np.isfinite(va).all() and np.isfinite(L).all()):
            return None
        vs = va.tolist()
    # Dot products of one or two terms: the sums below are einsum's, to the
    # bit (longer ones it adds in SIMD lanes, in its own order).
    beta = [[0.0] * (d + 1) for _ in range(K)]
    rss = [0.0] * K
    for k in range(K):
        if not live[k]:
            continue
        v, m, C, cxy = vs[k], ms[k], Cs[k], cxys[k]
        if d == 1:
            mv, vc = m[0] * v[0], v[0] * cxy[0]
            vCv = v[0] * (C[0][0] * v[0])
        else:
            mv = m[0] * v[0] + m[1] * v[1]
            vc = v[0] * cxy[0] + v[1] * cxy[1]
            Cv0 = C[0][0] * v[0] + C[0][1] * v[1]
            Cv1 = C[1][0] * v[0] + C[1][1] * v[1]
            vCv = v[0] * Cv0 + v[1] * Cv1
        beta[k][:d] = v
        beta[k][d] = ybars[k] - mv
        r = syy_cs[k] - 2.0 * vc + vCv
        rss[k] = 0.0 if r < 0.0 else r  # np.maximum(r, 0.0): NaN stays NaN
    return np.array(beta), np.array(rss), np.array(mass)


def _solve_spd(M, rhs):
    """Solve a symmetric positive semi-definite system, Cholesky first.

    If rounding makes the (ridged) matrix indefinite, an eigendecomposition
    solves it on the eigenvalues above ``d * eps * max`` -- the minimum-norm
    solution of the numerically singular system, as ``lstsq`` would give
    (only reachable with ``alpha=0`` or a ridge lost to rounding).
    """
    if M.shape[0] == 0:
        return np.zeros(0)
    try:
        L = linalg.cho_factor(M, lower=True, check_finite=False)
        out = linalg.cho_solve(L, rhs, check_finite=False)
        if np.all(np.isfinite(out)):
            return out
    except (linalg.LinAlgError, ValueError):
        pass
    w, Q = linalg.eigh(M, check_finite=False)
    keep = w > M.shape[0] * np.finfo(float).eps * max(w.max(), 0.0)
    return Q[:, keep] @ ((Q[:, keep].T @ rhs) / w[keep])


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
    match fitting on repeated rows).  A column constant to the precision of
    its values (:func:`skmoe._frame.is_constant`, relative to its centre) is
    dropped: its slope is zero.

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
    inv_scale = frame_inverse_scale(mu, np.sqrt(np.maximum((w @ Z**2) / nk, 0.0)))
    Z *= inv_scale
    y_mean = float(w @ y) / nk
    # On standardised slopes v_j = scale_j * beta_j the ridge is alpha * nk.
    sqrt_w = np.sqrt(w)
    design = np.zeros((n + d, d))
    np.multiply(Z, sqrt_w[:, None], out=design[:n])
    design[n + np.arange(d), np.arange(d)] = np.sqrt(alpha * nk)
    rhs = np.zeros(n + d)
    rhs[:n] = sqrt_w * (y - y_mean)
    v = linalg.lstsq(design, rhs, check_finite=False)[0]
    coef = v * inv_scale
    return np.append(coef, y_mean - mu @ coef)


class LinearExpert(DocLinkMixin, RegressorMixin, BaseEstimator):
    """Weighted least squares with an intercept and a tiny ridge, in closed form.

    The default expert of :class:`~skmoe.MixtureOfExpertsRegressor`.  Inside
    the mixture all experts are solved together from shared sufficient
    statistics; used alone it is an ordinary scikit-learn regressor.

    Parameters
    ----------
    alpha : float, default=1e-10
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

    See Also
    --------
    StudentTExpert : Linear regression with heavy-tailed noise, robust to outliers.
    skmoe.MixtureOfExpertsRegressor : The mixture whose default expert this is.

    Examples
    --------
    >>> import numpy as np
    >>> from skmoe.experts import LinearExpert
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, size=(50, 2))
    >>> y = 1.5 * X[:, 0] - 2 * X[:, 1] + 3
    >>> reg = LinearExpert().fit(X, y)
    >>> reg.coef_.round(6)
    array([ 1.5, -2. ])
    >>> round(reg.intercept_, 6)
    3.0
    """

    _parameter_constraints = {"alpha": [Interval(Real, 0, None, closed="left")]}

    def __init__(self, alpha=1e-10):
        self.alpha = alpha

    @fit_unchanged_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit by weighted least squares.

        The problem is solved in weighted-standardised coordinates by a
        least-squares factorisation rather than through the normal equations,
        so that features far from zero, or more features than weighted rows,
        do not cost the solution its accuracy.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights (unit weights when None): integer weights
            are equivalent to repeated rows.

        Returns
        -------
        self : LinearExpert
            Fitted estimator.
        """
        X, y = validate_numeric_data(self, X, y, dtype=np.float64, y_numeric=True)
        sw = check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        # Alone, one problem: a QR-type solve is as cheap as forming the Gram
        # matrix and much more accurate (see solve_weighted_lstsq).
        beta = solve_weighted_lstsq(X, y, sw, self.alpha)
        self.coef_ = beta[:-1]
        self.intercept_ = float(beta[-1])
        return self

    def predict(self, X):
        """Predict ``X @ coef_ + intercept_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted targets.
        """
        check_is_fitted(self)
        X = validate_numeric_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_ + self.intercept_
