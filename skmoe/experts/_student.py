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

from numbers import Integral, Real

import numpy as np
from scipy import linalg
from scipy.optimize import brentq
from scipy.special import digamma, gammaln, stdtr, stdtrit
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .._docs import DocLinkMixin
from .._frame import one_pass_variance_floor, variance_floor
from .._kernels import linear_sufficient_stats, student_t_log_density, student_t_weights
from .._kernels._config import THREAD_BLOCK_ROWS
from .._multinomial import feature_moments
from .._threading import blas_single_threaded, block_bounds, map_blocks
from .._unchanged import fit_unchanged_on_error
from .._validation import check_sample_weight, validate_numeric_data
from .._warn import warn_user
from ._families import PredictiveLaw
from ._linear import linear_predict

# Bounds of the degrees of freedom.  Above ~200 a t density is a Gaussian to
# within the sampling noise of any realistic data set, and the likelihood is
# flat in v: the estimate would drift towards infinity.
DF_MIN = 0.1
DF_MAX = 200.0
# Starting degrees of freedom of an estimated v: heavy enough that the first
# E-step already down-weights gross outliers.
DF_INIT = 10.0
_EPS = np.finfo(np.float64).eps
# LAPACK's Cholesky factorisation and solve, fetched once (what
# scipy.linalg.cho_factor / cho_solve call).
_potrf, _potrs = linalg.get_lapack_funcs(("potrf", "potrs"), (np.zeros(1),))
# Location products of at most this many rows * coefficients run in the
# calling thread without threadpoolctl's limit (see _frame_predict).
_SMALL_PRODUCT = 65536
# Smallest ``scale_**2`` of a standalone fit, as a fraction of var(y)
# (``scale_ >= 1e-5 * std(y)``); :func:`skmoe._frame.variance_floor` adds the
# resolution of a constant target's values, never an absolute number.
_SCALE2_FLOOR = 1e-10


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

    delta_m1 = delta - 1.0  # the same numbers as forming it in every evaluation

    def slope(v):  # 2 d objective / dv
        return float(
            digamma(0.5 * (v + 1.0))
            - digamma(0.5 * v)
            + (w @ (delta_m1 / (v + delta) - np.log1p(delta / v))) / m
        )

    candidates = [float(df_old)]
    lo, hi = slope(DF_MIN), slope(DF_MAX)
    if hi >= 0.0:
        candidates.append(DF_MAX)
    if lo <= 0.0:
        candidates.append(DF_MIN)
    if lo > 0.0 and hi < 0.0:
        # brentq starts by evaluating both ends: hand it the values above.
        ends = {DF_MIN: lo, DF_MAX: hi}

        def bracketed(v):
            value = ends.get(v)
            return slope(v) if value is None else value

        candidates.append(
            float(
                brentq(
                    bracketed, DF_MIN, DF_MAX, xtol=1e-12, rtol=4 * np.finfo(float).eps, maxiter=200
                )
            )
        )
    return max(candidates, key=objective)


def _check_fixed_df(df, who):
    """The fixed degrees of freedom to use (``None``: estimated), capped with a warning."""
    if df is None:
        return None
    df = float(df)
    if df > DF_MAX:
        warn_user(
            f"{who}: df={df:g} is above the cap DF_MAX={DF_MAX:g} and is used as "
            f"df={DF_MAX:g}; a t density with {DF_MAX:g} degrees of freedom is already "
            "Gaussian for practical purposes (use LinearExpert for Gaussian noise).",
            UserWarning,
        )
        return DF_MAX
    return df


def _standardised_stats(X, mean, scale, y, W):
    """:func:`weighted_linear_stats` of ``Z = (X - mean) / scale``, block by block.

    The statistics are sums over rows of the standardised design, formed
    from row blocks (no copy of X beyond one block), so a feature offset of
    1e9 or a unit of 1e-9 changes nothing in them.  Blocks are added in
    block order: the result does not depend on the number of threads.
    """

    def block(a, z):
        return linear_sufficient_stats((X[a:z] - mean) / scale, y[a:z], W[a:z])

    if X.shape[0] <= THREAD_BLOCK_ROWS:  # one block: its statistics are the sum
        return block(0, X.shape[0])
    results = map_blocks(block, block_bounds(X.shape[0], THREAD_BLOCK_ROWS))
    A, b, syy = results[0]
    for A_block, b_block, syy_block in results[1:]:
        A += A_block
        b += b_block
        syy += syy_block
    return A, b, syy


