"""skmoe as a citizen of scikit-learn and joblib (issue 15).

Nested parameters of the default gate and experts, cooperative threads,
warnings attributed to the user's line, and calibrated SVC experts.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold

from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor
from skmoe.datasets import make_moe_regression
from skmoe.experts import LinearExpert, LogisticExpert
from skmoe.gating import SoftmaxGate


def _data(n_samples=200, seed=0):
    X, y, _ = make_moe_regression(n_samples=n_samples, n_experts=2, noise=0.3, random_state=seed)
    return X, y


# --------------------------------------------------------------------------- #
# Nested parameters of the default gate and experts
# --------------------------------------------------------------------------- #
def test_nested_parameters_of_the_default_gate_and_experts_are_settable():
    moe = MixtureOfExpertsRegressor(random_state=0)
    moe.set_params(gate__alpha=0.5, experts__alpha=2.0)
    assert isinstance(moe.gate, SoftmaxGate) and moe.gate.alpha == 0.5
    assert isinstance(moe.experts, LinearExpert) and moe.experts.alpha == 2.0
    # The other parameters are the defaults the string and None stood for.
    assert moe.gate.get_params() == {**SoftmaxGate().get_params(), "alpha": 0.5}
    clf = MixtureOfExpertsClassifier().set_params(experts__alpha=3.0)
    assert isinstance(clf.experts, LogisticExpert) and clf.experts.alpha == 3.0
    # A string gate given in the same call is the one resolved.
    moe = MixtureOfExpertsRegressor().set_params(gate="gaussian", gate__reg_covar=1e-3)
    assert type(moe.gate).__name__ == "GaussianGate" and moe.gate.reg_covar == 1e-3
    # get_params and clone keep the string and None until then.
    plain = MixtureOfExpertsRegressor()
    assert plain.get_params(deep=False)["gate"] == "softmax"
    assert clone(plain).get_params(deep=False)["experts"] is None
    # A parameter the gate does not have names the gate's parameters.
    with pytest.raises(ValueError, match=r"Invalid parameter 'nope' for estimator SoftmaxGate"):
        MixtureOfExpertsRegressor().set_params(gate__nope=1)


def test_resolving_the_defaults_does_not_change_the_fit():
    X, y = _data()
    ref = MixtureOfExpertsRegressor(random_state=0).fit(X, y)
    tuned = MixtureOfExpertsRegressor(random_state=0).set_params(
        gate__alpha=SoftmaxGate().alpha, experts__alpha=LinearExpert().alpha
    )
    tuned.fit(X, y)
    assert_array_equal(tuned.predict(X), ref.predict(X))
    assert tuned.lower_bound_ == ref.lower_bound_


def test_grid_search_over_gate_and_expert_parameters_of_the_defaults():
    X, y = _data(seed=1)
    grid = {"gate__alpha": [1e-3, 1e3], "experts__alpha": [0.0, 1e4]}
    search = GridSearchCV(
        MixtureOfExpertsRegressor(random_state=0),
        grid,
        cv=KFold(3, shuffle=True, random_state=0),
        error_score="raise",
    ).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and len(scores) == 4
    # The parameters reached the fits: huge penalties flatten gate and lines.
    assert search.best_params_ == {"experts__alpha": 0.0, "gate__alpha": 1e-3}
    assert scores.max() - scores.min() > 0.3
    best = search.best_estimator_
    assert best.gate.alpha == 1e-3 and best.experts.alpha == 0.0
    assert_allclose(best.experts_[0].alpha, 0.0)
