"""skmoe's global configuration: the one knob for its own threads.

scikit-learn's :func:`sklearn.set_config` has no setting for the threads of a
third-party library, so skmoe has its own, with the same three functions.
The default comes from the environment variable ``SKMOE_NUM_THREADS``, which
child processes (joblib's loky workers, Dask workers) inherit; the functions
change it for this process only.
"""

import os
import threading
from contextlib import contextmanager
from numbers import Integral

__all__ = ["config_context", "get_config", "set_config"]

ENV_VAR = "SKMOE_NUM_THREADS"

_lock = threading.Lock()


def _check_n_threads(value, source):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"n_threads must be a positive int or None; got {value!r} ({source}).")
    return int(value)


def _from_env():
    raw = os.environ.get(ENV_VAR, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = raw
    return _check_n_threads(value, f"environment variable {ENV_VAR}={raw!r}")


# Process-wide, not thread-local (unlike scikit-learn's): it bounds one
# process-wide thread pool.
_config = {"n_threads": _from_env()}


def get_config():
    """Return skmoe's current configuration.

    Returns
    -------
    config : dict
        ``{"n_threads": int or None}``; see :func:`set_config`.

    See Also
    --------
    set_config : Change the configuration.
    config_context : Change it within a ``with`` block.

    Examples
    --------
    >>> import skmoe
    >>> sorted(skmoe.get_config())
    ['n_threads']
    """
    return dict(_config)


def set_config(n_threads=None):
    """Set skmoe's configuration for this process.

    Parameters
    ----------
    n_threads : int or None, default=None
        The most threads skmoe's row-block passes (and the neural
        estimators' torch) use at once.  None leaves them to the rule of
        scikit-learn's OpenMP code: at most the CPUs this process may use,
        the estimator's ``n_jobs``, ``OMP_NUM_THREADS`` (which joblib sets to
        its inner thread cap in its workers) and the limits of the loaded
        BLAS/OpenMP libraries (``threadpoolctl.threadpool_limits``).  An int
        is one more cap on top of those.  The environment variable
        ``SKMOE_NUM_THREADS`` gives the default at import time, also in
        worker processes.

    See Also
    --------
    get_config : The current configuration.
    config_context : Change it within a ``with`` block.

    Examples
    --------
    >>> import skmoe
    >>> skmoe.set_config(n_threads=1)
    >>> skmoe.get_config()["n_threads"]
    1
    >>> skmoe.set_config(n_threads=None)
    """
    value = _check_n_threads(n_threads, "set_config")
    with _lock:
        _config["n_threads"] = value


@contextmanager
def config_context(*, n_threads=None):
    """Change skmoe's configuration within a ``with`` block, restored after.

    Parameters
    ----------
    n_threads : int or None, default=None
        As in :func:`set_config`.

    Yields
    ------
    None
        The block runs with the configuration changed.

    See Also
    --------
    set_config : Change it for the rest of the process.
    get_config : The current configuration.

    Examples
    --------
    >>> import skmoe
    >>> with skmoe.config_context(n_threads=1):
    ...     skmoe.get_config()["n_threads"]
    1
    """
    value = _check_n_threads(n_threads, "config_context")
    with _lock:
        saved = dict(_config)
        _config["n_threads"] = value
    try:
        yield
    finally:
        with _lock:
            _config.clear()
            _config.update(saved)