def _solve_centred(A, b, alpha):
    """Weighted ridge least squares of each expert, solved on its centred system.

    ``A``, ``b`` are the statistics of a standardised design and target
    (:func:`_standardised_stats`).  Each expert's system is centred at its
    own weighted means (the intercept drops out) and solved by Cholesky;
    the ridge on slope j is ``alpha * nk * var_k(z_j)``, unit-free, with
    ``var_k`` floored by :func:`skmoe._frame.one_pass_variance_floor` (a
    column constant within expert k still gets a positive ridge).
    Returns ``(K, d + 1)``: slopes on Z, then the intercept.
    """
    K, p, _ = A.shape
    d = p - 1
    beta = np.zeros((K, p))
    # The centred systems of all the experts at once (elementwise: for each
    # expert the very operations of its own system); a problem without
    # weight is formed with nk = 1 and skipped.
    live = A[:, d, d] > 0
    nks = np.where(live, A[:, d, d], 1.0)
    mus = A[:, :d, d] / nks[:, None]
    Cs = A[:, :d, :d] / nks[:, None, None] - mus[:, :, None] * mus[:, None, :]
    rs = b[:, :d] / nks[:, None] - mus * (b[:, d] / nks)[:, None]
    idx = np.arange(d)
    Cs[:, idx, idx] += alpha * np.maximum(Cs[:, idx, idx], one_pass_variance_floor(mus))
    for k in live.nonzero()[0].tolist():
        nk, mu, C, r = A[k, d, d], mus[k], Cs[k], rs[k]
        # scipy.linalg.cho_factor / cho_solve: the same LAPACK calls, without
        # their per-call checks (a failed factorisation or a numerically
        # singular system takes least squares, as their exceptions did).
        L, info = _potrf(C, lower=1, clean=0)
        diag = np.abs(L.diagonal())
        if info == 0 and diag.size and diag.min() > np.sqrt(_EPS) * diag.max():
            v = _potrs(L, r, lower=1)[0]
        else:
            v = linalg.lstsq(C, r, check_finite=False)[0]
        beta[k, :d] = v
        beta[k, d] = b[k, d] / nk - mu @ v
    return beta


