"""scikit-learn's estimator checks over small, fast instances of every public estimator.

The instances, and every expected failure with its written reason, are listed
once in ``tests/_instances.py``.  ``parametrize_with_checks`` runs the API and
legacy checks on every estimator that takes a 2-D X; two checks it only runs
for scikit-learn's own estimators (``check_param_validation`` and
``check_dataframe_column_names_consistency``) are run here explicitly.  The
sequence-input estimators, which ``parametrize_with_checks`` cannot feed, get
the checks that need no data.  Where an expected failure's reason is "not
exactly", the behaviour the check wanted is asserted below at the precision
the estimator does achieve.  Anything else that fails is a bug in skmoe.
"""

import re
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import estimator_checks, shuffle
from sklearn.utils._param_validation import (
    InvalidParameterError,
    generate_invalid_param_val,
    make_constraint,
)
from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    check_estimator,
    check_param_validation,
    parametrize_with_checks,
)

from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor
from skmoe.experts import LinearExpert, LogisticExpert, PoissonExpert
from skmoe.utils import expected_failed_checks as public_expected_failed_checks

from ._instances import (
    EXPECTED_FAILED_CHECKS,
    GATES,
    HAS_TORCH,
    INSTANCES,
    SEQUENCE_API_CHECKS,
    SEQUENCE_INSTANCES,
    expected_failed_checks,
    instance_id,
)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    # The neural instances train on tiny shapes: extra OpenMP threads only
    # spin, and under pytest-xdist every worker would start one per core.
    if not HAS_TORCH:
        yield
        return
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _params(estimators, check_name):
    """One pytest param per estimator, marked xfail where the dict expects it."""
    for estimator in estimators:
        reason = expected_failed_checks(estimator).get(check_name)
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        yield pytest.param(estimator, marks=marks, id=instance_id(estimator))


