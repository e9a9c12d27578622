"""Gate whose mixing proportions do not depend on x."""

import numpy as np

from .._kernels._config import GATE_FLOOR
from .._rows import RowBlock
from ._base import BaseGate


class ConstantGate(BaseGate):
    """Mixing proportions ``pi_k`` independent of x.

    With this gate a mixture of experts is the classical finite mixture of
    regressions (flexmix's default, mixtools' ``regmixEM``).  Its M-step is
    closed form: ``pi_k = sum_i w_i r_ik / sum_i w_i``.

    Attributes
    ----------
    weights_ : ndarray of shape (n_experts,)
        Mixing proportions.
    n_experts_ : int
    n_features_in_ : int
    """

    _parameter_constraints: dict = {}

    def __init__(self):
        pass

    def _initialize(self, X, n_experts, sample_weight=None):
        self.n_experts_ = n_experts
        self.n_features_in_ = X.shape[1]
        self.weights_ = np.full(n_experts, 1.0 / n_experts)

    # -- the component protocol (additive statistics, see skmoe._rows) ----- #
    def prepare(self, rows):
        """Nothing to fix: the proportions have no frame."""
        return self

    def row_stats(self, block):
        """``sum_i w_i r_ik`` over one block of rows (additive)."""
        # einsum, not BLAS: a threaded ddot/dgemv on a busy machine costs ms per call.
        return (np.einsum("i,ik->k", block.sw, block.resp),)

    def m_step_from_stats(self, stats):
        """Proportions from the summed (or averaged) responsibility masses."""
        (w,) = stats
        self.weights_ = np.maximum(w / w.sum(), GATE_FLOOR)
        self.weights_ /= self.weights_.sum()
        return self

    def _m_step(self, X, resp, sample_weight):
        self.m_step_from_stats(self.row_stats(RowBlock(sw=sample_weight, resp=resp)))

    def _log_proba(self, X):
        return np.broadcast_to(np.log(self.weights_), (X.shape[0], self.n_experts_)).copy()

    def _n_parameters(self):
        return self.n_experts_ - 1
