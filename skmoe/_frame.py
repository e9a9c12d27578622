"""The scaled frame: weighted column centres and spreads, and floors relative to them.

Every component that forms statistics over rows (the linear experts' Gram
matrices, the gates' moments) forms them about a *shift* -- the weighted
column means -- and in a *scaled frame* -- divided by the weighted column
standard deviations -- so that a feature offset of 1e9 or a unit of 1e-9
changes nothing.  The frame is computed once per EM run from the sample
weights (two passes: means, then centred squares, each an ordered sum over
row blocks, so every row engine gets the same numbers) and then kept.

Every floor on a spread or a variance is relative to the data's own scale
and lives here.
"""

import numpy as np

from ._kernels import weighted_centred_squares, weighted_column_sums

_EPS = np.finfo(np.float64).eps

# A column whose weighted spread is below this many ulps of its centre is
# constant to the precision of its own values (e.g. a column of 1.7e9 whose
# values differ only by rounding): it carries no information, and dividing
# by its "spread" would blow rounding noise up to unit size.
_CONSTANT_ULPS = 64.0


def is_constant(mean, std):
    """Columns whose spread is zero or rounding noise relative to their centre."""
    return ~(np.asarray(std) > _CONSTANT_ULPS * _EPS * np.abs(mean))


def frame_scale(mean, std):
    """Column scales for the frame: the spread, 1 for constant columns."""
    std = np.asarray(std, dtype=np.float64).copy()
    std[is_constant(mean, std)] = 1.0
    return std


def frame_inverse_scale(mean, std):
    """Multipliers into the frame: ``1 / std``, and 0 for a constant column.

    A constant column (:func:`is_constant`: its spread is at most 64 ulps of
    its centre, in the column's own units) is dropped from the frame rather
    than scaled up from rounding noise: its slope is then exactly zero.
    """
    return np.where(is_constant(mean, std), 0.0, 1.0 / frame_scale(mean, std))


# A variance formed in one pass, ``E[z^2] - E[z]^2`` from the sums of a Gram
# matrix, carries a rounding error of a few ulps of ``E[z^2]``; below this
# fraction of ``E[z^2]`` it is not resolved.
_ONE_PASS_RESOLUTION = 1e-12


def one_pass_variance_floor(mean, spread=1.0):
    """The smallest variance resolved when it is formed in one pass about a shift.

    ``1e-12 * (spread**2 + mean**2)``, in the units of the column squared:
    relative to the column's own spread over all rows and to its centre (in
    a scaled frame ``spread`` is 1 and ``mean`` is the standardised centre),
    so the floor follows the units of the data.  Used to floor a problem's
    own weighted variance (one expert's, read off its Gram matrix), which
    rounding can leave at zero or below for a column constant within it.
    """
    return _ONE_PASS_RESOLUTION * (np.square(spread) + np.square(mean))


# The passes use Numba loops (skmoe._kernels._sums), not ``w @ Z``: a threaded
# BLAS gemv on a thin block costs milliseconds per call on a busy machine (its
# workers spin), and einsum runs far below memory speed (the centred squares:
# 123 ms against 8 ms at 10^6 x 10); the passes run inside the row engines'
# own threads anyway.
def moments_first(Z, w):
    """Row-additive first pass: ``(sum_i w_i, sum_i w_i z_i)`` of the columns of Z."""
    return np.array([w.sum()]), weighted_column_sums(_f64(w), _f64(Z))


def moments_second(Z, w, mean):
    """Row-additive second pass: ``sum_i w_i (z_i - mean)^2`` per column."""
    return (weighted_centred_squares(_f64(w), _f64(Z), _f64(mean)),)


def _f64(a):
    return np.ascontiguousarray(a, dtype=np.float64)


def weighted_moments(Z, w):
    """Weighted mean and standard deviation of each column of Z (two passes).

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_columns)
    w : ndarray of shape (n_samples,)
        Non-negative weights with a positive sum.

    Returns
    -------
    mean, std : ndarray of shape (n_columns,)
    """
    wsum, s = moments_first(Z, w)
    mean = s / wsum[0]
    (ss,) = moments_second(Z, w, mean)
    return mean, np.sqrt(np.maximum(ss / wsum[0], 0.0))


def variance_floor(relative, var, mean):
    """The smallest noise variance of a target with this variance and mean.

    ``relative * var`` -- a fraction of the target's own variance, so the
    floor follows the target's units -- or, for a constant target, the
    resolution of its values (64 ulps of its mean, squared), and never below
    the smallest normal double.
    """
    resolution = (_CONSTANT_ULPS * _EPS * float(abs(mean))) ** 2
    return max(relative * float(var), resolution, np.finfo(np.float64).tiny)
