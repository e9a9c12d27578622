"""Probabilities from log-probabilities, rows that sum to one whatever the logits' size."""

import numpy as np

# A row of exponentiated log-probabilities is renormalised when its sum is
# further than this from one (closer rows are left bit for bit as they are).
_SUM_TOLERANCE = 1e-12


def proba_from_log(log_proba):
    """``exp(log_proba)``, each row summing to one.

    Log-probabilities are ``z - (m + log sum_k exp(z_k - m))`` with ``m`` the
    row's largest logit.  Far from the fitted data the logits reach 1e10 and
    more, where ``m + log(sum)`` keeps only the digits of ``m``: the
    exponentials then sum to ``1 + O(ulp(|z|))``, or to 2 for two tied
    classes whose ``log 2`` was lost.  Such rows are divided by their sum
    (the relative error of each probability is then that of the logits
    themselves); the others are returned unchanged.

    Parameters
    ----------
    log_proba : ndarray of shape (n_samples, n_classes)

    Returns
    -------
    proba : ndarray of shape (n_samples, n_classes)
    """
    proba = np.exp(log_proba)
    total = proba.sum(axis=1)
    off = np.abs(total - 1.0) > _SUM_TOLERANCE
    if off.any():
        proba[off] /= total[off, None]
    return proba
