"""Localized (Gaussian) gate of Xu, Jordan & Hinton (1995)."""

from numbers import Real

import numpy as np
from scipy.special import logsumexp
from sklearn.utils._param_validation import Interval, StrOptions

from .._kernels._config import GATE_FLOOR
from .._lazy import _compute_precision_cholesky, _estimate_log_gaussian_prob
from .._rows import ThreadRows
from .._threading import blas_single_threaded
from ._base import BaseGate, gate_feature_frame

# Frame units (standard deviations) beyond which only the direction of a row
# decides the gate: squared distances of 1e200 still leave every difference
# between components resolved, and never overflow.
_FAR = 1e100


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
        Added to the diagonal of every covariance of the *standardised* gate
        features: in the user's units, ``reg_covar`` times each feature's
        weighted variance over the training data, so the gate does not
        depend on feature units or offsets.

    Attributes
    ----------
    weights_ : ndarray of shape (n_experts,)
    means_ : ndarray of shape (n_experts, n_features)
    covariances_ : ndarray
        In the units of the features.  Shape depends on ``covariance_type``,
        as in GaussianMixture.  (A "spherical" gate standardises all features
        by one common scale, so it is invariant to offsets and to a common
        change of units, not to a change of one feature's units, which would
        make it non-spherical.)
    precisions_cholesky_ : ndarray
    n_experts_ : int
    n_features_in_ : int

    See Also
    --------
    SoftmaxGate : The conditional gate, which models ``g(x)`` but not x.
    sklearn.mixture.GaussianMixture : The mixture model of x this gate is.

    Examples
    --------
    >>> from skmoe import MixtureOfExpertsRegressor
    >>> from skmoe.datasets import load_mcycle
    >>> from skmoe.gating import GaussianGate
    >>> X, y = load_mcycle(return_X_y=True)
    >>> gate = GaussianGate(covariance_type="diag")
    >>> moe = MixtureOfExpertsRegressor(n_experts=3, gate=gate, random_state=0).fit(X, y)
    >>> moe.gate_.means_.shape
    (3, 1)
    >>> moe.predict_gate(X[:2]).sum(axis=1)
    array([1., 1.])
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
        rows = ThreadRows(gx=X, resp=resp, sw=sw)
        self.prepare(rows)
        self.m_step_from_stats(rows.sum(self.row_stats))

    # -- the component protocol (additive statistics, see skmoe._rows) ----- #
    def prepare(self, rows):
        """Fix the frame: the weighted centre and spread of each gate feature.

        The statistics and the M-step are computed on features standardised
        in this frame, so that ``reg_covar`` is relative to each feature's
        variance and the gate does not depend on units or offsets.  A
        ``"spherical"`` gate uses one common scale (the root mean feature
        variance), so that one variance per expert stays one variance in the
        user's units.

        Parameters
        ----------
        rows : row engine
            Rows with ``gx`` (gate inputs) and ``sw`` (sample weights).  Any
            engine (threads, Dask blocks, a first online chunk) gives the same
            two ordered passes.

        Returns
        -------
        self : GaussianGate
            The gate, with its frame fixed for the EM run.
        """
        mean, scale = gate_feature_frame(rows)
        if self.covariance_type == "spherical":
            # One variance per expert must stay one variance in the user's
            # units: a common scale (the root mean feature variance).
            scale = np.full_like(scale, np.sqrt(np.mean(scale**2)))
        self._frame = (mean, scale)
        return self

    def row_stats(self, block):
        """Compute the masses, first and second moments of one block, in the frame.

        With ``W = resp * sw`` and ``z`` the features standardised in the
        frame fixed by :meth:`prepare`: ``sum_i W_ik``, ``sum_i W_ik z_i``
        and ``sum_i W_ik z_i z_i^T`` (only its diagonal for the "diag" and
        "spherical" gates).  The statistics add over blocks of rows.

        Parameters
        ----------
        block : RowBlock
            One block of rows, with ``gx`` (gate inputs), ``sw`` (sample
            weights) and ``resp`` (responsibilities).

        Returns
        -------
        nk : ndarray of shape (n_experts,)
            Responsibility mass of each expert.
        first : ndarray of shape (n_experts, n_features)
            Weighted sums of the standardised features.
        second : ndarray of shape (n_experts, n_features, n_features) or \
                (n_experts, n_features)
            Weighted sums of their outer products ("full", "tied") or of
            their squares ("diag", "spherical").
        """
        mean, scale = self._frame
        Z = (block.gx - mean) / scale
        W = block.resp * block.sw[:, None]
        nk = W.sum(axis=0)
        first = W.T @ Z
        if self.covariance_type in ("full", "tied"):
            second = np.einsum("ik,ia,ib->kab", W, Z, Z, optimize=True)
        else:
            second = W.T @ (Z * Z)
        return nk, first, second

    def m_step_from_stats(self, stats):
        """Set the weights, means and covariances from summed (or averaged) statistics.

        The closed-form M-step of a Gaussian mixture, in the frame, with
        ``reg_covar`` added to the diagonal of every covariance; the public
        ``means_`` and ``covariances_`` are then mapped back to the user's
        units.  The statistics may be sums over rows or their per-unit-weight
        running averages (online EM).

        Parameters
        ----------
        stats : tuple of ndarray
            ``(nk, first, second)``, as returned by :meth:`row_stats` and
            added over blocks of rows.

        Returns
        -------
        self : GaussianGate
            The gate, with its parameters updated.

        Raises
        ------
        ValueError
            If an expert's covariance is singular (increase ``reg_covar`` or
            use fewer experts).
        """
        nk, first, second = stats
        mean, scale = self._frame
        d = mean.shape[0]
        # sklearn adds 10 * eps to nk; an expert with no mass keeps a finite,
        # broad component and is re-seeded by the driver.
        nk = nk + 10 * np.finfo(np.float64).eps
        mu = first / nk[:, None]
        ct = self.covariance_type
        if ct in ("full", "tied"):
            cov = second / nk[:, None, None] - np.einsum("ka,kb->kab", mu, mu)
            if ct == "tied":
                cov = np.einsum("k,kab->ab", nk, cov) / nk.sum()
                cov.flat[:: d + 1] += self.reg_covar
            else:
                for k in range(len(nk)):
                    cov[k].flat[:: d + 1] += self.reg_covar
        else:
            cov = np.maximum(second / nk[:, None] - mu * mu, 0.0) + self.reg_covar
            if ct == "spherical":
                cov = cov.mean(axis=1)
        self._set_parameters(nk, mu, cov)
        return self

    def _m_step(self, X, resp, sample_weight):
        rows = ThreadRows(gx=X, resp=resp, sw=sample_weight)
        if getattr(self, "_frame", None) is None:
            self.prepare(rows)
        # Small matrices: a multi-threaded BLAS only adds its spin-up cost
        # (orders of magnitude on a loaded machine; see skmoe._threading).
        with blas_single_threaded():
            self.m_step_from_stats(rows.sum(self.row_stats))

    def _set_parameters(self, nk, means, covariances, where=""):
        """Set the fitted parameters from masses, means and covariances in the frame.

        ``means`` and ``covariances`` are those of the standardised gate
        features; the public ``means_`` and ``covariances_`` are in the
        user's units.  The densities are evaluated in the frame (exact far
        from zero), ``-sum(log scale)`` being their change of units.
        """
        mean, scale = self._frame
        weights = np.maximum(nk / nk.sum(), GATE_FLOOR)
        self.weights_ = weights / weights.sum()
        self._means_f, self._cov_f = means, covariances
        try:
            with blas_single_threaded():
                self._prec_f = _compute_precision_cholesky(covariances, self.covariance_type)
        except ValueError as exc:
            raise ValueError(
                f"GaussianGate: an expert's input covariance became singular{where}; increase "
                f"reg_covar (now {self.reg_covar}) or use fewer experts. ({exc})"
            ) from None
        self.means_ = mean + means * scale
        ct = self.covariance_type
        if ct == "full":
            self.covariances_ = covariances * np.outer(scale, scale)[None]
        elif ct == "tied":
            self.covariances_ = covariances * np.outer(scale, scale)
        elif ct == "diag":
            self.covariances_ = covariances * scale**2
        else:
            # Spherical: the frame has one common scale (see prepare).
            self.covariances_ = covariances * scale[0] ** 2
        with blas_single_threaded():
            self.precisions_cholesky_ = _compute_precision_cholesky(self.covariances_, ct)

    def _weighted_log_prob(self, X):
        mean, scale = self._frame
        Z = (X - mean) / scale
        with blas_single_threaded():
            log_prob = _estimate_log_gaussian_prob(
                Z, self._means_f, self._prec_f, self.covariance_type
            )
        return log_prob - np.log(scale).sum() + np.log(self.weights_)

    def _log_proba(self, X):
        # Far from the data (|x| of 1e155 and more) the squared distances
        # overflow to inf for every component and the posterior became NaN.
        # There the posterior only depends on the direction of x: a row
        # beyond _FAR frame units is moved along its direction to _FAR
        # (its posterior, one-hot to the component that falls off slowest
        # that way, is already the limit there).
        mean, scale = self._frame
        reach = np.max(np.abs((X - mean) / scale), axis=1, initial=0.0)
        far = reach > _FAR
        if far.any():
            X = np.array(X, dtype=np.float64)
            X[far] = mean + (X[far] - mean) * (_FAR / reach[far])[:, None]
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
