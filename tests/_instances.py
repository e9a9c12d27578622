"""Small, fast instances of every public skmoe estimator, for scikit-learn's checks.

After scikit-learn's ``sklearn/utils/_test_common/instance_generator.py``: one
place says which instances the common tests run (``INSTANCES``), which public
estimators cannot go through ``parametrize_with_checks`` and why
(``SEQUENCE_INSTANCES``), which objects are only parameter holders
(``GATES``), and one dict, ``EXPECTED_FAILED_CHECKS``, holds every expected
failure with its written reason.  ``tests/test_common.py`` is the one test
that runs them.

A key of ``EXPECTED_FAILED_CHECKS`` is ``(class or instance id, check name)``:
a class applies to every instance of that class, an instance id (see
:func:`instance_id`) to that instance only.
"""

import importlib.util
import re

from sklearn import config_context
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from skmoe import (
    ConstantGate,
    GaussianGate,
    HierarchicalGate,
    MarkovSwitchingClassifier,
    MarkovSwitchingRegressor,
    MixtureOfExpertsClassifier,
    MixtureOfExpertsRegressor,
    SoftmaxGate,
)
from skmoe.experts import (
    BinomialExpert,
    LinearExpert,
    LogisticExpert,
    PoissonExpert,
    StudentTExpert,
)
from skmoe.sequence import CategoricalHMMClassifier, GaussianHMMClassifier, SequenceFeatures

HAS_TORCH = importlib.util.find_spec("torch") is not None


def instance_id(estimator):
    """The id ``parametrize_with_checks`` gives an instance: its repr without spaces."""
    with config_context(print_changed_only=True):
        return re.sub(r"\s", "", repr(estimator))


# Small settings keep the checks fast: they fit each estimator dozens of times
# on tiny data sets.
_FAST = dict(max_iter=20, n_init=1, random_state=0)

# --------------------------------------------------------------------------- #
# The mixtures: every gate, and every kind of expert (built-in closed-form,
# built-in iterative, GLM families, heavy-tailed, any scikit-learn estimator,
# a heterogeneous named list).
# --------------------------------------------------------------------------- #
POISSON_MIXTURE = MixtureOfExpertsRegressor(PoissonExpert(), **_FAST)
BINOMIAL_MIXTURE = MixtureOfExpertsRegressor(BinomialExpert(), **_FAST)

MIXTURES = [
    MixtureOfExpertsRegressor(**_FAST),
    MixtureOfExpertsRegressor(DecisionTreeRegressor(max_depth=3), **_FAST),
    MixtureOfExpertsRegressor(
        [("linear", LinearExpert()), ("tree", DecisionTreeRegressor(max_depth=3))], **_FAST
    ),
    MixtureOfExpertsRegressor(StudentTExpert(), max_iter=10, random_state=0),
    POISSON_MIXTURE,
    BINOMIAL_MIXTURE,
    MixtureOfExpertsRegressor(gate=ConstantGate(), **_FAST),
    MixtureOfExpertsRegressor(gate=HierarchicalGate(depth=1), **_FAST),
    MixtureOfExpertsRegressor(gate=HierarchicalGate(depth=2), **_FAST),
    MixtureOfExpertsRegressor(gate=GaussianGate(), **_FAST),
    MixtureOfExpertsClassifier(**_FAST),
    MixtureOfExpertsClassifier(DecisionTreeClassifier(max_depth=3), **_FAST),
    MixtureOfExpertsClassifier(gate=HierarchicalGate(depth=2), **_FAST),
    MixtureOfExpertsClassifier(gate=GaussianGate(), **_FAST),
]

# The experts used alone: each is a scikit-learn estimator too.
EXPERTS = [
    LinearExpert(),
    LogisticExpert(max_iter=50),
    StudentTExpert(),
    PoissonExpert(),
    BinomialExpert(),
]

MARKOV_SWITCHING = [
    MarkovSwitchingRegressor(max_iter=20, random_state=0),
    MarkovSwitchingClassifier(max_iter=5, random_state=0),
]


def _neural_instances():
    # Constructing a neural estimator imports torch; without torch (the core
    # install) they are left out, as test_neural.py is.
    if not HAS_TORCH:
        return []
    from skmoe.neural import SparseMoEClassifier, SparseMoERegressor

    small = dict(
        hidden_layer_sizes=(16,),
        n_experts=3,
        top_k=2,
        max_epochs=25,
        learning_rate=2e-2,
        n_iter_no_change=5,
        random_state=0,
    )
    return [SparseMoERegressor(**small), SparseMoEClassifier(**small)]


