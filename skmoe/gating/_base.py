"""The gate protocol shared by every gate."""

from abc import ABCMeta, abstractmethod

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import validate_data


class BaseGate(BaseEstimator, metaclass=ABCMeta):
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

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_experts)
        """
        # check_is_fitted refuses objects without a fit method, which a gate is.
        if not hasattr(self, "n_experts_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Gates are fitted "
                "by a mixture: use the fitted mixture's gate_ attribute."
            )
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return np.exp(self._log_proba(X))
