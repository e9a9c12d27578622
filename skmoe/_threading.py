"""Deterministic row-block parallelism and BLAS thread control for the hot paths.

Two rules make the built-in EM fast on a few (possibly shared) cores without
making results depend on the machine:

* **Fixed row blocks, fixed summation order.**  Passes over the rows (the
  gate's loss and gradient, the experts' Gram matrices) are cut into blocks
  that depend on ``n_samples`` only; the blocks run in a small thread pool
  (the Numba kernels release the GIL, and so does NumPy's BLAS), and their
  results are added in block order.  The result is therefore bit-for-bit the
  same for any number of threads, including one.
* **Single-threaded BLAS inside those passes.**  The matrices of one block
  are small; a multi-threaded BLAS gains little on them and, on a loaded
  machine, its spinning worker threads can make each call orders of
  magnitude slower.  :func:`blas_single_threaded` limits BLAS (and OpenMP)
  to one thread for the duration (set and restored by the main thread
  only, so that restarts running in joblib threads cannot leave the limit
  behind).

Numba's own parallel layers are not used: they do not support concurrent
launches from several Python threads (restarts run in joblib threads).

How many threads a pass uses follows scikit-learn's rule for its OpenMP
code (:func:`effective_n_threads`), so skmoe cooperates with the caller's
parallelism instead of starting a full pool in each of GridSearchCV's
workers: the estimator's ``n_jobs`` (1 runs every pass inline),
``skmoe.set_config(n_threads=...)`` / ``SKMOE_NUM_THREADS``,
``OMP_NUM_THREADS`` (joblib's loky backend sets it in its workers to
``cpu_count() // n_jobs``, its inner thread cap) and the current limits of the
BLAS and OpenMP libraries (``threadpoolctl.threadpool_limits``).  Since the
thread count never changes the block boundaries, it never changes a result.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from contextlib import contextmanager
from numbers import Integral

import numpy as np

from ._config import get_config

_pool = None
_pool_lock = threading.Lock()

_limit_lock = threading.Lock()
_limit_depth = 0
_limiter = None
_controller = None
# The libraries' thread limit when blas_single_threaded set its own (1): the
# caller's limit, which the row-block passes inside must honour.
_outer_library_threads = None

# Per thread: ``cap``, the thread budget of the fit running in this thread
# (thread_limit), and ``in_blocks``, set while the thread runs row blocks.
_local = threading.local()


def available_cpus():
    """CPUs this process may run on (affinity-aware where the OS says)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (macOS, Windows)
        return os.cpu_count() or 1


def _env_threads(name):
    """A positive int from the environment variable ``name`` (OpenMP's form), or None."""
    raw = os.environ.get(name, "").split(",")[0].strip()
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value > 0 else None


def _get_controller():
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller


def _library_threads():
    """The smallest thread limit of the loaded BLAS/OpenMP libraries, or None.

    What ``threadpoolctl.threadpool_limits`` sets.  Inside skmoe's own
    :func:`blas_single_threaded` it is the limit that was in force when
    skmoe set its own.
    """
    if _limit_depth > 0:
        return _outer_library_threads
    try:
        values = [lib.num_threads for lib in _get_controller().lib_controllers]
    except Exception:  # pragma: no cover - threadpoolctl is best effort
        return None
    values = [v for v in values if isinstance(v, Integral) and v > 0]
    return min(values) if values else None


def effective_n_threads(n_jobs=None):
    """Threads skmoe's own passes may use, by scikit-learn's rule for OpenMP code.

    The smallest of: the CPUs this process may run on; ``n_jobs`` when given
    (negative as in joblib: ``-1`` all CPUs); ``skmoe.get_config()["n_threads"]``;
    ``OMP_NUM_THREADS`` (joblib's inner thread cap in its workers); and the
    limits of the loaded BLAS/OpenMP libraries (``threadpool_limits``).

    Parameters
    ----------
    n_jobs : int or None, default=None
        The estimator's ``n_jobs``; None sets no cap of its own.

    Returns
    -------
    n_threads : int
        At least 1.
    """
    cpus = max(1, available_cpus())
    caps = [cpus]
    if n_jobs is not None:
        caps.append(n_jobs if n_jobs > 0 else max(1, cpus + 1 + n_jobs))
    for cap in (get_config()["n_threads"], _env_threads("OMP_NUM_THREADS"), _library_threads()):
        if cap is not None:
            caps.append(cap)
    return max(1, min(caps))


def current_n_threads():
    """The thread budget of this thread: its fit's (thread_limit), else the rule's."""
    cap = getattr(_local, "cap", None)
    return effective_n_threads() if cap is None else cap


@contextmanager
def thread_limit(n_threads):
    """Run the block with a thread budget of ``n_threads`` in this thread (re-entrant).

    A fit enters it once with ``effective_n_threads(self.n_jobs)``, so its
    passes do not recompute the rule; :class:`with_thread_limit` carries the
    budget into the threads that run its restarts.
    """
    saved = getattr(_local, "cap", None)
    _local.cap = max(1, int(n_threads))
    try:
        yield
    finally:
        _local.cap = saved


