"""Poisson (log link) and binomial (logit link) regression experts.

Both are generalised linear models with a canonical link, so one solver
serves them: the weighted log-likelihood of expert k,

    sum_i W_ik (t_i eta_ik - b(eta_ik)) - 0.5 * alpha_k * N * sum_j var_j beta_kj^2,

with ``eta_ik = x_i . beta_k + c_k``, ``t_i`` the count (Poisson,
``b = exp``) or the number of successes (binomial, ``b = m log(1 + e^eta)``),
``N = sum_i w_i`` the total sample weight and ``var_j`` the
``w``-weighted variance of feature j over all rows (a ridge on standardised
slopes, intercept free), is maximised by Newton's method (= IRLS) with step
halving, all K experts at once: one weighted Gram matrix per expert and
Newton step, warm-started from the previous EM iteration.  Every accepted
step increases the objective, so an M-step cut short by ``max_iter`` is
still a generalised-EM step.

The penalty uses the moments and the weight of all rows, not of expert k's
share: it is then a fixed function of the coefficients, the mixture's EM
objective includes it (``penalty()``, subtracted in ``lower_bound_``) and EM
never decreases that objective.  For one expert it is the standalone
expert's penalty.
"""

from numbers import Integral, Real

import numpy as np
from scipy import linalg
from scipy.special import bdtr, expit, ndtri, pdtr
from scipy.stats import binom, poisson
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context, clone
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .._docs import DocLinkMixin
from .._kernels import binomial_log_density, poisson_log_density
from .._rows import ThreadRows
from .._unchanged import fit_unchanged_on_error
from .._validation import check_sample_weight, validate_numeric_data
from .._warn import warn_user
from ._families import PredictiveLaw, check_counts, check_proportions
from ._linear import weighted_linear_stats

try:  # the gufunc behind np.linalg.cholesky (without its wrapper)
    from numpy.linalg import _umath_linalg
except ImportError:  # pragma: no cover
    _umath_linalg = None

# LAPACK's Cholesky solve, fetched once (what scipy.linalg.cho_solve calls).
_potrs = linalg.get_lapack_funcs(("potrs",), (np.zeros(1),))[0]


# Poisson draws above this mean are taken from the normal approximation:
# NumPy's Poisson sampler refuses means beyond about 9.2e18, where the law's
# relative spread is below 1e-9 anyway.
_POISSON_DRAW_MAX = 1e18


def poisson_mean(eta):
    """``exp(eta)``, the Poisson mean of a linear predictor.

    Beyond ``eta = 709.78`` the mean overflows float64: far outside the data
    a model was fitted on.  Those means are returned as ``inf`` (the model's
    mean is larger than any float), with a warning that says so, rather
    than NumPy's overflow warning.
    """
    with np.errstate(over="ignore"):
        mu = np.exp(eta)
    over = np.isinf(mu)
    if over.any():
        rows = int(over.any(axis=1).sum()) if over.ndim == 2 else int(over.sum())
        warn_user(
            f"The Poisson mean exp(x . coef + intercept) overflows float64 for {rows} row(s) "
            f"of X (linear predictor up to {float(np.max(eta)):.4g}, beyond 709.78): X is "
            "far outside the data the model was fitted on. Those means are inf.",
            UserWarning,
        )
    return mu


