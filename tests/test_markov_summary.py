"""``summary()`` of the Markov-switching models beyond the regressor's statsmodels check.

MarkovSwitchingClassifier: the oracle is a from-scratch forward algorithm
written here (plain NumPy, scaled forward recursion, no skmoe code) and a
numerical Hessian of its *value* (second differences), while skmoe
differentiates its analytic score.  Regressor without X and with shared
parameters: the oracle is statsmodels' ``MarkovRegression`` on its own
``macrodata`` series, at skmoe's optimum.
"""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import linalg
from scipy.special import logsumexp

from skmoe import MarkovSwitchingClassifier
from skmoe.experts import LogisticExpert


# --- an independent forward algorithm ----------------------------------------
def _forward_loglik(psi, X, y, lengths, S, C, start):
    """Log-likelihood of a Markov-switching multinomial logit, from scratch.

    ``psi``: per regime k and class c >= 1 the contrast slopes then intercept,
    then ``p[i->j]`` for j < S - 1, then (learned start) ``start[j]``, j < S - 1.
    """
    return float(np.sum(_forward_loglik_obs(psi, X, y, lengths, S, C, start)))


def _forward_loglik_obs(psi, X, y, lengths, S, C, start):
    """``log p(y_t | y_1..t-1)`` of every row (each series from its own start), from scratch."""
    d = X.shape[1]
    m = S * (C - 1) * (d + 1)
    E = psi[:m].reshape(S, C - 1, d + 1)
    P = psi[m : m + S * (S - 1)].reshape(S, S - 1)
    A = np.column_stack([P, 1.0 - P.sum(axis=1)])
    if start == "learned":
        p0 = psi[m + S * (S - 1) :]
        pi = np.append(p0, 1.0 - p0.sum())
    else:
        # Stationary: left eigenvector of A for eigenvalue 1.
        w, v = linalg.eig(A.T)
        pi = np.real(v[:, np.argmin(np.abs(w - 1.0))])
        pi = pi / pi.sum()
    Z1 = np.column_stack([X, np.ones(len(y))])
    emit = np.empty((len(y), S))
    for k in range(S):
        logits = np.column_stack([np.zeros(len(y)), Z1 @ E[k].T])
        logp = logits - logsumexp(logits, axis=1, keepdims=True)
        emit[:, k] = np.exp(logp[np.arange(len(y)), y])
    ll, a0 = np.empty(len(y)), 0
    for n in lengths:
        alpha = pi * emit[a0]
        for t in range(a0, a0 + n):
            if t > a0:
                alpha = (alpha @ A) * emit[t]
            c = alpha.sum()
            ll[t] = np.log(c)
            alpha = alpha / c
        a0 += n
    return ll


def _ridge(psi, X, S, C, alpha):
    """The experts' penalty in contrasts: ``0.5 alpha ||std(x) (b_c - mean_c b)||^2``."""
    d = X.shape[1]
    E = psi[: S * (C - 1) * (d + 1)].reshape(S, C - 1, d + 1)
    sd = X.std(axis=0)
    total = 0.0
    for k in range(S):
        b = np.vstack([np.zeros(d), E[k][:, :d]])
        total += 0.5 * alpha * np.sum(((b - b.mean(axis=0)) * sd) ** 2)
    return total


def _value_hessian(f, x, h):
    """Second differences of the value ``f`` (4-point off the diagonal)."""
    P = x.size
    H = np.empty((P, P))
    f0 = f(x)
    for i in range(P):
        ei = np.eye(P)[i] * h[i]
        H[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / h[i] ** 2
        for j in range(i):
            ej = np.eye(P)[j] * h[j]
            H[i, j] = H[j, i] = (
                f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)
            ) / (4 * h[i] * h[j])
    return H


