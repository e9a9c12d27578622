"""Hostile inputs for the public mixture, Markov-switching and neural estimators (issue 13).

Shared by the property-based tests (``tests/test_hostile_inputs.py``, a
bounded, deterministic run) and the longer campaign
(``benchmarks/hostile_campaign.py``): one description of the inputs
(:func:`datasets`), one list of estimators (:data:`ESTIMATORS`), and one
contract (:func:`check_estimator_on`).

The contract: ``fit`` either succeeds, and then every output is finite
(predictions, probabilities that sum to one, per-row log-likelihoods,
responsibilities), or raises a ValueError whose message names the argument
at fault; never another exception type, and never a RuntimeWarning.
"""

import importlib.util
import inspect
import warnings

import numpy as np
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError
from sklearn.tree import DecisionTreeRegressor
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _num_samples

from skmoe import (
    ConstantGate,
    HierarchicalGate,
    MarkovSwitchingClassifier,
    MarkovSwitchingRegressor,
    MixtureOfExpertsClassifier,
    MixtureOfExpertsRegressor,
)
from skmoe.experts import LinearExpert, LogisticExpert, PoissonExpert, StudentTExpert
from skmoe.sequence import CategoricalHMMClassifier, GaussianHMMClassifier

HAS_TORCH = importlib.util.find_spec("torch") is not None

# Small, fast instances: the contract is about inputs, not convergence.
_FAST = dict(max_iter=15, n_init=1, random_state=0)


def _sparse(cls):
    def make():
        from skmoe.neural import SparseMoEClassifier, SparseMoERegressor

        est = {"regressor": SparseMoERegressor, "classifier": SparseMoEClassifier}[cls]
        return est(n_experts=2, top_k=1, hidden_layer_sizes=4, max_epochs=3, random_state=0)

    return make


ESTIMATORS = {
    "moe-regressor": (lambda: MixtureOfExpertsRegressor(n_experts=2, **_FAST), False),
    "moe-regressor-3": (lambda: MixtureOfExpertsRegressor(n_experts=3, **_FAST), False),
    "moe-regressor-tree": (
        lambda: MixtureOfExpertsRegressor(DecisionTreeRegressor(max_depth=2), n_experts=2, **_FAST),
        False,
    ),
    "moe-regressor-gaussian-gate": (
        lambda: MixtureOfExpertsRegressor(n_experts=2, gate="gaussian", **_FAST),
        False,
    ),
    "moe-regressor-constant-gate": (
        lambda: MixtureOfExpertsRegressor(n_experts=2, gate=ConstantGate(), **_FAST),
        False,
    ),
    "moe-classifier": (lambda: MixtureOfExpertsClassifier(n_experts=2, **_FAST), True),
    "moe-classifier-3": (lambda: MixtureOfExpertsClassifier(n_experts=3, **_FAST), True),
    "moe-classifier-gaussian-gate": (
        lambda: MixtureOfExpertsClassifier(n_experts=2, gate="gaussian", **_FAST),
        True,
    ),
}
# Markov switching: rows in time order, one series; no sample_weight (the
# contract then fits on X and y alone, see check_estimator_on).
ESTIMATORS["markov-regressor"] = (
    lambda: MarkovSwitchingRegressor(max_iter=15, random_state=0),
    False,
)
ESTIMATORS["markov-classifier"] = (
    lambda: MarkovSwitchingClassifier(max_iter=15, random_state=0),
    True,
)


class _RowSequences:
    """An HMM classifier seen through the 2-D contract: each row of X is a
    sequence of two steps, the row twice (an HMM refuses one-step sequences:
    it learns transitions), so the hostile values reach its fit."""

    def __init__(self, est):
        self.est = est

    @staticmethod
    def _seqs(X):
        X = np.asarray(X)
        return np.repeat(X[:, None, :], 2, axis=1) if X.ndim == 2 else X

    def fit(self, X, y, sample_weight=None):
        self.est.fit(self._seqs(X), y, sample_weight=sample_weight)
        return self

    def predict(self, X):
        return self.est.predict(self._seqs(X))

    def predict_proba(self, X):
        return self.est.predict_proba(self._seqs(X))


# The built-in experts on their own (public estimators too).
ESTIMATORS["expert-linear"] = (lambda: LinearExpert(), False)
ESTIMATORS["expert-student-t"] = (lambda: StudentTExpert(max_iter=20), False)
ESTIMATORS["expert-logistic"] = (lambda: LogisticExpert(max_iter=50), True)
ESTIMATORS["expert-poisson"] = (lambda: PoissonExpert(max_iter=50), False)
ESTIMATORS["categorical-hmm-classifier"] = (
    lambda: _RowSequences(CategoricalHMMClassifier(n_states=2, max_iter=10, random_state=0)),
    True,
)
ESTIMATORS["hmm-classifier"] = (
    lambda: _RowSequences(GaussianHMMClassifier(n_states=2, max_iter=10, random_state=0)),
    True,
)


