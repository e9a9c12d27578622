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
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np

_pool = None
_pool_lock = threading.Lock()

_limit_lock = threading.Lock()
_limit_depth = 0
_limiter = None
_controller = None


def available_cpus():
    """CPUs this process may run on (affinity-aware where the OS says)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (macOS, Windows)
        return os.cpu_count() or 1


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
    """``[func(start, stop) for each block]``, in block order, run in the pool.

    The blocks run concurrently when there is more than one of them and more
    than one CPU; the list of results is always in block order, so reducing
    it in list order is deterministic.
    """
    jobs = list(zip(bounds[:-1], bounds[1:], strict=False))
    # A pass nested in a block that already runs in the pool (a row engine's
    # block holding more than one kernel block) runs inline: waiting on the
    # pool from one of its own workers could deadlock it.
    in_pool = threading.current_thread().name.startswith("skmoe")
    if len(jobs) == 1 or available_cpus() == 1 or in_pool:
        return [func(a, b) for a, b in jobs]
    return list(_get_pool().map(lambda job: func(*job), jobs))


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
    global _limit_depth, _limiter, _controller
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with _limit_lock:
        if _limit_depth == 0:
            try:
                if _controller is None:
                    from threadpoolctl import ThreadpoolController

                    _controller = ThreadpoolController()
                _limiter = _controller.limit(limits=1)
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
    from ._kernels._config import THREAD_BLOCK_ROWS
    from ._kernels._estep import _posterior_into

    n = log_gate.shape[0]
    bounds = block_bounds(n, block_rows or THREAD_BLOCK_ROWS)
    resp = np.empty(log_gate.shape, dtype=np.float64)
    log_norm = np.empty(n, dtype=np.float64)

    def block(a, z):
        _posterior_into(log_gate[a:z], log_lik[a:z], resp[a:z], log_norm[a:z])

    map_blocks(block, bounds)
    return resp, log_norm
