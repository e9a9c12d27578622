"""Numba kernels: pure functions of arrays and scalars.

Nothing here knows that an estimator exists. Every kernel has a slow NumPy
twin in ``tests/naive.py`` that the tests compare it with.

Importing this package imports neither Numba nor any kernel module: each
name below is a small forwarding function that imports its module (and
Numba, ~0.3 s) on its first call, so ``import skmoe`` pays for neither and a
fit compiles (or loads from Numba's cache) only the kernels it calls.
``_config`` (the flags and floors) is a plain module, free to import.
"""

import importlib

# Every kernel the package exports, and the module that defines it.  The
# private ``*_into`` kernels write into given output rows (the engines' row
# blocks); the public names of the same families allocate their outputs.
_KERNEL_MODULES = {
    "binomial_log_density": "_families",
    "forward_backward": "_hmm",
    "gaussian_log_density": "_gaussian",
    "linear_gaussian_log_density": "_gaussian",
    "_linear_gaussian_log_density_into": "_gaussian",
    "linear_log_softmax": "_estep",
    "_linear_log_softmax_into": "_estep",
    "linear_sufficient_stats": "_linear",
    "log_proba_of_labels": "_proba",
    "log_softmax": "_estep",
    "poisson_log_density": "_families",
    "posterior_from_logs": "_estep",
    "_posterior_into": "_estep",
    "softmax_cross_entropy": "_softmax",
    "softmax_gaussian_estep": "_fused",
    "_softmax_gaussian_estep_into": "_fused",
    "softmax_regression_loss_grad": "_softmax",
    "student_t_log_density": "_families",
    "student_t_weights": "_families",
    "tree_downward": "_tree",
    "tree_upward": "_tree",
    "weighted_centred_squares": "_sums",
    "weighted_column_sums": "_sums",
}


def _forwarder(name, module):
    """``name`` of ``module``, imported on the first call (then one extra call, ~0.1 us)."""
    target = None

    def kernel(*args, **kwargs):
        nonlocal target
        if target is None:
            target = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        return target(*args, **kwargs)

    kernel.__name__ = kernel.__qualname__ = name
    kernel.__module__ = __name__
    kernel.__doc__ = (
        f"Forwards to :func:`{__name__}.{module}.{name}` (imported, with Numba, on the first call)."
    )
    return kernel


for _name, _module in _KERNEL_MODULES.items():
    globals()[_name] = _forwarder(_name, _module)
del _name, _module


def kernel(name):
    """The kernel itself (a Numba dispatcher or its Python wrapper), importing its module."""
    return getattr(importlib.import_module(f"{__name__}.{_KERNEL_MODULES[name]}"), name)


__all__ = sorted(name for name in _KERNEL_MODULES if not name.startswith("_"))