class _StudentTSet:
    """K linear experts with Student-t noise, one ECM cycle per ``fit``.

    Numerics: the least-squares step works on ``Z = (X - mean) / scale`` (the
    sample-weighted moments of X) and on ``(y - y_shift) / y_scale``; the
    fitted locations are evaluated in that frame (``Z @ V + c + y_shift``),
    so offsets and units of X and y change nothing but the units of the
    result.  ``coef`` / ``intercept`` are the same parameters on raw X (for
    ``experts_``); code that assigns new ones (the Markov-switching fit)
    makes :meth:`predict` fall back to them.
    """

    def __init__(self, estimators, var_floor):
        self.prototypes = [clone(est) for est in estimators]
        self.n_experts = len(estimators)
        self.alpha = [float(est.alpha) for est in estimators]
        fixed = [_check_fixed_df(est.df, type(est).__name__) for est in estimators]
        self.estimate_df = np.array([f is None for f in fixed])
        self.df = np.array([DF_INIT if f is None else f for f in fixed])
        self.var_floor = var_floor
        self.coef = None
        self.intercept = None
        self._frame = None

    def _frame_valid(self):
        f = self._frame
        return f is not None and f["coef"] is self.coef and f["intercept"] is self.intercept

    def predict(self, X):
        if not self._frame_valid():
            return linear_predict(X, self.coef, self.intercept)
        f = self._frame
        return _frame_predict(X, f["mean"], f["scale"], f["V"], f["c"], f["y_shift"])

    def _centred(self, X, y):
        """``(y - y_shift, location - y_shift)``: residuals without the offset's rounding.

        ``y - y_shift`` is exact for y near its mean, whereas a location
        ``... + y_shift`` is rounded to the resolution of the offset (at a
        target offset 1e8 times its spread, 1e-8 of the spread per row).
        """
        if not self._frame_valid():
            return y, self.predict(X)
        f = self._frame
        return y - f["y_shift"], _frame_predict(X, f["mean"], f["scale"], f["V"], f["c"], 0.0)

    def _in_frame(self, mean, scale, y_shift):
        """The current parameters as ``(V, c)`` in a frame ``(mean, scale, y_shift)``."""
        f = self._frame
        if (
            self._frame_valid()
            and np.array_equal(f["mean"], mean)
            and np.array_equal(f["scale"], scale)
            and f["y_shift"] == y_shift
        ):
            return f["V"], f["c"]
        V = self.coef * scale[:, None]
        return V, self.intercept + mean @ self.coef - y_shift

    def fit(self, X, y, W, iteration=0, init=0, rng=None):
        first = self.coef is None
        if first:
            u = np.ones_like(W)  # no parameters yet: a Gaussian first fit
        else:
            u = student_t_weights(*self._centred(X, y), self.scale2, self.df)
        Wu = W * u
        # The frame: moments of X and y weighted by the sample weights (the
        # responsibilities of a row sum to its weight), fixed across EM
        # iterations on the same data.
        w_rows = W.sum(axis=1)
        mean, scale = feature_moments(X, w_rows)
        (y_shift,), (y_scale,) = feature_moments(y[:, None], w_rows)
        A, b, _ = _standardised_stats(X, mean, scale, (y - y_shift) / y_scale, Wu)
        if len(set(self.alpha)) == 1:
            beta = _solve_centred(A, b, self.alpha[0])
        else:
            beta = np.vstack(
                [_solve_centred(A[k : k + 1], b[k : k + 1], a) for k, a in enumerate(self.alpha)]
            )
        V = np.ascontiguousarray(beta[:, :-1].T) * y_scale  # (d, K), y units per unit of Z
        c = beta[:, -1] * y_scale
        mass = W.sum(axis=0)
        alive = mass > 0
        if not first and not alive.all():
            # An expert without weight keeps its parameters.
            V_old, c_old = self._in_frame(mean, scale, y_shift)
            V[:, ~alive] = V_old[:, ~alive]
            c[~alive] = c_old[~alive]
        resid = (y - y_shift)[:, None] - _frame_predict(X, mean, scale, V, c, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale2 = np.einsum("ik,ik->k", Wu, resid * resid) / mass
        if first:
            self.scale2 = np.full(self.n_experts, self.var_floor)
        coef = np.ascontiguousarray(V / scale[:, None])
        self.coef, self.intercept = coef, (c + y_shift) - mean @ coef
        self._frame = dict(
            coef=self.coef,
            intercept=self.intercept,
            mean=mean,
            scale=scale,
            V=V,
            c=c,
            y_shift=y_shift,
        )
        scale2 = np.maximum(np.where(np.isfinite(scale2), scale2, 0.0), self.var_floor)
        self.scale2[alive] = scale2[alive]
        if not first:
            delta = resid * resid / self.scale2
            for k in np.flatnonzero(alive & self.estimate_df):
                self.df[k] = ecme_df_step(delta[:, k], W[:, k], self.df[k])
        self.n_features = X.shape[1]
        return self

    def log_prob(self, X, y):
        return student_t_log_density(*self._centred(X, y), self.scale2, self.df)

    def n_parameters(self):
        return self.n_experts * (self.n_features + 2) + int(self.estimate_df.sum())

    def penalty(self):
        # The tiny ridge of the least-squares step is numerical insurance, as
        # for the Gaussian linear experts, not part of the model.
        return 0.0

    def estimators(self):
        valid = self._frame_valid()
        out = []
        for k, proto in enumerate(self.prototypes):
            est = clone(proto)
            est.coef_ = self.coef[:, k].copy()
            est.intercept_ = float(self.intercept[k])
            est.scale_ = float(np.sqrt(self.scale2[k]))
            est.df_ = float(self.df[k])
            est.n_features_in_ = self.n_features
            if valid:
                f = self._frame
                est._frame = dict(
                    coef=est.coef_,
                    intercept=est.intercept_,
                    mean=f["mean"],
                    scale=f["scale"],
                    V=f["V"][:, k : k + 1].copy(),
                    c=f["c"][k : k + 1].copy(),
                    y_shift=f["y_shift"],
                )
            out.append(est)
        return out

    def predictive(self, X):
        return _StudentTLaw(self.predict(X), self.scale2, self.df)


def _frame_predict(X, mean, scale, V, c, y_shift):
    """``((X - mean) / scale) @ V + c + y_shift`` over row blocks, shape (n, K).

    The offset ``y_shift`` is added last, so the locations keep their digits
    whatever the offsets of X and y.
    """
    n = X.shape[0]
    out = np.empty((n, V.shape[1]))

    def block(a, z):
        np.matmul((X[a:z] - mean) / scale, V, out=out[a:z])
        out[a:z] += c
        out[a:z] += y_shift

    if n * V.size <= _SMALL_PRODUCT:
        # One small block: OpenBLAS runs a product this small on one thread
        # anyway (and splits none of its sums), so threadpoolctl's limit,
        # which costs more than the product, changes nothing.
        block(0, n)
        return out
    with blas_single_threaded():
        map_blocks(block, block_bounds(n, THREAD_BLOCK_ROWS))
    return out


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


class StudentTExpert(DocLinkMixin, RegressorMixin, BaseEstimator):
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
        as in :class:`~skmoe.experts.LinearExpert`: ``alpha * n_k * var_k(x_j)
        * coef_j^2`` per expert (``n_k``, ``var_k``: the expert's weight and
        weighted feature variance), unit-free.  Statistics and locations are
        computed about the weighted means of X and y, so offsets and units of
        either change nothing.
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
        ``s * sqrt(df / (df - 2))`` when ``df > 2``), in the units of y.  It is
        kept above ``1e-5 * std_w(y)`` (the sample-weighted standard deviation
        of y; for a constant y, 64 ulps of its mean), a floor relative to the
        target, so the fit is the same in any units; inside a mixture the
        floor is the regressor's ``variance_floor * var(y)``.
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

    @fit_unchanged_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit by ECM.

        Each cycle gives every row a latent weight ``u`` (small for rows far
        from the line), refits the line by weighted least squares and updates
        the scale and, when ``df`` is None, the degrees of freedom.  Cycles
        stop when the weighted mean log-likelihood changes by less than
        ``tol``, or after ``max_iter``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights: integer weights are equivalent to repeated rows.

        Returns
        -------
        self : StudentTExpert
            Fitted estimator.
        """
        X, y = validate_numeric_data(self, X, y, dtype=np.float64, y_numeric=True)
        sw = check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        total = sw.sum()
        mean = float(sw @ y) / total
        var_y = float(sw @ (y - mean) ** 2) / total
        floor = variance_floor(_SCALE2_FLOOR, var_y, mean)
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
        self._frame = est.__dict__.get("_frame")
        if self._frame is not None:
            self._frame = {**self._frame, "coef": self.coef_}
        return self

    def predict(self, X):
        """Predict the location ``X @ coef_ + intercept_`` of the t law.

        The location is the median of the noise law, and its mean when
        ``df_ > 1`` (a t law with ``df_ <= 1`` has no mean).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted location of y for each row.
        """
        check_is_fitted(self)
        X = validate_numeric_data(self, X, reset=False, dtype=np.float64)
        f = getattr(self, "_frame", None)
        if f is not None and f["coef"] is self.coef_ and f["intercept"] == self.intercept_:
            # The fitted frame (standardised X, centred y): exact at any offset.
            return _frame_predict(X, f["mean"], f["scale"], f["V"], f["c"], f["y_shift"])[:, 0]
        return X @ self.coef_ + self.intercept_
