"""Gates: models of the probability that each expert is responsible for x."""

from ._base import BaseGate
from ._constant import ConstantGate
from ._gaussian import GaussianGate
from ._hierarchical import HierarchicalGate
from ._softmax import SoftmaxGate

__all__ = ["BaseGate", "ConstantGate", "GaussianGate", "HierarchicalGate", "SoftmaxGate"]