class _PartialFit:
    """A mixture trained by ``partial_fit`` on the two halves of the rows
    (the online engine: running statistics, restored on a failed chunk)."""

    def __init__(self, est):
        self.est = est

    def fit(self, X, y, sample_weight=None):
        n = _num_samples(X)
        h = max(1, n // 2)
        for a, b in ((0, h), (h, n)):
            if a == b:
                continue
            rows = np.arange(a, b)
            kw = {} if sample_weight is None else {"sample_weight": sample_weight[a:b]}
            if self.est._is_classifier and a == 0:
                kw["classes"] = np.unique(y)
            self.est.partial_fit(_safe_indexing(X, rows), _safe_indexing(y, rows), **kw)
        return self

    def __getattr__(self, name):
        return getattr(self.est, name)


# Gates, experts and options beyond the defaults (a hierarchical gate, Student-t
# experts, sparse gating, feature subsets, pair moves, the online engine).
ESTIMATORS["moe-regressor-hme"] = (
    lambda: MixtureOfExpertsRegressor(gate=HierarchicalGate(depth=2), **_FAST),
    False,
)
ESTIMATORS["moe-regressor-student-t"] = (
    lambda: MixtureOfExpertsRegressor(StudentTExpert(), n_experts=2, **_FAST),
    False,
)
ESTIMATORS["moe-regressor-top-k"] = (
    lambda: MixtureOfExpertsRegressor(n_experts=3, top_k=1, **_FAST),
    False,
)
ESTIMATORS["moe-regressor-feature-subsets"] = (
    lambda: MixtureOfExpertsRegressor(
        n_experts=2, gate_features=[0], expert_features=[-1], **_FAST
    ),
    False,
)
ESTIMATORS["moe-regressor-split-merge"] = (
    lambda: MixtureOfExpertsRegressor(n_experts=3, split_merge=True, **_FAST),
    False,
)
ESTIMATORS["moe-classifier-hme"] = (
    lambda: MixtureOfExpertsClassifier(gate=HierarchicalGate(depth=1, branching=3), **_FAST),
    True,
)
ESTIMATORS["moe-classifier-top-k"] = (
    lambda: MixtureOfExpertsClassifier(n_experts=3, top_k=2, **_FAST),
    True,
)
ESTIMATORS["moe-regressor-partial-fit"] = (
    lambda: _PartialFit(MixtureOfExpertsRegressor(n_experts=2, random_state=0)),
    False,
)
ESTIMATORS["moe-classifier-partial-fit"] = (
    lambda: _PartialFit(MixtureOfExpertsClassifier(n_experts=2, random_state=0)),
    True,
)
if HAS_TORCH:
    ESTIMATORS["sparse-regressor"] = (_sparse("regressor"), False)
    ESTIMATORS["sparse-classifier"] = (_sparse("classifier"), True)

# A rejection must name what it rejects.
# (scikit-learn's own sample-weight checks say "Sample weights" in words.)
_NAMES = ("X", "y", "sample_weight", "sample weight", "n_samples", "n_experts", "class", "label")


@st.composite
def datasets(draw, classifier):
    """One data set: shape, scale, offset, duplicates, constants, labels, weights."""
    n = draw(st.one_of(st.integers(1, 4), st.integers(5, 100)))
    d = draw(st.integers(1, 8))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.RandomState(seed)
    scale = 10.0 ** draw(st.floats(-12, 12))
    offset = draw(st.sampled_from([0.0, 1.0, -1e3, 1e6, 1e10, -1e10]))
    X = rng.randn(n, d) * scale + offset
    if draw(st.booleans()):  # constant columns
        cols = draw(st.lists(st.integers(0, d - 1), max_size=d))
        X[:, cols] = offset + scale
    if n > 1 and draw(st.booleans()):  # duplicated rows
        X[n // 2 :] = X[: n - n // 2]
    if classifier:
        n_classes = draw(st.sampled_from([1, 2, 3, max(2, n // 2), n]))
        y = rng.randint(0, n_classes, n)
        if draw(st.booleans()):
            y = np.array([f"c{v}" for v in y])
    else:
        y_scale = 10.0 ** draw(st.floats(-12, 12))
        y = X[:, 0] / scale * y_scale + rng.randn(n) * y_scale
        if draw(st.booleans()):
            y = y * 0.0 + draw(st.sampled_from([0.0, 3.0, 1e10]))  # a constant target
        y = y + draw(st.sampled_from([0.0, 1e6, -1e10]))
    kind = draw(st.sampled_from(["none", "common", "extreme"]))
    if kind == "none":
        sw = None
    elif kind == "common":
        sw = np.full(n, 10.0 ** draw(st.floats(-30, 30)))
    else:
        sw = 10.0 ** rng.uniform(-10, 10, n)
        sw[rng.rand(n) < 0.2] = 0.0
    return X, y, sw


def check_estimator_on(make, data):
    """Fit ``make()`` on ``data`` under the contract; returns the outcome.

    Returns
    -------
    outcome : str
        ``"fitted"`` or ``"rejected"`` (a ValueError naming its argument).

    Raises
    ------
    AssertionError
        When the contract is broken (the message says how).
    """
    X, y, sw = data
    est = make()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if "sample_weight" in inspect.signature(est.fit).parameters:
                est.fit(X, y, sample_weight=sw)
            else:
                est.fit(X, y)
        except (ValueError, NotFittedError) as exc:
            message = str(exc)
            assert any(name in message or name in message.lower() for name in _NAMES), (
                f"{type(est).__name__}.fit raised a ValueError naming no argument: {message}"
            )
            _no_runtime_warning(caught, est, "fit (rejected)")
            return "rejected"
        except Exception as exc:  # the contract: nothing else escapes
            raise AssertionError(
                f"{type(est).__name__}.fit raised {type(exc).__name__}: {exc}"
            ) from exc
        _no_runtime_warning(caught, est, "fit")
        _check_outputs(est, X, y)
        _no_runtime_warning(caught, est, "predict")
        _check_far_outputs(est, X, y)
        _no_runtime_warning(caught, est, "predict far from the data")
    return "fitted"


def _check_far_outputs(est, X, y):
    """Inputs a million spreads away from the data: each output a number or
    +-inf (a mean can overflow there), never NaN; probabilities sum to one."""
    name = type(getattr(est, "est", est)).__name__
    spread = np.ptp(X, axis=0) + np.abs(X).max(axis=0) + 1.0
    for far in (X + 1e6 * spread, X - 1e6 * spread, X * 1e6):
        try:
            pred = est.predict(far)
        except ValueError as exc:  # symbols a categorical HMM never saw: named
            assert "symbol" in str(exc), f"{name}.predict far from the data: {exc}"
            continue
        if np.asarray(pred).dtype.kind == "f":
            assert not np.isnan(pred).any(), f"{name}.predict is NaN far from the data"
        if hasattr(est, "predict_proba"):
            proba = est.predict_proba(far)
            assert np.allclose(proba.sum(axis=1), 1.0), f"{name}.predict_proba far from the data"
        if hasattr(est, "log_likelihood"):
            ll = est.log_likelihood(far, y)
            assert not np.isnan(ll).any(), f"{name}.log_likelihood is NaN far from the data"
        if hasattr(est, "predict_quantiles"):
            q = est.predict_quantiles(far, (0.1, 0.9))
            assert not np.isnan(q).any(), f"{name}.predict_quantiles is NaN far from the data"
        if hasattr(est, "predict_gate"):
            g = est.predict_gate(far)
            assert np.allclose(g.sum(axis=1), 1.0), f"{name}.predict_gate far from the data"


def _no_runtime_warning(caught, est, where):
    runtime = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert not runtime, (
        f"{type(est).__name__}.{where} emitted RuntimeWarning: {runtime[0].message} "
        f"({runtime[0].filename}:{runtime[0].lineno})"
    )


def _check_outputs(est, X, y):
    name = type(getattr(est, "est", est)).__name__
    pred = est.predict(X)
    assert len(pred) == X.shape[0]
    if hasattr(est, "predict_proba"):
        proba = est.predict_proba(X)
        assert np.all(np.isfinite(proba)), f"{name}.predict_proba is not finite"
        assert np.allclose(proba.sum(axis=1), 1.0), f"{name}.predict_proba rows do not sum to 1"
    else:
        assert np.all(np.isfinite(pred)), f"{name}.predict is not finite"
    if hasattr(est, "log_likelihood"):
        ll = est.log_likelihood(X, y)
        assert np.all(np.isfinite(ll)), f"{name}.log_likelihood is not finite: {ll}"
        if hasattr(est, "responsibilities"):
            resp = est.responsibilities(X, y)
            assert np.allclose(resp.sum(axis=1), 1.0), f"{name}.responsibilities do not sum to 1"
        else:  # Markov switching: the smoothed regime probabilities
            post = est.smoothed_regime_proba(X, y)
            assert np.allclose(post.sum(axis=1), 1.0), f"{name}: regime probabilities"
        assert np.isfinite(est.bic(X, y)), f"{name}.bic is not finite"
