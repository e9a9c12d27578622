"""The regressor's summary for every built-in expert family and gate, against oracles.

The oracle is a from-scratch log-likelihood written here with SciPy's
densities, in the parameters the summary reports (``sigma2``, ``scale``,
``df``, covariance entries: the users' units), built from the fitted model's
public attributes (``experts_``, ``gate_``), and its Hessian by central
differences of function values only.  The summary's standard errors must
equal the square roots of the diagonal of the inverse of that Hessian to
1e-3 relative at the fitted optimum.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats
from scipy.special import log_softmax, logsumexp

from skmoe import MixtureOfExpertsRegressor
from skmoe.experts import BinomialExpert, PoissonExpert, StudentTExpert
from skmoe.gating import GaussianGate, HierarchicalGate, SoftmaxGate

N_TRIALS = 8


def _data(family, n, d, rng):
    X = rng.uniform(-2, 2, size=(n, d))
    z = (X[:, 0] + 0.5 * rng.standard_normal(n) > 0.2).astype(int)
    if d > 1:
        z = z + 2 * (X[:, 1] + 0.5 * rng.standard_normal(n) > 0).astype(int)
    slope = np.array([1.5, -1.0, 0.5, -0.5])[z]
    icpt = np.array([1.0, -1.0, 0.0, 2.0])[z]
    eta = slope * X[:, 0] + icpt
    if family == "linear":
        return X, eta + 0.4 * rng.standard_normal(n)
    if family in ("t", "t-fixed"):
        return X, eta + 0.4 * rng.standard_t(3, size=n)
    if family == "poisson":
        return X, rng.poisson(np.exp(0.5 * eta + 0.5)).astype(float)
    return X, rng.binomial(N_TRIALS, 1 / (1 + np.exp(-eta))) / N_TRIALS


def _expert(family):
    return {
        "linear": None,
        "t": StudentTExpert(),
        "t-fixed": StudentTExpert(df=5.0),
        "poisson": PoissonExpert(alpha=0.0),
        "binomial": BinomialExpert(n_trials=N_TRIALS, alpha=0.0),
    }[family]


def _gate(name):
    return {
        "softmax": (SoftmaxGate(alpha=0.0, max_iter=100, tol=1e-10), 2),
        "constant": ("constant", 2),
        "gaussian": (GaussianGate(reg_covar=0.0), 2),
        "gaussian-diag": (GaussianGate(covariance_type="diag", reg_covar=0.0), 2),
        "gaussian-tied": (GaussianGate(covariance_type="tied", reg_covar=0.0), 2),
        "gaussian-spherical": (GaussianGate(covariance_type="spherical", reg_covar=0.0), 2),
        "hierarchical": (HierarchicalGate(depth=2, alpha=0.0, tol=1e-10), 4),
        "hierarchical-penalised": (HierarchicalGate(depth=2, alpha=0.5, tol=1e-10), 4),
    }[name]


def _fit(family, gate_name, n=300, seed=0):
    gate, K = _gate(gate_name)
    d = 2 if (gate_name.startswith("gaussian") or K == 4) else 1
    X, y = _data(family, n, d, np.random.RandomState(seed))
    moe = MixtureOfExpertsRegressor(
        _expert(family), n_experts=K, gate=gate, tol=1e-12, max_iter=3000, random_state=seed
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        moe.fit(X, y)
    return moe, X, y


# --- the oracle: the parameters from public attributes, and the log-likelihood --------------


def _oracle_params(moe, family, gate_name):
    """The reported parameters, rebuilt from the fitted model's public attributes."""
    g = moe.gate_
    out = []
    if gate_name in ("softmax", "constant"):
        eta = (
            np.vstack([g.coef_, g.intercept_[None]])
            if gate_name == "softmax"
            else np.log(g.weights_)[None]
        )
        out += list((eta[:, 1:] - eta[:, :1]).T.ravel())
    elif gate_name.startswith("hierarchical"):
        eta = np.concatenate([g.coef_, g.intercept_[:, None, :]], axis=1)  # (N, q, B)
        out += list((eta[:, :, 1:] - eta[:, :, :1]).transpose(0, 2, 1).ravel())
    else:
        out += list(np.log(g.weights_[1:] / g.weights_[0])) + list(g.means_.ravel())
        C = g.covariances_
        iu = np.triu_indices(g.means_.shape[1])
        ct = g.covariance_type
        out += list(
            C[:, iu[0], iu[1]].ravel() if ct == "full" else C[iu] if ct == "tied" else C.ravel()
        )
    for k, e in enumerate(moe.experts_):
        out += list(e.coef_) + [e.intercept_]
        if family == "linear":
            out.append(moe.noise_variance_[k])
        elif family == "t":
            out += [e.scale_, e.df_]
        elif family == "t-fixed":
            out.append(e.scale_)
    return np.array(out, dtype=float)