def _regime_data(seed, C, lengths, S=2):
    rng = np.random.RandomState(seed)
    n = int(np.sum(lengths))
    z = (np.arange(n) // 60) % 2
    if S > 2:
        # Blocks of 60 rows visiting the regimes in both directions, so that
        # every transition occurs (a cycle 0, 1, 2 would leave the others at
        # exactly zero, on the boundary).
        z = np.resize(np.repeat([0, 1, 2, 0, 2, 1], 60), n)
    X = rng.randn(n, 1)
    # Slope and intercept per (regime, class).
    W = np.array([[0.0, 2.5, -1.0], [0.0, -2.0, 1.5], [0.0, 0.2, 3.0]])[:S, :C]
    B = np.array([[0.0, 0.3, -0.2], [0.0, -0.4, 0.5], [0.0, 1.5, -0.5]])[:S, :C]
    logits = W[z] * X + B[z]
    p = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
    y = np.array([rng.choice(C, p=row) for row in p])
    return X, y


@pytest.mark.parametrize(
    "C, start, lengths, alpha, S",
    [
        (2, "steady-state", [500], 0.0, 2),
        (3, "learned", [300, 260], 1e-2, 2),
        (2, "steady-state", [900], 0.0, 3),
    ],
    ids=["binary-steady-mle", "3class-learned-penalised", "3regimes-steady-mle"],
)
def test_classifier_summary_matches_from_scratch_hessian(C, start, lengths, alpha, S):
    X, y = _regime_data(0, C, lengths, S)
    frame = pd.DataFrame({"u": X[:, 0]})
    labels = np.array(["a", "b", "c"])[y]  # string classes: names use them
    est = MarkovSwitchingClassifier(
        LogisticExpert(alpha=alpha, tol=1e-10, max_iter=500),
        n_regimes=S,
        start=start,
        n_init=2,
        tol=1e-12,
        max_iter=3000,
        random_state=0,
    ).fit(frame, labels, lengths)
    res = est.summary(frame, labels, lengths)
    f = lambda v: _forward_loglik(v, X, y, lengths, S, C, start)  # noqa: E731
    obj = lambda v: f(v) - _ridge(v, X, S, C, alpha)  # noqa: E731

    # Names, shapes and the header.
    classes = ["a", "b", "c"][:C]
    expected = [f"{n}[{k}, {c}]" for k in range(S) for c in classes[1:] for n in ("u", "const")]
    expected += [f"p[{i}->{j}]" for i in range(S) for j in range(S - 1)]
    expected += [f"start[{j}]" for j in range(S - 1)] if start == "learned" else []
    assert res.param_names == expected
    assert res.nobs == len(y) and int(res.header["n_params"]) == len(expected)
    assert res.header["Regimes"] == S and res.header["Classes"] == C
    # The llf is the from-scratch log-likelihood at the reported parameters,
    # and the estimator's own.
    assert_allclose(res.llf, f(res.params), rtol=1e-10)
    assert_allclose(res.llf, est.llf(frame, labels, lengths), rtol=1e-10)
    k, n = len(expected), len(y)
    assert_allclose(
        [res.aic, res.bic, res.hqic],
        [
            -2 * res.llf + 2 * k,
            -2 * res.llf + k * np.log(n),
            -2 * res.llf + 2 * k * np.log(np.log(n)),
        ],
        rtol=1e-12,
    )
    assert_allclose(res.expected_durations, 1 / (1 - np.diag(est.transition_matrix_)))

    # A transition probability estimated at 0 (the fit can give a pair of
    # regimes no direct transition) is held fixed, without a standard error,
    # and named in a note; the oracle then holds it fixed too.
    m = S * (C - 1) * 2
    pr = res.params[m:]
    last = np.repeat(1 - pr[: S * (S - 1)].reshape(S, S - 1).sum(axis=1), S - 1)
    room = np.minimum(np.minimum(pr, 1 - pr), np.r_[last, np.ones(pr.size - last.size)])
    edge = np.r_[np.zeros(m, dtype=bool), room < 1e-8]
    assert np.array_equal(np.isnan(res.bse), edge)
    if edge.any():
        assert any(
            "boundary" in note and all(res.param_names[i] in note for i in np.flatnonzero(edge))
            for note in res.notes
        )
    free = np.flatnonzero(~edge)

    def obj_free(v):
        full = res.params.copy()
        full[free] = v
        return obj(full)

    # At the fitted optimum: the from-scratch objective's gradient vanishes
    # (relative to the curvature), so this is the point the covariance is for.
    h = 1e-4 * np.maximum(np.abs(res.params), 0.1)
    h[m:] = 1e-4 * room
    x, h = res.params[free], h[free]
    grad = np.array([(obj_free(x + e) - obj_free(x - e)) / 2 for e in np.diag(h)]) / h
    cov = np.linalg.inv(-_value_hessian(obj_free, x, h))
    # Newton step to the from-scratch maximum, in standard errors.
    assert np.max(np.abs(cov @ grad) / np.sqrt(np.diag(cov))) < 1e-2
    # Measured: 9.7e-6 (binary, alpha=0), 1.0e-4 (three classes, penalised),
    # 1.8e-4 (three regimes, one transition on the boundary).
    assert_allclose(res.bse[free], np.sqrt(np.diag(cov)), rtol=1e-3)
    ours = res.cov_params()[np.ix_(free, free)]
    assert np.all(np.abs(ours - cov) <= 1e-3 * np.outer(res.bse[free], res.bse[free]))

    penalised = "penalised estimate" in res.notes[0]
    assert penalised == (alpha > 0) == res.penalised
    if alpha > 0:
        assert "Expert penalty (alpha)" in res.header


def test_classifier_summary_no_expert_features_and_boundary_start():
    """Regimes that differ only in their class frequencies (no expert
    features): the parameters are the intercept contrasts alone; a learned
    start on one series ends on a vertex and is reported without a
    standard error, the others keep theirs."""
    rng = np.random.RandomState(1)
    z = (np.arange(600) // 75) % 2
    y = (rng.rand(600) < np.where(z == 0, 0.85, 0.2)).astype(int)
    X = rng.randn(600, 2)
    est = MarkovSwitchingClassifier(
        expert_features=[], n_init=2, tol=1e-10, max_iter=3000, random_state=0
    ).fit(X, y)
    res = est.summary(X, y)
    assert res.param_names == ["const[0, 1]", "const[1, 1]", "p[0->0]", "p[1->0]", "start[0]"]
    assert int(res.header["n_params"]) == 5
    assert not res.penalised and "penalised" not in res.notes[0]
    assert np.isnan(res.bse[-1]) and np.all(np.isfinite(res.bse[:-1]))
    assert any("boundary" in note and "start[0]" in note for note in res.notes)
    # Oracle on the free parameters, start held at its vertex.
    f = lambda v: _forward_loglik(  # noqa: E731
        np.append(v, res.params[-1]), np.zeros((600, 0)), y, [600], 2, 2, "learned"
    )
    free = res.params[:-1]
    assert_allclose(res.llf, f(free), rtol=1e-10)
    h = 1e-4 * np.maximum(np.abs(free), 0.1)
    h[2:] = 1e-4 * np.minimum(free[2:], 1 - free[2:])
    cov = np.linalg.inv(-_value_hessian(f, free, h))
    assert_allclose(res.bse[:-1], np.sqrt(np.diag(cov)), rtol=1e-3)


def test_classifier_summary_unsupported_raises():
    from sklearn.linear_model import LogisticRegression

    X, y = _regime_data(2, 2, [300])
    est = MarkovSwitchingClassifier(LogisticRegression(), random_state=0, max_iter=20).fit(X, y)
    with pytest.raises(NotImplementedError, match="built-in logistic"):
        est.summary(X, y)
    tv = MarkovSwitchingClassifier(transitions="input", random_state=0, max_iter=20).fit(X, y)
    with pytest.raises(NotImplementedError, match="homogeneous"):
        tv.summary(X, y)
    ok = MarkovSwitchingClassifier(start="steady-state", random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="alpha"):
        ok.summary(X, y, alpha=2.0)
    with pytest.raises(ValueError, match="lengths"):
        ok.summary(X, y, lengths=[100, 100])


# --- MarkovSwitchingRegressor without X, against statsmodels ------------------
@pytest.fixture(scope="module")
def gdp_growth():
    """Quarterly US real GDP growth in percent (statsmodels' macrodata), Hamilton's series."""
    sm = pytest.importorskip("statsmodels.api")
    gdp = sm.datasets.macrodata.load_pandas().data["realgdp"].to_numpy()
    return 100 * np.diff(np.log(gdp))


def _relabel(names, params):
    """statsmodels' two-regime parameters with the regime labels swapped."""
    import re

    out = params.copy()
    for i, n in enumerate(names):
        if not n.startswith("p[") and re.search(r"\[\d\]", n):
            other = re.sub(r"\[(\d)\]", lambda m: f"[{1 - int(m[1])}]", n)
            out[i] = params[names.index(other)]
    i00, i10 = names.index("p[0->0]"), names.index("p[1->0]")
    out[i00], out[i10] = 1.0 - params[i10], 1.0 - params[i00]
    return out


def _check_statsmodels(res, y, **sm_kwargs):
    """``res`` (a two-regime summary) equals statsmodels' MarkovRegression at its optimum.

    Returns the largest relative differences measured (params, bse, llf).
    """
    from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

    mod = MarkovRegression(y, k_regimes=2, **sm_kwargs)
    # statsmodels names the shared intercept "const[1]" when it has exog
    # (and "const" without): skmoe's "const" in both cases.
    shared_const = "const" in res.param_names
    sm_names = ["const" if shared_const and m == "const[1]" else m for m in mod.param_names]
    assert sorted(res.param_names) == sorted(sm_names)
    order = [res.param_names.index(m) for m in sm_names]
    ours = res.params[order]
    # skmoe's estimate is a maximum of statsmodels' likelihood: its own score vanishes.
    assert np.max(np.abs(mod.score(ours))) < 1e-4
    # At that point: statsmodels' standard errors (its cov_type="approx"),
    # likelihood, criteria and expected durations.
    ref = mod.smooth(ours, cov_type="approx")
    assert_allclose(res.bse[order], ref.bse, rtol=1e-4)
    assert_allclose(res.llf, ref.llf, rtol=1e-10)
    assert_allclose([res.aic, res.bic, res.hqic], [ref.aic, ref.bic, ref.hqic], rtol=1e-10)
    assert_allclose(res.expected_durations, ref.expected_durations, rtol=1e-8)
    # statsmodels' own fit (random search, then BFGS to a tight gradient)
    # reaches the same optimum, up to the regimes' labels.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        own = mod.fit(search_reps=20, rng=np.random.default_rng(0))
        own = mod.fit(start_params=own.params, maxiter=1000, gtol=1e-10, em_iter=0)
    assert own.llf <= res.llf + 1e-9
    p_own, bse_own = np.asarray(own.params), np.asarray(own.bse)
    if np.max(np.abs(p_own - ours)) > np.max(np.abs(_relabel(sm_names, p_own) - ours)):
        p_own = _relabel(sm_names, p_own)
        bse_own = np.abs(_relabel(sm_names, bse_own))
        # A swapped p[i->0] is 1 - p[j->0]: same standard error.
        for i, n in enumerate(sm_names):
            if n.startswith("p["):
                bse_own[i] = np.asarray(own.bse)[
                    sm_names.index("p[1->0]" if n == "p[0->0]" else "p[0->0]")
                ]
    assert_allclose(p_own, ours, rtol=1e-4)
    assert_allclose(bse_own, res.bse[order], rtol=1e-4)
    return dict(
        params=float(np.max(np.abs(p_own / ours - 1))),
        bse=float(np.max(np.abs(res.bse[order] / ref.bse - 1))),
        bse_own=float(np.max(np.abs(res.bse[order] / bse_own - 1))),
        llf=float(abs(res.llf / ref.llf - 1)),
    )


def test_regressor_without_X_matches_statsmodels(gdp_growth):
    """``fit(None, y)`` / ``fit(y=y)``: switching mean and variance, no regressors,
    statsmodels' ``MarkovRegression(y, k_regimes=2)``.  Measured: params 1.6e-8,
    bse 5.7e-10 (at skmoe's estimate) and 4.1e-8 (at statsmodels' own), llf 1.4e-15."""
    from skmoe import MarkovSwitchingRegressor

    y = gdp_growth
    make = lambda: MarkovSwitchingRegressor(start="steady-state", n_init=5, random_state=0)  # noqa: E731
    est = make().fit(y=y)
    assert est.n_features_in_ == 0 and not hasattr(est, "feature_names_in_")
    res = est.summary(None, y)
    assert res.param_names == [
        "const[0]",
        "const[1]",
        "sigma2[0]",
        "sigma2[1]",
        "p[0->0]",
        "p[1->0]",
    ]
    assert res.header["Converged"]
    _check_statsmodels(res, y, switching_variance=True)
    # fit(None, y) is the same fit; an (n, 0) array is the same input.
    est2 = make().fit(None, y)
    assert_allclose(est2.summary(None, y).params, res.params, rtol=1e-12)
    assert_allclose(est.llf(None, y), res.llf, rtol=1e-12)
    assert_allclose(est.score(None, y), est.score(np.empty((y.size, 0)), y))
    pred = est.predict(np.empty((5, 0)))
    pi = est.start_proba_  # the stationary distribution (steady-state start)
    assert_allclose(pred, np.full(5, pi @ res.params[:2]), rtol=1e-10)
    assert est.smoothed_regime_proba(None, y).shape == (y.size, 2)
    assert est.predict_one_step(None, y).shape == (y.size,)
    assert est.bic(None, y) == pytest.approx(res.bic, rel=1e-12)


def test_without_X_bad_inputs():
    from skmoe import MarkovSwitchingRegressor

    rng = np.random.RandomState(0)
    y = np.r_[rng.randn(60), 3 + rng.randn(60)]
    est = MarkovSwitchingRegressor(random_state=0).fit(y=y)
    with pytest.raises(ValueError, match=r"fitted without X.*X=np.empty"):
        est.predict(None)
    with pytest.raises(ValueError, match=r"shape \(n_samples, 0\); got an array of shape"):
        est.predict(np.zeros((4, 1)))
    with pytest.raises(ValueError, match="y must have shape"):
        est.summary(np.empty((5, 0)), y)
    with pytest.raises(ValueError, match="requires y to be passed"):
        MarkovSwitchingRegressor().fit()
    with pytest.raises(ValueError, match="expert_features"):
        MarkovSwitchingRegressor(expert_features=[0]).fit(None, y)
    with pytest.raises(ValueError, match="transitions='input'"):
        MarkovSwitchingRegressor(transitions="input").fit(None, y)
    with pytest.raises(ValueError, match="NaN"):
        MarkovSwitchingRegressor().fit(None, np.r_[y[:-1], np.nan])
    with_X = MarkovSwitchingRegressor(random_state=0).fit(y[:, None], y)
    with pytest.raises(ValueError, match=r"X is None, but .* fitted on 1 feature"):
        with_X.summary(None, y)
    # A refit with X after a fit without it (and back) forgets the other's state.
    assert with_X.n_features_in_ == 1
    assert est.fit(y[:, None], y).n_features_in_ == 1
    assert est.fit(y=y).n_features_in_ == 0


def test_classifier_without_X():
    """Regimes of class frequencies from labels alone: the summary's
    parameters are the regimes' intercept contrasts."""
    rng = np.random.RandomState(1)
    z = (np.arange(600) // 75) % 2
    y = np.where(rng.rand(600) < np.where(z == 0, 0.85, 0.2), "up", "down")
    est = MarkovSwitchingClassifier(start="steady-state", random_state=0).fit(y=y)
    res = est.summary(None, y)
    assert res.param_names == ["const[0, up]", "const[1, up]", "p[0->0]", "p[1->0]"]
    assert np.all(np.isfinite(res.bse))
    f = _forward_loglik(
        res.params, np.zeros((600, 0)), (y == "up").astype(int), [600], 2, 2, "steady-state"
    )
    assert_allclose(res.llf, f, rtol=1e-10)
    assert est.predict_proba(np.empty((3, 0))).shape == (3, 2)
    assert 0.0 <= est.score(None, y) <= 1.0


# --- shared parameters: statsmodels' switching_trend / switching_variance -----
@pytest.fixture(scope="module")
def macro():
    sm = pytest.importorskip("statsmodels.api")
    return sm.datasets.macrodata.load_pandas().data


@pytest.mark.parametrize(
    "data, options, n_init, shared",
    [
        ("gdp", dict(switching_variance=False), 5, ["sigma2"]),
        ("gdp", dict(switching_trend=False), 5, ["const"]),
        ("infl", dict(switching_trend=False), 5, ["const"]),
        ("infl", dict(switching_variance=False), 5, ["sigma2"]),
        # Multimodal: 20 starts reach statsmodels' best optimum (5 do not).
        ("infl", dict(switching_trend=False, switching_variance=False), 20, ["const", "sigma2"]),
    ],
    ids=["gdp-shared-var", "gdp-shared-mean", "infl-shared-const", "infl-shared-var", "infl-both"],
)
def test_shared_parameters_match_statsmodels(data, options, n_init, shared, gdp_growth, macro):
    """``switching_trend=False`` / ``switching_variance=False`` are statsmodels'
    options: same optimum, likelihood, criteria and standard errors.
    Measured: params within 1.6e-6, bse within 3e-9 at skmoe's estimate and
    1.6e-6 at statsmodels' own, llf within 1e-15 (relative)."""
    from skmoe import MarkovSwitchingRegressor

    est = MarkovSwitchingRegressor(start="steady-state", n_init=n_init, random_state=0, **options)
    sm_kwargs = dict(switching_trend=True, switching_variance=True) | options
    if data == "gdp":
        y, X = gdp_growth, None
    else:
        y, X = macro["infl"].to_numpy(), macro[["unemp"]]
        sm_kwargs["exog"] = X.to_numpy()
    est.fit(X, y)
    res = est.summary(X, y)
    assert res.header["Converged"]
    assert res.header["Shared by all regimes"] == ", ".join(shared)
    assert ("Parameters shared by all regimes", [res.param_names.index(n) for n in shared]) in (
        res.groups
    )
    for name in shared:
        assert name in res.param_names and f"{name}[0]" not in res.param_names
    if "sigma2" in shared:
        assert est.noise_variance_[0] == est.noise_variance_[1]
    if "const" in shared:
        ex = est.experts_
        assert ex[0].intercept_ == pytest.approx(ex[1].intercept_, rel=1e-12, abs=1e-12)
    assert int(res.header["n_params"]) == len(res.param_names) == est._n_parameters()
    res.param_names = [n.replace("unemp[", "x1[") for n in res.param_names]  # statsmodels' names
    _check_statsmodels(res, y, **sm_kwargs)
    # EM alone (its constrained M-step, an ECM step for a shared intercept)
    # never lowers the likelihood and climbs to the polish's optimum.  With a
    # learned start: EM's chain M-step ignores a steady-state one.
    fits = [
        MarkovSwitchingRegressor(
            n_init=n_init, polish=polish, max_iter=5000, tol=1e-12, random_state=0, **options
        ).fit(X, y)
        for polish in (False, True)
    ]
    assert np.all(np.diff(fits[0].lower_bounds_) >= -1e-12)
    assert fits[0].llf(X, y) == pytest.approx(fits[1].llf(X, y), rel=1e-7)


def test_shared_parameter_options_bad_inputs():
    from sklearn.linear_model import Ridge

    from skmoe import MarkovSwitchingRegressor

    rng = np.random.RandomState(0)
    y = np.r_[rng.randn(60), 3 + rng.randn(60)]
    X = rng.randn(120, 1)
    with pytest.raises(ValueError, match="switching_trend=False .* built-in linear"):
        MarkovSwitchingRegressor(Ridge(), switching_trend=False).fit(X, y)
    with pytest.raises(ValueError, match="nothing that differs between regimes"):
        MarkovSwitchingRegressor(switching_trend=False, switching_variance=False).fit(None, y)
    with pytest.raises(ValueError, match="switching_variance"):
        MarkovSwitchingRegressor(switching_variance="no").fit(X, y)
    # A shared variance works with any regression expert (pooled residuals).
    est = MarkovSwitchingRegressor(Ridge(), switching_variance=False, random_state=0).fit(X, y)
    assert est.noise_variance_[0] == est.noise_variance_[1]
    assert est._n_parameters() == 2 * 2 + 1 + 2 + 1  # slopes+intercepts, sigma2, p, start


def test_markov_fit_takes_no_sample_weight():
    """The summaries assume unweighted rows: the Markov-switching models' fit
    accepts no sample weights, so there are none for summary to ignore.  If
    fit ever gains them, the summaries must account for them or refuse."""
    import inspect

    from skmoe import MarkovSwitchingRegressor

    for cls in (MarkovSwitchingRegressor, MarkovSwitchingClassifier):
        assert "sample_weight" not in inspect.signature(cls.fit).parameters
        assert "sample_weight" not in inspect.signature(cls.summary).parameters
    X, y = _regime_data(2, 2, [200])
    with pytest.raises(TypeError, match="sample_weight"):
        MarkovSwitchingClassifier().fit(X, y, sample_weight=np.ones(200))


# --- cov_type="robust": the sandwich H^-1 J H^-1 --------------------------------
@pytest.mark.parametrize(
    "data, options",
    [("gdp", {}), ("infl", dict(switching_trend=False)), ("infl", dict(switching_variance=False))],
    ids=["gdp", "infl-shared-const", "infl-shared-var"],
)
def test_regressor_robust_matches_statsmodels(data, options, gdp_growth, macro):
    """statsmodels' ``cov_type="robust"`` at skmoe's optimum: ``pinv(H OPG^-1 H)``
    with ``H`` its complex-step Hessian of ``loglike`` and OPG the outer
    products of its complex-step ``score_obs`` (derivatives of
    ``loglikeobs``, the per-step ``log p(y_t | y_1..t-1)``).  skmoe's ``H``
    is central differences of its analytic score, its per-step scores central
    differences of the forward filter's normalisers: both are accurate to
    about 1e-9 relative here, so the standard errors agree far below
    statsmodels' own optimisation tolerance.  Measured: bse within 1.1e-9
    (GDP), 3.4e-9 (shared intercept) and 5.4e-9 (shared variance); the
    covariances within 2.2e-9, 6.8e-9 and 1.4e-8 of ``bse_i bse_j``; the
    robust errors are 20-67% away from the observed ones.  (statsmodels'
    ``fit(start_params=..., maxiter=0, em_iter=0, cov_type="robust")`` gives
    the same numbers as ``smooth``.)"""
    import warnings

    from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

    from skmoe import MarkovSwitchingRegressor

    if data == "gdp":
        y, X, exog = gdp_growth, None, None
    else:
        y, X = macro["infl"].to_numpy(), macro[["unemp"]]
        exog = X.to_numpy()
    est = MarkovSwitchingRegressor(start="steady-state", n_init=5, random_state=0, **options)
    est.fit(X, y)
    res = est.summary(X, y, cov_type="robust")
    observed = est.summary(X, y)
    assert res.cov_type == "robust" and observed.cov_type == "observed"
    assert res.header["Covariance type"] == "robust"
    assert observed.header["Covariance type"] == "observed"
    assert res.notes[0].startswith("Covariance: robust sandwich H^-1 J H^-1")
    assert "per-step scores" in res.notes[0]
    assert observed.notes[0].startswith("Covariance: inverse observed information")
    assert_allclose(res.params, observed.params, rtol=0)
    assert res.llf == observed.llf

    kw = dict(switching_trend=True, switching_variance=True) | options
    mod = MarkovRegression(y, k_regimes=2, exog=exog, **kw)
    names = [n.replace("unemp[", "x1[") for n in res.param_names]  # statsmodels' names
    shared_const = "const" in names
    sm_names = ["const" if shared_const and m == "const[1]" else m for m in mod.param_names]
    assert sorted(names) == sorted(sm_names)
    order = [names.index(m) for m in sm_names]
    ours = res.params[order]
    assert np.max(np.abs(mod.score(ours))) < 1e-4  # skmoe's optimum is statsmodels' too
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = mod.smooth(ours, cov_type="robust")
    assert_allclose(res.bse[order], ref.bse, rtol=1e-6)
    C = res.cov_params()[np.ix_(order, order)]
    assert np.all(np.abs(C - ref.cov_params()) <= 1e-6 * np.outer(ref.bse, ref.bse))
    # The sandwich differs from the inverse information: these models are
    # not exact descriptions of the series.
    assert np.max(np.abs(res.bse / observed.bse - 1)) > 0.05


def test_regressor_per_step_loglik_restarts_each_series(gdp_growth):
    """The per-step log-likelihoods that the robust covariance differentiates:
    they sum to the llf, equal statsmodels' ``loglikeobs``, and with two
    series the second one's first row conditions on nothing (its block equals
    that series alone)."""
    from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

    from skmoe import MarkovSwitchingRegressor
    from skmoe.sequence._markov_inference import markov_information

    y = gdp_growth
    est = MarkovSwitchingRegressor(start="steady-state", n_init=2, random_state=0).fit(y=y)
    X0 = np.empty((y.size, 0))
    psi, _, _, par = markov_information(est, X0, y, np.array([0, y.size]))
    ll = par.loglik_obs(psi)
    assert_allclose(ll.sum(), est.llf(None, y), rtol=1e-12)
    res = est.summary(None, y)
    order = [res.param_names.index(m) for m in ("p[0->0]", "p[1->0]")]
    order += [i for i in range(len(psi)) if i not in order]
    sm_ll = MarkovRegression(y, k_regimes=2, switching_variance=True).loglikeobs(psi[order])
    assert_allclose(ll, sm_ll, rtol=1e-10, atol=1e-12)
    m = 100
    psi2, _, _, par2 = markov_information(est, X0, y, np.array([0, m, y.size]))
    two = par2.loglik_obs(psi2)
    _, _, _, par_b = markov_information(est, X0[m:], y[m:], np.array([0, y.size - m]))
    assert_allclose(two[:m], ll[:m], rtol=1e-12)
    assert_allclose(two[m:], par_b.loglik_obs(psi2), rtol=1e-10, atol=1e-12)
    assert_allclose(two.sum(), est.llf(None, y, lengths=[m, y.size - m]), rtol=1e-12)


@pytest.mark.parametrize(
    "C, start, lengths, alpha",
    [(2, "steady-state", [500], 0.0), (3, "learned", [300, 260], 1e-2)],
    ids=["binary-steady-mle", "3class-learned-two-series-penalised"],
)
def test_classifier_robust_matches_from_scratch_sandwich(C, start, lengths, alpha):
    """The oracle: the from-scratch forward algorithm's per-step
    log-likelihoods, differentiated by central differences (J = sum of their
    outer products over every series' steps, unpenalised), and the second
    differences of its penalised value (H).  The value Hessian limits the
    agreement of the covariances to about 1e-5 (as for the observed
    covariance); ``J`` itself, recovered from the summary as
    ``I cov I``, agrees to finite-difference precision.  Measured: bse
    within 8.2e-6 (binary) and 1.2e-5 (three classes, two series), the
    covariances within 1.6e-5 and 2.5e-5 of ``bse_i bse_j``, ``J`` within
    7.8e-9 and 6.5e-9 of ``sqrt(J_ii J_jj)``."""
    X, y = _regime_data(0, C, lengths)
    est = MarkovSwitchingClassifier(
        LogisticExpert(alpha=alpha, tol=1e-10, max_iter=500),
        start=start,
        n_init=2,
        tol=1e-12,
        max_iter=3000,
        random_state=0,
    ).fit(X, y, lengths)
    res = est.summary(X, y, lengths, cov_type="robust")
    observed = est.summary(X, y, lengths)
    assert res.cov_type == "robust" and res.header["Covariance type"] == "robust"
    assert "robust sandwich H^-1 J H^-1" in res.notes[0] and "per-step scores" in res.notes[0]
    assert ("penalised estimate" in res.notes[0]) == (alpha > 0)
    assert_allclose(res.params, observed.params, rtol=0)
    S = 2
    m = S * (C - 1) * 2
    free = np.flatnonzero(np.isfinite(res.bse))
    # A learned start on two series need not sit on a vertex; whatever is
    # on the boundary is NaN in both covariances.
    assert np.array_equal(np.isnan(res.bse), np.isnan(observed.bse))
    obs = lambda v: _forward_loglik_obs(v, X, y, lengths, S, C, start)  # noqa: E731
    obj = lambda v: np.sum(obs(v)) - _ridge(v, X, S, C, alpha)  # noqa: E731

    def embed(v):
        full = res.params.copy()
        full[free] = v
        return full

    x = res.params[free]
    h = 1e-4 * np.maximum(np.abs(res.params), 0.1)
    pr = res.params[m:]
    h[m:] = 1e-4 * np.minimum(np.minimum(pr, 1 - pr), 0.5)
    h = h[free]
    G = np.column_stack(
        [(obs(embed(x + e)) - obs(embed(x - e))) / (2 * e[i]) for i, e in enumerate(np.diag(h))]
    )
    assert G.shape == (sum(lengths), free.size)
    J = G.T @ G
    H_inv = np.linalg.inv(-_value_hessian(lambda v: obj(embed(v)), x, h))
    cov = H_inv @ J @ H_inv
    assert_allclose(res.bse[free], np.sqrt(np.diag(cov)), rtol=1e-4)
    ours = res.cov_params()[np.ix_(free, free)]
    assert np.all(np.abs(ours - cov) <= 2e-4 * np.outer(res.bse[free], res.bse[free]))
    # J recovered from the summary: I cov I, with I the summary's information.
    info = res.information[np.ix_(free, free)]
    J_ours = info @ ours @ info
    scale = np.sqrt(np.outer(np.diag(J), np.diag(J)))
    assert np.max(np.abs(J_ours - J) / scale) < 1e-6


def test_markov_summary_bad_cov_type():
    from skmoe import MarkovSwitchingRegressor

    X, y = _regime_data(2, 2, [200])
    clf = MarkovSwitchingClassifier(start="steady-state", random_state=0).fit(X, y)
    noise = np.random.RandomState(3).randn(200)
    yr = X[:, 0] + 4.0 * ((np.arange(200) // 50) % 2) + 0.5 * noise
    reg = MarkovSwitchingRegressor(start="steady-state", random_state=0).fit(X, yr)
    for est, target in ((clf, y), (reg, yr)):
        for bad in ("sandwich", "approx", None, 1):
            with pytest.raises(
                ValueError, match=r"cov_type must be one of \['observed', 'robust'\]"
            ):
                est.summary(X, target, cov_type=bad)
