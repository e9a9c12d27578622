"""Regression tests of issue 13: legal inputs fit, bad inputs get a clear error,
and a failed call changes nothing.

One test per defect the hostile-input campaign found; the property-based
sweep over the same classes of input is ``tests/test_hostile_inputs.py``.
"""

import time
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.neighbors import KNeighborsRegressor
from sklearn.svm import SVC, SVR
from sklearn.tree import DecisionTreeRegressor

from skmoe import HierarchicalGate, MixtureOfExpertsClassifier, MixtureOfExpertsRegressor
from skmoe.exceptions import DegenerateExpertWarning, ExpertFitError
from skmoe.experts import LinearExpert, LogisticExpert
from skmoe.experts._sets import _ClassifierSet, _RegressorSet


def _fit_quietly(est, X, y, **kw):
    """Fit, collecting the warnings; re-seeding and freezing warnings are expected here."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y, **kw)
    return est, [w for w in caught if not issubclass(w.category, FutureWarning)]


def _assert_finite_model(est, X, y):
    if not hasattr(est, "classes_"):
        assert np.all(np.isfinite(est.predict(X)))
    ll = est.log_likelihood(X, y)
    assert ll.shape == (X.shape[0],) and np.all(np.isfinite(ll))
    resp = est.responsibilities(X, y)
    assert_allclose(resp.sum(axis=1), 1.0)


# --------------------------------------------------------------------------- #
# Crashes on legal input: experts with (near) zero responsibility mass
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("seed", range(6))
def test_four_rows_three_tree_experts_fit(seed):
    """4 rows, 3 DecisionTreeRegressor experts: a tree that fits its rows
    exactly takes every row, the others lost all their mass and their fit
    refused all-zero weights (ExpertFitError for 10 of 15 seeds)."""
    rng = np.random.RandomState(seed)
    X, y = rng.randn(4, 2), rng.randn(4)
    est, _ = _fit_quietly(
        MixtureOfExpertsRegressor(DecisionTreeRegressor(), n_experts=3, random_state=seed), X, y
    )
    _assert_finite_model(est, X, y)


@pytest.mark.parametrize("n_experts", [3, 4])
@pytest.mark.parametrize("seed", range(3))
def test_four_rows_builtin_logistic_experts_fit(n_experts, seed):
    rng = np.random.RandomState(seed)
    X = rng.randn(4, 2)
    y = np.array([0, 1, 0, 1])
    est, _ = _fit_quietly(
        MixtureOfExpertsClassifier(LogisticExpert(), n_experts=n_experts, random_state=seed), X, y
    )
    proba = est.predict_proba(X)
    assert np.all(np.isfinite(proba))
    assert_allclose(proba.sum(axis=1), 1.0)
    _assert_finite_model(est, X, y)


@pytest.mark.parametrize(
    "make, classifier",
    [
        (lambda: None, False),
        (lambda: None, True),
        (lambda: DecisionTreeRegressor(), False),
        (lambda: SVR(), False),
        (lambda: SVC(probability=True), True),
    ],
    ids=["builtin-regressor", "builtin-classifier", "tree", "svr", "svc"],
)
@pytest.mark.parametrize("n", [2, 5, 8])
def test_as_many_experts_as_rows_fit(make, classifier, n):
    """n_experts == n_samples: the re-seed takes a donor's only rows; the
    donor must be frozen for that M-step, never fitted on zero weights, and
    the user is told."""
    rng = np.random.RandomState(n)
    X = rng.randn(n, 2)
    y = np.arange(n) % 2 if classifier else rng.randn(n)
    cls = MixtureOfExpertsClassifier if classifier else MixtureOfExpertsRegressor
    est, caught = _fit_quietly(cls(make(), n_experts=n, max_iter=30, random_state=0), X, y)
    _assert_finite_model(est, X, y)
    if n > 2:
        # Every expert fights for one row: re-seeds (or freezes) happen and are reported.
        assert any(issubclass(w.category, DegenerateExpertWarning) for w in caught)


def test_svc_expert_with_one_class_of_weight_is_frozen_and_reported():
    """SVC refuses weights whose positive rows are all one class, which is
    normal for an expert that owns a pure region: the expert keeps its
    previous fit for that M-step, and the mixture warns."""
    X = np.array([[0.0], [1.0], [2.0], [3.0], [10.0], [11.0], [12.0], [13.0]])
    y = np.array([0, 1, 0, 1, 1, 1, 1, 1])
    experts = _ClassifierSet(
        [
            ("a", SVC(probability=True, random_state=0)),
            ("b", SVC(probability=True, random_state=0)),
        ],
        "weighted",
        None,
        np.random.RandomState(0),
        2,
    )
    experts.fit(X, y, np.full((8, 2), 0.5))
    first = experts.ests[1]
    W = np.zeros((8, 2))
    W[:4, 0] = 1.0
    W[4:, 1] = 1.0  # expert 1 sees class 1 only
    experts.fit(X, y, W, iteration=1)
    assert experts.n_frozen == 1
    assert experts.ests[1] is not first  # a copy of its previous fit...
    assert_allclose(experts.ests[1].dual_coef_, first.dual_coef_)  # ...unchanged
    assert experts.ests[0].n_support_.sum() > 0


def test_expert_with_zero_mass_is_frozen_without_calling_its_fit():
    rng = np.random.RandomState(0)
    X, y = rng.randn(20, 2), rng.randn(20)
    experts = _RegressorSet(
        [("a", DecisionTreeRegressor(max_depth=2)), ("b", DecisionTreeRegressor(max_depth=2))],
        "weighted",
        None,
        np.random.RandomState(0),
        1e-6,
    )
    experts.fit(X, y, np.full((20, 2), 0.5))
    before = experts.ests[1].tree_.value.copy()
    W = np.column_stack([np.ones(20), np.zeros(20)])
    experts.fit(X, y, W, iteration=1)
    assert experts.n_frozen == 1
    assert_allclose(experts.ests[1].tree_.value, before)
    assert np.all(np.isfinite(experts.variance))


def test_an_expert_error_on_healthy_weights_still_raises():
    """Freezing is for degenerate weights only: an expert that raises on
    ordinary weights is an ExpertFitError (tests/test_validation.py has the
    message), not silently frozen."""

    class Flaky(DecisionTreeRegressor):
        calls = 0

        def fit(self, X, y, sample_weight=None):
            type(self).calls += 1
            if type(self).calls > 2:
                raise ArithmeticError("boom")
            return super().fit(X, y, sample_weight=sample_weight)

    rng = np.random.RandomState(0)
    X, y = rng.randn(40, 2), rng.randn(40)
    with pytest.raises(ExpertFitError, match="boom"):
        MixtureOfExpertsRegressor(Flaky(max_depth=2), n_experts=2, random_state=0).fit(X, y)


def test_stochastic_m_step_with_collapsed_experts():
    """m_step="stochastic": a collapsed expert drew its rows from all-zero
    probabilities (NumPy's "probabilities contain NaN"), and a k-neighbours
    expert resampled to fewer rows than n_neighbors raised in predict."""
    rng = np.random.RandomState(0)
    for n, k in [(20, 3), (10, 2), (8, 8)]:
        X, y = rng.randn(n, 2), rng.randn(n)
        est = MixtureOfExpertsRegressor(
            KNeighborsRegressor(n_neighbors=2 if n == 8 else 5),
            n_experts=k,
            m_step="stochastic",
            random_state=0,
            max_iter=20,
        )
        est, _ = _fit_quietly(est, X, y)
        _assert_finite_model(est, X, y)


def test_expert_that_cannot_predict_is_named():
    """An expert that cannot predict on its resample (5 neighbours, 6 rows,
    3 experts) gives an error that names the expert, not the raw KNN message."""
    rng = np.random.RandomState(0)
    X, y = rng.randn(6, 2), rng.randn(6)
    est = MixtureOfExpertsRegressor(
        KNeighborsRegressor(), n_experts=3, m_step="stochastic", random_state=0
    )
    with pytest.raises(ExpertFitError, match=r"Expert \d \('expert\d', KNeighborsRegressor\)"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", DegenerateExpertWarning)
            est.fit(X, y)


def test_dask_fit_with_an_empty_block():
    """A block of 0 rows (boolean filtering, then compute_chunk_sizes())."""
    da = pytest.importorskip("dask.array")
    rng = np.random.RandomState(0)
    X = rng.randn(300, 2)
    y = X[:, 0] + 0.1 * rng.randn(300)
    keep = np.r_[np.ones(100), np.zeros(100), np.ones(100)].astype(bool)
    Xd = da.from_array(X, chunks=(100, 2))[da.from_array(keep, chunks=100)]
    yd = da.from_array(y, chunks=100)[da.from_array(keep, chunks=100)]
    Xd.compute_chunk_sizes()
    yd.compute_chunk_sizes()
    assert 0 in Xd.chunks[0]
    got = MixtureOfExpertsRegressor(n_experts=2, random_state=0).fit(Xd, yd)
    ref = MixtureOfExpertsRegressor(n_experts=2, random_state=0).fit(X[keep], y[keep])
    assert_allclose(got.lower_bound_, ref.lower_bound_, rtol=1e-8)


@pytest.mark.parametrize("experts", [None, DecisionTreeRegressor(), [("a", LinearExpert())]])
def test_n_experts_checked_before_any_expert_is_built(experts, monkeypatch):
    """n_experts=10**9 fails at once (it built every expert first: 3.4 s at
    1e5, past 8 GB at 1e9)."""
    rng = np.random.RandomState(0)
    X, y = rng.randn(30, 2), rng.randn(30)
    built = []
    monkeypatch.setattr(
        MixtureOfExpertsRegressor, "_named_experts", lambda self: built.append(1) or []
    )
    if isinstance(experts, list):
        experts = experts * 40  # more (duplicate-named) experts than rows
    est = MixtureOfExpertsRegressor(experts, n_experts=10**9)
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"n_samples >= n_experts.*n_samples=30"):
        est.fit(X, y)
    assert time.perf_counter() - start < 1.0
    assert not built
    assert not hasattr(est, "n_features_in_")


def test_n_experts_checked_first_on_dask():
    da = pytest.importorskip("dask.array")
    X = da.from_array(np.random.RandomState(0).randn(30, 2), chunks=(10, 2))
    y = da.from_array(np.zeros(30), chunks=10)
    with pytest.raises(ValueError, match="n_samples=30 and n_experts=1000000000"):
        MixtureOfExpertsRegressor(n_experts=10**9).fit(X, y)


# --------------------------------------------------------------------------- #
# A failed fit changes nothing
# --------------------------------------------------------------------------- #
def _state(est):
    return {k: v for k, v in vars(est).items()}


def _same_state(est, before):
    """The attributes of ``before``, each the same object or (``partial_fit``
    restores a deep snapshot: it updates the model in place) an equal copy."""
    import pickle

    now = vars(est)
    return now.keys() == before.keys() and all(
        now[k] is before[k] or pickle.dumps(now[k]) == pickle.dumps(before[k]) for k in before
    )


def test_failed_classifier_refit_keeps_the_fitted_state():
    """A refit with new labels that fails validation kept the new classes_
    with the old model, which then predicted labels it never saw."""
    rng = np.random.RandomState(0)
    X = rng.randn(60, 2)
    y = (X[:, 0] > 0).astype(int)
    clf = MixtureOfExpertsClassifier(n_experts=3, random_state=0).fit(X, y)
    before = _state(clf)
    pred = clf.predict(X)
    labels = np.array(["a", "b", "c"] * 20)
    bad = [
        dict(X=X[:2], y=labels[:2]),  # fewer rows than experts, checked after the labels
        dict(X=X, y=labels, sample_weight=-np.ones(60)),
        dict(X=X, y=labels, sample_weight=(np.arange(60) % 3 == 0) * 1.0),
        dict(X=X, y=labels[:59]),
    ]
    for kw in bad:
        with pytest.raises(ValueError):
            clf.fit(**kw)
        assert _state(clf).keys() == before.keys()
        assert all(vars(clf)[k] is before[k] for k in before)
        assert_allclose(clf.predict(X), pred)
        assert list(clf.classes_) == [0, 1]


def test_failed_regressor_refit_keeps_the_fitted_state():
    rng = np.random.RandomState(0)
    X, y = rng.randn(60, 2), rng.randn(60)
    reg = MixtureOfExpertsRegressor(n_experts=2, random_state=0).fit(X, y)
    before = _state(reg)
    X3 = rng.randn(60, 3)
    for Xb, yb in [(X3, np.full(60, np.nan)), (X3, y[:10]), (X3[:1], y[:1])]:
        with pytest.raises(ValueError):
            reg.fit(Xb, yb)
        assert reg.n_features_in_ == 2
        assert all(vars(reg)[k] is before[k] for k in before) and vars(reg).keys() == before.keys()
        reg.predict(X)  # its old input is still accepted


def test_failed_first_fit_leaves_the_estimator_unfitted():
    from sklearn.exceptions import NotFittedError

    est = MixtureOfExpertsClassifier(n_experts=2)
    X = np.random.RandomState(0).randn(10, 2)
    with pytest.raises(ValueError):
        est.fit(X, np.zeros(10))  # one class
    assert not hasattr(est, "classes_") and not hasattr(est, "n_features_in_")
    with pytest.raises(NotFittedError):
        est.predict(X)


def test_failed_partial_fit_keeps_the_fitted_state():
    rng = np.random.RandomState(0)
    X = rng.randn(60, 2)
    y = (X[:, 0] > 0).astype(int)
    clf = MixtureOfExpertsClassifier(n_experts=2, random_state=0)
    clf.partial_fit(X, y, classes=[0, 1])
    before = _state(clf)
    with pytest.raises(ValueError):
        clf.partial_fit(X, np.array([0, 1, 2] * 20))  # a label outside classes
    with pytest.raises(ValueError):
        clf.partial_fit(rng.randn(60, 3), y)
    assert _same_state(clf, before)
    # A first chunk that fails leaves the estimator as unfitted as it was.
    reg = MixtureOfExpertsRegressor(n_experts=2, random_state=0)
    with pytest.raises(ValueError, match="no positive sample_weight"):
        reg.partial_fit(X, X[:, 0], sample_weight=np.zeros(60))
    assert not hasattr(reg, "n_features_in_")
    reg.partial_fit(X, X[:, 0])
    before = _state(reg)
    with pytest.raises(ValueError):
        reg.partial_fit(rng.randn(60, 3), X[:, 0])
    assert _same_state(reg, before)
    assert clone(reg).get_params() == reg.get_params()


# --------------------------------------------------------------------------- #
# Silent wrong results and unclear errors
# --------------------------------------------------------------------------- #
def _toy(n=80, seed=1):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 3)
    return X, rng.randint(0, 2, n), X[:, 0] + 0.1 * rng.randn(n)


@pytest.mark.parametrize("scale", [1e100, 1e155, 1e300])
def test_gaussian_gate_probabilities_stay_finite_far_from_the_data(scale):
    """predict_proba was all-NaN at |X| ~ 1e155 (the squared distances
    overflowed for every component); LogisticRegression is finite there."""
    X, c, y = _toy()
    clf = MixtureOfExpertsClassifier(n_experts=2, gate="gaussian", random_state=0).fit(X, c)
    reg = MixtureOfExpertsRegressor(n_experts=2, gate="gaussian", random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        proba = clf.predict_proba(X * scale)
        gate = clf.predict_gate(X * scale)
        pred = reg.predict(X * scale)
    assert np.all(np.isfinite(proba)) and np.all(np.isfinite(pred))
    assert_allclose(proba.sum(axis=1), 1.0)
    # Far out only the direction counts: the same gate at every such scale.
    assert_allclose(gate, clf.predict_gate(X * 1e120), atol=1e-12)


@pytest.mark.parametrize(
    "method", ["log_likelihood", "bic", "aic", "icl", "responsibilities", "score"]
)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_scoring_methods_reject_non_finite_y(method, bad):
    X, _, y = _toy()
    reg = MixtureOfExpertsRegressor(n_experts=2, random_state=0).fit(X, y)
    y = y.copy()
    y[3] = bad
    # score is scikit-learn's RegressorMixin.score (r2_score's message).
    match = "contains (NaN|infinity)" if method == "score" else "y contains (NaN|infinity)"
    with pytest.raises(ValueError, match=match):
        getattr(reg, method)(X, y)


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda X, y: (X, y * 1e200), "y"),
        (lambda X, y: (X * 1e200, y), "X"),
        (lambda X, y: (np.vstack([X[:-1], [[1e308, 0.0, 0.0]]]), y), "X"),
    ],
    ids=["y-1e200", "X-1e200", "X-one-1e308"],
)
@pytest.mark.parametrize("gate", ["softmax", "gaussian"])
def test_values_whose_squares_overflow_are_named(make, name, gate):
    """y ~ 1e200 gave OverflowError / ZeroDivisionError, X ~ 1e200 scipy's
    "array must not contain infs or NaNs"."""
    X, _, y = _toy()
    Xb, yb = make(X, y)
    with pytest.raises(
        ValueError, match=rf"^{name} has values of magnitude up to .*Rescale {name}"
    ):
        MixtureOfExpertsRegressor(n_experts=2, gate=gate, random_state=0).fit(Xb, yb)
    # Just inside the range, the same data fit (scaled frames).
    est = MixtureOfExpertsRegressor(n_experts=2, gate=gate, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X * 1e140, y * 1e140)
    assert np.all(np.isfinite(est.log_likelihood(X * 1e140, y * 1e140)))


def _sparse_kw():
    return dict(n_experts=2, top_k=1, hidden_layer_sizes=4, max_epochs=5, random_state=0)


def test_sparse_moe_targets_near_1e200_give_finite_predictions():
    """The target's scale was computed from overflowing squares: inf for
    every prediction."""
    pytest.importorskip("torch")
    from skmoe.neural import SparseMoERegressor

    X, _, y = _toy(60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        big = SparseMoERegressor(**_sparse_kw()).fit(X, y * 1e200).predict(X)
        ref = SparseMoERegressor(**_sparse_kw()).fit(X, y).predict(X)
    assert np.all(np.isfinite(big))
    assert_allclose(big / 1e200, ref, rtol=1e-4, atol=1e-6 * np.abs(ref).max())


def test_sparse_moe_numeric_string_target_and_clear_error():
    pytest.importorskip("torch")
    from skmoe.neural import SparseMoERegressor

    X, _, y = _toy(60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = SparseMoERegressor(**_sparse_kw()).fit(X, y.astype(str)).predict(X)
        b = SparseMoERegressor(**_sparse_kw()).fit(X, y).predict(X)
    assert_allclose(a, b)
    with pytest.raises(ValueError, match="numeric target y.*'a'"):
        SparseMoERegressor(**_sparse_kw()).fit(X, np.array(["a"] * 60))


@pytest.mark.parametrize("weight", [1e300, 1e-300])
def test_sparse_moe_extreme_weights(weight):
    """Weights of 1e300 or 1e-300 overflowed or vanished in float32 and the
    error blamed the learning rate; their losses are weighted means, so a
    common factor changes nothing."""
    pytest.importorskip("torch")
    from skmoe.neural import SparseMoEClassifier, SparseMoERegressor

    X, c, y = _toy(60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for est, target, out in [
            (SparseMoERegressor, y, "predict"),
            (SparseMoEClassifier, c, "predict_proba"),
        ]:
            got = getattr(
                est(**_sparse_kw()).fit(X, target, sample_weight=np.full(60, weight)), out
            )(X)
            ref = getattr(est(**_sparse_kw()).fit(X, target), out)(X)
            assert_allclose(got, ref, rtol=1e-5, atol=1e-7)
        mixed = np.where(np.arange(60) % 2, 1e300, 1e-300)
        pred = SparseMoERegressor(**_sparse_kw()).fit(X, y, sample_weight=mixed).predict(X)
    assert np.all(np.isfinite(pred))


@pytest.mark.parametrize("gate", ["hierarchical", HierarchicalGate(), HierarchicalGate(depth=3)])
def test_select_n_experts_refuses_every_tree_gate(gate):
    """gate="hierarchical" is HierarchicalGate(): it fixes the number of
    experts too.  It was accepted, every candidate was the same 4-leaf
    model, and best_n_experts=1 was reported."""
    from skmoe.model_selection import select_n_experts

    X, _, y = _toy()
    with pytest.raises(ValueError, match="fixes the number of experts"):
        select_n_experts(MixtureOfExpertsRegressor(gate=gate), X, y, n_experts=[1, 2, 3])


def test_a_common_weight_factor_without_penalties_changes_nothing():
    """The documented sample_weight contract: penalties are on the summed
    scale (weights as repetitions), so only unpenalised models are free of
    the weights' total; for them a factor of 1e-6 or 1e6 changes nothing."""
    X, _, y = _toy(120)
    sw = np.random.RandomState(0).uniform(0.5, 2.0, 120)
    kw = dict(n_experts=2, gate="constant", random_state=0, tol=1e-10, max_iter=300)
    ref = MixtureOfExpertsRegressor(**kw).fit(X, y, sample_weight=sw)
    for factor in (1e-6, 1e6):
        got = MixtureOfExpertsRegressor(**kw).fit(X, y, sample_weight=sw * factor)
        assert_allclose(got.lower_bound_, ref.lower_bound_, rtol=1e-8)
        assert_allclose(got.predict(X), ref.predict(X), rtol=1e-6, atol=1e-8)
    # With the softmax gate's penalty the total matters, as documented.
    soft = dict(kw, gate="softmax")
    a = MixtureOfExpertsRegressor(**soft).fit(X, y, sample_weight=sw).predict_gate(X)
    b = MixtureOfExpertsRegressor(**soft).fit(X, y, sample_weight=sw * 1e-6).predict_gate(X)
    assert not np.allclose(a, b, atol=1e-6)


def test_float32_experts_name_x_beyond_their_range():
    # scikit-learn's trees cast X to float32: |X| ~ 1e40 failed inside EM as
    # an ExpertFitError; it is a ValueError naming X and the expert, before
    # any work (issue 13).
    from sklearn.ensemble import RandomForestRegressor

    rng = np.random.RandomState(0)
    X, y = rng.randn(50, 2), rng.randn(50)
    for expert in [DecisionTreeRegressor(max_depth=2), RandomForestRegressor(n_estimators=3)]:
        with pytest.raises(ValueError, match=r"^X has values of magnitude up to .*float32"):
            MixtureOfExpertsRegressor(expert, n_experts=2, random_state=0).fit(X * 1e40, y)
    est = MixtureOfExpertsRegressor(DecisionTreeRegressor(max_depth=2), n_experts=2, random_state=0)
    assert np.isfinite(est.fit(X * 1e30, y).score(X * 1e30, y))


def test_partial_fit_failing_mid_update_changes_nothing():
    # An estimator expert whose partial_fit raises on the third chunk, after
    # online EM has started updating the model in place: the estimator is
    # exactly as after the second chunk (issue 13: a failed call changes
    # nothing).
    from sklearn.linear_model import SGDRegressor

    class Flaky(SGDRegressor):
        calls = 0

        def partial_fit(self, X, y, sample_weight=None):
            type(self).calls += 1
            if type(self).calls > 6:  # 2 experts: chunk 1 (start + step) and 2 pass
                raise RuntimeError("flaky expert")
            return super().partial_fit(X, y, sample_weight=sample_weight)

    rng = np.random.RandomState(0)
    X, y = rng.randn(90, 2), rng.randn(90)
    est = MixtureOfExpertsRegressor(
        Flaky(random_state=0), n_experts=2, init_params="kmeans", n_screen=0, random_state=0
    )
    est.partial_fit(X[:30], y[:30])
    est.partial_fit(X[30:60], y[30:60])
    before = (est.predict(X).copy(), est.n_iter_, est.lower_bounds_.copy(), est._online.t)
    with pytest.raises(Exception, match="flaky expert"):
        est.partial_fit(X[60:], y[60:])
    assert_allclose(est.predict(X), before[0], rtol=0, atol=0)
    assert est.n_iter_ == before[1] and est._online.t == before[3]
    assert_allclose(est.lower_bounds_, before[2], rtol=0, atol=0)
