"""Real data shipped with skmoe, and generators of synthetic mixtures of experts."""

from ._base import load_mcycle
from ._samples_generator import make_moe_classification, make_moe_regression

__all__ = ["load_mcycle", "make_moe_classification", "make_moe_regression"]
