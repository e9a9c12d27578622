"""Markov-switching mixtures of experts (issue 4 B).

Oracles: statsmodels' ``MarkovRegression`` (``switching_variance=True``) --
the log-likelihood, per-observation predictive densities and regime
probabilities at the parameters statsmodels estimates; the maximum it
reaches on real series shipped with statsmodels; and the Stata reference
values statsmodels' own test suite publishes for the ``areturns`` series.
"""

import itertools
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge
from sklearn.tree import DecisionTreeRegressor

from skmoe import MarkovSwitchingClassifier, MarkovSwitchingRegressor
from skmoe.sequence._markov_fit import LinearGaussianPolish, stationary_distribution

sm_mr = pytest.importorskip("statsmodels.tsa.regime_switching.markov_regression")
# The data arrays of statsmodels' own regime-switching tests (shipped in the wheel).
sm_data = pytest.importorskip("statsmodels.tsa.regime_switching.tests.test_markov_regression")

FEDFUNDS = np.asarray(sm_data.fedfunds, dtype=float)
OGAP = np.asarray(sm_data.ogap, dtype=float)
AR = np.asarray(sm_data.areturns, dtype=float)


def _sm_fit(y, exog=None, exog_tvtp=None):
    mod = sm_mr.MarkovRegression(
        y, k_regimes=2, exog=exog, exog_tvtp=exog_tvtp, switching_variance=True
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mod.fit(disp=False)
    return mod, res


def _set_statsmodels_params(ms, mod, params):
    """Write statsmodels' parameters into a fitted skmoe model (built-in experts;
    statsmodels' exog is [const, expert features], its exog_tvtp [const, transition
    features])."""
    S = mod.k_regimes
    ex = ms._expert_set
    coefs = np.array([params[mod.parameters[i, "exog"]] for i in range(S)])
    ex.intercept = coefs[:, 0].copy()
    ex.coef = np.ascontiguousarray(coefs[:, 1:].T)
    ex.variance = np.asarray(params[mod.parameters["variance"]], dtype=float).copy()
    ch = ms._chain
    if not mod.tvtp:
        # statsmodels' matrix is left-stochastic: [i, j] = P(j -> i)
        ch.log_A = np.log(mod.regime_transition_matrix(params)[:, :, 0].T)
    else:
        kt = mod.k_tvtp
        W = np.zeros((S, kt, S))  # last regime is statsmodels' reference (zero logit)
        for i in range(S):
            W[i, :, : S - 1] = params[mod.parameters[i, "regime_transition"]].reshape(S - 1, kt).T
        coef, intercept = W[:, 1:, :], W[:, 0, :]
        ch.V = coef * ch.scale[None, :, None]
        ch.c = intercept + np.einsum("d,idj->ij", ch.mean, coef)


def _unfitted_shell(X, y, **kw):
    """A fitted model whose parameters are about to be overwritten."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MarkovSwitchingRegressor(max_iter=1, polish=False, random_state=0, **kw).fit(X, y)


# --------------------------------------------------------------------------- #
# statsmodels fits shared by several tests
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def fedfunds_const():
    y = FEDFUNDS
    return (np.zeros((y.size, 1)), y) + _sm_fit(y)


@pytest.fixture(scope="module")
def areturns_lag():
    y, x = AR[1:], AR[:-1]
    return (x[:, None], y) + _sm_fit(y, exog=x)


@pytest.fixture(scope="module")
def fedfunds_tvtp():
    y, x, z = FEDFUNDS[1:], FEDFUNDS[:-1], OGAP[1:]
    return (np.column_stack([x, z]), y) + _sm_fit(
        y, exog=x, exog_tvtp=np.column_stack([np.ones_like(z), z])
    )


# --------------------------------------------------------------------------- #
# 1. Log-likelihood at statsmodels' estimates: 1e-8
# --------------------------------------------------------------------------- #
def _check_against_statsmodels(ms, X, y, res):
    llo = ms.log_likelihood(X, y)
    assert abs(llo.sum() - res.llf) < 1e-8
    assert_allclose(llo, res.llf_obs, rtol=0, atol=1e-10)
    assert_allclose(ms.filtered_regime_proba(X, y), res.filtered_marginal_probabilities, atol=1e-10)
    assert_allclose(ms.smoothed_regime_proba(X, y), res.smoothed_marginal_probabilities, atol=1e-10)
    assert_allclose(
        ms.predicted_regime_proba(X, y), res.predicted_marginal_probabilities, atol=1e-10
    )


@pytest.mark.parametrize("case", ["fedfunds_const", "areturns_lag"])
def test_loglik_matches_statsmodels_homogeneous(case, request):
    X, y, mod, res = request.getfixturevalue(case)
    kw = dict(expert_features=[]) if case == "fedfunds_const" else {}
    ms = _unfitted_shell(X, y, start="steady-state", **kw)
    _set_statsmodels_params(ms, mod, res.params)
    # statsmodels' default start: the stationary distribution (steady state)
    _check_against_statsmodels(ms, X, y, res)


def test_loglik_matches_statsmodels_known_start(areturns_lag):
    """statsmodels' known start ``p`` is the law of the regime two steps before the
    first observation (its filter runs at order 1 for MarkovRegression, whose
    conditional log-likelihoods are indexed by (z_t, z_{t-1})): the first regime
    has law ``p A A``, which is what skmoe's start distribution is set to."""
    X, y, mod, res = areturns_lag
    p = np.array([0.3, 0.7])
    mod_known = sm_mr.MarkovRegression(y, k_regimes=2, exog=X[:, 0], switching_variance=True)
    mod_known.initialize_known(p)
    res_known = mod_known.smooth(res.params)
    ms = _unfitted_shell(X, y, start="learned")
    _set_statsmodels_params(ms, mod, res.params)
    A = np.exp(ms._chain.log_A)
    ms._chain.log_start = np.log(p @ A @ A)
    _check_against_statsmodels(ms, X, y, res_known)


def test_loglik_matches_statsmodels_time_varying(fedfunds_tvtp):
    X, y, mod, res = fedfunds_tvtp
    ms = _unfitted_shell(
        X,
        y,
        start="steady-state",
        transitions="input",
        expert_features=[0],
        transition_features=[1],
    )
    _set_statsmodels_params(ms, mod, res.params)
    _check_against_statsmodels(ms, X, y, res)
    # statsmodels' (left-stochastic) per-step matrices, transposed
    A = ms.predict_transition_matrix(X)
    assert_allclose(
        A, np.transpose(mod.regime_transition_matrix(res.params), (2, 1, 0)), atol=1e-13
    )


# --------------------------------------------------------------------------- #
# 2. Reaching statsmodels' maximum on real series
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("case", ["fedfunds_const", "areturns_lag", "fedfunds_tvtp"])
def test_fit_reaches_statsmodels_maximum(case, request):
    X, y, mod, res = request.getfixturevalue(case)
    kw = {
        "fedfunds_const": dict(expert_features=[]),
        "areturns_lag": {},
        "fedfunds_tvtp": dict(
            transitions="input", expert_features=[0], transition_features=[1], transition_alpha=0.0
        ),
    }[case]
    for start in ["learned", "steady-state"]:
        ms = MarkovSwitchingRegressor(start=start, n_init=4, random_state=0, **kw).fit(X, y)
        ll = ms.log_likelihood(X, y).sum()
        # A learned start contains the steady state: at least statsmodels' maximum.
        assert ll >= res.llf - 1e-6, (start, ll, res.llf)
        assert ms.converged_
        assert_allclose(ms.transition_matrix_.sum(axis=1), 1.0, rtol=1e-12)
        assert_allclose(ms.lower_bound_ * y.size + ms._chain.penalty(), ll, rtol=1e-10)


def test_reproduces_statsmodels_published_areturns():
    """statsmodels' TestAreturnsConstL1Variance (Stata's ``mswitch dr``):
    the llf at the published parameters and the fitted maximum and parameters."""
    published = np.r_[
        0.7530865, 0.6825357, 0.7641424, 1.972771, 0.0790744, 0.527953, 0.5895792**2, 1.605333**2
    ]
    llf = -745.7977
    y, x = AR[1:], AR[:-1]
    X = x[:, None]
    mod = sm_mr.MarkovRegression(y, k_regimes=2, exog=x, switching_variance=True)
    ms = _unfitted_shell(X, y, start="steady-state")
    _set_statsmodels_params(ms, mod, published)
    assert_allclose(ms.log_likelihood(X, y).sum(), llf, atol=1e-5, rtol=1e-7)

    ms = MarkovSwitchingRegressor(start="steady-state", n_init=4, random_state=0).fit(X, y)
    assert_allclose(ms.log_likelihood(X, y).sum(), llf, atol=1e-5, rtol=1e-7)
    order = np.argsort(ms.noise_variance_)  # Stata's regime 0 is the calm one
    A = ms.transition_matrix_[np.ix_(order, order)]
    fitted = np.r_[
        A[0, 0],
        A[1, 0],
        np.asarray(ms._expert_set.intercept)[order],
        np.asarray(ms._expert_set.coef)[0, order],
        ms.noise_variance_[order],
    ]
    assert_allclose(fitted, published, atol=2e-4, rtol=1e-4)


# --------------------------------------------------------------------------- #
# 3. The polish: exact gradient, convergence with rare and frequent switches
# --------------------------------------------------------------------------- #
def _simulate(n, stay, rng, two_inputs=False):
    S = len(stay)
    A = np.full((S, S), 0.0)
    for i in range(S):
        A[i] = (1 - stay[i]) / (S - 1)
        A[i, i] = stay[i]
    z = np.zeros(n, dtype=int)
    for t in range(1, n):
        z[t] = rng.choice(S, p=A[z[t - 1]])
    X = rng.randn(n, 2 if two_inputs else 1)
    slopes = np.array([1.5, -1.0, 0.3])[:S]
    inter = np.array([0.0, 1.0, -2.0])[:S]
    sd = np.array([0.5, 1.0, 0.3])[:S]
    y = inter[z] + slopes[z] * X[:, 0] + sd[z] * rng.randn(n)
    return X, y, z


@pytest.mark.parametrize(
    "transitions, start",
    [
        ("homogeneous", "steady-state"),
        ("homogeneous", "learned"),
        ("input", "steady-state"),
        ("input", "learned"),
    ],
)
def test_polish_gradient_is_exact(transitions, start):
    """Fisher's identity (with the stationary start differentiated through the
    fundamental matrix) against central differences of the exact objective."""
    rng = np.random.RandomState(0)
    X, y, _ = _simulate(120, [0.9, 0.8], rng, two_inputs=True)
    kw = dict(transition_features=[1], transition_alpha=0.5) if transitions == "input" else {}
    ms = _unfitted_shell(X, y, transitions=transitions, start=start, expert_features=[0], **kw)
    Xe, Xt = ms._split(X)
    pol = LinearGaussianPolish(ms._chain, ms._expert_set, Xe, y, Xt, np.array([0, 70, 120]))
    theta = pol.pack() + 0.1 * rng.randn(pol.pack().size)
    _, grad = pol.value_and_grad(theta)
    eps = 1e-6
    num = np.empty_like(theta)
    for j in range(theta.size):
        tp, tm = theta.copy(), theta.copy()
        tp[j] += eps
        tm[j] -= eps
        num[j] = (pol.value_and_grad(tp)[0] - pol.value_and_grad(tm)[0]) / (2 * eps)
    assert_allclose(grad, num, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("stay", [[0.995, 0.99], [0.2, 0.3]], ids=["rare", "frequent"])
def test_converges_with_rare_and_frequent_switches(stay):
    rng = np.random.RandomState(1)
    X, y, z = _simulate(600, stay, rng)
    ms = MarkovSwitchingRegressor(n_init=2, random_state=0).fit(X, y)
    assert ms.converged_
    # A stationary point: the exact gradient vanishes ...
    Xe, Xt = ms._split(X)
    pol = LinearGaussianPolish(ms._chain, ms._expert_set, Xe, y, Xt, np.array([0, y.size]))
    _, grad = pol.value_and_grad(pol.pack())
    assert np.max(np.abs(grad)) < 1e-5
    # ... at least as good as EM alone run to a tight tolerance.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        em = MarkovSwitchingRegressor(
            n_init=2, polish=False, max_iter=2000, tol=1e-10, random_state=0
        ).fit(X, y)
    assert ms.lower_bound_ >= em.lower_bound_ - 1e-7
    # The regimes and their persistence are recovered.
    order = np.argsort(ms._expert_set.coef[0])[::-1]  # regime 0 has the larger slope
    assert_allclose(np.diag(ms.transition_matrix_)[order], stay, atol=0.1)
    assert np.mean(np.argmax(ms.smoothed_regime_proba(X, y)[:, order], axis=1) == z) > 0.85


def test_em_without_polish_is_monotone():
    rng = np.random.RandomState(2)
    X, y, _ = _simulate(300, [0.9, 0.85], rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ms = MarkovSwitchingRegressor(polish=False, max_iter=60, tol=0.0, random_state=0).fit(X, y)
    assert np.all(np.diff(ms.lower_bounds_) >= -1e-10)
    assert ms.n_iter_ == 60 and not ms.converged_


# --------------------------------------------------------------------------- #
# 4. Several series, outputs, other experts, the classifier
# --------------------------------------------------------------------------- #
def test_lengths_are_independent_series():
    rng = np.random.RandomState(3)
    X, y, _ = _simulate(400, [0.95, 0.9], rng)
    lengths = [150, 1, 249]
    ms = MarkovSwitchingRegressor(n_init=2, random_state=0).fit(X, y, lengths=[150, 50, 200])
    ll = ms.log_likelihood(X, y, lengths=lengths)
    parts = np.split(np.arange(400), np.cumsum(lengths)[:-1])
    separate = np.concatenate([ms.log_likelihood(X[p], y[p]) for p in parts])
    assert_allclose(ll, separate, rtol=1e-12, atol=1e-12)
    # The first row of each series gets the start distribution.
    pred = ms.predicted_regime_proba(X, y, lengths=lengths)
    assert_allclose(pred[[0, 150, 151]], np.tile(ms.start_proba_, (3, 1)), rtol=1e-12)
    for p in (
        ms.filtered_regime_proba(X, y, lengths),
        ms.smoothed_regime_proba(X, y, lengths),
        pred,
    ):
        assert p.shape == (400, 2)
        assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    # One-step-ahead predictive mean and std are those of the predicted mixture.
    mean, std = ms.predict_one_step(X, y, lengths=lengths, return_std=True)
    f = ms.predict_regimes(X)
    assert_allclose(mean, np.sum(pred * f, axis=1))
    assert np.all(std > 0)
    # predict(X) is row-wise (stationary regime probabilities): batch independent.
    assert_allclose(ms.predict(X[:10]), ms.predict(X)[:10])
    assert_allclose(ms.predict(X), f @ stationary_distribution(ms.transition_matrix_))
    assert ms.bic(X, y, lengths) > ms.aic(X, y, lengths)


def test_learned_start_from_several_series():
    rng = np.random.RandomState(4)
    parts = []
    for _ in range(30):
        X, y, z = _simulate(40, [0.97, 0.97], rng)
        parts.append((X, y, z))
    X = np.vstack([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    first = np.array([p[2][0] for p in parts])
    ms = MarkovSwitchingRegressor(n_init=2, random_state=0).fit(X, y, lengths=[40] * 30)
    order = np.argsort(ms._expert_set.coef[0])[::-1]
    # Start probabilities estimated from the 30 first regimes (all in regime 0 here).
    assert_allclose(ms.start_proba_[order][0], np.mean(first == 0), atol=0.1)


def test_any_regressor_with_sample_weight_as_expert():
    rng = np.random.RandomState(5)
    X, y, z = _simulate(300, [0.95, 0.95], rng)
    ms = MarkovSwitchingRegressor(Ridge(alpha=1e-3), n_init=2, random_state=0).fit(X, y)
    builtin = MarkovSwitchingRegressor(n_init=2, random_state=0).fit(X, y)
    assert ms.n_polish_iter_ == 0
    assert_allclose(ms.lower_bound_, builtin.lower_bound_, atol=2e-3)
    tree = MarkovSwitchingRegressor(
        [("a", DecisionTreeRegressor(max_depth=2)), ("b", DecisionTreeRegressor(max_depth=2))],
        random_state=0,
    ).fit(X, y)
    assert len(tree.experts_) == 2 and tree.predict(X).shape == (300,)


def test_classifier_recovers_regimes():
    rng = np.random.RandomState(6)
    n = 600
    z = np.zeros(n, dtype=int)
    for t in range(1, n):
        z[t] = z[t - 1] if rng.rand() < 0.97 else 1 - z[t - 1]
    X = rng.randn(n, 2)
    # The label follows x0 in regime 0 and x1 in regime 1.
    logit = np.where(z == 0, 4 * X[:, 0], -4 * X[:, 1])
    y = np.where(rng.rand(n) < 1 / (1 + np.exp(-logit)), "up", "down")
    clf = MarkovSwitchingClassifier(n_init=2, random_state=0).fit(X, y)
    assert list(clf.classes_) == ["down", "up"]
    smooth = clf.smoothed_regime_proba(X, y)
    acc = np.mean(np.argmax(smooth, axis=1) == z)
    assert max(acc, 1 - acc) > 0.9
    proba = clf.predict_proba_one_step(X, y)
    assert proba.shape == (n, 2)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert clf.predict_proba(X).shape == (n, 2)
    assert set(clf.predict(X)) <= {"up", "down"}
    assert np.all(np.diag(clf.transition_matrix_) > 0.9)
    # The one-step-ahead probability of the observed label is the predictive density.
    idx = (y == "up").astype(int)
    assert_allclose(np.log(proba[np.arange(n), idx]), clf.log_likelihood(X, y), rtol=1e-10)


def test_input_dependent_transitions_are_learned():
    """Switches happen when x1 > 1: the input-dependent chain beats the homogeneous one."""
    rng = np.random.RandomState(7)
    n = 800
    X = rng.randn(n, 2)
    z = np.zeros(n, dtype=int)
    for t in range(1, n):
        p_switch = 0.9 if X[t, 1] > 1.0 else 0.01
        z[t] = 1 - z[t - 1] if rng.rand() < p_switch else z[t - 1]
    y = np.where(z == 0, 2.0, -2.0) * X[:, 0] + 0.5 * rng.randn(n)
    kw = dict(expert_features=[0], n_init=2, random_state=0)
    homog = MarkovSwitchingRegressor(**kw).fit(X, y)
    tv = MarkovSwitchingRegressor(transitions="input", transition_features=[1], **kw).fit(X, y)
    assert tv.converged_
    assert tv.log_likelihood(X, y).sum() > homog.log_likelihood(X, y).sum() + 20
    A = tv.predict_transition_matrix(np.array([[0.0, -1.0], [0.0, 2.5]]))
    assert np.all(np.diag(A[0]) > 0.9) and np.all(np.diag(A[1]) < 0.4)
    assert_allclose(A.sum(axis=2), 1.0, rtol=1e-12)
    assert tv.transition_coef_.shape == (2, 1, 2)


def test_feature_names_and_dataframe():
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(8)
    X, y, _ = _simulate(200, [0.95, 0.95], rng, two_inputs=True)
    df = pd.DataFrame(X, columns=["signal", "driver"])
    ms = MarkovSwitchingRegressor(
        transitions="input",
        expert_features=["signal"],
        transition_features=["driver"],
        random_state=0,
    ).fit(df, y)
    assert list(ms.feature_names_in_) == ["signal", "driver"]
    assert ms.transition_coef_.shape == (2, 1, 2)


# --------------------------------------------------------------------------- #
# 5. Bad input
# --------------------------------------------------------------------------- #
def test_series_shorter_than_n_regimes():
    rng = np.random.RandomState(9)
    X, y, _ = _simulate(50, [0.9, 0.9], rng)
    with pytest.raises(
        ValueError, match="at least n_regimes=3 observations.*series 1 has n_samples=2"
    ):
        MarkovSwitchingRegressor(n_regimes=3).fit(X, y, lengths=[48, 2])
    with pytest.raises(ValueError, match="n_samples=1"):
        MarkovSwitchingRegressor().fit(X[:1], y[:1])


@pytest.mark.parametrize(
    "lengths, match",
    [
        ([20, 20], "lengths sum to 40 but X has 50 rows"),
        ([25, 0, 25], "at least one observation"),
        ([25, -5, 30], "at least one observation"),
        ([[25, 25]], "1-D"),
        ([25.5, 24.5], "integers"),
    ],
)
def test_bad_lengths(lengths, match):
    rng = np.random.RandomState(10)
    X, y, _ = _simulate(50, [0.9, 0.9], rng)
    with pytest.raises(ValueError, match=match):
        MarkovSwitchingRegressor().fit(X, y, lengths=lengths)
    ms = MarkovSwitchingRegressor(max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ms.fit(X, y)
    with pytest.raises(ValueError, match=match):
        ms.log_likelihood(X, y, lengths=lengths)


def test_nan_and_mismatched_inputs():
    rng = np.random.RandomState(11)
    X, y, _ = _simulate(50, [0.9, 0.9], rng)
    Xn = X.copy()
    Xn[3, 0] = np.nan
    yn = y.copy()
    yn[7] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        MarkovSwitchingRegressor().fit(Xn, y)
    with pytest.raises(ValueError, match="NaN"):
        MarkovSwitchingRegressor().fit(X, yn)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        MarkovSwitchingRegressor().fit(X, y[:-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ms = MarkovSwitchingRegressor(max_iter=5, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        ms.log_likelihood(X, yn)
    with pytest.raises(ValueError, match="NaN"):
        ms.smoothed_regime_proba(Xn, y)
    with pytest.raises(ValueError, match=r"y must have shape \(50,\)"):
        ms.filtered_regime_proba(X, y[:-3])
    with pytest.raises(ValueError, match="features"):
        ms.predict(np.hstack([X, X]))


def test_bad_experts():
    rng = np.random.RandomState(12)
    X, y, _ = _simulate(50, [0.9, 0.9], rng)
    from sklearn.neighbors import KNeighborsRegressor

    with pytest.raises(ValueError, match="sample_weight"):
        MarkovSwitchingRegressor(KNeighborsRegressor()).fit(X, y)
    with pytest.raises(ValueError, match="one expert per regime"):
        MarkovSwitchingRegressor([("a", Ridge())], n_regimes=2).fit(X, y)
    with pytest.raises(ValueError, match="is a classifier"):
        MarkovSwitchingRegressor(MarkovSwitchingClassifier()).fit(X, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        MarkovSwitchingClassifier().fit(X, np.zeros(50))
    with pytest.raises(ValueError, match="transition_features selects no column"):
        MarkovSwitchingRegressor(transitions="input", transition_features=[]).fit(X, y)


# --------------------------------------------------------------------------- #
# 6. scikit-learn's estimator checks: in tests/test_common.py (tests/_instances.py)
# --------------------------------------------------------------------------- #
def test_clone_keeps_parameters():
    ms = MarkovSwitchingRegressor(n_regimes=3, transitions="input", start="steady-state")
    assert clone(ms).get_params() == ms.get_params()


# --------------------------------------------------------------------------- #
# 7. The shared EM loop: progress bar, every restart's history (issue 11)
# --------------------------------------------------------------------------- #
def test_progress_bar_per_restart(fake_tqdm, capsys):
    rng = np.random.RandomState(4)
    X, y, _ = _simulate(200, [0.9, 0.85], rng)
    # No screening: every start runs to its polish.
    ms = MarkovSwitchingRegressor(n_init=2, n_screen=0, verbose="progress", random_state=0).fit(
        X, y
    )
    bars = fake_tqdm.instances
    assert len(bars) == 2
    for i, bar in enumerate(bars):
        assert bar.desc == f"MarkovSwitchingRegressor restart {i}"
        # Converged before max_iter: a complete bar of the iterations run.
        assert bar.total == bar.n < ms.max_iter and bar.closed
        assert bar.postfixes[-1]["status"] == "converged"
        # One step per EM iteration; the polish's value ends the history.
        assert bar.n == len(ms.lower_bounds_all_[i]) - 1
        assert float(bar.postfixes[-1]["loglik"]) == pytest.approx(
            ms.lower_bounds_all_[i][-2], rel=1e-5
        )
        # The polish's summary is written above the bar, not printed through it.
        assert len(bar.written) == 1 and "polish" in bar.written[0]
    assert capsys.readouterr().out == ""

    # Without the polish the bar counts every EM iteration.
    fake_tqdm.instances = []
    clf = MarkovSwitchingClassifier(
        max_iter=30, n_screen=0, polish=False, verbose="progress", random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, (y > 0).astype(int))
    (bar,) = fake_tqdm.instances
    assert bar.n == clf.n_iter_ == len(clf.lower_bounds_) and bar.written == []


def test_verbose_lines(capsys):
    rng = np.random.RandomState(4)
    X, y, _ = _simulate(200, [0.9, 0.85], rng)
    ms = MarkovSwitchingRegressor(verbose=2, n_screen=0, random_state=0).fit(X, y)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == ms.n_iter_ + 2
    assert out[0].startswith(
        "[MarkovSwitchingRegressor] restart 0 iteration 1: mean log-likelihood"
    )
    assert "polish" in out[-2]
    assert out[-1].startswith("[MarkovSwitchingRegressor] restart 0: converged after")
    # verbose=1: the polish and the summary only.
    MarkovSwitchingRegressor(verbose=1, n_screen=0, random_state=0).fit(X, y)
    assert capsys.readouterr().out.splitlines() == out[-2:]


def test_progress_without_tqdm_prints_lines(monkeypatch, capsys):
    import skmoe._progress as progress_mod

    monkeypatch.setattr(progress_mod, "_import_tqdm", lambda: None)
    monkeypatch.setattr(progress_mod, "_NOTED", [True])  # the one-time note was printed
    rng = np.random.RandomState(4)
    X, y, _ = _simulate(200, [0.9, 0.85], rng)
    capsys.readouterr()
    ms = MarkovSwitchingRegressor(polish=False, n_screen=0, verbose="progress", random_state=0).fit(
        X, y
    )
    # A line every FALLBACK_EVERY iterations, and the summary.
    every = progress_mod.FALLBACK_EVERY
    assert len(capsys.readouterr().out.splitlines()) == ms.n_iter_ // every + 1


def test_bad_verbose():
    with pytest.raises(ValueError, match="verbose"):
        MarkovSwitchingRegressor(verbose="bar").fit(np.zeros((10, 1)), np.arange(10.0))


@pytest.mark.parametrize("polish", [True, False])
def test_lower_bounds_all(polish):
    rng = np.random.RandomState(5)
    X, y, _ = _simulate(250, [0.9, 0.8], rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ms = MarkovSwitchingRegressor(n_init=3, polish=polish, random_state=0).fit(X, y)
    runs = ms.lower_bounds_all_
    # 2 * n_init starts screened; the 3 screened out stop after screen_iter.
    assert isinstance(runs, list) and len(runs) == 6
    assert ms.init_strategies_ == ["kmeans", "mixture", "random"] * 2
    short = [i for i, r in enumerate(runs) if r.size == ms.screen_iter]
    assert len(short) == 3
    assert max(runs[i][-1] for i in short) <= min(
        r[ms.screen_iter - 1] for i, r in enumerate(runs) if i not in short
    )
    # The selected restart is the first with the largest final value.
    best = int(np.argmax([r[-1] for r in runs]))
    assert_array_equal(runs[best], ms.lower_bounds_)
    assert ms.lower_bound_ == ms.lower_bounds_[-1]
    for r in runs:
        assert r.ndim == 1 and r.size >= 2 and np.all(np.isfinite(r))
        # EM never decreases the objective, nor does the polish.
        assert np.all(np.diff(r) >= -1e-10)
    # A kept start alone gives its history: starts are drawn up front, and a
    # screened start resumes exactly where it paused.
    seeds = np.random.RandomState(0).randint(np.iinfo(np.int32).max, size=6)
    i = next(i for i in range(6) if i not in short)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        Xe, Xt = ms._split(X)
        em, state = ms._start(
            Xe,
            Xt,
            y,
            np.array([0, y.size]),
            ms._named_experts(),
            seeds[i],
            i,
            ms.init_strategies_[i],
        )
        one = ms._finish(em, state, advance=ms.max_iter)
    assert_array_equal(one["lower_bounds"], runs[i])


# --------------------------------------------------------------------------- #
# 8. Affine equivariance: units and offsets of y and X change nothing (issue 11)
# --------------------------------------------------------------------------- #
def _regime_order(pred, ref_pred):
    """The relabelling of the regimes of ``pred`` that matches ``ref_pred``
    (restarts that reach one optimum with its regimes numbered differently
    tie, and rounding picks one)."""
    perms = [list(p) for p in itertools.permutations(range(pred.shape[1]))]
    return perms[int(np.argmin([np.abs(pred[:, p] - ref_pred).max() for p in perms]))]


def _fit_quiet(X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MarkovSwitchingRegressor(n_init=2, random_state=0, **kw).fit(X, y)


@pytest.fixture(scope="module")
def affine_reference():
    rng = np.random.RandomState(6)
    X, y, _ = _simulate(300, [0.95, 0.9], rng, two_inputs=True)
    ms = _fit_quiet(X, y)
    return X, y, ms


@pytest.mark.parametrize("c", [1e-8, 1e-6, 1e6])
@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_affine_equivariance_in_y(affine_reference, c, offset):
    """Fitting on c * y + d is the same fit mapped back, and every row's
    log-likelihood moves by -log c (no absolute variance floor).  The offset
    is 1e4 in the units of y (d = 1e4 * c): a larger one in those units would
    leave fewer than 6 digits of y's spread in float64."""
    X, y, ref = affine_reference
    d = offset * c
    yt = c * y + d
    ms = _fit_quiet(X, yt)
    scale = np.std(y)
    pred = (ms.predict_regimes(X) - d) / c
    o = _regime_order(pred, ref.predict_regimes(X))
    assert_allclose(pred[:, o], ref.predict_regimes(X), rtol=1e-6, atol=1e-6 * scale)
    assert_allclose((ms.predict(X) - d) / c, ref.predict(X), rtol=1e-6, atol=1e-6 * scale)
    assert_allclose(ms.noise_variance_[o] / c**2, ref.noise_variance_, rtol=1e-6)
    A = ms.transition_matrix_[np.ix_(o, o)]
    assert_allclose(A, ref.transition_matrix_, rtol=1e-6, atol=1e-9)
    ll0 = ref.log_likelihood(X, y)
    assert_allclose(
        ms.log_likelihood(X, yt) + np.log(c), ll0, rtol=1e-6, atol=1e-6 * np.abs(ll0).mean()
    )
    assert ms.lower_bound_ + np.log(c) == pytest.approx(ref.lower_bound_, rel=1e-9)
    assert_allclose(
        ms.smoothed_regime_proba(X, yt)[:, o], ref.smoothed_regime_proba(X, y), atol=1e-6
    )


def test_variance_floor_is_relative_to_y():
    rng = np.random.RandomState(7)
    X, y, _ = _simulate(200, [0.9, 0.9], rng)
    for c in [1e-10, 1.0, 1e10]:
        ms = _fit_quiet(X, c * y, variance_floor=0.5)
        # A floor that binds: half of var(y), in the units of the target.
        assert np.min(ms.noise_variance_) >= 0.5 * np.var(c * y) * (1 - 1e-12)
        assert np.min(ms.noise_variance_) <= 0.5 * np.var(c * y) * (1 + 1e-9)


@pytest.mark.parametrize(
    "a, b",
    [(1.0, 1.7e9), (1e-9, 0.0), (np.array([1e-9, 1e9]), np.array([0.0, -1e4]))],
    ids=["timestamp-offset", "nano-units", "mixed-units"],
)
@pytest.mark.parametrize("transitions", ["homogeneous", "input"])
def test_affine_equivariance_in_X(affine_reference, a, b, transitions):
    """Units and offsets of the features change nothing: X * a + b gives the same
    fit.  The reference is fitted on (X * a + b - b) / a, the features the
    transformed fit actually sees (an offset of 1.7e9 rounds them to 2.4e-7)."""
    X, y, _ = affine_reference
    Xt = X * a + b
    Xr = (Xt - b) / a
    kw = dict(transitions="input", transition_features=[1]) if transitions == "input" else {}
    ref = _fit_quiet(Xr, y, **kw)
    ms = _fit_quiet(Xt, y, **kw)
    scale = np.std(y)
    pred = ms.predict_regimes(Xt)
    o = _regime_order(pred, ref.predict_regimes(Xr))
    assert_allclose(pred[:, o], ref.predict_regimes(Xr), rtol=1e-6, atol=1e-6 * scale)
    assert_allclose(ms.predict(Xt), ref.predict(Xr), rtol=1e-6, atol=1e-6 * scale)
    assert_allclose(ms.noise_variance_[o], ref.noise_variance_, rtol=1e-6)
    ll0 = ref.log_likelihood(Xr, y)
    assert_allclose(ms.log_likelihood(Xt, y), ll0, rtol=1e-6, atol=1e-6 * np.abs(ll0).mean())
    A = ms.predict_transition_matrix(Xt)[:, o][:, :, o]
    assert_allclose(A, ref.predict_transition_matrix(Xr), rtol=1e-6, atol=1e-9)


def test_polish_objective_far_out_is_silent():
    # The line search may try a point far out (issue 13: "overflow
    # encountered in square"): a huge noise variance has a finite objective
    # and gradient, computed without overflow; huge coefficients are refused
    # (infinite objective), silently, and the search steps back.
    from skmoe.sequence._markov_fit import LinearGaussianPolish

    rng = np.random.RandomState(4)
    X, y, _ = _simulate(200, [0.9, 0.85], rng)
    ms = MarkovSwitchingRegressor(random_state=0).fit(X, y)
    Xe, Xt = ms._split(X)
    polisher = LinearGaussianPolish(ms._chain, ms._expert_set, Xe, y, Xt, np.array([0, y.size]))
    theta = polisher.pack()
    # A huge noise variance (log-variance 400): its log-likelihood is
    # finite, its square is not.
    far = theta.copy()
    k = polisher.S * polisher.p
    far[k : k + polisher.S] = 400.0
    huge = theta.copy()
    huge[:k] = 1e160
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        value, grad = polisher.value_and_grad(far)
        assert np.isfinite(value) and np.all(np.isfinite(grad))
        value, grad = polisher.value_and_grad(huge)
        assert value == np.inf and not np.any(grad)
    value, grad = polisher.value_and_grad(theta)
    assert np.isfinite(value) and np.all(np.isfinite(grad))


def test_frozen_regime_experts_are_reported(monkeypatch):
    # The estimator experts' sets freeze an expert whose weights its fit
    # refuses (issue 13); Markov switching says so, as the mixtures do.
    from skmoe.exceptions import DegenerateExpertWarning
    from skmoe.experts import _sets

    fit = _sets._RegressorSet.fit

    def freezing_fit(self, *args, **kwargs):
        out = fit(self, *args, **kwargs)
        self.n_frozen = getattr(self, "n_frozen", 0) + 1  # as if one expert froze
        return out

    monkeypatch.setattr(_sets._RegressorSet, "fit", freezing_fit)
    rng = np.random.RandomState(4)
    X, y, _ = _simulate(120, [0.9, 0.85], rng)
    with pytest.warns(DegenerateExpertWarning, match=r"regime's expert .* M-step\(s\)"):
        MarkovSwitchingRegressor(Ridge(), n_init=1, n_screen=0, max_iter=5, random_state=0).fit(
            X, y
        )
    # The built-in linear experts never freeze: no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateExpertWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        MarkovSwitchingRegressor(random_state=0, max_iter=5).fit(X, y)


@pytest.mark.parametrize("scale", [1e155, 1e200])
def test_classifier_probabilities_finite_far_from_the_data(scale):
    # All-NaN predict_proba at |X| ~ 1e155 (issue 13); LogisticRegression
    # gives finite probabilities there, and so must the regimes' experts.
    rng = np.random.RandomState(0)
    X = rng.randn(200, 2)
    y = (X[:, 0] + 0.3 * rng.randn(200) > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ms = MarkovSwitchingClassifier(random_state=0).fit(X, y)
    P = ms.predict_proba(X * scale)
    assert np.all(np.isfinite(P)) and np.allclose(P.sum(axis=1), 1.0)
    assert np.all(np.isfinite(ms.predict_proba_one_step(X * scale, y)))


def test_warnings_point_at_the_users_line():
    # Issue 15: a warning names the caller's file, not scikit-learn's
    # _fit_context wrapper (warnings.filterwarnings(module=...) then works).
    from skmoe.sequence import GaussianHMMClassifier

    rng = np.random.RandomState(0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        MarkovSwitchingRegressor(max_iter=2, polish=False, random_state=0).fit(
            rng.randn(60, 1), rng.randn(60)
        )
        GaussianHMMClassifier(max_iter=1, tol=0, random_state=0).fit(
            [rng.randn(8, 1) for _ in range(6)], [0, 1] * 3
        )
    conv = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(conv) == 2 and all(w.filename == __file__ for w in conv)
