"""Gate whose mixing proportions do not depend on x."""

import numpy as np

from .._kernels import weighted_column_sums
from .._kernels._config import GATE_FLOOR
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

    See Also
    --------
    SoftmaxGate : Proportions that vary with x (a multinomial logistic model).
    GaussianGate : Proportions from a Gaussian mixture on x (localised experts).

    Examples
    --------
    >>> import numpy as np
    >>> from skmoe import MixtureOfExpertsRegressor
    >>> from skmoe.datasets import load_mcycle
    >>> from skmoe.gating import ConstantGate
    >>> X, y = load_mcycle(return_X_y=True)
    >>> moe = MixtureOfExpertsRegressor(n_experts=3, gate=ConstantGate(), random_state=0)
    >>> moe = moe.fit(X, y)
    >>> moe.gate_.weights_.shape
    (3,)
    >>> bool(np.allclose(moe.predict_gate(X), moe.gate_.weights_))  # the same for every x
    True
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
        """Fix the frame of an EM run: nothing to fix, the proportions have no frame.

        Part of the component protocol (see :class:`BaseGate`), so that the
        row engines can drive every additive gate alike.

        Parameters
        ----------
        rows : row engine
            The rows of the EM run (not read).

        Returns
        -------
        self : ConstantGate
            The gate, unchanged.
        """
        return self

    def row_stats(self, block):
        """Compute ``sum_i w_i r_ik`` over one block of rows (additive).

        Parameters
        ----------
        block : RowBlock
            One block of rows, with ``sw`` (sample weights, shape
            ``(n_rows,)``) and ``resp`` (responsibilities, shape
            ``(n_rows, n_experts)``).

        Returns
        -------
        stats : tuple of one ndarray of shape (n_experts,)
            Each expert's responsibility mass over the block.  The tuples of
            the blocks add up to that of all the rows, which is what lets the
            in-memory, Dask and online engines share one M-step.
        """
        # A Numba loop, not BLAS (a threaded gemv on a thin block costs ms per
        # call on a busy machine) nor einsum (~3x slower at 10^6 x 4).
        return (weighted_column_sums(block.sw, np.ascontiguousarray(block.resp)),)

    def m_step_from_stats(self, stats):
        """Set the proportions from the summed (or averaged) responsibility masses.

        ``pi_k = m_k / sum_j m_j``, floored at a tiny positive value (then
        renormalised) so that ``log pi_k`` stays finite.  Only the ratios of
        the masses matter, so their sum over the rows and their per-unit-weight
        running average (online EM) give the same M-step.

        Parameters
        ----------
        stats : tuple of one ndarray of shape (n_experts,)
            The responsibility masses, as returned by :meth:`row_stats` and
            added over blocks of rows.

        Returns
        -------
        self : ConstantGate
            The gate, with ``weights_`` updated.
        """
        (w,) = stats
        self.weights_ = np.maximum(w / w.sum(), GATE_FLOOR)
        self.weights_ /= self.weights_.sum()
        return self

    def _m_step(self, X, resp, sample_weight):
        # row_stats of all the rows as one block (the same numbers).
        self.m_step_from_stats((weighted_column_sums(sample_weight, np.ascontiguousarray(resp)),))

    def _log_proba(self, X):
        out = np.empty((X.shape[0], self.n_experts_))
        out[...] = np.log(self.weights_)
        return out

    def _n_parameters(self):
        return self.n_experts_ - 1
