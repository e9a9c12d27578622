"""Experts: built-in fast experts, and the adapters that let any estimator be one."""

from ._glm import BinomialExpert, PoissonExpert
from ._linear import LinearExpert
from ._logistic import LogisticExpert
from ._student import StudentTExpert

__all__ = ["BinomialExpert", "LinearExpert", "LogisticExpert", "PoissonExpert", "StudentTExpert"]
