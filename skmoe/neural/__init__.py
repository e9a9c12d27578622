"""Sparse top-k neural mixtures of experts on PyTorch, as scikit-learn estimators.

``import skmoe.neural`` does not import torch; constructing or fitting an
estimator does, and raises an ImportError with the install command
(``pip install "skmoe[torch]"``) when torch is missing.  The layer itself,
:class:`SparseMoELayer`, is loaded (with torch) on first access.
"""

from ._estimators import SparseMoEClassifier, SparseMoERegressor

__all__ = ["SparseMoEClassifier", "SparseMoELayer", "SparseMoERegressor"]


def __getattr__(name):
    if name == "SparseMoELayer":
        from ._torch import import_torch

        import_torch()
        from ._layer import SparseMoELayer

        return SparseMoELayer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
