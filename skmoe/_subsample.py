"""Starts screened on a subsample of the rows (large n): how many rows, which, weighted how.

At large n the starts of a fit run first on a random subsample of the rows:
their initialisation, the screening, and the ``n_init`` kept ones to
convergence; those then continue on all rows from where they ended (as
mclust's initialisation subset, extended to the whole screening).  A start's
basin is visible on a few thousand rows per expert, and its runs there cost a
small fraction of the iterations on all rows; what is left on all rows is
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


def draw_ranks(est, counts, n_features, n_experts, seeds):
    """Which rows of each stratum the starts run on first, or None (every engine).

    Parameters
    ----------
    est : mixture estimator
        Supplies ``subsample`` (and ``classes_`` for a classifier).
    counts : list of int
        Rows with positive weight in each stratum (the classes present, in
        order, for a classifier; one entry for a regressor).
    n_features, n_experts : int
    seeds : ndarray
        The starts' seeds (drawn from ``random_state``): the draw has its
        own stream seeded by them, so it is the same on every engine.

    Returns
    -------
    None (all rows), or a list of sorted int arrays
        Per stratum, the ranks of the drawn rows among its rows with
        positive weight, in row order.  Each stratum gets its share of the
        rows, rounded, and at least ``MIN_PER_STRATUM`` (or all of its
        own).  Drawn without replacement in ``O(m)`` memory (NumPy's
        Generator.choice), whatever the number of rows: a Dask fit draws
        them on the client from counts alone.
    """
    n_outputs = max(len(est.classes_) - 1, 1) if est._is_classifier else 1
    n_rows = int(sum(counts))
    m = subsample_size(est.subsample, n_rows, n_features, n_experts, n_outputs)
    if not m:
        return None
    rng = np.random.default_rng(np.append(np.asarray(seeds, dtype=np.int64), 0x5EED))
    ranks = []
    for count in counts:
        take = min(count, max(round(m * count / n_rows), MIN_PER_STRATUM))
        if take == count:
            ranks.append(np.arange(count))
        else:
            ranks.append(np.sort(rng.choice(count, size=take, replace=False, shuffle=False)))
    return ranks


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
    if n_rows <= setting:
        return 0
    # Each start fits every expert (coefficients and a scale) and the gate on
    # the subsample: fewer rows than that leaves its runs unidentified, and
    # the run that continues on all rows starts from a degenerate fit.
    needed = n_experts * (n_features + 2) * n_outputs
    if setting < needed:
        raise ValueError(
            f"subsample={setting} is too small for {n_experts} experts on {n_features} "
            f"features: each start would fit about {needed} parameters on {setting} rows. "
            f"Use at least {needed} rows, 'auto', or None (every start on all rows)."
        )
    return int(setting)


def strata_of(sw, y=None):
    """The rows with positive weight of each stratum, in row order (in memory).

    ``y``: the encoded classes of a classifier (a stratum per class present
    among those rows), or None (one stratum).
    """
    positive = sw > 0
    if y is None:
        return [np.flatnonzero(positive)]
    return [np.flatnonzero(positive & (y == c)) for c in np.unique(y[positive])]


def subsample_rows(est, sw, y, n_features, n_experts, seeds):
    """The in-memory draw: sorted rows and their weights, or None (all rows).

    The weights are ``sw`` scaled so that every stratum keeps its total
    weight (the penalties then act on the subsample as on all rows).
    """
    groups = strata_of(sw, y if est._is_classifier else None)
    ranks = draw_ranks(est, [g.size for g in groups], n_features, n_experts, seeds)
    if ranks is None:
        return None
    rows = np.concatenate([g[r] for g, r in zip(groups, ranks, strict=True)])
    strata = np.repeat(np.arange(len(groups)), [r.size for r in ranks])
    order = np.argsort(rows, kind="stable")
    rows, strata = rows[order], strata[order]
    return rows, scaled_weights(sw[rows], strata, [sw[g].sum() for g in groups])


def scaled_weights(sw, strata, totals):
    """``sw`` of the drawn rows scaled so that those of stratum ``j`` weigh ``totals[j]``."""
    weights = np.empty_like(sw)
    for j, total in enumerate(totals):
        mine = strata == j
        weights[mine] = sw[mine] * (total / sw[mine].sum())
    return weights


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
