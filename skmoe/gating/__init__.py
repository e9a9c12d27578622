"""Gates: models of the probability that each expert is responsible for x."""

from ._base import BaseGate
from ._constant import ConstantGate
from ._softmax import SoftmaxGate

__all__ = ["BaseGate", "ConstantGate", "SoftmaxGate"]
