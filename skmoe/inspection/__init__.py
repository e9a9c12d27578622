"""Plots of fitted mixtures of experts, as scikit-learn style Display objects.

Each display has a ``from_estimator`` class method that computes what is
drawn and calls ``plot``, which creates the matplotlib artists and stores
them (``ax_``, ``figure_``, ``lines_``...).  matplotlib is imported only when
something is drawn: importing this module does not need it.
:func:`bootstrap_params` gives bootstrap standard errors and intervals of a
fitted mixture's parameters.
"""

from .._bootstrap import BootstrapResults, bootstrap_params
from ._convergence import ConvergenceDisplay
from ._experts import ExpertsDisplay
from ._gate import GateDisplay
from ._predictive import PredictiveDistributionDisplay

__all__ = [
    "BootstrapResults",
    "ConvergenceDisplay",
    "ExpertsDisplay",
    "GateDisplay",
    "PredictiveDistributionDisplay",
    "bootstrap_params",
]