class GLMProblem:
    """The data of :func:`fit_glm_problem`, seen only through sums over rows.

    The Newton solver needs, at given coefficients, each expert's weighted
    log-likelihood, its gradient and its Hessian: all sums over rows, so
    blocks of rows add up (``skmoe._dask`` maps them over the blocks of a
    Dask array and runs :func:`fit_glm_problem` unchanged).
    """

    def __init__(self, Z, t, W, family):
        self.Z, self.t, self.W, self.family = Z, t, W, family
        self.n_features = Z.shape[1]
        self.n_experts = W.shape[1]
        self.positive = W > 0
        # Rows of zero weight are masked out of every sum (their terms may
        # overflow); with none, the masks would copy the arrays unchanged.
        self._masked = not self.positive.all()
        self._zeros = None  # the Hessians' (unused) target, made once
        self._last = None  # (V, c, eta) of the last evaluation

    def mass(self):
        """``sum_i W_ik``, shape (K,)."""
        return self.W.sum(axis=0)

    def log_likelihood(self, V, c):
        """``sum_i W_ik (t_i eta_ik - b(eta_ik))`` (no penalty), shape (K,)."""
        with np.errstate(over="ignore", invalid="ignore"):
            return self._log_likelihood(V, c)

    def grad_hess(self, V, c):
        """Unpenalised gradient blocks ``(R^T Z, sum_i R_ik)`` and Hessians ``[Z, 1]^T diag(W v) [Z, 1]``."""
        with np.errstate(over="ignore", invalid="ignore"):
            return self._grad_hess(V, c)

    # The same, for callers already under np.errstate(over="ignore",
    # invalid="ignore") in this thread (fit_glm_problem's evaluations).
    def _eta(self, V, c):
        """``Z @ V.T + c``, kept for the last ``(V, c)`` (by identity).

        The Newton solver evaluates the objective at the step it accepts and
        then the gradient and Hessian at that very point (the same arrays,
        never modified in place): the linear predictor is formed once.
        """
        last = self._last
        if last is not None and last[0] is V and last[1] is c:
            return last[2]
        eta = self.Z @ V.T + c
        self._last = (V, c, eta)
        return eta

    def _log_likelihood(self, V, c):
        eta = self._eta(V, c)
        terms = self.t[:, None] * eta - self.family.cumulant(eta)
        if self._masked:
            terms = np.where(self.positive, terms, 0.0)
        return np.einsum("ik,ik->k", self.W, terms)

    def _grad_hess(self, V, c):
        Z, W, positive = self.Z, self.W, self.positive
        eta = self._eta(V, c)
        mu, v = self.family.mean_var(eta)
        R = W * (self.t[:, None] - mu)
        Wv = W * v
        if self._masked:
            R = np.where(positive, R, 0.0)
            Wv = np.where(positive, Wv, 0.0)
        if self._zeros is None:
            self._zeros = np.zeros(Z.shape[0])
        H = weighted_linear_stats(Z, self._zeros, Wv)[0]
        return R.T @ Z, R.sum(axis=0), H


def fit_glm_problem(problem, V, c, ridge, max_iter, tol):
    """Penalised weighted Newton (IRLS) for K canonical-link GLMs sharing a design.

    Parameters
    ----------
    problem : GLMProblem or RowsGLMProblem
        The data, seen only through sums over rows (``mass``,
        ``log_likelihood``, ``grad_hess``) in the standardised design.
    V : ndarray of shape (K, n_features)
        Starting slopes on the standardised features.
    c : ndarray of shape (K,)
        Starting intercepts.
    ridge : ndarray of shape (K,)
        Penalty ``0.5 * ridge_k * ||V_k||^2`` on the standardised slopes.
    max_iter : int
    tol : float
        Stop an expert when half its Newton decrement (the predicted gain of
        the step) is at most ``tol`` per unit of weight; that last step is
        still taken.

    Returns
    -------
    V, c : the solution
    n_iter : int
        Newton steps of the slowest expert.
    """
    d = problem.n_features
    K = problem.n_experts
    mass = problem.mass()
    V = V.copy()
    c = c.copy()
    P = np.repeat(np.asarray(ridge, dtype=np.float64)[:, None], d, axis=1)
    # The whole solve runs under one errstate (entered once, not per
    # evaluation): trial points far out overflow, and are refused.
    with np.errstate(over="ignore", invalid="ignore"):
        return _newton(problem, V, c, P, mass, d, K, max_iter, tol)


def _cholesky_lower(H):
    """``np.linalg.cholesky`` of each stacked ``H`` (the same LAPACK call); NaN, not an error.

    Called under ``np.errstate(invalid="ignore")``.
    """
    if _umath_linalg is None:  # pragma: no cover - a NumPy without the gufunc
        L = np.full_like(H, np.nan)
        for k in range(H.shape[0]):
            try:
                L[k] = np.linalg.cholesky(H[k])
            except np.linalg.LinAlgError:
                pass
        return L
    return _umath_linalg.cholesky_lo(H, signature="d->d")