def _oracle_loglik(theta, moe, family, gate_name, X, y, w):
    K = len(moe.experts_)
    n, d = X.shape
    Z = np.hstack([X, np.ones((n, 1))])
    i = 0
    if gate_name in ("softmax", "constant"):
        q = d + 1 if gate_name == "softmax" else 1
        C = theta[: (K - 1) * q].reshape(K - 1, q)
        i = (K - 1) * q
        logits = np.hstack([np.zeros((n, 1)), Z[:, -q:] @ C.T if q == 1 else Z @ C.T])
        A = log_softmax(logits, axis=1)
        penalty = 0.0
    elif gate_name.startswith("hierarchical"):
        g = moe.gate_
        N = g.n_nodes_
        C = theta[: N * (d + 1)].reshape(N, 1, d + 1)
        i = N * (d + 1)
        node = [log_softmax(np.hstack([np.zeros((n, 1)), Z @ C[j].T]), axis=1) for j in range(N)]
        # Leaves 0..3 of a binary tree of depth 2: root branch, then node 1 or 2.
        A = np.column_stack([node[0][:, a] + node[1 + a][:, b] for a in range(2) for b in range(2)])
        # The gate's penalty 0.5 * alpha * ||V||^2 on the standardised slopes,
        # each node's slopes centred over its two branches (as fitted).
        slopes = C[:, 0, :d] * g._scale
        penalty = 0.5 * g.alpha * float(np.sum(2 * (slopes / 2) ** 2))
    else:
        ct = moe.gate_.covariance_type
        log_pi = log_softmax(np.concatenate([[0.0], theta[: K - 1]]))
        means = theta[K - 1 : K - 1 + K * d].reshape(K, d)
        i = K - 1 + K * d
        iu = np.triu_indices(d)
        m = len(iu[0])
        covs = []
        for k in range(K):
            if ct in ("full", "tied"):
                c = theta[i : i + m] if ct == "tied" else theta[i + k * m : i + (k + 1) * m]
                S = np.zeros((d, d))
                S[iu] = c
                covs.append(S + np.triu(S, 1).T)
            elif ct == "diag":
                covs.append(np.diag(theta[i + k * d : i + (k + 1) * d]))
            else:
                covs.append(theta[i + k] * np.eye(d))
        i += {"full": K * m, "tied": m, "diag": K * d, "spherical": K}[ct]
        A = np.column_stack(
            [log_pi[k] + stats.multivariate_normal(means[k], covs[k]).logpdf(X) for k in range(K)]
        )
        penalty = 0.0
    L = []
    for _ in range(K):
        b = theta[i : i + d]
        eta = X @ b + theta[i + d]
        i += d + 1
        if family == "linear":
            L.append(stats.norm.logpdf(y, eta, np.sqrt(theta[i])))
            i += 1
        elif family == "t":
            L.append(stats.t.logpdf(y, theta[i + 1], eta, theta[i]))
            i += 2
        elif family == "t-fixed":
            L.append(stats.t.logpdf(y, 5.0, eta, theta[i]))
            i += 1
        elif family == "poisson":
            L.append(stats.poisson.logpmf(y, np.exp(eta)))
        else:
            p = 1 / (1 + np.exp(-eta))
            L.append(stats.binom.logpmf(np.rint(y * N_TRIALS), N_TRIALS, p))
    assert i == theta.size
    return float(w @ logsumexp(A + np.column_stack(L), axis=1)) - penalty


