"""The gate protocol shared by every gate."""

from abc import ABCMeta, abstractmethod

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from .._docs import DocLinkMixin
from .._frame import frame_scale, moments_first, moments_second
from .._probabilities import proba_from_log
from .._validation import validate_numeric_data


def _frame_first(block):
    return moments_first(block.gx, block.sw)


def _frame_second(block, mean):
    return moments_second(block.gx, block.sw, mean)


def gate_feature_frame(rows):
    """Weighted centre and scale of each gate feature over ``rows`` (any row engine).

    Two ordered passes (means, then centred squares); constant columns get
    scale 1 (:func:`skmoe._frame.frame_scale`).
    """
    wsum, s = rows.sum(_frame_first)
    mean = s / wsum[0]
    (ss,) = rows.sum(_frame_second, mean)
    return mean, frame_scale(mean, np.sqrt(np.maximum(ss / wsum[0], 0.0)))


class BaseGate(DocLinkMixin, BaseEstimator, metaclass=ABCMeta):
    """Base class of gates: a model of ``g(x)``, a probability vector over experts.

    A gate is a public, scikit-learn-style object so that its parameters can be
    tuned as ``gate__<param>`` in a grid search.  The mixture estimator clones
    it and drives it through a small private protocol:

    ``_initialize(X, n_experts, sample_weight=None)``
        allocate parameters for ``n_experts`` experts; anything computed
        from X (e.g. a standardisation) must use ``sample_weight``, so that
        integer weights act like repeated rows;
    ``_m_step(X, resp, sample_weight)``
        fit the gate to soft targets ``resp`` (warm-started);
    ``_log_proba(X)``
        return ``log g_k(x_i)``, shape (n_samples, n_experts);
    ``_penalty()``
        the value of the penalty term subtracted from the log-likelihood, so
        that the EM objective the driver monitors is the one EM increases;
    ``_n_parameters()``
        the number of free parameters (for BIC / AIC).

    A gate is estimated through one of the two forms of the component
    protocol, which every row engine (in memory, Dask, ``partial_fit``)
    drives without knowing the gate's class:

    * additive statistics: ``prepare(rows)`` fixes the frame of an EM run,
      ``row_stats(block)`` returns a tuple of arrays that add over blocks of
      rows, ``m_step_from_stats(stats)`` is the M-step from their sum (or
      their running average, online);
    * an iterative problem: ``prepare(rows)``, then ``m_step_from_rows(rows)``
      runs the gate's solver with every loss, gradient and Hessian one
      ``rows.sum(...)`` (the softmax and hierarchical gates); online EM uses
      ``expansion_from_rows(rows)`` and ``m_step_from_expansion(stats, n_seen)``.

    The user guide's "How EM is organised" page shows a complete gate.

    See Also
    --------
    ConstantGate : Mixing proportions that do not depend on x.
    SoftmaxGate : Multinomial logistic gate, the default.
    GaussianGate : Localised gate, the posterior of a Gaussian mixture on x.
    HierarchicalGate : Tree of softmax gates (hierarchical mixture of experts).

    Examples
    --------
    Every gate is a ``BaseGate``; a fitted mixture holds its fitted clone as
    ``gate_``:

    >>> from skmoe import MixtureOfExpertsRegressor
    >>> from skmoe.datasets import load_mcycle
    >>> from skmoe.gating import BaseGate
    >>> X, y = load_mcycle(return_X_y=True)
    >>> moe = MixtureOfExpertsRegressor(n_experts=3, random_state=0).fit(X, y)
    >>> isinstance(moe.gate_, BaseGate)
    True
    >>> moe.gate_.predict_proba(X[:2]).sum(axis=1)
    array([1., 1.])
    """

    @abstractmethod
    def _initialize(self, X, n_experts, sample_weight=None): ...

    @abstractmethod
    def _m_step(self, X, resp, sample_weight): ...

    @abstractmethod
    def _log_proba(self, X): ...

    def _penalty(self):
        return 0.0

    def _log_marginal(self, X):
        """``log p(x_i)`` for gates that model x (None for conditional gates)."""
        return None

    @abstractmethod
    def _n_parameters(self): ...

    def predict_proba(self, X):
        """Gate probabilities ``g_k(x)``.

        A gate is fitted by a mixture, not on its own: call this on the
        fitted mixture's ``gate_``.  It is the full gate, without the
        mixture's ``top_k`` truncation; the mixture's ``predict_gate`` takes
        the mixture's full X, selects the gate's columns
        (``gate_features``) and applies ``top_k``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Gate inputs: the columns the gate was fitted on (all of X unless
            the mixture was given ``gate_features``).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_experts)
            Probability that each expert is responsible for each row; the
            rows sum to one.

        Raises
        ------
        NotFittedError
            If the gate has not been fitted by a mixture.
        """
        # check_is_fitted refuses objects without a fit method, which a gate is.
        if not hasattr(self, "n_experts_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Gates are fitted "
                "by a mixture: use the fitted mixture's gate_ attribute."
            )
        X = validate_numeric_data(self, X, reset=False, dtype=np.float64)
        return proba_from_log(self._log_proba(X))
