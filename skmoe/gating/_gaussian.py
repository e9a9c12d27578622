"""Localized (Gaussian) gate of Xu, Jordan & Hinton (1995)."""

from numbers import Real

import numpy as np
from scipy.special import logsumexp
from sklearn.mixture._gaussian_mixture import (
    _compute_precision_cholesky,
    _estimate_gaussian_parameters,
    _estimate_log_gaussian_prob,
)
from sklearn.utils._param_validation import Interval, StrOptions

from .._kernels._config import GATE_FLOOR
from .._threading import blas_single_threaded
from ._base import BaseGate


class GaussianGate(BaseGate):
    """Localized gate ``g_k(x) ∝ pi_k N(x; mu_k, Sigma_k)``.

    The alternative model of Xu, Jordan & Hinton (1995): the gate is the
    posterior of a Gaussian mixture on x, so each expert owns a region of
    input space.  Its M-step is closed form (that of
    :class:`sklearn.mixture.GaussianMixture`, whose estimators are reused),
    and EM then increases the *joint* log-likelihood ``log p(x, y)``; the
    mixture's ``lower_bounds_`` track that joint objective, while
    ``log_likelihood(X, y)`` still returns the conditional ``log p(y | x)``.

    Parameters
    ----------
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        As in :class:`~sklearn.mixture.GaussianMixture`.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance.

    Attributes
    ----------
    weights_ : ndarray of shape (n_experts,)
    means_ : ndarray of shape (n_experts, n_features)
    covariances_ : ndarray
        Shape depends on ``covariance_type``, as in GaussianMixture.
    precisions_cholesky_ : ndarray
    n_experts_ : int
    n_features_in_ : int
    """

    _parameter_constraints = {
        "covariance_type": [StrOptions({"full", "tied", "diag", "spherical"})],
        "reg_covar": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, covariance_type="full", reg_covar=1e-6):
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar

    def _initialize(self, X, n_experts, sample_weight=None):
        self._validate_params()
        self.n_experts_ = n_experts
        self.n_features_in_ = X.shape[1]
        sw = np.ones(X.shape[0]) if sample_weight is None else sample_weight
        # Until the first M-step: one broad component per expert at the data mean.
        resp = np.full((X.shape[0], n_experts), 1.0 / n_experts)
        self._m_step(X, resp, sw)

    def _m_step(self, X, resp, sample_weight):
        # Small matrices: a multi-threaded BLAS only adds its spin-up cost
        # (orders of magnitude on a loaded machine; see skmoe._threading).
        with blas_single_threaded():
            self._m_step_single_threaded(X, resp, sample_weight)

    def _m_step_single_threaded(self, X, resp, sample_weight):
        weighted = resp * sample_weight[:, None]
        # sklearn adds 10 * eps to nk; an expert with no mass keeps a finite,
        # broad component and is re-seeded by the driver.
        nk, means, covariances = _estimate_gaussian_parameters(
            X, weighted, self.reg_covar, self.covariance_type
        )
        if self.covariance_type == "tied":
            # sklearn's tied estimator forms X^T X unweighted, which assumes
            # rows of responsibilities summing to one; with sample weights
            # they sum to w_i.  The pooled within-component scatter instead:
            covariances = np.zeros((X.shape[1], X.shape[1]))
            for k in range(weighted.shape[1]):
                diff = X - means[k]
                covariances += (weighted[:, k] * diff.T) @ diff
            covariances /= nk.sum()
            covariances.flat[:: X.shape[1] + 1] += self.reg_covar
        self._set_parameters(nk, means, covariances)

    def _set_parameters(self, nk, means, covariances, where=""):
        """Set the fitted parameters from the M-step's masses, means and covariances.

        Shared by the in-memory, Dask and online M-steps, which differ only
        in how they obtain these (rows, sums over blocks, running averages).
        """
        weights = np.maximum(nk / nk.sum(), GATE_FLOOR)
        self.weights_ = weights / weights.sum()
        self.means_ = means
        self.covariances_ = covariances
        try:
            with blas_single_threaded():
                self.precisions_cholesky_ = _compute_precision_cholesky(
                    covariances, self.covariance_type
                )
        except ValueError as exc:
            raise ValueError(
                f"GaussianGate: an expert's input covariance became singular{where}; increase "
                f"reg_covar (now {self.reg_covar}) or use fewer experts. ({exc})"
            ) from None

    def _weighted_log_prob(self, X):
        with blas_single_threaded():
            log_prob = _estimate_log_gaussian_prob(
                X, self.means_, self.precisions_cholesky_, self.covariance_type
            )
        return log_prob + np.log(self.weights_)

    def _log_proba(self, X):
        wlp = self._weighted_log_prob(X)
        return wlp - logsumexp(wlp, axis=1, keepdims=True)

    def _log_marginal(self, X):
        return logsumexp(self._weighted_log_prob(X), axis=1)

    def _n_parameters(self):
        K, d = self.means_.shape
        if self.covariance_type == "full":
            cov = K * d * (d + 1) / 2.0
        elif self.covariance_type == "diag":
            cov = K * d
        elif self.covariance_type == "tied":
            cov = d * (d + 1) / 2.0
        else:
            cov = K
        return int(cov + K * d + K - 1)
