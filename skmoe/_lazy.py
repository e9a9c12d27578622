"""Functions of scikit-learn that ``import skmoe`` should not import.

``sklearn.cluster`` and ``sklearn.mixture`` cost ~0.2-0.3 s to import (they
pull in ``sklearn.metrics``, ``sklearn.neighbors``, ``sklearn.decomposition``
and more), and skmoe needs only ``KMeans`` (to initialise a fit) and two
helpers of the Gaussian mixture (for :class:`~skmoe.GaussianGate`).  The
modules that use them import them from here: functions with the same call
signature that import the real one on their first call.
"""

import importlib


def _forwarder(module, name):
    target = None

    def forward(*args, **kwargs):
        nonlocal target
        if target is None:
            target = getattr(importlib.import_module(module), name)
        return target(*args, **kwargs)

    forward.__name__ = forward.__qualname__ = name
    forward.__doc__ = f":func:`{module}.{name}` ({module} is imported on the first call)."
    return forward


KMeans = _forwarder("sklearn.cluster", "KMeans")
_compute_precision_cholesky = _forwarder(
    "sklearn.mixture._gaussian_mixture", "_compute_precision_cholesky"
)
_estimate_log_gaussian_prob = _forwarder(
    "sklearn.mixture._gaussian_mixture", "_estimate_log_gaussian_prob"
)