NEURAL = _neural_instances()

# Everything that goes through parametrize_with_checks.
INSTANCES = MIXTURES + EXPERTS + MARKOV_SWITCHING + NEURAL

# --------------------------------------------------------------------------- #
# Estimators whose X is a collection of variable-length sequences.
# --------------------------------------------------------------------------- #
SEQUENCE_INPUT_REASON = (
    "X is a collection of variable-length sequences (a list of (T_i, n_features) "
    "arrays, a 3-D array, or hmmlearn's concatenated 2-D array with lengths), and "
    "a plain 2-D array is refused on purpose: its rows would be ambiguous between "
    "one sequence per row and time steps of one sequence. Every check of "
    "parametrize_with_checks that fits passes a 2-D (n_samples, n_features) "
    "array, so these estimators cannot go through it (scikit-learn's tags have "
    "no 'sequence input' kind). test_common.py runs on them the checks that need "
    "no data (SEQUENCE_API_CHECKS) and check_param_validation; their fits, "
    "predictions, weights and clones are tested in test_hmm_classifier.py."
)

SEQUENCE_INSTANCES = [
    SequenceFeatures(),
    GaussianHMMClassifier(max_iter=5, random_state=0),
    CategoricalHMMClassifier(max_iter=5, random_state=0),
    MixtureOfExpertsClassifier(GaussianHMMClassifier(max_iter=5), max_iter=5, random_state=0),
]

# The checks of sklearn.utils.estimator_checks that pass no X (or only check
# unfitted behaviour), run on SEQUENCE_INSTANCES.
SEQUENCE_API_CHECKS = [
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_no_attributes_set_in_init",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_estimator_tags_renamed",
    "check_valid_tag_types",
    "check_mixin_order",
    "check_estimators_unfitted",
]

# --------------------------------------------------------------------------- #
# Gates: parameter holders fitted through a mixture (no fit of their own), so
# only check_param_validation applies to them.
# --------------------------------------------------------------------------- #
GATES = [SoftmaxGate(), ConstantGate(), HierarchicalGate(), GaussianGate()]

# --------------------------------------------------------------------------- #
# Expected failures, with their reasons.
# --------------------------------------------------------------------------- #
_MIXTURE_SAMPLE_WEIGHT_REASON = (
    "EM starts from k-means, whose k-means++ seeding draws rows at random: "
    "repeated rows and the same rows with integer weights give k-means "
    "different draws, hence a different initial partition (and a different "
    "assignment of expert labels and expert seeds), and EM converges to a "
    "different local optimum. Every M-step does honour integer weights as "
    "repetitions: see test_mixture_sample_weight_equivalence_well_separated."
)

_LOGISTIC_SAMPLE_WEIGHT_REASON = (
    "The weighted objective is exactly the repeated-rows objective, but the "
    "check's data (15 rows, 30 features, 3 classes: separable, weakly "
    "penalised) is ill-conditioned: an iterative solver stopped on the "
    "objective reaches its optimum only to ~2e-5 in probability even at "
    "tol=1e-12, not to the check's rtol=1e-7 (scikit-learn lists the same check as an expected "
    "failure of LogisticRegression). See "
    "test_logistic_expert_sample_weight_equivalence."
)

_NEURAL_SAMPLE_WEIGHT_REASON = (
    "Training is mini-batch AdamW over shuffled rows: repeating a row changes "
    "the number of rows per epoch, the batches and the validation split, so "
    "the fit with integer weights follows a different optimisation path than "
    "the fit on repeated rows (scikit-learn lists the same expected failure "
    "for MLPRegressor's and MLPClassifier's stochastic solvers). Weights do "
    "enter the losses exactly: see test_sample_weight_is_a_loss_weight and "
    "test_zero_weight_rows_are_ignored."
)

_POISSON_COUNTS_REASON = (
    "PoissonExpert models counts and refuses a y that is not made of "
    "non-negative whole numbers. Its positive_only target tag makes these "
    "checks draw positive y, but continuous ones (scikit-learn has no "
    "'integer target' tag), so the fit raises the documented ValueError. "
    "Fits on counts, with weights, are tested in test_families.py."
)