class with_thread_limit:
    """``func`` wrapped to run under the calling thread's current thread budget.

    Parameters
    ----------
    func : callable
        The function a worker thread (joblib's threading backend) will call.
    """

    def __init__(self, func):
        self.func = func
        self.n_threads = current_n_threads()

    def __call__(self, *args, **kwargs):
        with thread_limit(self.n_threads):
            return self.func(*args, **kwargs)


def _get_pool():
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(
                    max_workers=max(1, available_cpus()), thread_name_prefix="skmoe"
                )
    return _pool


def block_bounds(n, block_rows):
    """Boundaries of about-equal row blocks of at most ``block_rows`` rows.

    A function of ``n`` and ``block_rows`` only, never of the thread count.
    """
    n_blocks = max(1, -(-n // block_rows))
    return [(i * n) // n_blocks for i in range(n_blocks + 1)]


def map_blocks(func, bounds):
    """``[func(start, stop) for each block]``, in block order.

    The blocks run on :func:`current_n_threads` threads: the calling thread
    and ``n - 1`` of the pool's, each taking every ``n``-th block.  With a
    budget of one thread (``n_jobs=1``, ``threadpool_limits(1)``, inside a
    joblib worker on a machine it fills) they run inline and the pool is not
    used.  The list of results is always in block order, so reducing it in
    list order is deterministic.
    """
    jobs = list(zip(bounds[:-1], bounds[1:], strict=False))
    # A pass nested in a block (a row engine's block holding more than one
    # kernel block) runs inline: waiting on the pool from one of its own
    # workers could deadlock it.
    nested = getattr(_local, "in_blocks", False) or threading.current_thread().name.startswith(
        "skmoe"
    )
    n_threads = 1 if len(jobs) == 1 or nested else min(len(jobs), current_n_threads())
    if n_threads <= 1:
        return [func(a, b) for a, b in jobs]
    results = [None] * len(jobs)

    def run(offset):
        saved = getattr(_local, "in_blocks", False)
        _local.in_blocks = True
        try:
            for i in range(offset, len(jobs), n_threads):
                results[i] = func(*jobs[i])
        finally:
            _local.in_blocks = saved

    pool = _get_pool()
    futures = [pool.submit(run, t) for t in range(1, n_threads)]
    try:
        run(0)
    finally:
        # Never return (or raise) while pool threads still write the outputs.
        wait_futures(futures)
    for future in futures:
        future.result()
    return results


@contextmanager
def blas_single_threaded():
    """Limit BLAS and OpenMP to one thread while inside (re-entrant).

    Only the main thread sets and restores the limit (the first entry sets
    it, the matching exit restores the original settings).  Entered from any
    other thread -- restarts running in joblib threads, for instance -- it
    does nothing: OpenBLAS does not reliably honour thread-count changes
    made from a secondary thread once the main thread has made one, and
    settings changed and restored from different threads could otherwise
    leave the process limited.  While the main thread holds the limit, it
    applies to every thread (OpenBLAS's setting is process-wide).
    """
    global _limit_depth, _limiter, _outer_library_threads
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with _limit_lock:
        if _limit_depth == 0:
            # The caller's limit, before skmoe's own: the row-block passes
            # inside honour it (see effective_n_threads).
            _outer_library_threads = _library_threads()
            try:
                _limiter = _get_controller().limit(limits=1)
            except Exception:  # pragma: no cover - threadpoolctl is best effort
                _limiter = None
        _limit_depth += 1
    try:
        yield
    finally:
        with _limit_lock:
            _limit_depth -= 1
            if _limit_depth == 0 and _limiter is not None:
                _limiter.restore_original_limits()
                _limiter = None


def blockwise_posterior(log_gate, log_lik, block_rows=None):
    """:func:`~skmoe._kernels.posterior_from_logs` on fixed row blocks, in parallel.

    The kernel works row by row, so the result is identical to one call on
    all rows; each block writes straight into its rows of the outputs.
    """
    from ._kernels import _posterior_into
    from ._kernels._config import THREAD_BLOCK_ROWS

    n = log_gate.shape[0]
    resp = np.empty(log_gate.shape, dtype=np.float64)
    log_norm = np.empty(n, dtype=np.float64)
    if n <= (block_rows or THREAD_BLOCK_ROWS):  # one block, in this thread
        _posterior_into(log_gate, log_lik, resp, log_norm)
        return resp, log_norm
    bounds = block_bounds(n, block_rows or THREAD_BLOCK_ROWS)

    def block(a, z):
        _posterior_into(log_gate[a:z], log_lik[a:z], resp[a:z], log_norm[a:z])

    map_blocks(block, bounds)
    return resp, log_norm
