"""skmoe: scikit-learn-compatible mixture-of-experts estimators.

Never imports torch: the neural estimators live in :mod:`skmoe.neural`.
"""

from ._classifier import MixtureOfExpertsClassifier
from ._config import config_context, get_config, set_config
from ._regressor import MixtureOfExpertsRegressor
from ._summary import SummaryResults
from .gating import ConstantGate, GaussianGate, HierarchicalGate, SoftmaxGate
from .sequence import MarkovSwitchingClassifier, MarkovSwitchingRegressor

__version__ = "0.1.0.dev0"

__all__ = [
    "ConstantGate",
    "GaussianGate",
    "HierarchicalGate",
    "MarkovSwitchingClassifier",
    "MarkovSwitchingRegressor",
    "MixtureOfExpertsClassifier",
    "MixtureOfExpertsRegressor",
    "SoftmaxGate",
    "SummaryResults",
    "__version__",
    "config_context",
    "get_config",
    "set_config",
]