_POISSON_MIXTURE_REASON = (
    "A mixture of PoissonExpert models counts and refuses a y that is not "
    "made of non-negative whole numbers; these checks draw continuous y, and "
    "negative y too, because MixtureOfExpertsRegressor does not forward its "
    "expert's positive_only target tag (it could, when every expert has it). "
    "Mixtures of Poisson regressions are tested in test_families.py."
)

_BINOMIAL_PROPORTIONS_REASON = (
    "BinomialExpert models proportions of successes out of n_trials and "
    "refuses a y outside [0, 1]; these checks draw y of any sign and size "
    "(scikit-learn has no 'target in [0, 1]' tag), so the fit raises the "
    "documented ValueError before the behaviour the check is about is "
    "reached. Binomial fits, alone and in mixtures, with weights, are tested "
    "in test_families.py."
)

_SEQUENCE_DATAFRAME_REASON = (
    "X is a collection of sequences; a DataFrame is a 2-D table, which these "
    "estimators refuse (see SEQUENCE_INPUT_REASON), so there are no column "
    "names to keep consistent."
)

# Checks whose failure is only that the check's y is not a valid target.
_POISSON_TARGET_CHECKS = [
    "check_regressors_train",
    "check_regressor_data_not_an_array",
    "check_regressors_no_decision_function",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_dataframe_column_names_consistency",
]

_BINOMIAL_TARGET_CHECKS = [
    "check_fit_score_takes_y",
    "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self",
    "check_readonly_memmap_input",
    "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit",
    "check_estimators_dtypes",
    "check_sample_weights_pandas_series",
    "check_sample_weights_not_an_array",
    "check_sample_weights_list",
    "check_sample_weights_shape",
    "check_sample_weights_not_overwritten",
    "check_sample_weight_equivalence_on_dense_data",
    "check_dtype_object",
    "check_f_contiguous_array_estimator",
    "check_regressors_train",
    "check_regressor_data_not_an_array",
    "check_regressors_no_decision_function",
    "check_supervised_y_2d",
    "check_regressors_int",
    "check_non_transformer_estimators_n_iter",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_fit2d_1feature",
    "check_dict_unchanged",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
    "check_n_features_in",
    "check_fit2d_predict1d",
    "check_dataframe_column_names_consistency",
]

EXPECTED_FAILED_CHECKS = {
    (MixtureOfExpertsRegressor, "check_sample_weight_equivalence_on_dense_data"): (
        _MIXTURE_SAMPLE_WEIGHT_REASON
    ),
    (MixtureOfExpertsClassifier, "check_sample_weight_equivalence_on_dense_data"): (
        _MIXTURE_SAMPLE_WEIGHT_REASON
    ),
    (LogisticExpert, "check_sample_weight_equivalence_on_dense_data"): (
        _LOGISTIC_SAMPLE_WEIGHT_REASON
    ),
    **{(PoissonExpert, check): _POISSON_COUNTS_REASON for check in _POISSON_TARGET_CHECKS},
    **{
        (instance_id(POISSON_MIXTURE), check): _POISSON_MIXTURE_REASON
        for check in _POISSON_TARGET_CHECKS
    },
    **{(BinomialExpert, check): _BINOMIAL_PROPORTIONS_REASON for check in _BINOMIAL_TARGET_CHECKS},
    **{
        (instance_id(BINOMIAL_MIXTURE), check): _BINOMIAL_PROPORTIONS_REASON
        for check in _BINOMIAL_TARGET_CHECKS + ["check_estimators_partial_fit_n_features"]
    },
    **{
        (instance, "check_dataframe_column_names_consistency"): _SEQUENCE_DATAFRAME_REASON
        for instance in map(instance_id, SEQUENCE_INSTANCES)
    },
}

if HAS_TORCH:
    from skmoe.neural import SparseMoEClassifier, SparseMoERegressor

    EXPECTED_FAILED_CHECKS.update(
        {
            (SparseMoERegressor, "check_sample_weight_equivalence_on_dense_data"): (
                _NEURAL_SAMPLE_WEIGHT_REASON
            ),
            (SparseMoEClassifier, "check_sample_weight_equivalence_on_dense_data"): (
                _NEURAL_SAMPLE_WEIGHT_REASON
            ),
        }
    )


def expected_failed_checks(estimator):
    """``{check name: reason}`` for one instance, for ``parametrize_with_checks``."""
    keys = (type(estimator), instance_id(estimator))
    return {check: reason for (key, check), reason in EXPECTED_FAILED_CHECKS.items() if key in keys}