def _newton(problem, V, c, P, mass, d, K, max_iter, tol):
    """The Newton iterations of :func:`fit_glm_problem` (see there)."""

    def objective(V_, c_):
        obj = problem.log_likelihood(V_, c_) - 0.5 * np.einsum("kj,kj->k", P, V_ * V_)
        return np.where(np.isfinite(obj), obj, -np.inf)

    obj = objective(V, c)
    active = mass > 0
    n_iter = 0
    idx = np.arange(d)
    while n_iter < max_iter:
        n_iter += 1
        RZ, Rsum, H = problem.grad_hess(V, c)
        G = np.empty((K, d + 1))
        G[:, :d] = RZ - P * V
        G[:, d] = Rsum
        step = np.zeros((K, d + 1))
        # The penalty on the slopes' diagonal, and the checks, for all the
        # experts at once (per expert they are the same operations).
        H[:, idx, idx] += P
        finite = np.isfinite(H).all(axis=(1, 2)) & np.isfinite(G).all(axis=1)
        active &= finite  # an overflowing expert stops where it is
        if active.any():
            # An ill-conditioned Newton system (an expert left with few
            # rows, its slopes nearly unidentified) takes the least-squares
            # step instead of scipy's LinAlgWarning and a wild solve (a
            # check on the Cholesky diagonal: warning filters are not
            # thread-safe, and restarts run in threads).  A matrix that is
            # not positive definite has a NaN factor: least squares too.
            L = _cholesky_lower(H)
            diag = abs(L.diagonal(axis1=1, axis2=2))
            well = diag.min(axis=1) ** 2 > 1e-14 * diag.max(axis=1) ** 2
            for k in active.nonzero()[0].tolist():
                if well[k]:
                    # scipy.linalg.cho_solve((L, True), G[k]): the same LAPACK call.
                    step[k] = _potrs(L[k], G[k], lower=1)[0]
                else:
                    step[k] = linalg.lstsq(H[k], G[k], check_finite=False)[0]
        decrement = np.einsum("kj,kj->k", G, step)
        # Step halving, each expert on its own: accept the first step length
        # that does not decrease the objective (up to rounding).
        size = np.ones(K)
        pending = active.copy()
        V_new, c_new, obj_new = V.copy(), c.copy(), obj.copy()
        floor = obj - 1e-13 * (1.0 + np.abs(obj))
        for _ in range(60):
            if not pending.any():
                break
            V_try = V + size[:, None] * step[:, :d]
            c_try = c + size * step[:, d]
            obj_try = objective(V_try, c_try)
            good = pending & (obj_try >= floor)
            if good.all():  # every expert takes this step (the usual full step)
                V_new, c_new, obj_new = V_try, c_try, obj_try
                pending[:] = False
                break
            V_new[good], c_new[good], obj_new[good] = V_try[good], c_try[good], obj_try[good]
            pending &= ~good
            size[pending] *= 0.5
        # No step length helps: the expert sits at its optimum to rounding.
        active &= ~pending
        V, c, obj = V_new, c_new, obj_new
        active &= ~(0.5 * decrement <= tol * np.maximum(mass, 1e-300))
        if not active.any():
            break
    return V, c, n_iter


class _PoissonFamily:
    @staticmethod
    def cumulant(eta):
        return np.exp(eta)

    @staticmethod
    def mean_var(eta):
        mu = np.exp(eta)
        return mu, mu


class _BinomialFamily:
    def __init__(self, n_trials):
        self.m = float(n_trials)

    def cumulant(self, eta):
        return self.m * np.logaddexp(0.0, eta)

    def mean_var(self, eta):
        p = expit(eta)
        return self.m * p, self.m * p * (1.0 - p)


