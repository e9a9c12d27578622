"""Small, fast instances of every public skmoe estimator, for scikit-learn's checks.

After scikit-learn's ``sklearn/utils/_test_common/instance_generator.py``: one
place says which instances the common tests run (``INSTANCES``), which public
estimators cannot go through ``parametrize_with_checks`` and why
(``SEQUENCE_INSTANCES``), which objects are only parameter holders
(``GATES``).  The expected failures and their written reasons come from the
public :func:`skmoe.utils.expected_failed_checks` (what users pass to
``check_estimator``); ``EXPECTED_FAILED_CHECKS`` lists them per instance,
keyed by ``(instance id, check name)`` (see :func:`instance_id`).
``tests/test_common.py`` is the one test that runs them.
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
from skmoe.utils import expected_failed_checks

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
# Expected failures, with their reasons: from the public
# skmoe.utils.expected_failed_checks, which users pass to check_estimator.
# --------------------------------------------------------------------------- #
EXPECTED_FAILED_CHECKS = {
    (instance_id(estimator), check): reason
    for estimator in INSTANCES + SEQUENCE_INSTANCES
    for check, reason in expected_failed_checks(estimator).items()
}