def _fd_hessian(f, x, h):
    """Central second differences of function values (4 evaluations per entry)."""
    P = x.size
    H = np.empty((P, P))
    for a in range(P):
        for b in range(a, P):
            ea = np.zeros(P)
            eb = np.zeros(P)
            ea[a], eb[b] = h[a], h[b]
            H[a, b] = H[b, a] = (
                f(x + ea + eb) - f(x + ea - eb) - f(x - ea + eb) + f(x - ea - eb)
            ) / (4 * h[a] * h[b])
    return H


CASES = [
    (family, gate)
    for family in ("linear", "t", "t-fixed", "poisson", "binomial")
    for gate in ("softmax", "constant", "gaussian", "hierarchical")
] + [
    ("linear", "gaussian-diag"),
    ("linear", "gaussian-tied"),
    ("linear", "gaussian-spherical"),
    ("poisson", "gaussian-diag"),
    ("linear", "hierarchical-penalised"),
]


@pytest.mark.parametrize("family, gate_name", CASES, ids=lambda v: str(v))
def test_standard_errors_match_an_independent_hessian(family, gate_name):
    moe, X, y = _fit(family, gate_name)
    res = moe.summary(X, y)
    theta = _oracle_params(moe, family, gate_name)
    fixed = np.array([n.startswith("df[") for n in res.param_names]) & (family == "t-fixed")
    free = ~fixed
    assert_allclose(res.params[free], theta, rtol=1e-9, atol=1e-12)
    w = np.ones(len(y))

    def f(t):
        return _oracle_loglik(t, moe, family, gate_name, X, y, w)

    H = _fd_hessian(f, theta, 1e-3 * res.bse[free])
    se = np.sqrt(np.diag(np.linalg.inv(-H)))
    assert_allclose(res.bse[free], se, rtol=1e-3)
    # A fixed df is shown, without a standard error, and the notes say why.
    if family == "t-fixed":
        assert_allclose(res.params[fixed], 5.0)
        assert np.all(np.isnan(res.bse[fixed]))
        assert "fixed" in " ".join(res.notes)
    # The estimate is a maximum of that objective: the score is ~0.
    assert np.max(np.abs(res.score * res.bse[free])) < 1e-2


def test_generic_path_matches_the_analytic_hessian():
    """For linear-Gaussian experts and a softmax gate, the central differences of
    the generic analytic gradient reproduce the analytic Hessian."""
    from skmoe._inference import central_hessian, flat_parameters, mixture_loglik_derivatives
    from skmoe._mixture_loglik import MixtureLikelihood

    moe, X, y = _fit("linear", "softmax")
    moe.set_params(gate=SoftmaxGate(alpha=0.3, max_iter=100, tol=1e-10)).fit(X, y)
    lik = MixtureLikelihood(moe, X, y, np.ones(len(y)))
    Zg, Ze, theta, _, pen, scale = flat_parameters(moe, X)
    assert_allclose(lik.theta, theta)
    obj, grad, hess = mixture_loglik_derivatives(theta, Zg, Ze, y, np.ones(len(y)), 2, pen, scale)
    assert_allclose(lik.objective(theta), obj, rtol=1e-12)
    assert_allclose(lik.gradient(theta), grad, atol=1e-8 * np.abs(hess).max())
    assert_allclose(
        central_hessian(lik.gradient, theta, lik.steps(theta)),
        hess,
        rtol=1e-5,
        atol=1e-6 * np.abs(hess).max(),
    )


@pytest.mark.parametrize("gate_name", ["softmax", "gaussian", "hierarchical"])
def test_row_log_likelihood_is_the_models(gate_name):
    """The generic per-row log-likelihood is the model's (plus log p(x) for the
    Gaussian gate, which models x)."""
    from skmoe._mixture_loglik import MixtureLikelihood

    moe, X, y = _fit("t", gate_name)
    lik = MixtureLikelihood(moe, X, y, np.ones(len(y)))
    ll, S = lik.row_terms(lik.theta)
    expected = moe.log_likelihood(X, y)
    if gate_name == "gaussian":
        expected = expected + moe.gate_._log_marginal(X)
    assert_allclose(ll, expected, rtol=1e-9, atol=1e-9)
    assert S.shape == (len(y), lik.theta.size)


# --- robust covariance ----------------------------------------------------------------