class _GLMSet:
    """K experts of one canonical-link GLM family, fitted together.

    The component protocol of an iterative problem (see ``skmoe._rows``):
    ``prepare(rows)`` fixes the frame of the EM run -- the sample-weighted
    centres and spreads of the features, and the ridge ``alpha * N`` -- and
    ``m_step_from_rows(rows)`` runs the Newton solver, every log-likelihood,
    gradient and Hessian being ``rows.sum(...)`` (thread blocks in memory,
    Dask blocks on a cluster).  The fit works on ``Z = (X - mean) / scale``
    and the linear predictor is evaluated in that frame too
    (``(X - mean) @ (V / scale) + c``), so a feature offset costs no digits.
    ``coef`` / ``intercept`` are the same parameters on raw X; code that
    assigns new ones (the online engine) makes the set fall back to them.
    """

    def __init__(self, estimators):
        self.prototypes = [clone(est) for est in estimators]
        self.n_experts = len(estimators)
        self.alpha = np.array([float(est.alpha) for est in estimators])
        self.max_iter = max(int(est.max_iter) for est in estimators)
        self.tol = min(float(est.tol) for est in estimators)
        self.coef = None
        self.intercept = None
        self._frame = None
        self._centre = None

    # -- the component protocol ------------------------------------------- #
    def prepare(self, rows):
        """Fix the frame and the ridge from the rows' sample-weighted moments."""
        from ._sets import expert_feature_frame

        mean, scale, wsum = expert_feature_frame(rows)
        self._frame = (mean, scale)
        # The ridge on standardised slopes, on the scale of a summed
        # log-likelihood: a fixed function of the coefficients for the run.
        self._ridge = self.alpha * wsum
        self._scale = scale
        return self

    def m_step_from_rows(self, rows, iteration=0, init=0):
        """Newton (IRLS) for the K experts; the sums over rows come from ``rows``."""
        mean = self._frame[0]
        d = mean.shape[0]
        mass, tW = rows.sum(_glm_mass, self)
        if self.coef is None:
            V = np.zeros((self.n_experts, d))
            c = self._initial_intercept(tW / np.maximum(mass, 1e-300))
        else:
            V, c = self._standardised()
        problem = RowsGLMProblem(rows, self, mass)
        V, c, self.n_iter = fit_glm_problem(problem, V, c, self._ridge, self.max_iter, self.tol)
        self._set_standardised(V, c)
        return self

    def _standardised(self):
        """The current coefficients in the frame: ``V`` (K, d) and ``c`` (K,)."""
        from ._sets import to_frame

        mean, scale = self._frame
        if self._centre_valid():
            f = self._centre
            Vt, c = to_frame(f["V"].T, f["c"], f["frame"], self._frame)
            return Vt.T, c
        return self.coef.T * scale, self.intercept + mean @ self.coef

    def expansion_from_rows(self, rows):
        """Second-order expansion of the negative log-likelihood about the parameters.

        In the frame, per expert: the Hessians ``H`` (K, p, p) and
        ``h = g - H theta`` (K, p), sums over the rows (online EM averages
        them per unit of weight).
        """
        V, c = self._standardised()
        RZ, Rsum, H = rows.sum(_glm_grad_hess, self, V, c)
        g = -np.column_stack([RZ, Rsum])
        theta = np.column_stack([V, c])
        return H, g - np.einsum("kab,kb->ka", H, theta)

    def m_step_from_expansion(self, stats, n_seen):
        """Minimise the averaged expansions plus the ridge, a capped step per expert."""
        from .._multinomial import MAX_ONLINE_STEP, _capped

        H, h = stats
        V, c = self._standardised()
        d = V.shape[1]
        p = d + 1
        theta = np.column_stack([V, c])
        for k in range(self.n_experts):
            M = H[k].copy()
            if not (np.all(np.isfinite(M)) and np.all(np.isfinite(h[k]))):
                continue  # an overflowing chunk: keep this expert as it is
            # alpha is the ridge per unit of weight (the batch ridge is alpha * N).
            M[np.arange(d), np.arange(d)] += self.alpha[k]
            M[np.diag_indices(p)] += 1e-12 * (1.0 + np.trace(M) / p)
            try:
                new = linalg.solve(M, -h[k], assume_a="sym", check_finite=False)
            except (linalg.LinAlgError, ValueError):
                new = linalg.lstsq(M, -h[k], check_finite=False)[0]
            theta[k] = _capped(theta[k], new, MAX_ONLINE_STEP)
        self._ridge = self.alpha * n_seen
        self._set_standardised(np.ascontiguousarray(theta[:, :d]), theta[:, d].copy())
        return self

    def _set_standardised(self, V, c):
        mean, scale = self._frame
        self.coef = np.ascontiguousarray((V / scale).T)
        self.intercept = c - mean @ self.coef
        self._centre = dict(
            coef=self.coef, intercept=self.intercept, mean=mean, c=c, V=V, frame=self._frame
        )
        self.n_features = mean.shape[0]

    def _centre_valid(self):
        f = self._centre
        return f is not None and f["coef"] is self.coef and f["intercept"] is self.intercept

    # -- the in-memory M-step and predictions ------------------------------ #
    def fit(self, X, y, W, iteration=0, init=0, rng=None):
        rows = ThreadRows(ex=X, y=y, W=W)
        if self._frame is None:
            self.prepare(rows)
        return self.m_step_from_rows(rows, iteration, init)

    def _linear(self, X):
        if self._centre_valid():
            f = self._centre
            return _centred_linear(X, f["mean"], f["coef"], f["c"])
        return X @ self.coef + self.intercept

    def n_parameters(self):
        return self.n_experts * (self.n_features + 1)

    def penalty(self):
        """The ridge of the last M-step at the current coefficients (summed scale)."""
        V = self.coef * self._scale[:, None]
        return float(0.5 * np.sum(self._ridge * np.sum(V * V, axis=0)))

    def estimators(self):
        out = []
        for k, proto in enumerate(self.prototypes):
            est = clone(proto)
            est.coef_ = self.coef[:, k].copy()
            est.intercept_ = float(self.intercept[k])
            est.n_features_in_ = self.n_features
            est.n_iter_ = self.n_iter
            if self._centre_valid():
                f = self._centre
                est._frame = dict(
                    coef=est.coef_, intercept=est.intercept_, mean=f["mean"], c=f["c"][k]
                )
            out.append(est)
        return out


