"""Feature subsets for gate and experts, and top-k sparse routing at predict time."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.tree import DecisionTreeRegressor

from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor


def data(n=400, seed=0):
    # The regime depends on x0 only; within a regime y is linear in x1 only.
    rng = np.random.RandomState(seed)
    X = rng.uniform(-2, 2, size=(n, 3))
    y = np.where(X[:, 0] > 0, 2 * X[:, 1] + 1, -X[:, 1] - 1) + 0.1 * rng.randn(n)
    return X, y


def test_gate_and_experts_see_their_columns_only():
    X, y = data()
    moe = MixtureOfExpertsRegressor(gate_features=[0], expert_features=[1], random_state=0).fit(
        X, y
    )
    assert moe.gate_.coef_.shape == (1, 2)
    assert all(e.coef_.shape == (1,) for e in moe.experts_)
    assert moe.score(X, y) > 0.98
    # Changing a column neither part sees changes nothing.
    X2 = X.copy()
    X2[:, 2] = 1e3
    assert_array_equal(moe.predict(X2), moe.predict(X))
    # The same model fitted on the selected columns alone, by hand:
    gate_only = moe.gate_._log_proba(np.ascontiguousarray(X[:, [0]]))
    assert_allclose(np.exp(gate_only), moe.predict_gate(X))
    means = np.column_stack([e.predict(X[:, [1]]) for e in moe.experts_])
    assert_allclose(means, moe.predict_experts(X))


@pytest.mark.parametrize(
    "gate_features, expert_features",
    [([0], [1]), ([True, False, False], [False, True, False]), (["a"], ["b"]), ([-3], [-2])],
)
def test_feature_specifications_are_equivalent(gate_features, expert_features):
    pd = pytest.importorskip("pandas")
    X, y = data()
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    ref = MixtureOfExpertsRegressor(gate_features=[0], expert_features=[1], random_state=0).fit(
        X, y
    )
    got = MixtureOfExpertsRegressor(
        gate_features=gate_features, expert_features=expert_features, random_state=0
    ).fit(df, y)
    assert_allclose(got.predict(df), ref.predict(X), rtol=1e-10)


@pytest.mark.parametrize(
    "spec, match",
    [
        ([5], r"column\(s\) \[5\] but X has 3 features"),
        ([True, False], "boolean mask of length 2 but X has 3"),
        ([False, False, False], "selects no column"),
        (["a"], "X has no feature names"),
        ([0, 0], "more than once"),
        ([], "non-empty"),
        ([0.5], "column indices, names or booleans"),
    ],
)
def test_bad_feature_subsets(spec, match):
    X, y = data(50)
    with pytest.raises(ValueError, match=match):
        MixtureOfExpertsRegressor(gate_features=spec).fit(X, y)
    with pytest.raises(ValueError, match=match.replace("gate", "expert")):
        MixtureOfExpertsRegressor(expert_features=spec).fit(X, y)


def test_unknown_column_names():
    pd = pytest.importorskip("pandas")
    X, y = data(50)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    with pytest.raises(ValueError, match=r"expert_features names column\(s\) \['zz'\]"):
        MixtureOfExpertsRegressor(expert_features=["a", "zz"]).fit(df, y)


def test_top_k_routing():
    X, y = data()
    full = MixtureOfExpertsRegressor(n_experts=3, random_state=0).fit(X, y)
    sparse = MixtureOfExpertsRegressor(n_experts=3, top_k=1, random_state=0).fit(X, y)
    # top_k changes prediction only, not training.
    assert_allclose(sparse.lower_bounds_, full.lower_bounds_)
    gate = full.predict_gate(X)
    routed = sparse.predict_gate(X)
    assert_array_equal((routed > 0).sum(axis=1), 1)
    assert_array_equal(routed.argmax(axis=1), gate.argmax(axis=1))
    assert_allclose(sparse.gate_mass_dropped(X), 1 - gate.max(axis=1), atol=1e-14)
    means = full.predict_experts(X)
    assert_allclose(sparse.predict(X), means[np.arange(len(X)), gate.argmax(axis=1)])
    # top_2 of 3: renormalised over the two largest.
    two = MixtureOfExpertsRegressor(n_experts=3, top_k=2, random_state=0).fit(X, y)
    g2 = two.predict_gate(X)
    order = np.sort(gate, axis=1)
    assert_allclose(
        np.sort(g2, axis=1)[:, 1:], order[:, 1:] / order[:, 1:].sum(axis=1, keepdims=True)
    )
    assert_allclose(two.gate_mass_dropped(X), order[:, 0], rtol=1e-10, atol=1e-300)
    # top_k >= n_experts drops nothing
    big = MixtureOfExpertsRegressor(n_experts=3, top_k=3, random_state=0).fit(X, y)
    assert_array_equal(big.gate_mass_dropped(X), 0.0)
    assert_allclose(big.predict(X), full.predict(X))
    assert np.all(np.isfinite(sparse.predict(X, return_std=True)[1]))


def test_top_k_classifier_and_tree_experts():
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, size=(300, 2))
    y = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(int)
    clf = MixtureOfExpertsClassifier(n_experts=3, top_k=1, random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    g = clf.predict_gate(X)
    experts = clf.predict_experts(X)
    assert_allclose(proba, experts[np.arange(len(X)), g.argmax(axis=1)])
    reg = MixtureOfExpertsRegressor(
        DecisionTreeRegressor(max_depth=2), n_experts=2, top_k=1, max_iter=5, random_state=0
    )
    reg.fit(X, X[:, 0])
    assert np.all(np.isfinite(reg.predict(X)))