def _well_specified(n, seed):
    rng = np.random.RandomState(seed)
    x = rng.uniform(-2, 2, size=n)
    z = rng.uniform(size=n) < 1 / (1 + np.exp(-(2 * x + 0.3)))
    y = np.where(z, -1 - x, 1 + 2 * x) + np.where(z, 0.7, 0.5) * rng.standard_normal(n)
    return x[:, None], y


def test_robust_matches_observed_when_well_specified():
    X, y = _well_specified(2000, 0)
    moe = MixtureOfExpertsRegressor(
        n_experts=2,
        gate=SoftmaxGate(alpha=0.0, max_iter=50),
        tol=1e-10,
        max_iter=2000,
        random_state=0,
    ).fit(X, y)
    obs = moe.summary(X, y)
    rob = moe.summary(X, y, cov_type="robust")
    assert rob.header["Covariance type"] == "robust" and rob.cov_type == "robust"
    assert "sandwich" in " ".join(rob.notes)
    assert_allclose(rob.params, obs.params)
    assert_allclose(rob.bse, obs.bse, rtol=0.15)


def test_robust_is_the_sandwich_from_scratch():
    """H^-1 J H^-1 with H the oracle's finite-difference Hessian and J the sum of
    the rows' score outer products, by finite differences of each row's
    log-likelihood (the oracle above, one row at a time)."""
    moe, X, y = _fit("poisson", "softmax", n=200)
    rob = moe.summary(X, y, cov_type="robust")
    obs = moe.summary(X, y)
    theta = _oracle_params(moe, "poisson", "softmax")
    n = len(y)
    h = 1e-3 * obs.bse
    H = _fd_hessian(
        lambda t: _oracle_loglik(t, moe, "poisson", "softmax", X, y, np.ones(n)), theta, h
    )
    S = np.empty((n, theta.size))
    for j in range(theta.size):
        e = np.zeros(theta.size)
        e[j] = h[j]
        for i in range(n):
            w = np.zeros(n)
            w[i] = 1.0
            S[i, j] = (
                _oracle_loglik(theta + e, moe, "poisson", "softmax", X, y, w)
                - _oracle_loglik(theta - e, moe, "poisson", "softmax", X, y, w)
            ) / (2 * h[j])
    Hinv = np.linalg.inv(-H)
    sandwich = Hinv @ (S.T @ S) @ Hinv
    assert_allclose(rob.cov_params(), sandwich, rtol=2e-3, atol=2e-3 * np.abs(sandwich).max())


def test_bad_cov_type_raises():
    moe, X, y = _fit("linear", "constant")
    with pytest.raises(ValueError, match=r"cov_type must be one of \['observed', 'robust'\]"):
        moe.summary(X, y, cov_type="sandwich")


# --- sample weights -------------------------------------------------------------------


def test_weighted_fit_requires_its_weights_and_they_are_frequency_weights():
    """Integer weights are repeated rows: the summary of a weighted fit equals
    the summary of the fit on the expanded data (same optimum, same information)."""
    X, y = _data("poisson", 150, 1, np.random.RandomState(1))
    w = np.random.RandomState(2).randint(1, 4, size=len(y)).astype(float)
    kw = dict(n_experts=2, gate="constant", tol=1e-12, max_iter=3000, random_state=0)
    weighted = MixtureOfExpertsRegressor(PoissonExpert(alpha=0.0), **kw).fit(X, y, sample_weight=w)
    with pytest.raises(ValueError, match="fitted with sample_weight.*Got sample_weight=None"):
        weighted.summary(X, y)
    res = weighted.summary(X, y, sample_weight=w)
    assert res.header["Sum of weights"] == w.sum()
    assert "frequency weights" in " ".join(res.notes)
    rep = np.repeat(np.arange(len(y)), w.astype(int))
    # The fit on the repeated rows reaches the same optimum.
    expanded = MixtureOfExpertsRegressor(PoissonExpert(alpha=0.0), **kw).fit(X[rep], y[rep])
    res_expanded = expanded.summary(X[rep], y[rep])
    order = np.argsort(res.params[-4:][[0, 2]])  # align the experts by slope
    order_e = np.argsort(res_expanded.params[-4:][[0, 2]])
    # Both fits are seeded: they must list their experts in the same order.
    assert np.array_equal(order, order_e)
    assert_allclose(res.params, res_expanded.params, rtol=1e-5, atol=1e-7)
    assert_allclose(res.bse, res_expanded.bse, rtol=1e-4)
    assert_allclose(res.llf, res_expanded.llf, rtol=1e-9)


