"""scikit-learn's estimator checks over small, fast instances of every public estimator.

``parametrize_with_checks`` runs the API and legacy checks; two checks it only
runs for scikit-learn's own estimators (``check_param_validation`` and
``check_dataframe_column_names_consistency``) are run here explicitly.  Every
expected failure is listed with its reason in :func:`_expected_failed_checks`;
anything else that fails is a bug in skmoe.
"""

import pytest
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_param_validation,
    parametrize_with_checks,
)

from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor
from skmoe.experts import LinearExpert, LogisticExpert
from skmoe.gating import ConstantGate, SoftmaxGate

# Small settings keep the whole file fast: the checks fit each estimator
# dozens of times on tiny data sets.
_FAST = dict(max_iter=20, n_init=1, random_state=0)

MIXTURES = [
    MixtureOfExpertsRegressor(**_FAST),
    MixtureOfExpertsRegressor(DecisionTreeRegressor(max_depth=3), **_FAST),
    MixtureOfExpertsClassifier(**_FAST),
    MixtureOfExpertsClassifier(DecisionTreeClassifier(max_depth=3), **_FAST),
]

EXPERTS = [
    LinearExpert(),
    LogisticExpert(max_iter=50),
]

_SAMPLE_WEIGHT_REASON = (
    "EM from a k-means initialisation is not invariant to repeating rows: "
    "k-means++ seeding and the random restarts draw from the rows, so a data set "
    "with repeated rows and the same data with integer weights start EM from "
    "different responsibilities and can reach different local optima."
)


def _expected_failed_checks(estimator):
    if isinstance(estimator, (MixtureOfExpertsRegressor, MixtureOfExpertsClassifier)):
        return {"check_sample_weight_equivalence_on_dense_data": _SAMPLE_WEIGHT_REASON}
    return {}


def _ids(estimator):
    params = estimator.get_params(deep=False)
    experts = params.get("experts")
    suffix = "" if experts is None else f"[{type(experts).__name__}]"
    return f"{type(estimator).__name__}{suffix}"


@parametrize_with_checks(
    MIXTURES + EXPERTS,
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", MIXTURES + EXPERTS, ids=_ids)
def test_check_param_validation(estimator):
    check_param_validation(type(estimator).__name__, estimator)


@pytest.mark.parametrize("estimator", MIXTURES + EXPERTS, ids=_ids)
def test_check_dataframe_column_names_consistency(estimator):
    pytest.importorskip("pandas")
    check_dataframe_column_names_consistency(type(estimator).__name__, estimator)
