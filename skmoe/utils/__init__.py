"""Utilities for using skmoe with the rest of the ecosystem.

:func:`expected_failed_checks` gives scikit-learn's estimator checks the
checks an skmoe estimator fails on purpose, with the reasons.
"""

from ._estimator_checks import expected_failed_checks

__all__ = ["expected_failed_checks"]