# --- the classifier: robust covariance and sample weights -----------------------------


def _classifier_row_loglik(theta, X, y_idx, K, C):
    """``log sum_k g_k(x_i) p_k(y_i | x_i)`` per row, from scratch (softmax gate)."""
    n, d = X.shape
    Z = np.hstack([X, np.ones((n, 1))])
    q = d + 1
    G = theta[: (K - 1) * q].reshape(K - 1, q)
    E = theta[(K - 1) * q :].reshape(K, C - 1, q)
    log_g = log_softmax(np.hstack([np.zeros((n, 1)), Z @ G.T]), axis=1)
    cols = []
    for k in range(K):
        log_p = log_softmax(np.hstack([np.zeros((n, 1)), Z @ E[k].T]), axis=1)
        cols.append(log_g[:, k] + log_p[np.arange(n), y_idx])
    return logsumexp(np.column_stack(cols), axis=1)


def _classifier_data(n, seed):
    from skmoe.datasets import make_moe_classification

    X, y, _ = make_moe_classification(n_samples=n, n_classes=3, random_state=seed)
    return X, y


def test_classifier_robust_is_the_sandwich_from_scratch():
    from skmoe import MixtureOfExpertsClassifier

    X, y = _classifier_data(300, 0)
    clf = MixtureOfExpertsClassifier(n_experts=2, tol=1e-10, max_iter=2000, random_state=0)
    clf.fit(X, y)
    obs = clf.summary(X, y)
    rob = clf.summary(X, y, cov_type="robust")
    assert rob.header["Covariance type"] == "robust" and "sandwich" in " ".join(rob.notes)
    y_idx = np.searchsorted(clf.classes_, y)
    theta, P = obs.params, obs.params.size
    S = np.empty((len(y), P))
    for j in range(P):
        e = np.zeros(P)
        e[j] = 1e-4 * obs.bse[j]
        S[:, j] = (
            _classifier_row_loglik(theta + e, X, y_idx, 2, 3)
            - _classifier_row_loglik(theta - e, X, y_idx, 2, 3)
        ) / (2 * e[j])
    Hinv = np.linalg.inv(obs.information)
    assert_allclose(rob.cov_params(), Hinv @ (S.T @ S) @ Hinv, rtol=1e-4, atol=1e-9)


def test_classifier_weighted_fit_requires_its_weights():
    from skmoe import MixtureOfExpertsClassifier

    X, y = _classifier_data(200, 1)
    w = np.random.RandomState(0).randint(1, 3, size=len(y)).astype(float)
    clf = MixtureOfExpertsClassifier(
        n_experts=2, gate="constant", tol=1e-10, max_iter=3000, random_state=0
    )
    clf.fit(X, y, sample_weight=w)
    with pytest.raises(ValueError, match="fitted with sample_weight"):
        clf.summary(X, y)
    res = clf.summary(X, y, sample_weight=w)
    y_idx = np.searchsorted(clf.classes_, y)
    # The weighted log-likelihood, and its score ~0 at the weighted estimate.
    ll = _classifier_row_loglik_constant(res.params, X, y_idx, 2, 3)
    assert_allclose(res.llf, w @ ll, rtol=1e-10)
    assert res.header["Sum of weights"] == w.sum()
    assert np.max(np.abs(res.score * res.bse)) < 1e-2
    with pytest.raises(ValueError, match="cov_type"):
        clf.summary(X, y, sample_weight=w, cov_type="HC0")


def _classifier_row_loglik_constant(theta, X, y_idx, K, C):
    n, d = X.shape
    Z = np.hstack([X, np.ones((n, 1))])
    log_g = log_softmax(np.concatenate([[0.0], theta[: K - 1]]))
    E = theta[K - 1 :].reshape(K, C - 1, d + 1)
    cols = []
    for k in range(K):
        log_p = log_softmax(np.hstack([np.zeros((n, 1)), Z @ E[k].T]), axis=1)
        cols.append(log_g[k] + log_p[np.arange(n), y_idx])
    return logsumexp(np.column_stack(cols), axis=1)