def _glm_block_problem(block, eset):
    mean, scale = eset._frame
    return GLMProblem((block.ex - mean) / scale, eset._sufficient(block.y), block.W, eset._family())


def _glm_mass(block, eset):
    W = block.W
    return W.sum(axis=0), np.einsum("i,ik->k", eset._sufficient(block.y), W)


def _glm_log_likelihood(block, eset, V, c):
    return _glm_block_problem(block, eset).log_likelihood(V, c)


def _glm_grad_hess(block, eset, V, c):
    return _glm_block_problem(block, eset).grad_hess(V, c)


class RowsGLMProblem:
    """A :class:`GLMProblem` whose every sum is ``rows.sum(...)`` (any row engine).

    Parameters
    ----------
    rows : row engine
        Rows with ``ex``, ``y`` and ``W`` (or ``resp`` and ``sw``).
    eset : _GLMSet
        The expert set, with its frame fixed.
    mass : ndarray of shape (K,)
        ``sum_i W_ik``.
    """

    def __init__(self, rows, eset, mass):
        self.rows, self.eset, self._mass = rows, eset, mass
        self.n_features = eset._frame[0].shape[0]
        self.n_experts = eset.n_experts
        # One in-memory block: standardise it once for every evaluation.
        single = getattr(rows, "single_block", lambda: None)()
        self._problem = None if single is None else _glm_block_problem(single, eset)

    def mass(self):
        """``sum_i W_ik``, shape (K,)."""
        return self._mass.copy()

    # One in-memory block is evaluated in this thread, under
    # fit_glm_problem's errstate: no errstate of its own per evaluation.
    def log_likelihood(self, V, c):
        """``sum_i W_ik (t_i eta_ik - b(eta_ik))``, shape (K,)."""
        if self._problem is not None:
            return self._problem._log_likelihood(V, c)
        return self.rows.sum(_glm_log_likelihood, self.eset, V, c)

    def grad_hess(self, V, c):
        """Gradient blocks and Hessians, summed over the row blocks."""
        if self._problem is not None:
            return self._problem._grad_hess(V, c)
        return self.rows.sum(_glm_grad_hess, self.eset, V, c)


