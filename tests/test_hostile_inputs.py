"""Property-based hostile inputs over the public mixture and neural estimators (issue 13).

Random shapes (1 to 100 rows, 1 to 8 features), scales from 1e-12 to 1e12,
offsets to 1e10, duplicated rows, constant columns and targets, one to many
classes, extreme but finite weights: each fit succeeds with finite outputs
or raises a ValueError naming its argument, never another exception and
never a RuntimeWarning (the contract of ``tests/_hostile.py``).  The
project's deterministic profile (``tests/conftest.py``), with few examples
per estimator so the module stays within about two minutes on two cores;
``benchmarks/hostile_campaign.py`` runs the same properties for longer.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ._hostile import ESTIMATORS, check_estimator_on, datasets

# Per estimator: 10 data sets (about 1-4 s each, neural ones included).
_EXAMPLES = 10


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_hostile_inputs_fit_or_raise_a_named_value_error(name):
    make, classifier = ESTIMATORS[name]

    @settings(max_examples=_EXAMPLES)
    @given(data=datasets(classifier))
    def run(data):
        check_estimator_on(make, data)

    run()


@settings(max_examples=5)
@given(data=datasets(False), factor=st.sampled_from([1e-6, 1e6]))
def test_a_common_weight_factor_changes_nothing_in_the_contract(data, factor):
    """Scaling every weight keeps the outcome (fitted or the same rejection)."""
    make, _ = ESTIMATORS["moe-regressor"]
    X, y, sw = data
    if sw is None:
        return
    assert check_estimator_on(make, (X, y, sw)) == check_estimator_on(make, (X, y, sw * factor))