def test_blocks_of_rows_change_nothing():
    """The likelihood summed over blocks of rows (bounded memory) equals one block."""
    from skmoe._mixture_loglik import MixtureLikelihood

    moe, X, y = _fit("t", "hierarchical")
    w = np.random.RandomState(0).uniform(0.5, 2.0, size=len(y))
    one = MixtureLikelihood(moe, X, y, w)
    many = MixtureLikelihood(moe, X, y, w, chunk_rows=37)
    t = one.theta
    assert len(many._chunks) > 5
    assert_allclose(many.objective(t), one.objective(t), rtol=1e-12)
    assert_allclose(many.gradient(t), one.gradient(t), rtol=1e-9, atol=1e-9)
    assert_allclose(many.score_outer(t), one.score_outer(t), rtol=1e-10)
    assert_allclose(many.row_terms(t)[1], one.row_terms(t)[1], rtol=1e-12)


# --- against R flexmix's refit(), values stored -----------------------------------------

# flexmix's tribolium data (27 rows of 50 beetles; Species Castaneum, Confusum, Madens).
# The reference values come from R 4.2, flexmix:
#   data(tribolium); set.seed(1)
#   m <- stepFlexmix(cbind(Remaining, Total - Remaining) ~ Species, k = 2, data = tribolium,
#                    model = FLXMRglm(family = "binomial"), nrep = 20,
#                    control = list(tolerance = 1e-12, iter.max = 10000, minprior = 0))
#   r <- refit(m); logLik(m); r@coef; sqrt(diag(r@vcov))
TRIBOLIUM_REMAINING = [25, 26, 26, 29, 28, 27, 26, 20, 14, 24, 14, 24, 14, 13, 19, 10, 7, 14]
TRIBOLIUM_REMAINING += [15, 26, 32, 32, 19, 16, 13, 15, 23]
FLEXMIX_LOGLIK = -80.5675133427
# Per component: (Intercept), SpeciesConfusum, SpeciesMadens; then log(pi_2 / pi_1).
FLEXMIX_COEF = {
    "comp1": [-0.730515110409, 0.532763911717, 1.095524990552],
    "comp2": [0.100426648494, -1.211729473631, -0.789853259491],
    "alpha": 0.970989453818,
}
FLEXMIX_SE = {
    "comp1": [0.339350247640, 0.401557517103, 0.403520326170],
    "comp2": [0.113783087956, 0.189856146730, 0.193542681788],
    "alpha": 0.512905032589,
}


def test_binomial_mixture_matches_flexmix_refit():
    """Binomial experts, constant gate, at flexmix's optimum: equal log-likelihood,
    estimates and standard errors (to 1e-4; flexmix's own Hessian is a finite
    difference of optim's, accurate to about 1e-6 here)."""
    species = np.repeat([0, 1, 2], 9)
    X = np.column_stack([species == 1, species == 2]).astype(float)  # Confusum, Madens
    y = np.array(TRIBOLIUM_REMAINING, dtype=float) / 50
    moe = MixtureOfExpertsRegressor(
        BinomialExpert(n_trials=50, alpha=0.0),
        n_experts=2,
        gate="constant",
        n_init=10,
        tol=1e-12,
        max_iter=10000,
        random_state=0,
    ).fit(X, y)
    res = moe.summary(X, y)
    assert_allclose(res.llf, FLEXMIX_LOGLIK, rtol=1e-9)
    # skmoe's expert 0 is flexmix's component 2 or 1; the gate's contrast flips sign.
    first = "comp2" if abs(res.params[3] - FLEXMIX_COEF["comp2"][0]) < 1e-3 else "comp1"
    second = "comp1" if first == "comp2" else "comp2"
    sign = -1.0 if first == "comp2" else 1.0

    def ours(block):  # skmoe orders slopes then intercept
        v = FLEXMIX_COEF[block]
        return [v[1], v[2], v[0]]

    def ours_se(block):
        v = FLEXMIX_SE[block]
        return [v[1], v[2], v[0]]

    coef = [sign * FLEXMIX_COEF["alpha"], *ours(first), *ours(second)]
    se = [FLEXMIX_SE["alpha"], *ours_se(first), *ours_se(second)]
    assert_allclose(res.params, coef, rtol=1e-5, atol=1e-6)
    assert_allclose(res.bse, se, rtol=1e-4)