@parametrize_with_checks(INSTANCES, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    # max_iter is kept small on purpose: a ConvergenceWarning is expected.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


@pytest.mark.parametrize(
    "estimator", _params(INSTANCES + SEQUENCE_INSTANCES + GATES, "check_param_validation")
)
def test_check_param_validation(estimator):
    # For the gates, which have no fit of their own, this checks that
    # _parameter_constraints covers exactly their parameters; that fit
    # validates them is test_gate_parameters_validated_by_mixture_fit.
    check_param_validation(type(estimator).__name__, estimator)


@pytest.mark.parametrize(
    "estimator",
    _params(INSTANCES + SEQUENCE_INSTANCES, "check_dataframe_column_names_consistency"),
)
def test_check_dataframe_column_names_consistency(estimator):
    pytest.importorskip("pandas")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check_dataframe_column_names_consistency(type(estimator).__name__, estimator)


def _sequence_params():
    for estimator in SEQUENCE_INSTANCES:
        for check_name in SEQUENCE_API_CHECKS:
            reason = expected_failed_checks(estimator).get(check_name)
            marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
            yield pytest.param(
                estimator, check_name, marks=marks, id=f"{instance_id(estimator)}-{check_name}"
            )


@pytest.mark.parametrize("estimator, check_name", _sequence_params())
def test_sequence_input_estimator(estimator, check_name):
    # See SEQUENCE_INPUT_REASON in _instances.py for why these estimators
    # cannot go through parametrize_with_checks.
    getattr(estimator_checks, check_name)(type(estimator).__name__, clone(estimator))


@pytest.mark.parametrize("Estimator", [MixtureOfExpertsRegressor, MixtureOfExpertsClassifier])
def test_users_check_estimator_passes_with_the_public_expected_failures(Estimator):
    # What a user runs: check_estimator on the default estimator, with the
    # dict skmoe publishes.  on_fail="raise" (the default) raises on any
    # check that fails and is not listed.
    est = Estimator()
    expected = public_expected_failed_checks(est)
    assert expected == {
        "check_sample_weight_equivalence_on_dense_data": expected[
            "check_sample_weight_equivalence_on_dense_data"
        ]
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        results = check_estimator(est, expected_failed_checks=expected, on_skip=None)
    status = {r["check_name"]: r["status"] for r in results}
    assert status["check_sample_weight_equivalence_on_dense_data"] == "xfail"
    assert set(status.values()) <= {"passed", "xfail", "skipped"}
    assert sum(s == "passed" for s in status.values()) > 30
    # Without the dict the listed check is what fails.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        results = check_estimator(est, on_skip=None, on_fail=None)
    assert [r["check_name"] for r in results if r["status"] == "failed"] == list(expected)


def test_public_expected_failures_cover_other_estimators_only_by_name():
    # Not an skmoe estimator: nothing expected to fail.
    from sklearn.linear_model import Ridge

    assert public_expected_failed_checks(Ridge()) == {}
    reasons = public_expected_failed_checks(MixtureOfExpertsRegressor(experts=PoissonExpert()))
    assert "check_regressors_train" in reasons and "counts" in reasons["check_regressors_train"]


def test_expected_failures_name_listed_instances_and_checks():
    # A key of the dict that matches no instance, or names a check that does
    # not exist, is a stale entry.
    known = {type(e) for e in INSTANCES + SEQUENCE_INSTANCES}
    known |= {instance_id(e) for e in INSTANCES + SEQUENCE_INSTANCES}
    for (key, check_name), reason in EXPECTED_FAILED_CHECKS.items():
        assert key in known, key
        assert hasattr(estimator_checks, check_name), check_name
        assert len(reason) > 40, (key, check_name)


@pytest.mark.parametrize("gate", [g for g in GATES if g.get_params()], ids=instance_id)
@pytest.mark.parametrize("Mixture", [MixtureOfExpertsRegressor, MixtureOfExpertsClassifier])
def test_gate_parameters_validated_by_mixture_fit(gate, Mixture):
    # check_param_validation for gates: a gate is fitted through the mixture,
    # so every invalid gate parameter (wrong type, or right type but out of
    # range) must make the mixture's fit raise scikit-learn's error naming
    # the gate's parameter.
    rng = np.random.RandomState(0)
    X = rng.uniform(size=(20, 3))
    y = rng.randint(0, 2, size=20)
    bad_type = type("BadType", (), {})()
    for name, constraints in gate._parameter_constraints.items():
        bad_values = [bad_type]
        for constraint in map(make_constraint, constraints):
            try:
                bad_values.append(generate_invalid_param_val(constraint))
            except NotImplementedError:
                pass
        match = rf"The '{re.escape(name)}' parameter of {type(gate).__name__} must be .* Got .* instead."
        for value in bad_values:
            mixture = Mixture(gate=clone(gate).set_params(**{name: value}), max_iter=2)
            with pytest.raises(InvalidParameterError, match=match):
                mixture.fit(X, y)


# --------------------------------------------------------------------------- #
# What the expected failures above do not check: weights act as repetitions.
# --------------------------------------------------------------------------- #
def _weighted_and_repeated(X, y, seed):
    sw = np.random.RandomState(seed).randint(0, 4, size=X.shape[0])
    X_rep, y_rep = X.repeat(sw, axis=0), y.repeat(sw)
    X_w, y_w, sw_w = shuffle(X, y, sw, random_state=seed)
    return (X_rep, y_rep), (X_w, y_w, sw_w)


def _two_regimes(n=60, seed=0):
    """Two well-separated clusters in x with a different law of y in each."""
    rng = np.random.RandomState(seed)
    x = np.concatenate([rng.uniform(-3, -1, n // 2), rng.uniform(1, 3, n - n // 2)])
    X = np.column_stack([x, rng.normal(size=n)])
    y_reg = np.where(x < 0, 2 * x + 10, -3 * x - 10) + 0.3 * rng.normal(size=n)
    y_clf = np.where(x < 0, (X[:, 1] > 0).astype(int), (X[:, 1] > 0.5).astype(int) + 1)
    return X, y_reg, y_clf


@pytest.mark.parametrize(
    "estimator, atol",
    [
        (MixtureOfExpertsRegressor(random_state=0), 1e-9),
        (MixtureOfExpertsRegressor(gate="constant", random_state=0), 1e-9),
        # LogisticExpert and SoftmaxGate stop at a gradient tolerance of 1e-6.
        (MixtureOfExpertsClassifier(random_state=0), 1e-4),
    ],
    ids=["regressor", "regressor-constant-gate", "classifier"],
)
def test_mixture_sample_weight_equivalence_well_separated(estimator, atol):
    # With clusters that k-means finds whatever its seeding, the only thing
    # the expected failure above excuses is gone, and fitting with integer
    # weights must match fitting on repeated rows: the k-means init, the
    # gate's standardisation, its M-step and the experts' M-steps all treat a
    # weight as a repetition.
    X, y_reg, y_clf = _two_regimes()
    y = y_clf if isinstance(estimator, MixtureOfExpertsClassifier) else y_reg
    (X_rep, y_rep), (X_w, y_w, sw) = _weighted_and_repeated(X, y, seed=1)
    repeated = clone(estimator).fit(X_rep, y_rep)
    weighted = clone(estimator).fit(X_w, y_w, sample_weight=sw)
    method = "predict_proba" if hasattr(estimator, "predict_proba") else "predict"
    assert_allclose(getattr(weighted, method)(X), getattr(repeated, method)(X), rtol=0, atol=atol)
    assert weighted.lower_bound_ == pytest.approx(repeated.lower_bound_, abs=atol)


def test_logistic_expert_sample_weight_equivalence():
    # The penalty acts on coefficients standardised by the *weighted* feature
    # moments; with unweighted moments the two fits differ by ~3e-3 here.
    rng = np.random.RandomState(42)
    X = rng.rand(40, 5)
    y = rng.randint(0, 3, size=40)
    (X_rep, y_rep), (X_w, y_w, sw) = _weighted_and_repeated(X, y, seed=0)
    expert = LogisticExpert(alpha=1.0, tol=1e-10, max_iter=1000)
    repeated = clone(expert).fit(X_rep, y_rep)
    weighted = clone(expert).fit(X_w, y_w, sample_weight=sw)
    assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), rtol=0, atol=1e-8)


def test_logistic_expert_warm_start_same_solution():
    # A warm start changes where the solver starts, never what it solves:
    # refitting warm on other weights gives the cold solution for them.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 3)) * [1.0, 10.0, 0.1] + [0.0, 5.0, -2.0]
    y = (X[:, 0] + 0.1 * X[:, 1] + rng.normal(size=80) > 0.5).astype(int)
    sw = rng.uniform(0.1, 3.0, size=80)
    params = dict(alpha=1.0, tol=1e-10, max_iter=1000)
    warm = LogisticExpert(warm_start=True, **params).fit(X, y)
    warm.fit(X, y, sample_weight=sw)
    cold = LogisticExpert(**params).fit(X, y, sample_weight=sw)
    assert_allclose(warm.predict_proba(X), cold.predict_proba(X), rtol=0, atol=1e-6)


def test_linear_expert_sample_weight_equivalence_underdetermined():
    # More features than weighted rows and the tiny default ridge: the normal
    # equations lose ~6 digits here; the least-squares solve must not.
    rng = np.random.RandomState(42)
    X = rng.rand(15, 30)
    y = rng.randint(0, 3, size=15).astype(float)
    (X_rep, y_rep), (X_w, y_w, sw) = _weighted_and_repeated(X, y, seed=0)
    repeated = LinearExpert().fit(X_rep, y_rep)
    weighted = LinearExpert().fit(X_w, y_w, sample_weight=sw)
    assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-9, atol=1e-9)


def test_linear_expert_offset_feature():
    # A feature far from zero relative to its spread (a year, a temperature
    # in kelvin): the fit must match the one on the centred feature.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 2)) * [1.0, 1e-2]
    y = X @ [1.0, 200.0] + 0.1 * rng.normal(size=200)
    centred = LinearExpert(alpha=1.0).fit(X, y)
    shifted = LinearExpert(alpha=1.0).fit(X + [0.0, 1e3], y)
    assert_allclose(shifted.coef_, centred.coef_, rtol=1e-8)
    assert_allclose(shifted.predict(X + [0.0, 1e3]), centred.predict(X), rtol=1e-8, atol=1e-8)
