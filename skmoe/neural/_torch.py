"""Lazy import of PyTorch with an error message that says how to install it.

Nothing in :mod:`skmoe` imports torch at import time; the neural estimators
call :func:`import_torch` when they are constructed or fitted, and the
torch-only modules (``_layer``, ``_routing``, ``_grouped``, ``_training``)
are imported from inside functions only.
"""

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