# flexmix's patent data (70 firms): Patents, lgRD = log R&D spending, RDS = R&D / sales.
PATENT_PATENTS = [
    42,
    1,
    3,
    2,
    3,
    40,
    60,
    30,
    7,
    3,
    5,
    59,
    26,
    3,
    0,
    66,
    0,
    8,
    2,
    4,
    0,
    0,
    3,
    6,
    3,
    0,
    6,
    2,
    3,
    0,
    1,
    1,
    0,
    25,
    2,
    4,
    1,
    1,
    51,
    105,
    1,
    0,
    0,
    166,
    8,
    6,
    173,
    25,
    14,
    3,
    0,
    0,
    2,
    93,
    3,
    2,
    0,
    5,
    23,
    11,
    13,
    0,
    90,
    63,
    112,
    115,
    48,
    15,
    69,
    4,
]
PATENT_LGRD = [
    4.0869,
    -2.0794,
    0.1187,
    1.8796,
    1.1033,
    2.0794,
    4.0953,
    2.8333,
    1.3915,
    2.6048,
    0.7957,
    3.5207,
    3.0001,
    0.5371,
    0.7761,
    4.2338,
    2.2178,
    0.851,
    -0.1567,
    1.8358,
    -1.6045,
    0.7071,
    -0.9916,
    1.2296,
    -0.531,
    -1.231,
    0.927,
    -1.1332,
    -0.0419,
    -1.8326,
    -1.8264,
    -0.1985,
    -1.7838,
    3.5525,
    -2.5639,
    0.4523,
    1.0529,
    1.4873,
    2.7793,
    4.7233,
    -0.6444,
    -2.9565,
    -0.9545,
    4.7278,
    2.1831,
    1.5773,
    4.9152,
    3.1807,
    1.4036,
    1.0043,
    -2.333,
    -0.1815,
    0.267,
    4.4785,
    0.7105,
    0.2979,
    -2.8647,
    2.7622,
    3.4383,
    2.5439,
    2.4436,
    -0.4125,
    3.9865,
    3.962,
    4.0029,
    3.9051,
    3.5909,
    2.9242,
    3.1707,
    1.8089,
]
PATENT_RDS = [
    0.0549,
    0.0032,
    0.0078,
    0.0803,
    0.0686,
    3.3319,
    0.0243,
    0.0128,
    0.0252,
    0.0094,
    0.0146,
    0.0496,
    0.0395,
    0.078,
    0.0171,
    0.0347,
    0.0569,
    0.1095,
    0.019,
    0.0084,
    0.1003,
    0.0623,
    0.0707,
    0.0359,
    0.0596,
    0.0076,
    0.0185,
    0.008,
    0.064,
    0.078,
    0.0025,
    0.004,
    0.0329,
    0.0234,
    0.0387,
    0.0133,
    0.0324,
    0.0882,
    0.0587,
    0.0446,
    0.0131,
    0.016,
    0.0143,
    0.0843,
    0.032,
    0.0599,
    0.0821,
    0.0535,
    0.0226,
    0.0397,
    0.0103,
    0.7159,
    0.0107,
    0.0467,
    0.0369,
    0.0316,
    0.0355,
    0.0166,
    0.0417,
    0.0447,
    0.0401,
    0.005,
    0.0618,
    0.069,
    0.0813,
    0.0409,
    0.0331,
    0.0323,
    0.0859,
    0.0591,
]
# R 4.2, flexmix, for each concomitant model conc in FLXPconstant(), FLXPmultinom(~ RDS):
#   data(patent); set.seed(1)
#   m <- stepFlexmix(Patents ~ lgRD, k = 2, data = patent, concomitant = conc,
#                    model = FLXMRglm(family = "poisson"), nrep = 20,
#                    control = list(tolerance = 1e-12, iter.max = 10000, minprior = 0))
#   r <- refit(m); logLik(m); r@coef; sqrt(diag(r@vcov))
# Values in skmoe's order for the labelling with skmoe's expert 0 = flexmix's component 1:
# gate (slope then intercept), then per expert lgRD slope then intercept.
FLEXMIX_PATENT = {
    "constant": dict(
        loglik=-219.636790862,
        coef=[-0.870810543742, 1.025082686110, -0.157805878425, 0.724620390945, 1.705128330572],
        se=[0.3908873943290, 0.0568561113084, 0.2222886976854, 0.0462787071033, 0.1941214543640],
    ),
    "softmax": dict(
        loglik=-218.490769012,
        coef=[-1.298082735090, 1.084936982488, 0.712710894781, 1.756489752013]
        + [1.012334772676, -0.106090759776],
        se=[1.4386133597972, 0.4296861212521, 0.0477062791551, 0.2014095475157]
        + [0.0537601411224, 0.2117477814620],
    ),
}


