"""Expert families beyond Gaussian noise: Student-t, Poisson and binomial experts.

For each family, on data simulated from a known gated mixture, we

1. fit ``MixtureOfExpertsRegressor(<Family>Expert(), ...)`` by EM / ECM with
   tight tolerances;
2. maximise the exact (gate-penalised) mixture log-likelihood with
   ``scipy.optimize.minimize`` (L-BFGS-B, analytic gradient written here with
   ``scipy.special`` only), started from the TRUE parameters;
3. require that the library's log-likelihood is the family's exact one, that
   EM reached scipy's optimum (per-sample objective to 1e-4) at a stationary
   point, and that the truth is recovered up to a permutation of experts
   (every parameter within 5 standard errors from the observed information).

Then single-expert oracles (statsmodels GLM, scikit-learn's
``PoissonRegressor(alpha=0)``), robustness of t experts to gross outliers,
the predictive methods, parameter counts and the bad-input errors.

The gate is ``SoftmaxGate(alpha)`` or ``ConstantGate``; as in
``tests/test_oracle.py`` the oracle parameterises the softmax gate on
standardised features and includes its penalty ``0.5 alpha ||V||^2``, and
the GLM experts' ridge ``0.5 alpha n ||coef * std||^2`` (default alpha=1e-8),
which the library's EM objective includes too.  The t experts' 1e-8 ridge is
numerical insurance of the least-squares step, not part of the objective
(as for the Gaussian linear experts), and is left out.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats
from scipy.optimize import linear_sum_assignment, minimize
from scipy.special import digamma, expit, gammaln, log_expit, log_softmax, logsumexp, softmax
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import check_param_validation

from skmoe import MixtureOfExpertsRegressor, SoftmaxGate
from skmoe.exceptions import DegenerateExpertWarning
from skmoe.experts import BinomialExpert, LinearExpert, PoissonExpert, StudentTExpert
from skmoe.experts._student import DF_MAX, ecm_df_step

GATE_ALPHA = 1e-3
LOGLIK_GAP = 1e-4  # per-sample objective: EM vs scipy from the truth
MAX_Z = 5.0  # every parameter within 5 standard errors of the truth


# --------------------------------------------------------------------------- #
# Simulation
# --------------------------------------------------------------------------- #
class Truth:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def simulate(family, n, seed, gate="softmax", n_trials=1):
    """Two experts, two features, a softmax gate ``softmax(x W + b)`` or constant weights."""
    rng = np.random.RandomState(seed)
    d, K = 2, 2
    X = rng.randn(n, d)
    if gate == "softmax":
        gate_coef = np.array([[2.5, -2.5], [1.0, -1.0]])
        gate_intercept = np.array([0.3, -0.3])
        g = softmax(X @ gate_coef + gate_intercept, axis=1)
        weights = None
    else:
        gate_coef = gate_intercept = None
        weights = np.array([0.45, 0.55])
        g = np.broadcast_to(weights, (n, K))
    z = (rng.uniform(size=(n, 1)) > np.cumsum(g, axis=1)[:, :-1]).sum(axis=1)
    if family == "poisson":
        coef = np.array([[0.6, -0.4], [-0.5, 0.3]])
        intercept = np.array([0.4, 2.0])
    elif family == "binomial":
        coef = np.array([[1.5, -1.0], [-1.2, 0.8]])
        intercept = np.array([1.0, -1.0])
    else:
        coef = np.array([[2.0, -1.0], [-1.5, 0.5]])
        intercept = np.array([1.0, -1.0])
    eta = X @ coef.T + intercept  # (n, K)
    eta_z = eta[np.arange(n), z]
    extra = None
    if family == "poisson":
        y = rng.poisson(np.exp(eta_z)).astype(float)
    elif family == "binomial":
        y = rng.binomial(n_trials, expit(eta_z)) / n_trials
    else:
        scale, df = np.array([0.3, 0.5]), np.array([3.0, 5.0])
        y = eta_z + scale[z] * rng.standard_t(df[z])
        extra = np.column_stack([np.log(scale), np.log(df)])
    truth = Truth(
        coef=coef,
        intercept=intercept,
        extra=extra,
        gate_coef=gate_coef,
        gate_intercept=gate_intercept,
        weights=weights,
        z=z,
    )
    return X, y, truth


# --------------------------------------------------------------------------- #
# The oracle: exact penalised mixture log-likelihood of a family MoE
# --------------------------------------------------------------------------- #
class FamilyOracle:
    """``f(theta) = mean_i log sum_k g_k(x_i) p_k(y_i | x_i) - pen / n``.

    theta = (beta (K, d+1), extra (K, e), V (d, K) [softmax gate only], c (K,))
    with ``eta_ik = x1_i . beta_k``; ``extra`` is ``(log scale, log df)`` for
    t experts and empty for the GLMs; the gate is ``softmax(z V + c)`` with
    ``z = (x - mean) / std``, or ``softmax(c)``.
    """

    def __init__(self, X, y, K, family, gate, alpha, n_trials=1, expert_alpha=0.0):
        self.X, self.y, self.K, self.family, self.gate, self.alpha = X, y, K, family, gate, alpha
        self.expert_alpha = expert_alpha
        self.n, self.d = X.shape
        self.mean, self.std = X.mean(axis=0), X.std(axis=0)
        self.Z = (X - self.mean) / self.std
        self.X1 = np.column_stack([X, np.ones(self.n)])
        self.e = 2 if family == "t" else 0
        self.m = n_trials
        if family == "binomial":
            self.s = np.rint(y * n_trials)
            self.log_comb = (
                gammaln(n_trials + 1) - gammaln(self.s + 1) - gammaln(n_trials - self.s + 1)
            )

    def pack(self, beta, extra, V, c):
        parts = [beta.ravel(), np.zeros(0) if extra is None else extra.ravel()]
        if self.gate == "softmax":
            parts.append(V.ravel())
        parts.append(c)
        return np.concatenate(parts)

    def unpack(self, theta):
        K, d, e = self.K, self.d, self.e
        i = K * (d + 1)
        beta = theta[:i].reshape(K, d + 1)
        extra = theta[i : i + K * e].reshape(K, e)
        i += K * e
        if self.gate == "softmax":
            V = theta[i : i + d * K].reshape(d, K)
            i += d * K
        else:
            V = np.zeros((self.d, K))
        return beta, extra, V, theta[i : i + K]

    def from_raw(self, coef, intercept, extra, gate_coef=None, gate_intercept=None, weights=None):
        beta = np.column_stack([coef, intercept])
        if self.gate == "softmax":
            V = gate_coef * self.std[:, None]
            c = gate_intercept + self.mean @ gate_coef
        else:
            V, c = None, np.log(weights)
        return self.pack(beta, extra, V, c)

    def from_model(self, moe):
        coef = np.array([e.coef_ for e in moe.experts_])
        intercept = np.array([e.intercept_ for e in moe.experts_])
        extra = None
        if self.family == "t":
            extra = np.array([[np.log(e.scale_), np.log(e.df_)] for e in moe.experts_])
        if self.gate == "softmax":
            return self.from_raw(coef, intercept, extra, moe.gate_.coef_, moe.gate_.intercept_)
        return self.from_raw(coef, intercept, extra, weights=moe.gate_.weights_)

    def expert(self, eta, extra):
        """log p_k(y_i | x_i), its derivative in eta and in the extra parameters."""
        y = self.y[:, None]
        if self.family == "poisson":
            mu = np.exp(eta)
            return y * eta - mu - gammaln(y + 1), y - mu, None
        if self.family == "binomial":
            s = self.s[:, None]
            lp = self.log_comb[:, None] + s * log_expit(eta) + (self.m - s) * log_expit(-eta)
            return lp, s - self.m * expit(eta), None
        log_s, log_v = extra[:, 0], extra[:, 1]
        s2, v = np.exp(2 * log_s), np.exp(log_v)
        r = y - eta
        delta = r * r / s2
        lp = (
            gammaln(0.5 * (v + 1))
            - gammaln(0.5 * v)
            - 0.5 * np.log(np.pi * v)
            - log_s
            - 0.5 * (v + 1) * np.log1p(delta / v)
        )
        u = (v + 1) / (v + delta)
        d_eta = u * r / s2
        d_log_s = -1.0 + u * delta
        d_v = 0.5 * (
            digamma(0.5 * (v + 1))
            - digamma(0.5 * v)
            - 1.0 / v
            - np.log1p(delta / v)
            + (v + 1) * delta / (v * (v + delta))
        )
        return lp, d_eta, np.stack([d_log_s, d_v * v], axis=2)

    def _parts(self, theta):
        beta, extra, V, c = self.unpack(theta)
        logits = self.Z @ V + c if self.gate == "softmax" else np.broadcast_to(c, (self.n, self.K))
        log_g = log_softmax(logits, axis=1)
        lp, d_eta, d_extra = self.expert(self.X1 @ beta.T, extra)
        joint = log_g + lp
        ll = logsumexp(joint, axis=1)
        return V, log_g, d_eta, d_extra, joint, ll

    def loglik(self, theta):
        return self._parts(theta)[-1]

    def _expert_penalty(self, theta):
        """``0.5 a n sum_k ||coef_k * std||^2`` (summed scale) and its gradient in beta."""
        beta = self.unpack(theta)[0]
        slopes = beta[:, :-1] * self.std
        grad = np.zeros_like(beta)
        grad[:, :-1] = self.expert_alpha * self.n * slopes * self.std
        return 0.5 * self.expert_alpha * self.n * np.sum(slopes * slopes), grad

    def value(self, theta):
        V, *_, ll = self._parts(theta)
        pen = 0.5 * self.alpha * np.sum(V * V) + self._expert_penalty(theta)[0]
        return ll.mean() - pen / self.n

    def value_and_grad(self, theta):
        V, log_g, d_eta, d_extra, joint, ll = self._parts(theta)
        n = self.n
        r = np.exp(joint - ll[:, None])
        pen_e, grad_e = self._expert_penalty(theta)
        grads = [(((r * d_eta).T @ self.X1) - grad_e).ravel() / n]
        if self.e:
            grads.append(np.einsum("nk,nke->ke", r, d_extra).ravel() / n)
        D = r - np.exp(log_g)
        if self.gate == "softmax":
            grads.append(((self.Z.T @ D) - self.alpha * V).ravel() / n)
        grads.append(D.sum(axis=0) / n)
        pen = 0.5 * self.alpha * np.sum(V * V) + pen_e
        return ll.mean() - pen / n, np.concatenate(grads)

    def maximise(self, theta0):
        def neg(theta):
            f, g = self.value_and_grad(theta)
            return -f, -g

        res = minimize(
            neg,
            theta0,
            jac=True,
            method="L-BFGS-B",
            options=dict(maxiter=20000, maxcor=30, gtol=1e-11, ftol=1e-15),
        )
        return res.x, -res.fun

    def permute(self, theta, perm):
        beta, extra, V, c = self.unpack(theta)
        return self.pack(beta[perm], extra[perm], V[:, perm], c[perm])

    def gauge(self, theta):
        """Expert K-1's gate column and intercept are zero (softmax is shift invariant)."""
        beta, extra, V, c = self.unpack(theta)
        return self.pack(beta, extra, V - V[:, -1:], c - c[-1])

    def free_index(self):
        K, d, e = self.K, self.d, self.e
        p = K * (d + 1 + e)
        keep = list(range(p))
        if self.gate == "softmax":
            keep += [p + j * K + k for j in range(d) for k in range(K - 1)]
            p += d * K
        keep += [p + k for k in range(K - 1)]
        return np.array(keep)

    def information(self, theta):
        """Observed information (total) of the unpenalised log-likelihood, gauge fixed."""
        theta = self.gauge(theta)
        idx = self.free_index()
        alpha, self.alpha = self.alpha, 0.0
        expert_alpha, self.expert_alpha = self.expert_alpha, 0.0
        try:
            H = np.empty((idx.size, idx.size))
            for a, j in enumerate(idx):
                h = 1e-5 * max(1.0, abs(theta[j]))
                tp, tm = theta.copy(), theta.copy()
                tp[j] += h
                tm[j] -= h
                H[:, a] = (self.value_and_grad(tp)[1][idx] - self.value_and_grad(tm)[1][idx]) / (
                    2 * h
                )
        finally:
            self.alpha, self.expert_alpha = alpha, expert_alpha
        return -0.5 * (H + H.T) * self.n, idx


