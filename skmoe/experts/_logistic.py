"""Multinomial logistic expert."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .._docs import DocLinkMixin
from .._kernels import log_softmax
from .._multinomial import (
    centred_coefficients,
    feature_moments,
    fit_multinomial,
    raw_coefficients,
    softmax_log_proba,
)
from .._probabilities import proba_from_log
from .._unchanged import fit_unchanged_on_error
from .._validation import check_sample_weight, fit_labels, validate_numeric_data


class LogisticExpert(DocLinkMixin, ClassifierMixin, BaseEstimator):
    """Multinomial logistic regression with an L2 penalty, weighted.

    The default expert of :class:`~skmoe.MixtureOfExpertsClassifier`.  It
    shares the Numba-fused softmax loss and L-BFGS solver of
    :class:`~skmoe.gating.SoftmaxGate`; ``warm_start=True`` (set by the
    mixture) restarts each EM M-step from the previous coefficients.

    Parameters
    ----------
    alpha : float, default=1e-2
        L2 penalty on standardised coefficients (summed-loss scale, ``1/C``):
        ``0.5 * alpha * sum_j sum_c (std_w(x_j) * coef_jc)^2`` with ``std_w``
        the sample-weighted standard deviation of feature j, so the fit is
        the same in any units of X and at any offset.
    max_iter : int, default=100
        Maximum L-BFGS iterations.
    tol : float, default=1e-6
        Gradient tolerance of the per-sample objective.
    warm_start : bool, default=False
        Start from the previous solution when refitting on the same classes.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen in ``fit``, sorted.
    coef_ : ndarray of shape (n_features, n_classes)
        Weights on the raw features, one column per class.
    intercept_ : ndarray of shape (n_classes,)
        Intercepts on the raw features.
    n_iter_ : int
        L-BFGS iterations of the last fit.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    sklearn.linear_model.LogisticRegression : The same model, with a penalty
        on the raw coefficients.
    BinomialExpert : Logistic regression for proportions of successes.
    skmoe.gating.SoftmaxGate : The gate fitted by the same solver.

    Examples
    --------
    One multinomial model, and a mixture of two of them, on labels drawn from
    a gated mixture of logistic experts:

    >>> from skmoe import MixtureOfExpertsClassifier
    >>> from skmoe.datasets import make_moe_classification
    >>> from skmoe.experts import LogisticExpert
    >>> X, y, _ = make_moe_classification(n_samples=300, n_classes=3, random_state=0)
    >>> expert = LogisticExpert().fit(X, y)
    >>> expert.classes_
    array([0, 1, 2])
    >>> expert.coef_.shape
    (2, 3)
    >>> expert.predict_proba(X[:2]).sum(axis=1)
    array([1., 1.])
    >>> moe = MixtureOfExpertsClassifier(LogisticExpert(), n_experts=2, random_state=0)
    >>> moe = moe.fit(X, y)
    >>> bool(moe.score(X, y) > expert.score(X, y))  # one linear boundary per expert
    True
    """

    _parameter_constraints = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "warm_start": ["boolean"],
    }

    def __init__(self, alpha=1e-2, max_iter=100, tol=1e-6, warm_start=False):
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start

    @fit_unchanged_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the weighted multinomial model by L-BFGS.

        The features are standardised with their sample-weighted moments
        (without copying X), so that the penalty, hence the solution, is the
        same in any units of X, at any offset, and for integer weights as for
        repeated rows.  Inside a mixture the standardisation is fixed once,
        from the whole sample-weighted X, so that the penalty, and with it the
        EM objective, is the same function at every M-step.  With
        ``warm_start=True`` and the same classes, the previous coefficients
        are mapped into this fit's standardisation as the starting point:
        that changes where L-BFGS starts, never the objective.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,)
            Class labels; at least two distinct classes.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights (unit weights when None): integer weights
            are equivalent to repeated rows.

        Returns
        -------
        self : LogisticExpert
            Fitted estimator.

        Raises
        ------
        ValueError
            If y holds a single class.
        """
        X, y = validate_numeric_data(self, X, y, dtype=np.float64)
        classes, y_idx = fit_labels(y, estimator="LogisticExpert")
        sw = check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        targets = np.zeros((X.shape[0], len(classes)))
        targets[np.arange(X.shape[0]), y_idx] = 1.0
        warm = (
            self.warm_start
            and hasattr(self, "_V")
            and np.array_equal(getattr(self, "classes_", None), classes)
            and self._V.shape[0] == X.shape[1]
        )
        # Standardise with the *weighted* moments, so that the penalty, hence
        # the solution, is the same for integer weights as for repeated rows.
        # A warm start maps the previous coefficients into this fit's
        # coordinates: it changes the starting point, never the objective.
        fixed = getattr(self, "_fixed_moments", None)
        if fixed is not None and fixed[0].shape[0] == X.shape[1]:
            # Inside a mixture the standardisation is fixed once (from the
            # sample-weighted X), so the penalty, and with it the EM
            # objective, is the same function at every M-step.
            mean, scale = fixed
        else:
            mean, scale = feature_moments(X, sw)
        if warm and hasattr(self, "_mean"):
            # From the previous standardised coefficients (exact when the
            # standardisation is unchanged, as inside a mixture): going
            # through coef_ / intercept_ would lose digits at large offsets.
            V0 = self._V * (scale / self._scale)[:, None]
            c0 = self._c + ((mean - self._mean) / self._scale) @ self._V
        elif warm:
            V0 = self.coef_ * scale[:, None]
            c0 = self.intercept_ + mean @ self.coef_
        else:
            V0 = np.zeros((X.shape[1], len(classes)))
            c0 = np.zeros(len(classes))
        self._V, self._c, _, self.n_iter_ = fit_multinomial(
            X,
            targets,
            sw,
            alpha=self.alpha,
            mean=mean,
            scale=scale,
            V0=V0,
            c0=c0,
            max_iter=self.max_iter,
            tol=self.tol,
        )
        self._mean, self._scale = mean, scale
        self.classes_ = classes
        self.coef_, self.intercept_ = raw_coefficients(self._V, self._c, mean, scale)
        return self

    def _n_parameters(self):
        """Free parameters for BIC / AIC: ``(n_features + 1) * (n_classes - 1)``.

        ``coef_`` holds a column per class (the symmetric multinomial form),
        one of which is redundant, also with two classes.
        """
        return (self.coef_.shape[0] + 1) * (self.coef_.shape[1] - 1)

    def _penalty(self):
        """The L2 penalty at the fitted coefficients (part of a mixture's EM objective)."""
        return 0.5 * self.alpha * float(np.sum(self._V * self._V))

    def predict_log_proba(self, X):
        """Log of the class probabilities, columns in the order of ``classes_``.

        Computed as a log-softmax of the logits, not as the log of
        :meth:`predict_proba`, so that a very improbable class gets a finite
        log-probability rather than ``-inf``.  The logits are evaluated about
        the fitted feature centres, so features far from zero lose no digits
        to the intercept.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probability of each class for each row.
        """
        check_is_fitted(self)
        X = validate_numeric_data(self, X, reset=False, dtype=np.float64)
        if hasattr(self, "_V"):
            # In the fitted standardisation, ((X - mean) / scale) @ V + c:
            # exact for features far from zero (X @ coef_ + intercept_ loses
            # ~log10(|mean| / scale) digits to the intercept's cancellation).
            coef, intercept = centred_coefficients(self._V, self._c, self._scale)
            return softmax_log_proba(X, coef, intercept, shift=self._mean)
        logits = X @ self.coef_
        logits += self.intercept_
        return log_softmax(logits)

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class for each row; the rows sum to one.
        """
        return proba_from_log(self.predict_log_proba(X))

    def predict(self, X):
        """Predict the most probable class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The class of largest probability for each row (the first in
            ``classes_`` on a tie).
        """
        # predict_log_proba first: it raises NotFittedError before classes_ is read.
        log_proba = self.predict_log_proba(X)
        return self.classes_[np.argmax(log_proba, axis=1)]
