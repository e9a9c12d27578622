"""Linear regression experts with Student-t noise, fitted by ECM.

The t density is a Gaussian scale mixture: ``y | x, u ~ N(x . beta, s^2 / u)``
with ``u ~ Gamma(v/2, v/2)``.  One ECM cycle for K experts (Peel & McLachlan
2000; Chamroukhi 2016, "Robust mixture of experts modeling using the t
distribution", the TMoE of the meteorits package):

E-step
    ``u_ik = (v_k + 1) / (v_k + (y_i - x_i beta_k)^2 / s_k^2)`` at the current
    parameters (the responsibilities ``r_ik`` come from the EM driver);
CM-step 1
    ``beta_k``: weighted least squares with weights ``r_ik w_i u_ik``;
    ``s_k^2 = sum_i r_ik w_i u_ik (y_i - x_i beta_k)^2 / sum_i r_ik w_i``;
CM-step 2
    ``v_k`` maximises ``sum_i r_ik w_i log t_v(y_i; x_i beta_k, s_k^2)`` at the
    new ``beta_k, s_k``: the root of
    ``log(v/2) - psi(v/2) + 1 + mean_k(log u(v) - u(v)) + psi((v+1)/2)
    - log((v+1)/2) = 0`` with ``u(v) = (v + 1) / (v + delta_ik)`` and
    ``delta_ik = (y_i - x_i beta_k)^2 / s_k^2`` (``mean_k`` weighted by
    ``r_ik w_i``), found by :func:`scipy.optimize.brentq`.

This is the equation of meteorits' TMoE with ``u`` taken at the new ``v``
rather than at the previous one (the "ECME" variant of Liu & Rubin 1995):
the plain ECM step (:func:`ecm_df_step`, ``u`` at the previous ``v``) has
the same fixed points but moves ``v`` very slowly once it exceeds a few
tens -- on 800 Gaussian rows, 20,000 ECM cycles took ``v`` from 10 to only
173, while this step reaches the maximum-likelihood 186 in 25 cycles.  The step maximises, over ``v``,
the EM lower bound on the observed log-likelihood built from the current
responsibilities, which the first CM-step has already not decreased, so
the observed log-likelihood never decreases.  ``v`` is kept in
``[DF_MIN, DF_MAX]``: the derivative still positive at ``DF_MAX`` (data as
light-tailed as a Gaussian, the likelihood flat in ``v``) gives
``v_k = DF_MAX``; among several roots, the candidate with the largest
objective (the previous ``v`` included) is kept.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.optimize import brentq
from scipy.special import digamma, gammaln, stdtr, stdtrit
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .._kernels import student_t_log_density, student_t_weights
from .._kernels._config import absolute_variance_floor
from ._families import PredictiveLaw
from ._linear import linear_predict, solve_weighted_linear, weighted_linear_stats

# Bounds of the degrees of freedom.  Above ~200 a t density is a Gaussian to
# within the sampling noise of any realistic data set, and the likelihood is
# flat in v: the estimate would drift towards infinity.
DF_MIN = 0.1
DF_MAX = 200.0
# Starting degrees of freedom of an estimated v: heavy enough that the first
# E-step already down-weights gross outliers.
DF_INIT = 10.0


def ecm_df_step(u, w, df_old):
    """The ECM step of meteorits' TMoE: root of the df equation with ``u`` at ``df_old``.

    ``log(v/2) - psi(v/2)`` decreases from +inf to 0 and the rest of the
    equation is a negative constant, so the root is unique; it is clipped to
    ``[DF_MIN, DF_MAX]``.  Not used by the fit (see the module docstring);
    kept as the reference whose fixed points the fit's step shares.
    """
    m = max(float(w.sum()), 1e-300)
    half = 0.5 * (df_old + 1.0)
    const = 1.0 + float(w @ (np.log(u) - u)) / m + float(digamma(half)) - np.log(half)

    def f(v):
        return np.log(0.5 * v) - digamma(0.5 * v) + const

    if not np.isfinite(const) or f(DF_MAX) >= 0.0:
        return DF_MAX
    if f(DF_MIN) <= 0.0:
        return DF_MIN
    return float(brentq(f, DF_MIN, DF_MAX, xtol=1e-12, rtol=4 * np.finfo(float).eps, maxiter=200))


def ecme_df_step(delta, w, df_old):
    """Degrees of freedom maximising ``sum_i w_i log t_v(delta_i)``, in [DF_MIN, DF_MAX].

    Parameters
    ----------
    delta : ndarray of shape (n_samples,)
        Squared standardised residuals ``(y - loc)^2 / s^2``.
    w : ndarray of shape (n_samples,)
        Non-negative weights.
    df_old : float
        Current degrees of freedom (a candidate too: the step never lowers the objective).
    """
    keep = w > 0
    delta, w = delta[keep], w[keep]
    m = max(float(w.sum()), 1e-300)

    def objective(v):  # weighted mean of log t_v(delta), up to constants
        return float(
            gammaln(0.5 * (v + 1.0))
            - gammaln(0.5 * v)
            - 0.5 * np.log(v)
            - 0.5 * (v + 1.0) * (w @ np.log1p(delta / v)) / m
        )

    def slope(v):  # 2 d objective / dv
        return float(
            digamma(0.5 * (v + 1.0))
            - digamma(0.5 * v)
            + (w @ ((delta - 1.0) / (v + delta) - np.log1p(delta / v))) / m
        )

    candidates = [float(df_old)]
    lo, hi = slope(DF_MIN), slope(DF_MAX)
    if hi >= 0.0:
        candidates.append(DF_MAX)
    if lo <= 0.0:
        candidates.append(DF_MIN)
    if lo > 0.0 and hi < 0.0:
        candidates.append(
            float(
                brentq(slope, DF_MIN, DF_MAX, xtol=1e-12, rtol=4 * np.finfo(float).eps, maxiter=200)
            )
        )
    return max(candidates, key=objective)


def _check_fixed_df(df, who):
    """The fixed degrees of freedom to use (``None``: estimated), capped with a warning."""
    if df is None:
        return None
    df = float(df)
    if df > DF_MAX:
        warnings.warn(
            f"{who}: df={df:g} is above the cap DF_MAX={DF_MAX:g} and is used as "
            f"df={DF_MAX:g}; a t density with {DF_MAX:g} degrees of freedom is already "
            "Gaussian for practical purposes (use LinearExpert for Gaussian noise).",
            UserWarning,
            stacklevel=3,
        )
        return DF_MAX
    return df


class _StudentTSet:
    """K linear experts with Student-t noise, one ECM cycle per ``fit``."""

    def __init__(self, estimators, var_floor):
        self.prototypes = [clone(est) for est in estimators]
        self.n_experts = len(estimators)
        self.alpha = [float(est.alpha) for est in estimators]
        fixed = [_check_fixed_df(est.df, type(est).__name__) for est in estimators]
        self.estimate_df = np.array([f is None for f in fixed])
        self.df = np.array([DF_INIT if f is None else f for f in fixed])
        self.var_floor = var_floor
        self.coef = None

    def predict(self, X):
        return linear_predict(X, self.coef, self.intercept)

    def fit(self, X, y, W, iteration=0, init=0, rng=None):
        first = self.coef is None
        if first:
            u = np.ones_like(W)  # no parameters yet: a Gaussian first fit
        else:
            u = student_t_weights(y, self.predict(X), self.scale2, self.df)
        Wu = W * u
        w_all = Wu.sum(axis=1)
        y_shift = float(w_all @ y / max(w_all.sum(), 1e-300))
        A, b, syy = weighted_linear_stats(X, y - y_shift, Wu)
        if len(set(self.alpha)) == 1:
            beta = solve_weighted_linear(A, b, syy, self.alpha[0])[0]
        else:
            beta = np.vstack(
                [
                    solve_weighted_linear(A[k : k + 1], b[k : k + 1], syy[k : k + 1], a)[0]
                    for k, a in enumerate(self.alpha)
                ]
            )
        mass = W.sum(axis=0)
        new_coef = np.ascontiguousarray(beta[:, :-1].T)
        new_intercept = beta[:, -1] + y_shift
        resid = y[:, None] - linear_predict(X, new_coef, new_intercept)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale2 = np.einsum("ik,ik->k", Wu, resid * resid) / mass
        alive = mass > 0
        if first:
            self.coef, self.intercept = new_coef, new_intercept
            self.scale2 = np.full(self.n_experts, self.var_floor)
        # An expert without weight keeps its parameters.
        self.coef[:, alive] = new_coef[:, alive]
        self.intercept[alive] = new_intercept[alive]
        scale2 = np.maximum(np.where(np.isfinite(scale2), scale2, 0.0), self.var_floor)
        self.scale2[alive] = scale2[alive]
        if not first:
            delta = resid * resid / self.scale2
            for k in np.flatnonzero(alive & self.estimate_df):
                self.df[k] = ecme_df_step(delta[:, k], W[:, k], self.df[k])
        self.n_features = X.shape[1]
        return self

    def log_prob(self, X, y):
        return student_t_log_density(y, self.predict(X), self.scale2, self.df)

    def n_parameters(self):
        return self.n_experts * (self.n_features + 2) + int(self.estimate_df.sum())

    def penalty(self):
        # The tiny ridge of the least-squares step is numerical insurance, as
        # for the Gaussian linear experts, not part of the model.
        return 0.0

    def estimators(self):
        out = []
        for k, proto in enumerate(self.prototypes):
            est = clone(proto)
            est.coef_ = self.coef[:, k].copy()
            est.intercept_ = float(self.intercept[k])
            est.scale_ = float(np.sqrt(self.scale2[k]))
            est.df_ = float(self.df[k])
            est.n_features_in_ = self.n_features
            out.append(est)
        return out

    def predictive(self, X):
        return _StudentTLaw(self.predict(X), self.scale2, self.df)


class _StudentTLaw(PredictiveLaw):
    def __init__(self, loc, scale2, df):
        self.loc = loc
        self.scale = np.sqrt(scale2)
        self.df = df
        # The location is the mean for v > 1 and the median always.
        self.mean = loc
        with np.errstate(divide="ignore"):
            factor = np.where(df > 2, df / np.maximum(df - 2.0, 1e-300), np.inf)
        self.var = np.broadcast_to(scale2 * factor, loc.shape)

    def cdf(self, y):
        return stdtr(self.df, (y[:, :, None] - self.loc[:, None, :]) / self.scale)

    def expert_quantiles(self, q):
        return self.loc[:, None, :] + self.scale * stdtrit(self.df, q[:, None])[None, :, :]

    def sample(self, rows, comp, rng):
        return self.loc[rows, comp] + self.scale[comp] * rng.standard_t(self.df[comp])


class StudentTExpert(RegressorMixin, BaseEstimator):
    """Linear regression with Student-t noise: robust to outliers.

    ``y | x ~ t_df(x . coef_ + intercept_, scale_^2)``.  Fitted by ECM
    (expectation / conditional maximisation): rows far from the line get
    small latent weights ``u`` and barely move it.  Used alone it is a
    scikit-learn regressor; as ``MixtureOfExpertsRegressor(StudentTExpert(),
    n_experts=K)`` it gives the t mixture of experts of Chamroukhi (2016)
    (meteorits' TMoE), one ECM cycle per EM iteration, each expert with its
    own scale and degrees of freedom.

    Parameters
    ----------
    df : float or None, default=None
        Degrees of freedom.  ``None`` estimates them (one per expert, in
        ``[0.1, 200]``; 200 means "as light-tailed as a Gaussian", the
        likelihood being flat beyond).  A fixed value must be positive; one
        above 200 is capped at 200 with a warning.
    alpha : float, default=1e-8
        Ridge on the standardised slopes of the weighted least-squares step,
        as in :class:`~skmoe.experts.LinearExpert`.
    max_iter : int, default=500
        Maximum ECM cycles of a standalone fit (inside a mixture each EM
        iteration runs one cycle, and the mixture's ``max_iter`` applies).
    tol : float, default=1e-10
        A standalone fit stops when the weighted mean log-likelihood changes
        by less than ``tol``.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    scale_ : float
        Scale ``s`` of the t noise (its standard deviation is
        ``s * sqrt(df / (df - 2))`` when ``df > 2``).
    df_ : float
        Degrees of freedom (estimated or fixed).
    n_iter_ : int
        ECM cycles of a standalone fit.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features,)
        Defined only when X has feature names that are all strings.

    See Also
    --------
    LinearExpert : Gaussian noise, closed form.

    Examples
    --------
    >>> import numpy as np
    >>> from skmoe.experts import StudentTExpert
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, size=(200, 1))
    >>> y = 2 * X[:, 0] + 0.1 * rng.standard_t(3, size=200)
    >>> y[:10] += 50  # gross outliers
    >>> float(np.round(StudentTExpert().fit(X, y).coef_[0], 1))
    2.0
    """

    _parameter_constraints = {
        "df": [Interval(Real, 0, None, closed="neither"), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, df=None, alpha=1e-8, max_iter=500, tol=1e-10):
        self.df = df
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol

    @classmethod
    def _make_family_set(cls, estimators, var_floor):
        return _StudentTSet(estimators, var_floor)

    @staticmethod
    def _check_targets(y, estimators):
        return np.asarray(y, dtype=np.float64)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit by ECM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights: integer weights are equivalent to repeated rows.

        Returns
        -------
        self : StudentTExpert
        """
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        total = sw.sum()
        mean = float(sw @ y) / total
        var_y = float(sw @ (y - mean) ** 2) / total
        floor = max(1e-10 * var_y, absolute_variance_floor(mean))
        W = np.ascontiguousarray(sw[:, None])
        fitted = _StudentTSet([self], floor)
        previous = -np.inf
        for n_iter in range(1, self.max_iter + 1):
            fitted.fit(X, y, W, iteration=n_iter - 1)
            current = float(sw @ fitted.log_prob(X, y)[:, 0]) / total
            if abs(current - previous) <= self.tol:
                break
            previous = current
        self.n_iter_ = n_iter
        est = fitted.estimators()[0]
        self.coef_, self.intercept_ = est.coef_, est.intercept_
        self.scale_, self.df_ = est.scale_, est.df_
        return self

    def predict(self, X):
        """Location ``X @ coef_ + intercept_`` (the median; the mean when ``df_ > 1``)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_ + self.intercept_
