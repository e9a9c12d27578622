"""partial_fit: online EM (Cappé & Moulines 2009) for both mixtures.

Oracles: the batch ``fit`` on the same data (log-likelihood within 1%),
least squares and the sample covariance on all rows seen (one expert, step
size 1/t: online EM then averages exactly the full-data statistics), a
stand-alone ``SGDRegressor`` fed the same chunks, and the plain streaming
loop for ``dask_ml.wrappers.Incremental``.
"""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, SGDClassifier, SGDRegressor
from sklearn.tree import DecisionTreeRegressor

from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor
from skmoe.datasets import make_moe_classification, make_moe_regression
from skmoe.experts import PoissonExpert, StudentTExpert
from skmoe.gating import GaussianGate, HierarchicalGate, SoftmaxGate


def _chunks(n, size):
    return [slice(a, min(a + size, n)) for a in range(0, n, size)]


def _stream(est, X, y, size, epochs=1, **kw):
    for _ in range(epochs):
        for s in _chunks(X.shape[0], size):
            est.partial_fit(X[s], y[s], **kw)
    return est


def _params(est):
    """Every fitted number of a mixture, flattened (for exact comparisons)."""
    parts = []
    for name in ("coef_", "intercept_", "weights_", "means_", "covariances_"):
        if hasattr(est.gate_, name):
            parts.append(np.ravel(getattr(est.gate_, name)))
    for e in est.experts_:
        for name in ("coef_", "intercept_"):
            parts.append(np.ravel(getattr(e, name)))
    if hasattr(est, "noise_variance_"):
        parts.append(est.noise_variance_)
    return np.concatenate(parts)


# --------------------------------------------------------------------------- #
# Online EM ends where batch EM does
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("gate", ["softmax", "constant", "gaussian"])
def test_regressor_online_within_one_percent_of_batch(gate):
    X, y, _ = make_moe_regression(8000, n_features=3, n_experts=3, gate="softmax", random_state=0)
    batch = MixtureOfExpertsRegressor(n_experts=3, gate=gate, random_state=0).fit(X, y)
    online = _stream(
        MixtureOfExpertsRegressor(n_experts=3, gate=gate, random_state=0), X, y, 200, epochs=2
    )
    ll_batch = batch.log_likelihood(X, y).mean()
    ll_online = online.log_likelihood(X, y).mean()
    assert abs(ll_online - ll_batch) <= 0.01 * abs(ll_batch), (ll_online, ll_batch)
    # Same model, not just the same score: the mixtures predict alike.
    scale = np.std(y)
    assert np.mean(np.abs(online.predict(X) - batch.predict(X))) < 0.05 * scale
    assert online.n_iter_ == 2 * len(_chunks(8000, 200))
    assert online.lower_bounds_.shape == (online.n_iter_,)


def test_hierarchical_gate_online_within_one_percent_of_batch():
    # The HME gate runs online through the component protocol (each node's
    # loss expanded about its parameters), with no code of its own in _online.
    X, y, _ = make_moe_regression(8000, n_features=3, n_experts=4, gate="softmax", random_state=1)
    gate = HierarchicalGate(depth=2, branching=2)
    # Both from one k-means start (no parallel chains online, no screening in
    # batch): the comparison is of the M-steps, not of how well restarts
    # search (the default batch fit finds a better optimum on these data,
    # -1.041 against -1.118 per row).
    one_start = dict(n_experts=4, gate=gate, init_params="kmeans", n_screen=0, random_state=0)
    batch = MixtureOfExpertsRegressor(**one_start).fit(X, y)
    online = _stream(MixtureOfExpertsRegressor(**one_start), X, y, 200, epochs=2)
    ll_batch = batch.log_likelihood(X, y).mean()
    ll_online = online.log_likelihood(X, y).mean()
    assert abs(ll_online - ll_batch) <= 0.01 * abs(ll_batch), (ll_online, ll_batch)


def test_classifier_online_within_one_percent_of_batch():
    # Like EM, online EM finds a local optimum; on this draw both find the
    # same one (on other draws either may end in a worse one).
    X, y, _ = make_moe_classification(12000, n_features=3, n_experts=2, n_classes=3, random_state=1)
    batch = MixtureOfExpertsClassifier(n_experts=2, random_state=0).fit(X, y)
    online = MixtureOfExpertsClassifier(n_experts=2, random_state=0)
    _stream(online, X, y, 100, epochs=2, classes=np.unique(y))
    ll_batch = batch.log_likelihood(X, y).mean()
    ll_online = online.log_likelihood(X, y).mean()
    assert abs(ll_online - ll_batch) <= 0.01 * abs(ll_batch), (ll_online, ll_batch)
    assert np.mean(online.predict(X) == batch.predict(X)) > 0.97


