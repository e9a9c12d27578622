"""Numba kernels: pure functions of arrays and scalars.

Nothing here knows that an estimator exists. Every kernel has a slow NumPy
twin in ``tests/naive.py`` that the tests compare it with.
"""

from ._estep import linear_log_softmax, log_softmax, posterior_from_logs
from ._families import (
    binomial_log_density,
    poisson_log_density,
    student_t_log_density,
    student_t_weights,
)
from ._gaussian import gaussian_log_density, linear_gaussian_log_density
from ._hmm import forward_backward
from ._linear import linear_sufficient_stats
from ._proba import log_proba_of_labels
from ._softmax import softmax_cross_entropy, softmax_regression_loss_grad
from ._sums import weighted_centred_squares, weighted_column_sums
from ._tree import tree_downward, tree_upward

__all__ = [
    "binomial_log_density",
    "forward_backward",
    "gaussian_log_density",
    "linear_gaussian_log_density",
    "linear_log_softmax",
    "linear_sufficient_stats",
    "log_proba_of_labels",
    "log_softmax",
    "poisson_log_density",
    "posterior_from_logs",
    "softmax_cross_entropy",
    "softmax_regression_loss_grad",
    "student_t_log_density",
    "student_t_weights",
    "tree_downward",
    "tree_upward",
    "weighted_centred_squares",
    "weighted_column_sums",
]
