"""Row engines: one ordered, deterministic map-reduce over blocks of rows.

A component (gate or expert set) that is estimated from additive
statistics says how to compute them on one block of rows
(``row_stats(block)``); an engine says how rows are held and moved.  The
in-memory engine (:class:`ThreadRows`) cuts the arrays into fixed blocks of
``THREAD_BLOCK_ROWS`` rows and runs them in the thread pool; the Dask engine
(``skmoe._dask``) maps the same functions over a Dask array's blocks.  Both
add the block results in block order, so the sums do not depend on the
number of threads or workers.
"""

from types import SimpleNamespace

import numpy as np

from ._kernels._config import THREAD_BLOCK_ROWS
from ._threading import blas_single_threaded, block_bounds, map_blocks


def ordered_sum(parts):
    """Add a list of equal-shaped results (arrays or tuples of arrays) in list order."""
    first = parts[0]
    if len(parts) == 1:  # nothing to add: the block's own (fresh) arrays
        if isinstance(first, (tuple, list)):
            return tuple(np.asarray(p, dtype=np.float64) for p in first)
        return np.asarray(first, dtype=np.float64)
    if isinstance(first, (tuple, list)):
        total = [np.array(p, dtype=np.float64, copy=True) for p in first]
        for part in parts[1:]:
            for acc, p in zip(total, part, strict=True):
                acc += p
        return tuple(total)
    total = np.array(first, dtype=np.float64, copy=True)
    for part in parts[1:]:
        total += part
    return total


class RowBlock(SimpleNamespace):
    """One block of rows: ``ex`` (expert input), ``gx`` (gate input), ``y``,
    ``sw`` (sample weights), ``resp`` (responsibilities); ``W`` is
    ``resp * sw`` (the experts' M-step weights), formed on first use unless
    given."""

    def __init__(self, W=None, **arrays):
        super().__init__(**arrays)
        if W is not None:
            self._W = W

    @property
    def W(self):
        if "_W" not in self.__dict__:
            sw = self.sw
            self._W = self.resp if np.all(sw == 1.0) else self.resp * sw[:, None]
        return self._W


class ThreadRows:
    """In-memory rows, summed over fixed row blocks in the thread pool.

    Parameters
    ----------
    **arrays : ndarray
        Row-aligned arrays (``ex``, ``gx``, ``y``, ``sw``, ``resp``...); a
        block holds the same rows of each.
    """

    def __init__(self, block_rows=THREAD_BLOCK_ROWS, **arrays):
        self.arrays = {k: v for k, v in arrays.items() if v is not None}
        self.n = len(next(iter(self.arrays.values())))
        self.bounds = block_bounds(self.n, block_rows)

    def block(self, a, z):
        return RowBlock(**{k: v[a:z] for k, v in self.arrays.items()})

    def single_block(self):
        """All the rows as one block when they are one block, else None.

        Iterative solvers evaluate many sums over the same rows; with one
        block they can hold it (and what they derive from it) once.
        """
        if len(self.bounds) == 2:
            return self.block(self.bounds[0], self.bounds[1])
        return None

    def sum(self, func, *shared):
        """``sum over blocks of func(block, *shared)``, added in block order.

        BLAS is limited to one thread meanwhile (the blocks already run in
        parallel, and a threaded BLAS call on a thin block costs more in
        spinning workers than in arithmetic on a busy machine).
        """
        if len(self.bounds) == 2:  # one block, in this thread: nothing to coordinate
            return ordered_sum([func(self.block(self.bounds[0], self.bounds[1]), *shared)])
        with blas_single_threaded():
            parts = map_blocks(lambda a, z: func(self.block(a, z), *shared), self.bounds)
        return ordered_sum(parts)
