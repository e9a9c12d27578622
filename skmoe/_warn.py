"""Warnings attributed to the user's line, whatever the depth of skmoe's call stack.

A fixed ``stacklevel`` cannot reach the user: ``fit`` is wrapped by
scikit-learn's ``_fit_context`` and reaches the warning through a different
number of skmoe frames on each path (in memory, Dask, online), so
ConvergenceWarning was reported at ``sklearn/base.py``.  Python 3.12's
``skip_file_prefixes`` does this; skmoe supports 3.10.
"""

import sys
import warnings

# Frames of these packages are skipped: the warning points at the first
# frame of the user's code (their script, notebook cell or test), also when
# the fit runs inside GridSearchCV (sklearn, then joblib, frames).
_INTERNAL = ("skmoe", "sklearn", "joblib")


def _is_internal(frame):
    name = frame.f_globals.get("__name__", "")
    return any(name == pkg or name.startswith(pkg + ".") for pkg in _INTERNAL)


def warn_user(message, category):
    """``warnings.warn(message, category)`` at the first frame outside skmoe, sklearn, joblib.

    Then ``warnings.filterwarnings(..., module=...)`` matches the user's
    module, the message shows the user's line, and the ``"default"`` action
    shows it once per call site.  When every frame is internal (a worker
    thread), the warning goes to the outermost one.

    Parameters
    ----------
    message : str
        The warning's text.
    category : type of Warning
        Its class.
    """
    frame = sys._getframe(1)  # warn_user's caller: stacklevel 2
    level = 2
    while frame.f_back is not None and _is_internal(frame):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