@pytest.mark.parametrize("gate_name", ["constant", "softmax"])
def test_poisson_mixture_matches_flexmix_refit(gate_name):
    """Poisson experts on flexmix's patent data, constant gate and softmax gate on RDS:
    the same optimum as flexmix, and its refit() standard errors to 2e-3 relative.
    The residual differences (up to 1.2e-3) are flexmix's: its Hessian is optim's
    finite difference with absolute steps of 1e-3, while skmoe's errors match the
    independent oracle of test_standard_errors_match_an_independent_hessian (and of
    benchmarks/bench_flexmix_se.py) to ~1e-5."""
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame({"lgRD": PATENT_LGRD, "RDS": PATENT_RDS})
    y = np.array(PATENT_PATENTS, dtype=float)
    kw = dict(n_experts=2, n_init=10, tol=1e-12, max_iter=10000, random_state=0)
    if gate_name == "constant":
        moe = MixtureOfExpertsRegressor(
            PoissonExpert(alpha=0.0), gate="constant", expert_features=["lgRD"], **kw
        )
    else:
        moe = MixtureOfExpertsRegressor(
            PoissonExpert(alpha=0.0),
            gate=SoftmaxGate(alpha=0.0, max_iter=200, tol=1e-12),
            gate_features=["RDS"],
            expert_features=["lgRD"],
            **kw,
        )
    moe.fit(X, y)
    res = moe.summary(X, y)
    ref = FLEXMIX_PATENT[gate_name]
    assert_allclose(res.llf, ref["loglik"], rtol=1e-9)
    coef, se = np.array(ref["coef"]), np.array(ref["se"])
    q = 2 if gate_name == "softmax" else 1
    if abs(res.params[q] - coef[q]) > 0.1:  # skmoe numbered the experts the other way
        coef = np.concatenate([-coef[:q], coef[q + 2 :], coef[q : q + 2]])
        se = np.concatenate([se[:q], se[q + 2 :], se[q : q + 2]])
    assert_allclose(res.params, coef, rtol=1e-4, atol=1e-5)
    assert_allclose(res.bse, se, rtol=2e-3)


@pytest.mark.parametrize("family, gate_name", [("t", "gaussian"), ("poisson", "hierarchical")])
def test_units_and_offsets_of_x_change_only_the_units(family, gate_name):
    """Fitting on ``c * X + b`` (c=1e4, b=1e6) gives slopes' standard errors divided
    by c, the Gaussian gate's means' multiplied by c and its (co)variances' by c^2, the
    noise parameters' unchanged: the difference steps are in standard errors, so
    no unit or offset costs digits."""
    from sklearn.base import clone

    moe, X, y = _fit(family, gate_name)
    res = moe.summary(X, y)
    c, b = 1e4, 1e6
    moved = clone(moe).set_params(gate=_gate(gate_name)[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        moved.fit(c * X + b, y)
    res2 = moved.summary(c * X + b, y)
    assert_allclose(res2.llf, res.llf, rtol=1e-8)
    expected = np.ones(len(res.bse))
    for i, name in enumerate(res.param_names):
        if name.startswith(("x0", "x1", "gate:x0", "gate:x1")) or ":x0[" in name or ":x1[" in name:
            expected[i] = 1 / c
        elif name.startswith("gate:mean"):
            expected[i] = c
        elif name.startswith(("gate:var", "gate:cov")):
            expected[i] = c**2
        elif "const" in name:
            expected[i] = np.nan  # the intercept at x = 0 moves with the offset
    keep = np.isfinite(expected) & np.isfinite(res.bse)
    assert keep.sum() >= 8
    assert_allclose(res2.bse[keep] / res.bse[keep], expected[keep], rtol=1e-4)
