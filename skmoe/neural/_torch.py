"""Lazy import of PyTorch with an error message that says how to install it.

Nothing in :mod:`skmoe` imports torch at import time; the neural estimators
call :func:`import_torch` when they are constructed or fitted, and the
torch-only modules (``_layer``, ``_routing``, ``_grouped``, ``_training``)
are imported from inside functions only.
"""

import functools
from contextlib import contextmanager

INSTALL_COMMAND = 'pip install "skmoe[torch]"  (or: pip install torch)'


def import_torch():
    """Return the ``torch`` module, or raise an ImportError naming the install command."""
    try:
        import torch
    except ImportError as exc:  # ModuleNotFoundError, or sys.modules["torch"] = None
        raise ImportError(
            "The neural mixture-of-experts estimators of skmoe.neural need PyTorch, "
            f"which could not be imported ({exc}). Install it with: {INSTALL_COMMAND}"
        ) from exc
    return torch


def has_torch():
    """Whether torch can be imported (imports it if so)."""
    try:
        import_torch()
    except ImportError:
        return False
    return True


@contextmanager
def fit_threads():
    """Run the block with torch's intra-op threads set by skmoe's rule, restored after.

    torch starts as many threads as there are cores whatever else runs:
    inside each of GridSearchCV's workers, or on a busy machine, a training
    step was 7-37x slower than with one thread.  The count is
    :func:`skmoe._threading.effective_n_threads` (the CPUs, ``skmoe.set_config``'s
    ``n_threads``, joblib's inner thread cap ``OMP_NUM_THREADS``,
    ``threadpool_limits``), never more than torch's current setting (a user's
    ``torch.set_num_threads`` stands); the previous setting is restored.
    """
    from .._threading import effective_n_threads

    torch = import_torch()
    previous = torch.get_num_threads()
    wanted = max(1, min(previous, effective_n_threads()))
    if wanted != previous:
        torch.set_num_threads(wanted)
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


def scoped_threads(method):
    """Decorate a fitting method to run under :func:`fit_threads`."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with fit_threads():
            return method(*args, **kwargs)

    return wrapper