def test_poisson_experts_online_within_one_percent_of_batch():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(4000, 2))
    log_rate = np.where(X[:, 0] > 0, 0.5 + 0.8 * X[:, 1], 1.5 - 0.5 * X[:, 1])
    y = rng.poisson(np.exp(log_rate)).astype(float)
    batch = MixtureOfExpertsRegressor(PoissonExpert(), n_experts=2, random_state=0).fit(X, y)
    online = _stream(
        MixtureOfExpertsRegressor(PoissonExpert(), n_experts=2, random_state=0), X, y, 50, epochs=3
    )
    ll_batch = batch.log_likelihood(X, y).mean()
    ll_online = online.log_likelihood(X, y).mean()
    assert abs(ll_online - ll_batch) <= 0.01 * abs(ll_batch), (ll_online, ll_batch)


# --------------------------------------------------------------------------- #
# The running statistics are the full-data statistics (exact oracles)
# --------------------------------------------------------------------------- #
def test_one_expert_step_one_over_t_is_least_squares_on_all_rows():
    # One expert: responsibilities are 1 whatever the parameters, and with
    # gamma_t = 1/t (learning_decay=1, learning_offset=0) and equal chunks
    # the averaged statistics are those of all rows seen: the M-step is
    # least squares on them, and the Gaussian gate's moments are theirs.
    rng = np.random.RandomState(1)
    X = rng.normal(size=(600, 3)) * [1.0, 3.0, 0.5] + [0.0, 5.0, -2.0]
    y = X @ [1.0, -2.0, 0.5] + 3.0 + rng.normal(size=600)
    est = MixtureOfExpertsRegressor(
        n_experts=1, gate=GaussianGate(reg_covar=0.0), learning_decay=1.0, learning_offset=0.0
    )
    _stream(est, X, y, 100)
    ols = LinearRegression().fit(X, y)
    assert_allclose(est.experts_[0].coef_, ols.coef_, rtol=1e-7)
    assert_allclose(est.experts_[0].intercept_, ols.intercept_, rtol=1e-7)
    rss = np.mean((y - ols.predict(X)) ** 2)
    assert_allclose(est.noise_variance_, [rss], rtol=1e-6)
    assert_allclose(est.gate_.means_[0], X.mean(axis=0), rtol=1e-10, atol=1e-12)
    assert_allclose(est.gate_.covariances_[0], np.cov(X.T, bias=True), rtol=1e-8)


def test_sample_weight_acts_as_repetition_in_the_statistics():
    rng = np.random.RandomState(2)
    X = rng.normal(size=(300, 2))
    y = X @ [1.0, 2.0] + rng.normal(size=300)
    w = rng.randint(1, 4, size=300).astype(float)
    est = MixtureOfExpertsRegressor(
        n_experts=1, gate="constant", learning_decay=1.0, learning_offset=0.0
    )
    for s in _chunks(300, 100):
        est.partial_fit(X[s], y[s], sample_weight=w[s])
    # Statistics are averaged per unit of weight, chunk by chunk: weighted
    # least squares with each row's weight divided by its chunk's total.
    norm = np.concatenate([w[s] / w[s].sum() for s in _chunks(300, 100)])
    ref = LinearRegression().fit(X, y, sample_weight=norm)
    assert_allclose(est.experts_[0].coef_, ref.coef_, rtol=1e-7)


def test_expert_partial_fit_gets_the_chunks_with_weights():
    # One expert under a constant gate: responsibilities are 1, so the SGD
    # expert sees exactly the stream (the first chunk twice: once to
    # initialise, once for the first online step).
    rng = np.random.RandomState(3)
    X = rng.normal(size=(400, 2))
    y = X @ [1.0, -1.0] + 0.1 * rng.normal(size=400)
    est = MixtureOfExpertsRegressor(SGDRegressor(random_state=0), n_experts=1, gate="constant")
    _stream(est, X, y, 100)
    ref = SGDRegressor(random_state=0)
    ref.partial_fit(X[:100], y[:100], sample_weight=np.ones(100))
    for s in _chunks(400, 100):
        ref.partial_fit(X[s], y[s], sample_weight=np.ones(s.stop - s.start))
    assert_allclose(est.experts_[0].coef_, ref.coef_, rtol=1e-12)


