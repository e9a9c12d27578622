"""Standard errors of the linear-Gaussian mixture (MixtureOfExpertsRegressor.standard_errors).

The observed information is checked against a central-difference Hessian of
a log-likelihood written here from scratch (not the library's), against
statsmodels' OLS in the one-expert case, and by a small Monte-Carlo study
(standard errors against the spread of the estimates over replicates).
"""

import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from scipy.special import log_softmax, logsumexp
from scipy.stats import norm
from sklearn.exceptions import NotFittedError
from sklearn.tree import DecisionTreeRegressor

from skmoe import HierarchicalGate, MixtureOfExpertsRegressor, SoftmaxGate
from skmoe.datasets import make_moe_regression
from skmoe.experts import LinearExpert


def _naive_objective(theta, Xg, Xe, y, w, K, alpha, scale):
    """Penalised log-likelihood in the documented layout, from first principles.

    theta: for k = 1..K-1 the gate contrast [slopes on Xg, intercept]; then for
    k = 0..K-1 the expert's [slopes on Xe, intercept, log sigma].
    """
    n, dg = Xg.shape
    de = Xe.shape[1]
    m = (K - 1) * (dg + 1)
    gate = np.zeros((dg + 1, K))
    gate[:, 1:] = theta[:m].reshape(K - 1, dg + 1).T
    logits = Xg @ gate[:dg] + gate[dg]
    experts = theta[m:].reshape(K, de + 2)
    mean = Xe @ experts[:, :de].T + experts[:, de]
    log_dens = norm.logpdf(y[:, None], loc=mean, scale=np.exp(experts[:, de + 1]))
    obj = w @ logsumexp(log_softmax(logits, axis=1) + log_dens, axis=1)
    if alpha > 0:
        # 0.5 alpha ||V||^2 on standardised slopes, the common shift profiled out.
        V = gate[:dg].T * scale  # (K, dg), V_0 = 0
        obj -= 0.5 * alpha * np.sum((V - V.mean(axis=0)) ** 2)
    return obj


def _fd_hessian(f, theta):
    """Central second differences, step scaled to each coordinate."""
    P = theta.size
    h = 1e-4 * np.maximum(1.0, np.abs(theta))
    H = np.empty((P, P))
    for i in range(P):
        for j in range(i, P):
            ei = np.zeros(P)
            ej = np.zeros(P)
            ei[i] = h[i]
            ej[j] = h[j]
            H[i, j] = H[j, i] = (
                f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej) + f(theta - ei - ej)
            ) / (4 * h[i] * h[j])
    return H


def _tight(gate, n_experts=3, **kwargs):
    return MixtureOfExpertsRegressor(
        n_experts=n_experts, gate=gate, tol=1e-10, max_iter=2000, random_state=0, **kwargs
    )


@pytest.mark.parametrize(
    "gate, weighted",
    [
        (SoftmaxGate(alpha=0.5, tol=1e-10, max_iter=1000), False),
        (SoftmaxGate(alpha=0.0, tol=1e-10, max_iter=1000), True),
        ("constant", False),
    ],
)
def test_information_matches_finite_difference_hessian(gate, weighted):
    X, y, _ = make_moe_regression(
        n_samples=300, n_features=2, n_experts=3, noise=0.5, random_state=0
    )
    w = np.random.RandomState(1).randint(1, 4, size=300).astype(float) if weighted else np.ones(300)
    moe = _tight(gate).fit(X, y, sample_weight=w if weighted else None)
    table = moe.standard_errors(X, y, sample_weight=w if weighted else None)
    K = 3
    if gate == "constant":
        Xg, alpha, scale = np.zeros((300, 0)), 0.0, None
    else:
        Xg, alpha = X, moe.gate_.alpha
        scale = np.sqrt(np.average((X - np.average(X, axis=0, weights=w)) ** 2, axis=0, weights=w))
    theta = table.estimate

    def f(t):
        return _naive_objective(t, Xg, X, y, w, K, alpha, scale)

    H = _fd_hessian(f, theta)
    assert_allclose(-table.information, H, rtol=1e-4, atol=1e-6 * np.abs(H).max())
    # At the EM optimum the score (of the penalised objective) vanishes.
    assert np.abs(table.gradient).max() < 1e-4 * np.abs(H).max()
    # Standard errors are the square roots of the inverse information.
    assert_allclose(table.std_error, np.sqrt(np.diag(np.linalg.inv(-H))), rtol=1e-3)
    # The layout is the documented one and describes the fitted model.
    d = 2
    gate_rows = (K - 1) * ((d + 1) if gate != "constant" else 1)
    experts = theta[gate_rows:].reshape(K, d + 2)
    for k in range(K):
        assert_allclose(experts[k, :d], moe.experts_[k].coef_)
        assert_allclose(experts[k, d], moe.experts_[k].intercept_)
        assert_allclose(np.exp(2 * experts[k, d + 1]), moe.noise_variance_[k])
    gate_params = np.zeros((Xg.shape[1] + 1, K))
    gate_params[:, 1:] = theta[:gate_rows].reshape(K - 1, -1).T
    logits = Xg @ gate_params[:-1] + gate_params[-1]
    assert_allclose(np.exp(log_softmax(logits, axis=1)), moe.predict_gate(X), rtol=1e-8, atol=1e-12)
    assert table.parameter[0] == (
        "gate[1 vs 0]:x0" if gate != "constant" else "gate[1 vs 0]:intercept"
    )
    assert list(table.parameter[-4:]) == [
        "expert2:x0",
        "expert2:x1",
        "expert2:intercept",
        "expert2:log_sigma",
    ]