def _centred_linear(X, mean, coef, c):
    """``(X - mean) @ coef + c``: the linear predictor about the column centres."""
    return (X - mean) @ coef + c


class _PoissonSet(_GLMSet):
    def _family(self):
        return _PoissonFamily()

    def _sufficient(self, y):
        return y

    @staticmethod
    def _initial_intercept(mean_t):
        return np.log(np.maximum(mean_t, 1e-10))

    def predict(self, X):
        return poisson_mean(self._linear(X))

    def log_prob(self, X, y):
        return poisson_log_density(y, self._linear(X))

    def predictive(self, X):
        return _PoissonLaw(self.predict(X))


class _BinomialSet(_GLMSet):
    def __init__(self, estimators):
        super().__init__(estimators)
        self.n_trials = int(estimators[0].n_trials)

    def _family(self):
        return _BinomialFamily(self.n_trials)

    def _sufficient(self, y):
        return np.rint(y * self.n_trials)

    def _initial_intercept(self, mean_t):
        p = np.clip(mean_t / self.n_trials, 1e-6, 1.0 - 1e-6)
        return np.log(p) - np.log1p(-p)

    def predict(self, X):
        return expit(self._linear(X))

    def log_prob(self, X, y):
        trials = np.full(y.shape[0], float(self.n_trials))
        return binomial_log_density(self._sufficient(y), trials, self._linear(X))

    def predictive(self, X):
        return _BinomialLaw(self.predict(X), self.n_trials)


class _PoissonLaw(PredictiveLaw):
    lattice = 1.0

    def __init__(self, mu):
        self.mean = mu
        self.var = mu

    def cdf(self, y):
        y = np.floor(y)[:, :, None]
        with np.errstate(invalid="ignore"):
            return np.where(y < 0, 0.0, pdtr(np.maximum(y, 0.0), self.mean[:, None, :]))

    def expert_quantiles(self, q):
        mean = self.mean[:, None, :]
        qq = q[None, :, None]
        with np.errstate(invalid="ignore", over="ignore"):
            out = poisson.ppf(qq, mean)
            # SciPy's quantiles fail (inf or NaN) for means beyond ~1e16; the
            # normal approximation there is a bracket the mixture's bisection
            # on the exact CDF checks.  An overflowed mean (inf) has its whole
            # mass beyond every float: its quantiles are inf.
            approx = np.floor(mean + ndtri(qq) * np.sqrt(mean))
        out = np.where(np.isfinite(out), out, approx)
        return np.where(np.isinf(mean), np.inf, out)

    def sample(self, rows, comp, rng):
        lam = self.mean[rows, comp]
        draws = rng.poisson(np.minimum(lam, _POISSON_DRAW_MAX)).astype(np.float64)
        big = lam > _POISSON_DRAW_MAX
        if big.any():
            # Normal approximation (relative spread below 1e-9); inf stays inf.
            lb = lam[big]
            with np.errstate(invalid="ignore"):
                draws[big] = np.where(
                    np.isinf(lb), np.inf, np.floor(lb + np.sqrt(lb) * rng.standard_normal(lb.shape))
                )
        return draws


class _BinomialLaw(PredictiveLaw):
    def __init__(self, p, n_trials):
        self.p = p
        self.m = n_trials
        self.lattice = 1.0 / n_trials
        self.mean = p
        self.var = p * (1.0 - p) / n_trials

    def cdf(self, y):
        s = np.floor(y * self.m + 1e-9)[:, :, None]
        with np.errstate(invalid="ignore"):
            out = bdtr(np.clip(s, 0.0, self.m), self.m, self.p[:, None, :])
        return np.where(s < 0, 0.0, out)

    def expert_quantiles(self, q):
        return binom.ppf(q[None, :, None], self.m, self.p[:, None, :]) / self.m

    def sample(self, rows, comp, rng):
        return rng.binomial(self.m, self.p[rows, comp]) / self.m