def test_sgd_classifier_experts():
    X, y, _ = make_moe_classification(2000, n_features=2, n_experts=2, random_state=1)
    est = MixtureOfExpertsClassifier(
        SGDClassifier(loss="log_loss", random_state=0), n_experts=2, random_state=0
    )
    _stream(est, X, y, 200, classes=[0, 1])
    assert est.score(X, y) > 0.75
    assert est.predict_proba(X).shape == (2000, 2)


# --------------------------------------------------------------------------- #
# Reproducibility and continuation
# --------------------------------------------------------------------------- #
def test_same_random_state_same_stream_same_model():
    X, y, _ = make_moe_regression(1500, n_features=2, n_experts=3, random_state=4)
    a = _stream(MixtureOfExpertsRegressor(n_experts=3, random_state=7), X, y, 250)
    b = _stream(MixtureOfExpertsRegressor(n_experts=3, random_state=7, n_jobs=2), X, y, 250)
    assert_array_equal(_params(a), _params(b))
    c = _stream(
        MixtureOfExpertsRegressor(n_experts=3, random_state=8, init_params="random"), X, y, 250
    )
    assert not np.array_equal(_params(a), _params(c))


def test_pickle_mid_stream_continues_identically():
    X, y, _ = make_moe_classification(1200, n_features=2, n_experts=2, random_state=5)
    est = MixtureOfExpertsClassifier(n_experts=2, random_state=0)
    est.partial_fit(X[:400], y[:400], classes=[0, 1])
    copy = pickle.loads(pickle.dumps(est))
    for e in (est, copy):
        e.partial_fit(X[400:800], y[400:800])
        e.partial_fit(X[800:], y[800:])
    assert_array_equal(_params(est), _params(copy))


def test_partial_fit_after_fit_continues_from_the_fitted_model():
    X, y, _ = make_moe_regression(6000, n_features=2, n_experts=2, random_state=6)
    est = MixtureOfExpertsRegressor(n_experts=2, random_state=0).fit(X[:3000], y[:3000])
    ll_fit = est.log_likelihood(X, y).mean()
    gate = est.gate_
    _stream(est, X[3000:], y[3000:], 500)
    assert est.gate_ is gate  # updated in place, not re-initialised
    ll_online = est.log_likelihood(X, y).mean()
    assert abs(ll_online - ll_fit) <= 0.01 * abs(ll_fit)
    # A new fit replaces the model; partial_fit then continues from that one.
    est.fit(X[:1000], y[:1000])
    est.partial_fit(X[1000:2000], y[1000:2000])
    assert est.n_iter_ == 1


def test_zero_weight_chunk_changes_nothing():
    X, y, _ = make_moe_regression(600, n_features=2, n_experts=2, random_state=7)
    est = MixtureOfExpertsRegressor(n_experts=2, random_state=0).partial_fit(X[:300], y[:300])
    before = _params(est)
    est.partial_fit(X[300:], y[300:], sample_weight=np.zeros(300))
    assert_array_equal(_params(est), before)
    with pytest.raises(ValueError, match="no positive sample_weight"):
        MixtureOfExpertsRegressor().partial_fit(X[:10], y[:10], sample_weight=np.zeros(10))