def test_one_expert_matches_statsmodels_ols():
    rng = np.random.RandomState(0)
    n = 250
    # Features on very different scales and far from zero.
    X = rng.standard_normal((n, 3)) * [1.0, 10.0, 0.1] + [0.0, 5.0, -2.0]
    y = X @ [1.0, -0.2, 3.0] + 2.0 + 0.7 * rng.standard_normal(n)
    table = MixtureOfExpertsRegressor(n_experts=1).fit(X, y).standard_errors(X, y)
    ols = sm.OLS(y, np.column_stack([X, np.ones(n)])).fit()
    p = 4
    assert_allclose(table.estimate[:p], ols.params, rtol=1e-6)
    # Maximum-likelihood SEs: statsmodels' s^2 = RSS / (n - p), ours RSS / n.
    assert_allclose(table.std_error[:p], ols.bse * np.sqrt((n - p) / n), rtol=1e-8)
    assert_allclose(table.z[:p], ols.tvalues * np.sqrt(n / (n - p)), rtol=1e-6)
    assert_allclose(table.estimate[p], 0.5 * np.log(ols.ssr / n), rtol=1e-8)
    assert_allclose(table.std_error[p], 1 / np.sqrt(2 * n), rtol=1e-8)
    assert np.isnan(table.z[p]) and np.isnan(table.p_value[p])
    assert list(table.parameter) == [
        "expert0:x0",
        "expert0:x1",
        "expert0:x2",
        "expert0:intercept",
        "expert0:log_sigma",
    ]
    # Integer weights act as repeated rows.
    reps = rng.randint(1, 4, size=n)
    rows = np.repeat(np.arange(n), reps)
    weighted = MixtureOfExpertsRegressor(n_experts=1).fit(X, y, sample_weight=reps)
    tw = weighted.standard_errors(X, y, sample_weight=reps)
    ols_rep = sm.OLS(y[rows], np.column_stack([X[rows], np.ones(rows.size)])).fit()
    assert_allclose(tw.std_error[:p], ols_rep.bse * np.sqrt((rows.size - p) / rows.size), rtol=1e-6)


def _draw(rng, n):
    X = rng.standard_normal((n, 1))
    gate = np.exp(log_softmax(np.column_stack([np.zeros(n), 2.0 * X[:, 0] + 0.3]), axis=1))
    z = (rng.uniform(size=n) < gate[:, 1]).astype(int)
    coef, intercept, sigma = np.array([1.0, -1.0]), np.array([-2.0, 2.0]), np.array([0.5, 0.8])
    y = coef[z] * X[:, 0] + intercept[z] + sigma[z] * rng.standard_normal(n)
    return X, y


def test_standard_errors_match_the_spread_of_estimates():
    """Monte Carlo: SEs of a two-expert softmax mixture vs the spread over replicates."""
    rng = np.random.RandomState(0)
    truth = np.array([2.0, 0.3, 1.0, -2.0, np.log(0.5), -1.0, 2.0, np.log(0.8)])
    estimates, ses, covered = [], [], []
    for _ in range(60):
        X, y = _draw(rng, 400)
        moe = MixtureOfExpertsRegressor(n_experts=2, gate=SoftmaxGate(alpha=0.0), random_state=0)
        table = moe.fit(X, y).standard_errors(X, y)
        est, se = table.estimate.copy(), table.std_error.copy()
        if est[3] > est[6]:  # labels swapped: reorder experts, flip the gate contrast
            est = np.concatenate([-est[:2], est[5:8], est[2:5]])
            se = np.concatenate([se[:2], se[5:8], se[2:5]])
        estimates.append(est)
        ses.append(se)
        covered.append(np.abs(est - truth) <= 1.96 * se)
    estimates, ses = np.array(estimates), np.array(ses)
    ratio = ses.mean(axis=0) / estimates.std(axis=0, ddof=1)
    assert np.all((ratio > 0.75) & (ratio < 1.33)), ratio
    assert np.all(np.mean(covered, axis=0) >= 0.85), np.mean(covered, axis=0)


