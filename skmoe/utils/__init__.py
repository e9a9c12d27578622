"""Utilities for using skmoe with the rest of the ecosystem.

:func:`expected_failed_checks` gives scikit-learn's estimator checks the
checks an skmoe estimator fails on purpose, with the reasons;
:func:`skops_trusted_types` the types to trust when loading a model saved
with skops.
"""

from ._estimator_checks import expected_failed_checks
from ._persistence import skops_trusted_types

__all__ = ["expected_failed_checks", "skops_trusted_types"]
