"""Experts: built-in fast experts, and the adapters that let any estimator be one."""

from ._linear import LinearExpert
from ._logistic import LogisticExpert

__all__ = ["LinearExpert", "LogisticExpert"]
