"""The public API: experts of every kind, predictive methods, scikit-learn integration."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import brentq
from scipy.stats import norm
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from skmoe import ConstantGate, MixtureOfExpertsClassifier, MixtureOfExpertsRegressor, SoftmaxGate
from skmoe.datasets import load_mcycle, make_moe_classification, make_moe_regression
from skmoe.experts import LinearExpert, LogisticExpert


def piecewise_data(n=300, seed=0):
    """Two linear regimes split at x0 = 0, different noise levels."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(-2, 2, size=(n, 2))
    left = X[:, 0] < 0
    y = np.where(left, 3 * X[:, 0] + 1, -2 * X[:, 0] + 4) + np.where(left, 0.1, 0.3) * rng.randn(n)
    return X, y


def class_data(n=300, seed=0):
    X, y, _ = make_moe_classification(n, 2, 2, 3, random_state=seed)
    return X, y


def xor_data(n=400, seed=0):
    """The class boundary flips with the sign of x0: one linear model cannot fit it,
    two gated linear experts can."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(-2, 2, size=(n, 2))
    y = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(int)
    flip = rng.uniform(size=n) < 0.03
    return X, np.where(flip, 1 - y, y)


REGRESSION_EXPERTS = [
    LinearRegression(),
    Ridge(alpha=1e-3),
    SVR(C=10.0),
    DecisionTreeRegressor(max_depth=3),
    HistGradientBoostingRegressor(max_iter=20),
]
CLASSIFICATION_EXPERTS = [
    LogisticRegression(),
    SVC(probability=True),
    DecisionTreeClassifier(max_depth=3),
    GaussianNB(),
]


@pytest.mark.parametrize("expert", REGRESSION_EXPERTS, ids=lambda e: type(e).__name__)
def test_any_sklearn_regressor_is_an_expert(expert):
    X, y = piecewise_data()
    params_before = expert.get_params()
    moe = MixtureOfExpertsRegressor(expert, n_experts=2, max_iter=15, random_state=0)
    moe.fit(X, y)
    assert len(moe.experts_) == 2
    assert all(type(e) is type(expert) for e in moe.experts_)
    assert all(e is not expert for e in moe.experts_)
    assert expert.get_params() == params_before  # the prototype is cloned, never fitted
    assert not hasattr(expert, "n_features_in_")
    pred = moe.predict(X)
    assert np.all(np.isfinite(pred))
    # Two regimes are far better explained by the mixture than by one global linear fit.
    assert moe.score(X, y) > LinearRegression().fit(X, y).score(X, y) + 0.1
    assert moe.noise_variance_.shape == (2,) and np.all(moe.noise_variance_ > 0)


# SVC(probability=True) is deprecated in scikit-learn 1.9 but still what users write.
@pytest.mark.filterwarnings("ignore:The `probability` parameter:FutureWarning")
@pytest.mark.parametrize("expert", CLASSIFICATION_EXPERTS, ids=lambda e: type(e).__name__)
def test_any_sklearn_classifier_is_an_expert(expert):
    X, y = xor_data()
    moe = MixtureOfExpertsClassifier(expert, n_experts=2, max_iter=20, n_init=2, random_state=0)
    moe.fit(X, y)
    assert all(type(e) is type(expert) for e in moe.experts_)
    proba = moe.predict_proba(X)
    assert proba.shape == (X.shape[0], 2)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all(np.isfinite(moe.predict_log_proba(X)))
    assert moe.score(X, y) > 0.85
    assert moe.predict_experts(X).shape == (X.shape[0], 2, 2)
    if isinstance(expert, (LogisticRegression, GaussianNB)):  # trees and RBF SVMs fit XOR alone
        assert moe.score(X, y) > clone(expert).fit(X, y).score(X, y) + 0.2


def test_heterogeneous_experts_and_nested_params():
    X, y = piecewise_data()
    experts = [
        ("lin", LinearRegression()),
        ("svr", SVR(C=1.0)),
        ("tree", DecisionTreeRegressor(max_depth=2)),
    ]
    moe = MixtureOfExpertsRegressor(experts, max_iter=10, random_state=0)
    params = moe.get_params()
    assert params["experts__svr"] is experts[1][1]
    assert params["experts__tree__max_depth"] == 2
    moe.set_params(experts__svr__C=7.0, experts__tree__max_depth=4)
    assert moe.get_params()["experts__svr__C"] == 7.0
    moe.set_params(experts__lin=Ridge(alpha=2.0))
    assert isinstance(moe.experts[0][1], Ridge)
    assert isinstance(experts[0][1], LinearRegression)  # the user's list is not mutated
    moe.fit(X, y)
    assert [type(e).__name__ for e in moe.experts_] == ["Ridge", "SVR", "DecisionTreeRegressor"]
    assert moe.experts_[1].C == 7.0 and moe.experts_[2].max_depth == 4
    assert moe.predict_gate(X).shape == (X.shape[0], 3)
    with pytest.raises(ValueError, match="no expert named 'nope'"):
        moe.set_params(experts__nope__C=1.0)
    # clone keeps the nested estimators' parameters
    assert clone(moe).get_params()["experts__svr__C"] == 7.0


def test_expert_without_sample_weight_needs_stochastic_m_step():
    X, y = piecewise_data()
    moe = MixtureOfExpertsRegressor(KNeighborsRegressor(), max_iter=5, random_state=0)
    with pytest.raises(ValueError, match="KNeighborsRegressor.*sample_weight.*stochastic"):
        moe.fit(X, y)
    moe.set_params(m_step="stochastic", max_iter=10).fit(X, y)
    assert np.all(np.isfinite(moe.predict(X)))
    assert moe.score(X, y) > 0.8

    Xc, yc = class_data()
    clf = MixtureOfExpertsClassifier(KNeighborsClassifier(), max_iter=5, random_state=0)
    with pytest.raises(ValueError, match="KNeighborsClassifier"):
        clf.fit(Xc, yc)
    clf.set_params(m_step="stochastic").fit(Xc, yc)
    assert clf.score(Xc, yc) > 0.6


def test_stochastic_m_step_is_reproducible():
    X, y = piecewise_data()
    kw = dict(m_step="stochastic", max_iter=8, random_state=3)
    a = MixtureOfExpertsRegressor(DecisionTreeRegressor(max_depth=3), **kw).fit(X, y)
    b = MixtureOfExpertsRegressor(DecisionTreeRegressor(max_depth=3), **kw).fit(X, y)
    assert_array_equal(a.predict(X), b.predict(X))


def test_regression_predictive_distribution():
    X, y = piecewise_data(400)
    moe = MixtureOfExpertsRegressor(n_experts=2, random_state=0).fit(X, y)
    gate = moe.predict_gate(X)
    means = moe.predict_experts(X)
    assert_allclose(gate.sum(axis=1), 1.0)
    mean, std = moe.predict(X, return_std=True)
    assert_allclose(mean, (gate * means).sum(axis=1))
    var = (gate * (means**2 + moe.noise_variance_)).sum(axis=1) - mean**2
    assert_allclose(std, np.sqrt(var))

    # Quantiles invert the mixture CDF (checked row by row with brentq).
    qs = [0.05, 0.5, 0.95]
    Q = moe.predict_quantiles(X[:20], qs)
    sd = np.sqrt(moe.noise_variance_)
    for i in range(20):

        def excess(t, i=i, q=0.5):
            return (gate[i] * norm.cdf((t - means[i]) / sd)).sum() - q

        for j, q in enumerate(qs):
            ref = brentq(excess, -100, 100, args=(i, q), xtol=1e-12)
            assert abs(Q[i, j] - ref) < 1e-7
    assert np.all(np.diff(Q, axis=1) > 0)

    # Samples follow the predictive law: mean and spread agree with predict.
    S = moe.sample_y(X[:5], n_samples=20000, random_state=0)
    assert S.shape == (5, 20000)
    assert_allclose(S.mean(axis=1), mean[:5], atol=4 * std[:5].max() / np.sqrt(20000) * 3)
    # ... and the whole law: Kolmogorov-Smirnov against the mixture CDF.
    from scipy.stats import kstest

    for i in range(5):

        def cdf(t, i=i):
            return (gate[i] * norm.cdf((np.asarray(t)[:, None] - means[i]) / sd)).sum(axis=1)

        assert kstest(S[i], cdf).pvalue > 1e-3
    assert_array_equal(S, moe.sample_y(X[:5], n_samples=20000, random_state=0))


def test_likelihood_methods_are_consistent():
    X, y = piecewise_data()
    moe = MixtureOfExpertsRegressor(n_experts=2, gate=SoftmaxGate(alpha=0.5), random_state=0).fit(
        X, y
    )
    ll = moe.log_likelihood(X, y)
    assert ll.shape == (X.shape[0],)
    # lower_bound_ is the mean log-likelihood minus the gate penalty per sample
    assert_allclose(ll.mean() - moe.gate_._penalty() / X.shape[0], moe.lower_bound_, rtol=1e-10)
    resp = moe.responsibilities(X, y)
    assert_allclose(resp.sum(axis=1), 1.0)
    # Bayes' rule by hand
    dens = moe.predict_gate(X) * norm.pdf(
        y[:, None], moe.predict_experts(X), np.sqrt(moe.noise_variance_)
    )
    assert_allclose(resp, dens / dens.sum(axis=1, keepdims=True), rtol=1e-8, atol=1e-12)
    assert_allclose(ll, np.log(dens.sum(axis=1)), rtol=1e-10)
    n, d, K = X.shape[0], X.shape[1], 2
    p = (d + 1) * (K - 1) + K * (d + 2)
    assert_allclose(moe.bic(X, y), -2 * ll.sum() + p * np.log(n))
    assert_allclose(moe.aic(X, y), -2 * ll.sum() + 2 * p)


def test_classifier_string_labels_and_mixture_proba():
    X, y = class_data()
    labels = np.array(["ant", "bee", "cat"])[y]
    clf = MixtureOfExpertsClassifier(n_experts=2, random_state=0).fit(X, labels)
    assert_array_equal(clf.classes_, ["ant", "bee", "cat"])
    assert set(clf.predict(X)) <= set(clf.classes_)
    gate = clf.predict_gate(X)
    experts = clf.predict_experts(X)
    assert_allclose(clf.predict_proba(X), np.einsum("nk,nkc->nc", gate, experts), rtol=1e-10)
    ll = clf.log_likelihood(X, labels)
    idx = np.searchsorted(clf.classes_, labels)
    assert_allclose(ll, np.log(clf.predict_proba(X)[np.arange(len(y)), idx]), rtol=1e-8)
    with pytest.raises(ValueError, match="not seen in fit"):
        clf.log_likelihood(X[:3], ["ant", "dog", "cat"])


def test_constant_gate_is_a_mixture_of_regressions():
    X, y, params = make_moe_regression(600, 1, 2, gate="constant", noise=0.3, random_state=1)
    moe = MixtureOfExpertsRegressor(gate=ConstantGate(), n_init=3, random_state=0).fit(X, y)
    gate = moe.predict_gate(X)
    assert_allclose(gate, np.broadcast_to(gate[0], gate.shape))
    assert_allclose(np.sort(gate[0]), np.sort(params.weights), atol=0.08)


def test_pipeline_grid_search_and_cross_validation():
    X, y = piecewise_data(240)
    pipe = make_pipeline(
        StandardScaler(),
        MixtureOfExpertsRegressor(Ridge(), gate=SoftmaxGate(), max_iter=10, random_state=0),
    )
    grid = GridSearchCV(
        pipe,
        {
            "mixtureofexpertsregressor__n_experts": [1, 2],
            "mixtureofexpertsregressor__gate__alpha": [0.01],
            "mixtureofexpertsregressor__experts__alpha": [1e-3, 1.0],
        },
        cv=3,
    )
    grid.fit(X, y)
    assert grid.best_params_["mixtureofexpertsregressor__n_experts"] == 2
    assert grid.best_score_ > 0.9
    scores = cross_val_score(
        MixtureOfExpertsClassifier(max_iter=10, random_state=0), *class_data(), cv=KFold(3)
    )
    assert scores.shape == (3,) and np.all(scores > 0.6)

    Xh, yh = piecewise_data()
    het = MixtureOfExpertsRegressor(
        [("lin", LinearRegression()), ("tree", DecisionTreeRegressor())], max_iter=5, random_state=0
    )
    g = GridSearchCV(het, {"experts__tree__max_depth": [1, 3]}, cv=3).fit(Xh, yh)
    assert g.best_estimator_.experts_[1].max_depth in (1, 3)


def test_pandas_dataframe_input():
    pd = pytest.importorskip("pandas")
    bunch = load_mcycle(as_frame=True)
    X, y = bunch.data, bunch.target
    moe = MixtureOfExpertsRegressor(n_experts=3, random_state=0).fit(X, y)
    assert_array_equal(moe.feature_names_in_, ["times"])
    assert_allclose(moe.predict(X), moe.predict(X.to_numpy()))
    with pytest.raises(ValueError, match="feature names"):
        moe.predict(X.rename(columns={"times": "t"}))
    assert isinstance(pd.Series(moe.predict(X)), pd.Series)


def test_pickle_round_trip(tmp_path):
    X, y = piecewise_data()
    for est in (
        MixtureOfExpertsRegressor(n_experts=2, random_state=0),
        MixtureOfExpertsRegressor(SVR(), n_experts=2, max_iter=5, random_state=0),
    ):
        est.fit(X, y)
        path = tmp_path / "m.pkl"
        path.write_bytes(pickle.dumps(est))
        loaded = pickle.loads(path.read_bytes())
        assert_array_equal(loaded.predict(X), est.predict(X))
        assert_array_equal(loaded.log_likelihood(X, y), est.log_likelihood(X, y))
    Xc, yc = class_data()
    clf = MixtureOfExpertsClassifier(random_state=0).fit(Xc, yc)
    assert_array_equal(pickle.loads(pickle.dumps(clf)).predict_proba(Xc), clf.predict_proba(Xc))


def test_fortran_and_read_only_input(tmp_path):
    X, y = piecewise_data()
    ref = MixtureOfExpertsRegressor(random_state=0).fit(X, y)
    XF = np.asfortranarray(X)
    got = MixtureOfExpertsRegressor(random_state=0).fit(XF, y)
    assert_allclose(got.predict(XF), ref.predict(X), rtol=1e-10)
    mm = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=X.dtype, shape=X.shape)
    mm[:] = X
    mm.flush()
    Xro = np.load(tmp_path / "X.npy", mmap_mode="r")
    yro = y.copy()
    yro.setflags(write=False)
    got = MixtureOfExpertsRegressor(random_state=0).fit(Xro, yro)
    assert_allclose(got.predict(Xro), ref.predict(X), rtol=1e-10)
    assert_allclose(got.log_likelihood(Xro, yro), ref.log_likelihood(X, y), rtol=1e-10)


def test_integer_sample_weight_equals_repeated_rows_at_m_step_level():
    """One M-step with integer weights equals the M-step on repeated rows."""
    from skmoe.experts._sets import _LinearGaussianSet, _RegressorSet

    rng = np.random.RandomState(0)
    X, y = piecewise_data(120)
    resp = rng.dirichlet(np.ones(3), size=len(y))
    sw = rng.randint(0, 4, size=len(y)).astype(float)
    rep = np.repeat(np.arange(len(y)), sw.astype(int))

    a = _LinearGaussianSet(3, 1e-8, 1e-9).fit(X, y, resp * sw[:, None])
    b = _LinearGaussianSet(3, 1e-8, 1e-9).fit(X[rep], y[rep], resp[rep])
    assert_allclose(a.coef, b.coef, rtol=1e-8, atol=1e-10)
    assert_allclose(a.intercept, b.intercept, rtol=1e-8, atol=1e-10)
    assert_allclose(a.variance, b.variance, rtol=1e-8)

    named = [("r", Ridge(alpha=0.1))] * 3
    a = _RegressorSet(named, "weighted", None, np.random.RandomState(0), 1e-9).fit(
        X, y, resp * sw[:, None]
    )
    b = _RegressorSet(named, "weighted", None, np.random.RandomState(0), 1e-9).fit(
        X[rep], y[rep], resp[rep]
    )
    assert_allclose(a.predict(X), b.predict(X), rtol=1e-8, atol=1e-10)
    assert_allclose(a.variance, b.variance, rtol=1e-8)

    for gate in (SoftmaxGate(alpha=0.1, tol=1e-10, max_iter=500), ConstantGate()):
        ga, gb = clone(gate), clone(gate)
        ga._initialize(X, 3)
        gb._initialize(X, 3)
        gb._mean, gb._scale = (ga._mean, ga._scale) if hasattr(ga, "_mean") else (None, None)
        if not hasattr(ga, "_mean"):
            del gb._mean, gb._scale
        ga._m_step(X, resp, sw)
        gb._m_step(X[rep], resp[rep], np.ones(len(rep)))
        assert_allclose(ga._log_proba(X), gb._log_proba(X), atol=1e-6)


def test_sample_weight_ones_and_scaling():
    X, y = piecewise_data()
    a = MixtureOfExpertsRegressor(random_state=0).fit(X, y)
    b = MixtureOfExpertsRegressor(random_state=0).fit(X, y, sample_weight=np.ones(len(y)))
    assert_array_equal(a.predict(X), b.predict(X))
    # Zero-weight rows do not influence the M-steps: corrupting their targets
    # changes nothing once the initialisation is shared (warm start).
    sw = np.ones(len(y))
    sw[:30] = 0
    y_bad = y.copy()
    y_bad[:30] = 1e3
    base = MixtureOfExpertsRegressor(random_state=0, max_iter=3).fit(X, y, sample_weight=sw)
    c1 = clone(base).set_params(warm_start=True, max_iter=5)
    c2 = clone(base).set_params(warm_start=True, max_iter=5)
    for c in (c1, c2):
        c.gate_, c._expert_set = base.gate_, base._expert_set
        c.n_features_in_ = base.n_features_in_
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c1.fit(X, y, sample_weight=sw)
        c2.fit(X, y_bad, sample_weight=sw)
    assert_allclose(c1.predict(X), c2.predict(X), rtol=1e-9)


def test_builtin_experts_standalone():
    X, y = piecewise_data()
    lin = LinearExpert().fit(X, y)
    ref = LinearRegression().fit(X, y)
    assert_allclose(lin.coef_, ref.coef_, rtol=1e-6)
    assert_allclose(lin.intercept_, ref.intercept_, rtol=1e-6)
    Xc, yc = class_data()
    log = LogisticExpert(alpha=1.0, tol=1e-10, max_iter=1000).fit(Xc, yc)
    # LogisticExpert penalises standardised coefficients: compare with
    # LogisticRegression(C=1) on standardised data.
    Z = StandardScaler().fit_transform(Xc)
    sk = LogisticRegression(C=1.0, tol=1e-12, max_iter=5000).fit(Z, yc)
    log_z = LogisticExpert(alpha=1.0, tol=1e-10, max_iter=1000).fit(Z, yc)
    assert_allclose(log_z.predict_proba(Z), sk.predict_proba(Z), atol=1e-5)
    assert_allclose(log.predict_proba(Xc), log_z.predict_proba(Z), atol=1e-5)