def _expert_vectors(oracle, theta):
    beta, extra, _, _ = oracle.unpack(theta)
    return np.column_stack([beta, extra])


def _best_permutation(fit_vectors, true_vectors):
    """perm[k] = index of the fitted expert matched to true expert k."""
    cost = ((true_vectors[:, None, :] - fit_vectors[None, :, :]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    perm = np.empty(len(rows), dtype=int)
    perm[rows] = cols
    return perm


def _fit_quietly(moe, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("error", DegenerateExpertWarning)
        return moe.fit(X, y)


# --------------------------------------------------------------------------- #
# 0. The oracle's own gradient (it is what scipy climbs)
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("family", ["poisson", "binomial", "t"])
def test_oracle_gradient_is_the_gradient(family):
    X, y, truth = simulate(family, 60, seed=11, n_trials=4)
    oracle = FamilyOracle(X, y, 2, family, "softmax", GATE_ALPHA, n_trials=4, expert_alpha=0.01)
    theta = oracle.from_raw(
        truth.coef, truth.intercept, truth.extra, truth.gate_coef, truth.gate_intercept
    )
    theta = theta + 0.05 * np.random.RandomState(0).randn(theta.size)
    _, grad = oracle.value_and_grad(theta)
    num = np.empty_like(theta)
    for j in range(theta.size):
        tp, tm = theta.copy(), theta.copy()
        tp[j] += 1e-6
        tm[j] -= 1e-6
        num[j] = (oracle.value(tp) - oracle.value(tm)) / 2e-6
    assert_allclose(grad, num, rtol=1e-5, atol=1e-8)


# --------------------------------------------------------------------------- #
# 1. EM vs scipy on the exact mixture likelihood, and recovery of the truth
# --------------------------------------------------------------------------- #
FAMILY_CASES = [
    # (id, family, expert, gate, n, seed, n_trials)
    ("poisson-softmax", "poisson", PoissonExpert(), "softmax", 2000, 0, 1),
    ("binomial-softmax", "binomial", BinomialExpert(n_trials=8), "softmax", 2500, 1, 8),
    ("t-softmax", "t", StudentTExpert(), "softmax", 2500, 2, 1),
    ("t-constant", "t", StudentTExpert(), "constant", 2500, 3, 1),
]


@pytest.mark.parametrize(
    "family, expert, gate, n, seed, n_trials",
    [c[1:] for c in FAMILY_CASES],
    ids=[c[0] for c in FAMILY_CASES],
)
def test_family_mixture_matches_scipy_and_recovers_truth(family, expert, gate, n, seed, n_trials):
    X, y, truth = simulate(family, n, seed, gate=gate, n_trials=n_trials)
    K = 2
    gate_obj = (
        SoftmaxGate(alpha=GATE_ALPHA, max_iter=2000, tol=1e-10) if gate == "softmax" else "constant"
    )
    moe = MixtureOfExpertsRegressor(
        clone(expert),
        n_experts=K,
        gate=gate_obj,
        max_iter=5000,
        tol=1e-10,
        n_init=2,
        random_state=seed,
    )
    _fit_quietly(moe, X, y)
    assert moe.converged_
    alpha = GATE_ALPHA if gate == "softmax" else 0.0
    expert_alpha = 0.0 if family == "t" else expert.alpha
    oracle = FamilyOracle(
        X, y, K, family, gate, alpha, n_trials=n_trials, expert_alpha=expert_alpha
    )
    theta_fit = oracle.from_model(moe)

    # (a) the library's likelihood is the family's exact one.
    assert_allclose(moe.log_likelihood(X, y), oracle.loglik(theta_fit), rtol=0, atol=1e-9)
    assert_allclose(oracle.value(theta_fit), moe.lower_bound_, rtol=0, atol=1e-9)

    # (b) EM reached the optimum scipy finds from the true parameters.
    theta_true = oracle.from_raw(
        truth.coef,
        truth.intercept,
        truth.extra,
        truth.gate_coef,
        truth.gate_intercept,
        truth.weights,
    )
    _, f_opt = oracle.maximise(theta_true)
    gap = moe.lower_bound_ - f_opt
    assert abs(gap) < LOGLIK_GAP, (
        f"EM objective {moe.lower_bound_} vs scipy {f_opt} (gap {gap:.2e})"
    )

    # (c) a stationary point of the exact objective.
    _, grad = oracle.value_and_grad(theta_fit)
    assert np.max(np.abs(grad)) < 1e-4, f"max |grad| at the EM solution {np.max(np.abs(grad)):.2e}"

    # (d) the truth, up to a permutation of experts, every parameter within
    # MAX_Z standard errors (observed information at the estimate).
    perm = _best_permutation(
        _expert_vectors(oracle, theta_fit), _expert_vectors(oracle, theta_true)
    )
    assert sorted(perm) == list(range(K))
    theta_p = oracle.permute(theta_fit, perm)
    info, idx = oracle.information(theta_p)
    diff = (oracle.gauge(theta_p) - oracle.gauge(theta_true))[idx]
    se = np.sqrt(np.diag(np.linalg.inv(info)))
    z = diff / se
    assert np.max(np.abs(z)) < MAX_Z, f"max |z| = {np.max(np.abs(z)):.2f} (z = {np.round(z, 2)})"
    # Readable, looser checks on the scale of the data.
    coef_err = np.max(np.abs(np.array([e.coef_ for e in moe.experts_])[perm] - truth.coef))
    assert coef_err < 0.25, coef_err
    if family == "t":
        df_fit = np.array([e.df_ for e in moe.experts_])[perm]
        assert np.all((df_fit > 1.5) & (df_fit < 20)), df_fit
        assert moe._n_parameters() == moe.gate_._n_parameters() + K * (X.shape[1] + 3)


# --------------------------------------------------------------------------- #
# 2. Single-expert oracles
# --------------------------------------------------------------------------- #
def _poisson_data(seed=0, n=400):
    rng = np.random.RandomState(seed)
    X = np.column_stack([rng.randn(n), rng.uniform(-1, 1, n), rng.binomial(1, 0.3, n)])
    y = rng.poisson(np.exp(0.5 + X @ np.array([0.4, -0.7, 0.3]))).astype(float)
    sw = rng.uniform(0.2, 3.0, n)
    return X, y, sw


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_single_poisson_expert_matches_statsmodels_and_sklearn(weighted):
    sm = pytest.importorskip("statsmodels.api")
    from sklearn.linear_model import PoissonRegressor

    X, y, sw = _poisson_data()
    sw = sw if weighted else None
    ours = PoissonExpert(alpha=0.0).fit(X, y, sample_weight=sw)
    glm = sm.GLM(
        y,
        sm.add_constant(X, prepend=False),
        family=sm.families.Poisson(),
        freq_weights=sw,
    ).fit(tol=1e-13, maxiter=200)
    skl = PoissonRegressor(alpha=0.0, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(
        X, y, sample_weight=sw
    )
    beta = np.append(ours.coef_, ours.intercept_)
    assert_allclose(beta, glm.params, rtol=1e-8, atol=1e-10)
    assert_allclose(beta, np.append(skl.coef_, skl.intercept_), rtol=1e-7, atol=1e-9)
    assert_allclose(ours.predict(X), glm.predict(sm.add_constant(X, prepend=False)), rtol=1e-8)
    # Inside a one-expert mixture: the same fit, and the exact Poisson likelihood.
    moe = MixtureOfExpertsRegressor(PoissonExpert(alpha=0.0), n_experts=1, tol=1e-12).fit(
        X, y, sample_weight=sw
    )
    assert_allclose(moe.experts_[0].coef_, ours.coef_, rtol=1e-8, atol=1e-10)
    mu = glm.predict(sm.add_constant(X, prepend=False))
    assert_allclose(moe.log_likelihood(X, y), stats.poisson.logpmf(y, mu), rtol=1e-9, atol=1e-9)


def test_single_binomial_expert_matches_statsmodels():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.RandomState(1)
    n, m = 300, 6
    X = rng.randn(n, 2)
    s = rng.binomial(m, expit(-0.3 + X @ np.array([1.2, -0.8])))
    ours = BinomialExpert(n_trials=m, alpha=0.0).fit(X, s / m)
    glm = sm.GLM(
        np.column_stack([s, m - s]),
        sm.add_constant(X, prepend=False),
        family=sm.families.Binomial(),
    ).fit(tol=1e-13, maxiter=200)
    assert_allclose(np.append(ours.coef_, ours.intercept_), glm.params, rtol=1e-8, atol=1e-10)
    moe = MixtureOfExpertsRegressor(BinomialExpert(n_trials=m, alpha=0.0), n_experts=1, tol=1e-12)
    moe.fit(X, s / m)
    p = glm.predict(sm.add_constant(X, prepend=False))
    assert_allclose(moe.log_likelihood(X, s / m), stats.binom.logpmf(s, m, p), rtol=1e-9, atol=1e-9)
    # Binary y (n_trials=1) is logistic regression; with varying trials, the
    # scikit-learn convention sample_weight=trials gives the same coefficients.
    trials = rng.randint(1, 9, n)
    s2 = rng.binomial(trials, expit(0.2 + X @ np.array([0.5, 1.0])))
    glm2 = sm.GLM(
        np.column_stack([s2, trials - s2]),
        sm.add_constant(X, prepend=False),
        family=sm.families.Binomial(),
    ).fit(tol=1e-13, maxiter=200)
    ours2 = BinomialExpert(alpha=0.0).fit(
        np.vstack([X, X]), np.r_[np.ones(n), np.zeros(n)], sample_weight=np.r_[s2, trials - s2]
    )
    assert_allclose(np.append(ours2.coef_, ours2.intercept_), glm2.params, rtol=1e-8, atol=1e-10)


def test_single_t_expert_matches_scipy():
    """One t expert, df estimated: the ECM fixed point is scipy's maximum likelihood."""
    rng = np.random.RandomState(2)
    n = 500
    X = rng.randn(n, 2)
    y = 1.0 + X @ np.array([2.0, -1.0]) + 0.5 * rng.standard_t(4, size=n)
    est = StudentTExpert(tol=1e-13, max_iter=5000).fit(X, y)
    X1 = np.column_stack([X, np.ones(n)])

    def neg(theta):
        beta, log_s, log_v = theta[:3], theta[3], theta[4]
        return -stats.t.logpdf(y, np.exp(log_v), loc=X1 @ beta, scale=np.exp(log_s)).mean()

    theta_fit = np.r_[est.coef_, est.intercept_, np.log(est.scale_), np.log(est.df_)]
    res = minimize(neg, theta_fit, method="BFGS", options=dict(gtol=1e-10))
    assert -res.fun - (-neg(theta_fit)) < 1e-8
    assert_allclose(theta_fit, res.x, atol=2e-4)


# --------------------------------------------------------------------------- #
# 3. Robustness of t experts to gross outliers
# --------------------------------------------------------------------------- #
def test_t_experts_resist_gross_outliers_where_gaussian_experts_fail():
    X, y, truth = simulate("t", 1500, seed=5, gate="softmax")
    # Gaussian-ish core (df 3 and 5 of the simulation) plus 4% gross outliers.
    rng = np.random.RandomState(5)
    bad = rng.choice(len(y), size=60, replace=False)
    y = y.copy()
    y[bad] += rng.choice([-1, 1], size=60) * rng.uniform(30, 60, size=60)

    def coef_error(moe):
        coef = np.array([e.coef_ for e in moe.experts_])
        intercept = np.array([e.intercept_ for e in moe.experts_])
        fit = np.column_stack([coef, intercept])
        true = np.column_stack([truth.coef, truth.intercept])
        perm = _best_permutation(fit, true)
        return np.max(np.abs(fit[perm] - true))

    common = dict(n_experts=2, n_init=3, random_state=0, max_iter=500, tol=1e-8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DegenerateExpertWarning)
        t_moe = MixtureOfExpertsRegressor(StudentTExpert(), **common).fit(X, y)
        g_moe = MixtureOfExpertsRegressor(LinearExpert(), **common).fit(X, y)
    err_t, err_g = coef_error(t_moe), coef_error(g_moe)
    assert err_t < 0.15, err_t
    assert err_g > 5 * err_t, (err_g, err_t)
    # The outliers get tiny latent weights, hence tiny influence: t experts'
    # degrees of freedom become small.
    assert max(e.df_ for e in t_moe.experts_) < 6

    # Single expert: the same story.
    X1, y1 = X[truth.z == 0], y[truth.z == 0]
    t1 = StudentTExpert().fit(X1, y1)
    g1 = LinearExpert().fit(X1, y1)
    e_t = np.max(np.abs(np.r_[t1.coef_ - truth.coef[0], t1.intercept_ - truth.intercept[0]]))
    e_g = np.max(np.abs(np.r_[g1.coef_ - truth.coef[0], g1.intercept_ - truth.intercept[0]]))
    assert e_t < 0.08 and e_g > 3 * e_t, (e_t, e_g)


def test_t_df_is_capped_when_the_tails_are_light():
    rng = np.random.RandomState(3)
    X = rng.randn(800, 1)
    # Gaussian noise: on this draw the maximum-likelihood df is finite (about
    # 186), and it is a fixed point of meteorits' ECM equation too.
    y = 1.0 + 2.0 * X[:, 0] + 0.5 * rng.randn(800)
    t = StudentTExpert().fit(X, y)
    assert 100 < t.df_ < DF_MAX
    delta = ((y - t.predict(X)) / t.scale_) ** 2
    u = (t.df_ + 1) / (t.df_ + delta)
    assert_allclose(ecm_df_step(u, np.ones(800), t.df_), t.df_, rtol=1e-4)
    # Uniform noise: lighter tails than any t, the likelihood rises with df
    # without bound and the estimate stops at the cap.
    y = 1.0 + 2.0 * X[:, 0] + rng.uniform(-1, 1, 800)
    t = StudentTExpert().fit(X, y)
    assert t.df_ == DF_MAX
    lin = LinearExpert().fit(X, y)
    assert_allclose(t.coef_, lin.coef_, atol=5e-3)


def test_fixed_df_above_cap_warns_and_is_capped():
    rng = np.random.RandomState(4)
    X = rng.randn(100, 1)
    y = X[:, 0] + rng.randn(100)
    with pytest.warns(UserWarning, match="above the cap"):
        t = StudentTExpert(df=1e4).fit(X, y)
    assert t.df_ == DF_MAX
    fixed = MixtureOfExpertsRegressor(StudentTExpert(df=4.0), n_experts=2, random_state=0).fit(X, y)
    assert all(e.df_ == 4.0 for e in fixed.experts_)
    free = MixtureOfExpertsRegressor(StudentTExpert(), n_experts=2, random_state=0).fit(X, y)
    # df counts as a parameter only when it is estimated.
    assert free._n_parameters() - fixed._n_parameters() == 2
    ll = free.log_likelihood(X, y).sum()
    assert_allclose(free.bic(X, y), -2 * ll + free._n_parameters() * np.log(100))


# --------------------------------------------------------------------------- #
# 4. Monotone EM (exact constant-gate M-step; ECM and Newton M-steps)
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "family, expert",
    [
        ("poisson", PoissonExpert()),
        ("binomial", BinomialExpert(n_trials=3)),
        ("t", StudentTExpert()),
    ],
    ids=["poisson", "binomial", "t"],
)
def test_em_never_decreases_the_likelihood(family, expert):
    X, y, _ = simulate(family, 600, seed=7, gate="constant", n_trials=3)
    moe = MixtureOfExpertsRegressor(
        expert, n_experts=2, gate="constant", max_iter=300, tol=1e-9, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        moe.fit(X, y)
    assert moe.n_reseeds_ == 0
    assert np.min(np.diff(moe.lower_bounds_)) > -1e-11


# --------------------------------------------------------------------------- #
# 5. Predictive methods: mean, std, quantiles and samples of the mixture law
# --------------------------------------------------------------------------- #
def _fitted(family, n_trials=5):
    X, y, _ = simulate(family, 600, seed=8, gate="softmax", n_trials=n_trials)
    expert = {
        "poisson": PoissonExpert(),
        "binomial": BinomialExpert(n_trials=n_trials),
        "t": StudentTExpert(),
    }[family]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        moe = MixtureOfExpertsRegressor(expert, n_experts=2, random_state=0, max_iter=200).fit(X, y)
    return moe, X[:6]


def _expert_laws(moe, X, family, n_trials=5):
    """scipy.stats frozen laws of every expert at X (an independent description),
    parameters of shape (n, 1, K) so that ``cdf`` takes (n, q, 1) points."""
    eta = np.column_stack([X @ e.coef_ + e.intercept_ for e in moe.experts_])[:, None, :]
    if family == "poisson":
        return stats.poisson(np.exp(eta))
    if family == "binomial":
        return stats.binom(n_trials, expit(eta))
    scale = np.array([e.scale_ for e in moe.experts_])
    df = np.array([e.df_ for e in moe.experts_])
    return stats.t(df, loc=eta, scale=scale)


@pytest.mark.parametrize("family", ["poisson", "binomial", "t"])
def test_predictive_methods(family):
    moe, X = _fitted(family)
    gate = moe.predict_gate(X)
    law = _expert_laws(moe, X, family)
    unit = 5.0 if family == "binomial" else 1.0  # binomial laws are on counts, y on proportions
    mean_k, var_k = law.mean()[:, 0, :] / unit, law.var()[:, 0, :] / unit**2
    mean, std = moe.predict(X, return_std=True)
    assert_allclose(mean, (gate * mean_k).sum(axis=1), rtol=1e-10)
    var = (gate * (var_k + mean_k**2)).sum(axis=1) - mean**2
    assert_allclose(std, np.sqrt(var), rtol=1e-8)
    assert_allclose(moe.predict_experts(X), mean_k, rtol=1e-10)

    qs = np.array([0.05, 0.3, 0.5, 0.9])
    Q = moe.predict_quantiles(X, qs)

    def mix_cdf(v):
        return np.einsum("nk,nqk->nq", gate, law.cdf((v * unit)[:, :, None]))

    if family == "t":
        assert_allclose(mix_cdf(Q), np.broadcast_to(qs, Q.shape), atol=1e-8)
    else:
        step = 1.0 / unit
        assert_allclose(Q / step, np.rint(Q / step), atol=1e-9)  # on the support lattice
        assert np.all(mix_cdf(Q) >= qs - 1e-12)
        assert np.all(mix_cdf(Q - step) < qs)

    draws = moe.sample_y(X, n_samples=20000, random_state=0)
    assert draws.shape == (X.shape[0], 20000)
    if family != "t":
        assert_allclose(draws * unit, np.rint(draws * unit))
        assert np.all(draws >= 0) and (family != "binomial" or np.all(draws <= 1))
        assert np.all(np.abs(draws.mean(axis=1) - mean) < 5 * std / np.sqrt(20000))
        assert_allclose(draws.std(axis=1), std, rtol=0.05)
    # Empirical quantiles of the draws agree with predict_quantiles.
    emp = np.quantile(draws, 0.5, axis=1, method="inverted_cdf")
    med = moe.predict_quantiles(X, [0.5])[:, 0]
    spread = np.where(std > 0, std, 1.0)
    assert np.all(np.abs(emp - med) <= 0.1 * spread + (0 if family == "t" else 1.0 / unit))
    assert_array_equal(moe.sample_y(X, 3, random_state=1), moe.sample_y(X, 3, random_state=1))
    assert not hasattr(moe, "noise_variance_")


@pytest.mark.parametrize("scale", [1e2, 1e3, 1e8, -1e8])
def test_poisson_far_outside_the_data(scale, monkeypatch):
    """Inputs scaled far beyond the data (hostile-input probe): the Poisson
    means grow like exp(1e2 ... 1e8) and overflow float64 beyond 709.78.
    Every predictive output is a number or inf, never NaN; an overflowed mean
    is inf with skmoe's warning, not NumPy's; the quantiles of the discrete
    mixture end (they looped for ever on a lattice coarser than the floats)
    and where the mean is finite they are the law's (median within one
    count; the 5% quantile 1.645 standard deviations below, by the normal
    limit, where the floats resolve a standard deviation)."""
    from skmoe.experts._glm import _PoissonLaw

    X, y, _ = _poisson_data()
    moe = MixtureOfExpertsRegressor(PoissonExpert(), n_experts=2, random_state=0).fit(X, y)
    expert = PoissonExpert().fit(X, y)
    calls = []
    real_cdf = _PoissonLaw.cdf

    def counted(self, v):
        calls.append(1)
        assert len(calls) < 5000, "the quantile search does not end"
        return real_cdf(self, v)

    monkeypatch.setattr(_PoissonLaw, "cdf", counted)
    Xs = X[:6] * scale
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mean, std = moe.predict(Xs, return_std=True)
        q = moe.predict_quantiles(Xs, (0.05, 0.5, 0.95))
        draws = moe.sample_y(Xs, 3, random_state=0)
        alone = expert.predict(Xs)
    for out in (mean, std, q, draws, alone):
        assert not np.isnan(out).any()
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    overflowed = np.isinf(mean).any() or np.isinf(alone).any()
    said = [w for w in caught if "overflows float64" in str(w.message)]
    assert bool(said) == overflowed
    ok = np.isfinite(mean)
    # The quantiles are the mixture's: F(q) >= level > F(just below q), the
    # point below being one count or, beyond 2**53, a few floats.
    gate, _, _, law = moe._mixture(Xs)
    levels = np.array([0.05, 0.5, 0.95])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")

        def mix_cdf(v):
            return np.einsum("nk,nqk->nq", gate, law.cdf(v))

        below = q - np.maximum(1.0, 4 * np.spacing(q))
        fin = np.isfinite(q)
        assert np.all(mix_cdf(np.where(fin, q, 0.0))[fin] >= np.broadcast_to(levels, q.shape)[fin])
        assert np.all(
            mix_cdf(np.where(fin, below, 0.0))[fin] < np.broadcast_to(levels, q.shape)[fin]
        )
        # An infinite quantile: the experts whose mean overflowed carry more
        # than 1 - level (the CDF stays below the level at any float).
        top = mix_cdf(np.full(q.shape, 1e300))
        assert np.all(top[~fin] < np.broadcast_to(levels, q.shape)[~fin])
    # One expert carrying the row, a large mean that the floats resolve to a
    # thousandth of a standard deviation: the normal limit.
    one = ok & (gate.max(axis=1) > 1 - 1e-12) & (mean > 1e6) & (std > 1e3 * np.spacing(mean))
    z = (mean[one] - q[one, 0]) / std[one]
    assert np.all(np.abs(z - 1.645) < 0.01)


def test_t_std_is_infinite_when_df_at_most_two():
    rng = np.random.RandomState(9)
    X = rng.randn(300, 1)
    y = X[:, 0] + rng.standard_cauchy(300)
    moe = MixtureOfExpertsRegressor(StudentTExpert(df=1.5), n_experts=1).fit(X, y)
    mean, std = moe.predict(X[:3], return_std=True)
    assert np.all(np.isfinite(mean)) and np.all(np.isinf(std))
    q = moe.predict_quantiles(X[:3], [0.25, 0.75])
    assert np.all(np.isfinite(q)) and np.all(q[:, 0] < q[:, 1])


@pytest.mark.parametrize(
    "expert, per_expert",
    [
        (PoissonExpert(), 3),
        (BinomialExpert(), 3),
        (StudentTExpert(df=3.0), 4),
        (StudentTExpert(), 5),
    ],
    ids=["poisson", "binomial", "t-fixed-df", "t-estimated-df"],
)
def test_parameter_count(expert, per_expert):
    rng = np.random.RandomState(10)
    X = rng.randn(200, 2)
    y = rng.binomial(1, 0.4, 200).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        moe = MixtureOfExpertsRegressor(expert, n_experts=3, random_state=0, max_iter=30).fit(X, y)
    gate_params = 3 * 2  # softmax: (d + 1) * (K - 1)
    assert moe._n_parameters() == gate_params + 3 * per_expert
    ll = moe.log_likelihood(X, y).sum()
    assert_allclose(moe.aic(X, y), -2 * ll + 2 * (gate_params + 3 * per_expert))


# --------------------------------------------------------------------------- #
# 6. Bad input: clear errors, before any work
# --------------------------------------------------------------------------- #
@pytest.fixture
def no_em(monkeypatch):
    """Make any EM work fail loudly: validation errors must come first."""

    def boom(*args, **kwargs):
        raise AssertionError("EM started before the input was validated")

    monkeypatch.setattr(MixtureOfExpertsRegressor, "_run_em", boom)


BAD_TARGETS = [
    (PoissonExpert(), [0, 1, -1, 3], "non-negative whole counts"),
    (PoissonExpert(), [0, 1, 2.5, 3], "non-negative whole counts"),
    (PoissonExpert(), [0, 1, np.inf, 3], "infinity"),
    (BinomialExpert(), [0, 1, 1.2, 0], r"proportions in \[0, 1\]"),
    (BinomialExpert(), [0, 1, -0.1, 0], r"proportions in \[0, 1\]"),
    (BinomialExpert(), [0, 1, 0.5, 0], "whole number of successes"),
    (BinomialExpert(n_trials=4), [0, 0.25, 0.3, 1], "whole number of successes"),
]


@pytest.mark.parametrize("expert, y, match", BAD_TARGETS)
def test_bad_targets_raise_before_any_work(expert, y, match, no_em):
    X = np.arange(8.0).reshape(4, 2)
    y = np.asarray(y, dtype=float)
    with pytest.raises(ValueError, match=match):
        clone(expert).fit(X, y)
    with pytest.raises(ValueError, match=match):
        MixtureOfExpertsRegressor(clone(expert), n_experts=2).fit(X, y)


def test_bad_targets_at_scoring_time():
    rng = np.random.RandomState(0)
    X = rng.randn(50, 1)
    y = rng.poisson(2.0, 50).astype(float)
    moe = MixtureOfExpertsRegressor(PoissonExpert(), n_experts=2, random_state=0, max_iter=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        moe.fit(X, y)
    with pytest.raises(ValueError, match="non-negative whole counts"):
        moe.log_likelihood(X[:2], [1.0, -2.0])
    with pytest.raises(ValueError, match="non-negative whole counts"):
        moe.responsibilities(X[:2], [1.5, 2.0])


@pytest.mark.parametrize("df", [0, -1.0, -np.inf])
def test_nonpositive_df_raises(df, no_em):
    X = np.arange(8.0).reshape(4, 2)
    y = np.array([0.0, 1.0, 2.0, 3.0])
    with pytest.raises(InvalidParameterError, match="df"):
        StudentTExpert(df=df).fit(X, y)
    with pytest.raises(ValueError, match="df"):
        MixtureOfExpertsRegressor(StudentTExpert(df=df), n_experts=2).fit(X, y)


def test_families_cannot_be_mixed_or_resampled(no_em):
    X = np.arange(8.0).reshape(4, 2)
    y = np.array([0.0, 1.0, 2.0, 3.0])
    for experts in (
        [("a", PoissonExpert()), ("b", LinearExpert())],
        [("a", PoissonExpert()), ("b", StudentTExpert())],
    ):
        with pytest.raises(ValueError, match="cannot be mixed"):
            MixtureOfExpertsRegressor(experts).fit(X, y)
    with pytest.raises(ValueError, match="m_step='stochastic' is not supported"):
        MixtureOfExpertsRegressor(PoissonExpert(), m_step="stochastic").fit(X, y)
    with pytest.raises(ValueError, match="same n_trials"):
        MixtureOfExpertsRegressor(
            [("a", BinomialExpert(n_trials=2)), ("b", BinomialExpert(n_trials=3))]
        ).fit(X, y / 6)


@pytest.mark.parametrize(
    "expert",
    [PoissonExpert(), BinomialExpert(), StudentTExpert()],
    ids=["poisson", "binomial", "t"],
)
def test_param_validation_and_sklearn_api(expert):
    check_param_validation(type(expert).__name__, expert)
    rng = np.random.RandomState(0)
    X = rng.randn(40, 2)
    y = rng.binomial(1, 0.5, 40).astype(float)
    sw = rng.uniform(0.5, 2.0, 40)
    est = clone(expert).fit(X, y, sample_weight=sw)
    assert est.predict(X).shape == (40,)
    # Integer weights are repeated rows.
    reps = rng.randint(0, 3, 40)
    a = clone(expert).fit(X, y, sample_weight=reps)
    b = clone(expert).fit(np.repeat(X, reps, axis=0), np.repeat(y, reps))
    assert_allclose(a.coef_, b.coef_, rtol=1e-6, atol=1e-8)
    assert_allclose(a.intercept_, b.intercept_, rtol=1e-6, atol=1e-8)