def test_feature_subsets_name_and_use_the_right_columns():
    X, y, _ = make_moe_regression(
        n_samples=300, n_features=3, n_experts=2, noise=0.5, random_state=2
    )
    moe = _tight(SoftmaxGate(alpha=0.0, tol=1e-10, max_iter=1000), n_experts=2)
    moe.set_params(gate_features=[2], expert_features=[0, 1]).fit(X, y)
    table = moe.standard_errors(X, y)
    assert list(table.parameter) == [
        "gate[1 vs 0]:x2",
        "gate[1 vs 0]:intercept",
        "expert0:x0",
        "expert0:x1",
        "expert0:intercept",
        "expert0:log_sigma",
        "expert1:x0",
        "expert1:x1",
        "expert1:intercept",
        "expert1:log_sigma",
    ]
    w = np.ones(300)

    def f(t):
        return _naive_objective(t, X[:, [2]], X[:, :2], y, w, 2, 0.0, None)

    assert_allclose(-table.information, _fd_hessian(f, table.estimate), rtol=1e-4, atol=1e-3)


def test_table_api_and_feature_names():
    pd = pytest.importorskip("pandas")
    X, y, _ = make_moe_regression(n_samples=200, n_features=2, n_experts=2, random_state=0)
    Xdf = pd.DataFrame(X, columns=["age", "dose"])
    table = (
        MixtureOfExpertsRegressor(n_experts=2, random_state=0).fit(Xdf, y).standard_errors(Xdf, y)
    )
    frame = table.to_frame()
    assert list(frame.columns) == ["parameter", "estimate", "std_error", "z", "p_value"]
    assert list(frame.parameter[:3]) == [
        "gate[1 vs 0]:age",
        "gate[1 vs 0]:dose",
        "gate[1 vs 0]:intercept",
    ]
    assert table.covariance.shape == table.information.shape == (11, 11)
    assert "expert1:log_sigma" in repr(table)
    assert np.all(np.isfinite(table.std_error)) and np.all(table.std_error > 0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(experts=DecisionTreeRegressor(max_depth=2)), "built-in linear-Gaussian experts"),
        (dict(m_step="stochastic"), "built-in linear-Gaussian experts"),
        (dict(gate="gaussian"), "gate='softmax' and gate='constant' only.*GaussianGate"),
        (dict(gate=HierarchicalGate(depth=1)), "HierarchicalGate"),
    ],
)
def test_unsupported_models_raise(kwargs, match):
    X, y, _ = make_moe_regression(n_samples=100, n_experts=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        moe = MixtureOfExpertsRegressor(n_experts=2, random_state=0, **kwargs).fit(X, y)
    with pytest.raises(NotImplementedError, match=match):
        moe.standard_errors(X, y)


def test_explicit_linear_expert_is_supported_and_unfitted_raises():
    X, y, _ = make_moe_regression(n_samples=100, n_experts=2, random_state=0)
    with pytest.raises(NotFittedError):
        MixtureOfExpertsRegressor().standard_errors(X, y)
    moe = MixtureOfExpertsRegressor(LinearExpert(), n_experts=2, random_state=0).fit(X, y)
    assert np.all(np.isfinite(moe.standard_errors(X, y).std_error))


def test_singular_information_warns_and_gives_nan():
    rng = np.random.RandomState(0)
    x = rng.standard_normal(100)
    X = np.column_stack([x, x])  # collinear: slopes not identifiable
    y = x + 0.1 * rng.standard_normal(100)
    moe = MixtureOfExpertsRegressor(n_experts=1).fit(X, y)
    with pytest.warns(UserWarning, match=r"not positive definite.*\['expert0:x0', 'expert0:x1'\]"):
        table = moe.standard_errors(X, y)
    assert np.isnan(table.std_error[:2]).all()
    assert np.isnan(table.covariance[:2]).all() and np.isnan(table.covariance[:, :2]).all()
    # The identified parameters keep their standard errors.
    assert np.all(np.isfinite(table.std_error[2:]))
    assert_allclose(table.std_error[3], 1 / np.sqrt(2 * 100), rtol=1e-6)
