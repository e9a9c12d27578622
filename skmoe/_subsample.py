"""Starts screened on a subsample of the rows (large n): how many rows, which, weighted how.

At large n every start of a fit (its initialisation and its EM iterations)
runs on a random subsample of the rows, to convergence; the ``n_init`` best
then continue on all rows from where they ended (as mclust's initialisation
subset, extended to the whole screening).  A start's basin is visible on a
few thousand rows per expert, and its run to convergence on them costs a
small fraction of one EM iteration on all rows; what is left on all rows is
the last few iterations, from a point already near the optimum.

The subsample is stratified by class for a classifier (every class keeps its
share, and at least :data:`MIN_PER_STRATUM` rows or all of its own), and the
sampled rows' weights are scaled so that each stratum keeps its total
weight: the penalties (the gate's ``alpha``, a ridge) then act on the
subsample as on all rows.
"""

import threading

import numpy as np

# "auto": at least this many rows, and 64 rows per parameter-ish unit
# (expert x (feature + 2) x output) for wide models.
AUTO_MIN_ROWS = 2**14
AUTO_ROWS_PER_UNIT = 64
# "auto" subsamples only when all the rows are at least this many times the
# subsample: below that, the saving does not pay for the extra iterations on
# all rows.
AUTO_MIN_RATIO = 4
MIN_PER_STRATUM = 16


def draw_subsample(est, sw, y, n_features, n_experts, seeds):
    """The rows and weights ``est``'s starts run on first, or None (every engine).

    Parameters
    ----------
    est : mixture estimator
        Supplies ``subsample`` (and ``classes_`` for a classifier).
    sw, y : ndarray of shape (n_samples,)
        All the sample weights and (encoded) targets.
    n_features, n_experts : int
    seeds : ndarray
        The starts' seeds (drawn from ``random_state``): the draw has its
        own stream seeded by them, so it is the same on every engine.
    """
    classifier = est._is_classifier
    n_outputs = max(len(est.classes_) - 1, 1) if classifier else 1
    n_rows = int(np.count_nonzero(sw > 0))
    m = subsample_size(est.subsample, n_rows, n_features, n_experts, n_outputs)
    if not m:
        return None
    rng = np.random.RandomState(np.append(seeds, 0x5EED).astype(np.uint32))
    return subsample_rows(rng, sw, m, y if classifier else None)


def subsample_size(setting, n_rows, n_features, n_experts, n_outputs=1):
    """Rows each start runs on before it continues on all rows; 0 for all rows.

    Parameters
    ----------
    setting : int, "auto" or None
        The estimator's ``subsample``.
    n_rows : int
        Rows with positive weight.
    n_features, n_experts, n_outputs : int
        The model's size (``n_outputs``: classes - 1 for a classifier).
    """
    if setting is None:
        return 0
    if setting == "auto":
        m = max(AUTO_MIN_ROWS, AUTO_ROWS_PER_UNIT * n_experts * (n_features + 2) * n_outputs)
        return m if n_rows >= AUTO_MIN_RATIO * m else 0
    return int(setting) if n_rows > setting else 0


def subsample_rows(rng, sw, m, strata=None):
    """A stratified uniform sample of about ``m`` rows with positive weight.

    Parameters
    ----------
    rng : numpy.random.RandomState
    sw : ndarray of shape (n_samples,)
        Sample weights; rows of weight 0 are never drawn.
    m : int
        Rows to draw in all (strata round their shares, and keep at least
        ``MIN_PER_STRATUM`` rows each, or all of theirs).
    strata : ndarray of shape (n_samples,) or None
        A label per row (the classes of a classifier); None: one stratum.

    Returns
    -------
    rows : ndarray of int
        Sorted row indices.
    weights : ndarray
        Their weights, ``sw`` scaled so that every stratum keeps its total
        weight.
    """
    positive = np.flatnonzero(sw > 0)
    if strata is None:
        groups = [positive]
    else:
        labels = strata[positive]
        groups = [positive[labels == c] for c in np.unique(labels)]
    n = positive.size
    rows, weights = [], []
    for group in groups:
        take = min(group.size, max(round(m * group.size / n), MIN_PER_STRATUM))
        chosen = group if take == group.size else np.sort(rng.choice(group, take, replace=False))
        rows.append(chosen)
        weights.append(sw[chosen] * (sw[group].sum() / sw[chosen].sum()))
    rows, weights = np.concatenate(rows), np.concatenate(weights)
    order = np.argsort(rows, kind="stable")
    return rows[order], weights[order]


class MemoRows:
    """A row engine whose sums are computed once (the frames every start asks for).

    Every start of a subsampled fit fixes its gate's and experts' frames on
    all rows (``prepare(rows)``): the same sums each time, so they are kept.

    Parameters
    ----------
    rows : row engine
        Any engine with ``sum(func, *shared)`` and ``n`` (threads, Dask).
    """

    def __init__(self, rows):
        self._rows = rows
        self.n = rows.n
        self._memo = {}
        # The starts run side by side: one computes a sum, the others wait.
        self._lock = threading.Lock()

    def sum(self, func, *shared):
        key = (func, tuple(np.asarray(a).tobytes() for a in shared))
        with self._lock:
            if key not in self._memo:
                self._memo[key] = self._rows.sum(func, *shared)
            value = self._memo[key]
        # Callers may add to what they get: hand out copies.
        if isinstance(value, tuple):
            return tuple(np.array(v, copy=True) for v in value)
        return np.array(value, copy=True)
