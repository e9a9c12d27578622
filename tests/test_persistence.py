"""Saving and loading fitted models: pickle, joblib and skops (doc/persistence.rst)."""

import pickle
import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning

from skmoe import (
    HierarchicalGate,
    MarkovSwitchingRegressor,
    MixtureOfExpertsClassifier,
    MixtureOfExpertsRegressor,
)
from skmoe.datasets import load_mcycle, make_moe_classification
from skmoe.experts import PoissonExpert, StudentTExpert
from skmoe.sequence import GaussianHMMClassifier
from skmoe.utils import skops_trusted_types


def _fitted_models():
    X, y = load_mcycle(return_X_y=True)
    Xc, yc, _ = make_moe_classification(n_samples=120, random_state=0)
    rng = np.random.RandomState(0)
    seqs = [rng.randn(15, 2) + (i % 2) for i in range(20)]
    ys = np.arange(20) % 2
    cases = [
        (MixtureOfExpertsRegressor(n_experts=3, random_state=0), X, y),
        (MixtureOfExpertsClassifier(random_state=0), Xc, yc),
        (
            MixtureOfExpertsRegressor(
                StudentTExpert(), gate=HierarchicalGate(depth=2), random_state=0
            ),
            X,
            y,
        ),
        (
            MixtureOfExpertsRegressor(PoissonExpert(), gate="constant", random_state=0),
            X,
            np.abs(y).round(),
        ),
        (MarkovSwitchingRegressor(random_state=0), X, y),
        (GaussianHMMClassifier(max_iter=5, random_state=0), seqs, ys),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return [(est.fit(a, b), a) for est, a, b in cases]


MODELS = _fitted_models()
IDS = [type(m).__name__ for m, _ in MODELS]


def _same_predictions(a, b, X):
    # Equal to rounding: the Student-t and Poisson experts' predictions of a
    # loaded model differ from the original's in the last bits (~1e-14).
    assert_allclose(a.predict(X), b.predict(X), rtol=1e-12, atol=0)
    if hasattr(a, "predict_proba"):
        assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-12, atol=0)


@pytest.mark.parametrize("model, X", MODELS, ids=IDS)
def test_pickle_and_joblib_round_trip(model, X, tmp_path):
    _same_predictions(model, pickle.loads(pickle.dumps(model)), X)
    joblib.dump(model, tmp_path / "model.joblib")
    _same_predictions(model, joblib.load(tmp_path / "model.joblib"), X)


@pytest.mark.parametrize("model, X", MODELS, ids=IDS)
def test_skops_round_trip_with_the_trusted_list(model, X, tmp_path):
    sio = pytest.importorskip("skops.io")
    path = tmp_path / "model.skops"
    sio.dump(model, path)
    untrusted = sio.get_untrusted_types(file=path)
    # Some skmoe types are untrusted by default, and every one is in the list.
    assert untrusted and set(untrusted) <= set(skops_trusted_types())
    with pytest.raises(Exception, match="[Uu]ntrusted"):
        sio.load(path)
    _same_predictions(model, sio.load(path, trusted=skops_trusted_types()), X)


def test_trusted_list_names_only_skmoe_classes():
    import importlib

    names = skops_trusted_types()
    assert len(names) < 40
    assert "skmoe._regressor.MixtureOfExpertsRegressor" in names
    for name in names:
        module, _, qualname = name.rpartition(".")
        assert module.startswith("skmoe.") and not module.startswith("skmoe.neural")
        assert isinstance(getattr(importlib.import_module(module), qualname), type)