_GLM_CONSTRAINTS = {
    "alpha": [Interval(Real, 0, None, closed="left")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "tol": [Interval(Real, 0, None, closed="neither")],
}


class _GLMExpert(DocLinkMixin, RegressorMixin, BaseEstimator):
    """Shared fit / predict of the standalone GLM experts."""

    @classmethod
    def _make_family_set(cls, estimators, var_floor=None):
        return cls._set_class(estimators)

    @fit_unchanged_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit by penalised weighted maximum likelihood (Newton / IRLS).

        The features are standardised with their sample-weighted centres and
        spreads, and Newton's method with step halving runs in that frame:
        the ridge then acts on standardised slopes, so the fit is the same in
        any units of X and at any offset, and no accepted step decreases the
        penalised log-likelihood.  It is the solver of a mixture's M-step,
        run for one expert whose row weights are the sample weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,)
            Targets: non-negative whole counts for :class:`PoissonExpert`;
            proportions of successes in [0, 1], with ``y * n_trials`` a whole
            number, for :class:`BinomialExpert`.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights (unit weights when None): integer weights
            are equivalent to repeated rows.

        Returns
        -------
        self : object
            Fitted estimator.

        Raises
        ------
        ValueError
            If y holds a value its family cannot have (a negative or
            fractional count, a proportion outside [0, 1] or not a whole
            number of successes).
        """
        X, y = validate_numeric_data(self, X, y, dtype=np.float64, y_numeric=True)
        y = self._check_targets(y, [self])
        sw = check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        fitted = self._make_family_set([self]).fit(X, y, np.ascontiguousarray(sw[:, None]))
        est = fitted.estimators()[0]
        self.coef_, self.intercept_, self.n_iter_ = est.coef_, est.intercept_, est.n_iter_
        self._frame = est._frame
        return self

    def _linear_predictor(self, X):
        check_is_fitted(self)
        X = validate_numeric_data(self, X, reset=False, dtype=np.float64)
        f = getattr(self, "_frame", None)
        if f is not None and f["coef"] is self.coef_ and f["intercept"] == self.intercept_:
            # About the fitted column centres: exact for features far from zero.
            return _centred_linear(X, f["mean"], self.coef_, f["c"])
        return X @ self.coef_ + self.intercept_


class PoissonExpert(_GLMExpert):
    """Poisson regression with a log link, for counts; weighted, by Newton's method.

    ``y | x ~ Poisson(exp(x . coef_ + intercept_))``.  Used alone it is a
    scikit-learn regressor (``predict`` gives the mean count); as
    ``MixtureOfExpertsRegressor(PoissonExpert(), n_experts=K)`` it gives a
    mixture of Poisson regressions with a gate, the model of flexmix's
    ``FLXMRglm(family="poisson")`` (with ``gate="constant"``: exactly that
    finite mixture).  All K experts are fitted together by Newton / IRLS,
    warm-started at every EM iteration.

    Parameters
    ----------
    alpha : float, default=1e-8
        Ridge penalty ``0.5 * alpha * sum_i w_i * sum_j var_w(x_j) coef_j^2``
        subtracted from the weighted log-likelihood: a penalty on the
        standardised slopes (intercept free), on the summed-likelihood scale
        (inside a mixture: with the weight and feature variances of all rows,
        for every expert).  The default only keeps the Newton system
        solvable; ``alpha=0`` is the exact maximum-likelihood fit
        (scikit-learn's ``PoissonRegressor`` instead penalises raw
        coefficients, ``alpha * sum_i w_i / 2 * ||coef||^2``; the two agree
        at ``alpha=0``).
    max_iter : int, default=100
        Maximum Newton steps per fit (per EM M-step inside a mixture).
    tol : float, default=1e-10
        Newton stops when the predicted gain of a step is below ``tol`` per
        unit of sample weight (that last step is still taken).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    n_iter_ : int
        Newton steps of the last fit.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features,)
        Defined only when X has feature names that are all strings.

    See Also
    --------
    BinomialExpert : Logistic regression for proportions out of n trials.
    StudentTExpert : Linear regression with heavy-tailed noise.
    sklearn.linear_model.PoissonRegressor : The same model, with a penalty on
        the raw coefficients.

    Examples
    --------
    >>> import numpy as np
    >>> from skmoe.experts import PoissonExpert
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, size=(200, 1))
    >>> y = rng.poisson(np.exp(1.0 + 0.5 * X[:, 0]))
    >>> PoissonExpert().fit(X, y).predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints = dict(_GLM_CONSTRAINTS)
    _set_class = _PoissonSet

    def __init__(self, alpha=1e-8, max_iter=100, tol=1e-10):
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol

    @staticmethod
    def _check_targets(y, estimators):
        return check_counts(y, "PoissonExpert")

    def predict(self, X):
        """Predict the mean count ``exp(X @ coef_ + intercept_)``.

        The linear predictor is evaluated about the fitted feature centres,
        so that features far from zero lose no digits to the intercept.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Expected count of each row (positive, not rounded).
        """
        return poisson_mean(self._linear_predictor(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True
        return tags


class BinomialExpert(_GLMExpert):
    """Logistic regression for proportions of successes out of ``n_trials``.

    ``n_trials * y | x ~ Binomial(n_trials, sigmoid(x . coef_ + intercept_))``:
    y is the observed proportion of successes, in [0, 1], and ``y * n_trials``
    must be a whole number.  The likelihood of a row is the full binomial
    probability of its successes; inside a mixture all the trials of a row
    share one latent expert, as in flexmix's ``FLXMRglm(family="binomial")``
    with a ``cbind(successes, failures)`` response.

    Parameters
    ----------
    n_trials : int, default=1
        Number of trials behind every row's proportion (1: binary y, the
        mixture of logistic regressions).  It is a property of the data shared
        by all rows.  ``sample_weight`` stays a row weight (a weight of 2 is
        the row observed twice), never a number of trials: with varying
        numbers of trials per row, a standalone fit with ``n_trials=1`` and
        ``sample_weight=trials`` gives the same coefficients (the usual
        scikit-learn convention), but a mixture would then treat each trial
        as drawn from its own expert, which is a different model.
    alpha : float, default=1e-8
        Ridge penalty ``0.5 * alpha * sum_i w_i * sum_j var_w(x_j) coef_j^2``
        on standardised slopes (intercept free), subtracted from the weighted
        log-likelihood (inside a mixture: with the weight and feature
        variances of all rows, for every expert).  A large enough alpha keeps
        the fit finite when the successes are separable; ``alpha=0`` is exact
        maximum likelihood.
    max_iter : int, default=100
        Maximum Newton steps per fit (per EM M-step inside a mixture).
    tol : float, default=1e-10
        Newton stops when the predicted gain of a step is below ``tol`` per
        unit of sample weight (that last step is still taken).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    n_iter_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features,)
        Defined only when X has feature names that are all strings.

    See Also
    --------
    PoissonExpert : Counts with a log link.
    LogisticExpert : The classifier's expert, for class labels.

    Examples
    --------
    >>> import numpy as np
    >>> from skmoe.experts import BinomialExpert
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, size=(200, 1))
    >>> y = rng.binomial(10, 1 / (1 + np.exp(-2 * X[:, 0]))) / 10
    >>> BinomialExpert(n_trials=10).fit(X, y).predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints = {
        "n_trials": [Interval(Integral, 1, None, closed="left")],
        **_GLM_CONSTRAINTS,
    }
    _set_class = _BinomialSet

    def __init__(self, n_trials=1, alpha=1e-8, max_iter=100, tol=1e-10):
        self.n_trials = n_trials
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol

    @staticmethod
    def _check_targets(y, estimators):
        trials = {int(est.n_trials) for est in estimators}
        if len(trials) > 1:
            raise ValueError(
                "All BinomialExpert experts of a mixture must have the same n_trials (the "
                f"number of trials is a property of the data); got {sorted(trials)}."
            )
        return check_proportions(y, trials.pop(), "BinomialExpert")

    def predict(self, X):
        """Predict the success probability ``sigmoid(X @ coef_ + intercept_)``.

        It is also the expected proportion of successes, whatever
        ``n_trials``.  The linear predictor is evaluated about the fitted
        feature centres, so that features far from zero lose no digits to
        the intercept.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Success probability of each row, in [0, 1].
        """
        return expit(self._linear_predictor(X))