# --------------------------------------------------------------------------- #
# classes= and bad input
# --------------------------------------------------------------------------- #
def test_classes_handling():
    X, y, _ = make_moe_classification(600, n_features=2, n_experts=2, n_classes=3, random_state=8)
    labels = np.array(["a", "b", "c"])[y]
    est = MixtureOfExpertsClassifier(n_experts=2, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        est.partial_fit(X[:200], labels[:200])
    with pytest.raises(ValueError, match="at least 2 classes"):
        clone(est).partial_fit(X[:200], labels[:200], classes=["a"])
    # A first chunk without class "c" is fine when classes names it.
    first = labels[:200] != "c"
    est.partial_fit(X[:200][first], labels[:200][first], classes=["c", "a", "b"])
    assert_array_equal(est.classes_, ["a", "b", "c"])
    est.partial_fit(X[200:400], labels[200:400])
    est.partial_fit(X[400:], labels[400:], classes=["a", "b", "c"])
    assert est.predict_proba(X).shape == (600, 3)
    assert set(est.predict(X)) <= {"a", "b", "c"}
    with pytest.raises(ValueError, match=r"not the same as on the first call"):
        est.partial_fit(X[:10], labels[:10], classes=["a", "b"])
    bad = labels[:10].copy()
    bad[3] = "z"
    with pytest.raises(
        ValueError, match=r"labels \['z'\] that are not in classes \['a', 'b', 'c'\]"
    ):
        est.partial_fit(X[:10], bad)


def test_classes_optional_after_fit():
    X, y, _ = make_moe_classification(400, n_features=2, n_experts=2, random_state=9)
    est = MixtureOfExpertsClassifier(n_experts=2, random_state=0, max_iter=500).fit(X, y)
    est.partial_fit(X[:100], y[:100])
    assert est.n_iter_ == 1


def test_mismatched_features_error():
    X, y, _ = make_moe_regression(400, n_features=3, n_experts=2, random_state=10)
    est = MixtureOfExpertsRegressor(n_experts=2, random_state=0).partial_fit(X[:200], y[:200])
    with pytest.raises(
        ValueError, match="X has 2 features, but MixtureOfExpertsRegressor is expecting 3"
    ):
        est.partial_fit(X[200:, :2], y[200:])
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    est = MixtureOfExpertsRegressor(n_experts=2, random_state=0).partial_fit(df[:200], y[:200])
    with pytest.raises(ValueError, match="feature names should match"):
        est.partial_fit(df[200:].rename(columns={"c": "d"}), y[200:])


def test_first_chunk_smaller_than_n_experts():
    with pytest.raises(ValueError, match="n_samples >= n_experts"):
        MixtureOfExpertsRegressor(n_experts=3).partial_fit(np.ones((2, 1)), [1.0, 2.0])


class _NoProtocolGate(SoftmaxGate):
    """A user gate with only the in-memory M-step (no component protocol)."""

    def __getattribute__(self, name):
        if name in ("expansion_from_rows", "m_step_from_expansion", "row_stats"):
            raise AttributeError(name)
        return super().__getattribute__(name)


@pytest.mark.parametrize(
    "est, match",
    [
        (
            MixtureOfExpertsRegressor(DecisionTreeRegressor()),
            r"expert 'expert0' \(DecisionTreeRegressor\)",
        ),
        (
            MixtureOfExpertsRegressor([("t", StudentTExpert()), ("u", StudentTExpert())]),
            r"expert 't' \(StudentTExpert\)",
        ),
        (MixtureOfExpertsClassifier(gate=_NoProtocolGate()), "_NoProtocolGate"),
    ],
)
def test_no_online_update_gives_a_clear_error(est, match):
    # scikit-learn's convention (MLPClassifier with solver="lbfgs"): the
    # method does not exist when it cannot work, and says why.
    assert not hasattr(est, "partial_fit")
    with pytest.raises(AttributeError, match=match):
        est.partial_fit(np.ones((4, 1)), [0, 1, 0, 1])
    assert hasattr(type(est), "partial_fit")  # documented on the class


# --------------------------------------------------------------------------- #
# dask-ml
# --------------------------------------------------------------------------- #
def test_dask_ml_incremental_equals_the_streaming_loop():
    pytest.importorskip("dask_ml")
    import dask
    import dask.array as da
    from dask_ml.wrappers import Incremental

    X, y, _ = make_moe_classification(1200, n_features=2, n_experts=2, random_state=11)
    est = MixtureOfExpertsClassifier(n_experts=2, random_state=0)
    with dask.config.set(scheduler="synchronous"):
        inc = Incremental(est, shuffle_blocks=False).fit(
            da.from_array(X, chunks=(300, 2)), da.from_array(y, chunks=300), classes=[0, 1]
        )
    loop = _stream(clone(est), X, y, 300, classes=[0, 1])
    assert_array_equal(_params(inc.estimator_), _params(loop))
    assert_allclose(inc.estimator_.predict_proba(X), loop.predict_proba(X), rtol=0, atol=0)


def test_partial_fit_checks_n_experts_before_building_experts(monkeypatch):
    # n_experts=10**9 on a first chunk of 30 rows fails at once (issue 13):
    # the experts are never built.
    rng = np.random.RandomState(0)
    X, y = rng.randn(30, 2), rng.randn(30)
    built = []
    monkeypatch.setattr(
        MixtureOfExpertsRegressor, "_named_experts", lambda self: built.append(1) or []
    )
    est = MixtureOfExpertsRegressor(n_experts=10**9)
    with pytest.raises(ValueError, match=r"n_samples >= n_experts.*n_samples=30"):
        est.partial_fit(X, y)
    assert not built and not hasattr(est, "gate_")
