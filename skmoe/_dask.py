"""Exact data-parallel EM on Dask arrays.

``MixtureOfExpertsRegressor.fit`` and ``MixtureOfExpertsClassifier.fit``
hand a Dask array ``X`` to :func:`fit_dask`, which runs the in-memory EM of
:mod:`skmoe._base` with every pass over the rows mapped over the row blocks
of ``X`` and reduced on the client:

* the E-step (gate log-probabilities, expert log-likelihoods, posteriors)
  runs block by block on the workers; the responsibilities stay there
  (persisted), only per-block sums come back;
* the M-steps only need sums over rows: every gate and expert set is
  estimated through the component protocol (``skmoe._rows``; the user
  guide's "How EM is organised"), and this module supplies the row engine,
  :class:`_DaskRows`, whose ``sum(func, *shared)`` maps ``func`` over the
  blocks on the workers and adds the results on the client **in block
  order** (so the result does not depend on which worker finishes first).
  Additive statistics (the linear-Gaussian experts' Gram matrices, the
  constant and Gaussian gates' moments) are summed once per M-step; the
  iterative problems (softmax and hierarchical gates, logistic, Poisson and
  binomial experts) run their solver on the client with each loss,
  gradient or Hessian evaluation one such sum;
* the initialisation is the in-memory one: the same standardisation
  (reduced), the same random draws from the same ``RandomState`` stream,
  k-means fitted on the client on the same rows (all rows up to 20 000,
  else the same subsample), then every row assigned block by block.

The result is the in-memory fit, up to the rounding of sums taken in a
different order (tested to 1e-8).  What is exact therefore covers the
gates and expert sets of the protocol: built-in
:class:`~skmoe.experts.LinearExpert`, :class:`~skmoe.experts.PoissonExpert`,
:class:`~skmoe.experts.BinomialExpert` (regressor),
:class:`~skmoe.experts.LogisticExpert` (classifier), and the softmax,
constant, Gaussian and hierarchical gates.  Other experts (trees, SVMs, any
scikit-learn estimator) have no sums over rows: they raise, name the missing
methods and point to ``partial_fit`` (mini-batch EM) instead.

The fitted estimator is an ordinary one (NumPy parameters).  Memory: X, y,
the sample weights and the (n, K) responsibilities live on the workers
(persisted: EM passes over them many times); the client holds K
(d+1) x (d+1) matrices and, at initialisation, at most 20 000 rows for
k-means.  A re-seed of a collapsed expert (rare) brings the n per-row
log-likelihoods and sample weights to the client to rank the rows.
"""

import copy
import warnings
from types import SimpleNamespace

import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning

from ._em import KMEANS_MAX_ROWS as _KMEANS_MAX_ROWS
from ._em import PREFIT_ITER, EMRun, reseed_assign, reseed_plan, reseed_rows, resp_from_labels
from ._frame import frame_scale, variance_floor
from ._init import (
    LINES_MAX_ROWS,
    NEEDS_MATRIX,
    SEGMENTS_MAX_ROWS,
    consensus_lines,
    fit_lines,
    gate_axis,
    hashed_labels,
    line_resp,
    line_scales,
    nearest_centre,
    repeats_strategy,
    sample_line_rows,
    segment_labels,
    segment_thresholds,
    segment_weights,
)
from ._rows import RowBlock, ordered_sum
from ._subsample import MemoRows, draw_ranks, scaled_weights
from ._threading import blas_single_threaded, blockwise_posterior
from ._validation import check_magnitude, encode_labels, fit_labels

_INSTALL = 'pip install "skmoe[dask]"'


def _import_dask():
    try:
        import dask
        import dask.array  # noqa: F401
    except ImportError as exc:  # pragma: no cover - exercised without dask only
        raise ImportError(
            f"Fitting on Dask arrays needs dask[array,distributed]; install it with {_INSTALL}."
        ) from exc
    return dask


def is_dask_collection(obj):
    """Whether ``obj`` is a Dask collection, without importing dask."""
    return type(obj).__module__.startswith("dask")


# ---------------------------------------------------------------------- #
# Block functions: run on the workers, pure functions of their arguments.
# ---------------------------------------------------------------------- #
def _cols(X, cols):
    return X if cols is None else np.ascontiguousarray(X[:, cols])


def _prepare_X(xb):
    return np.ascontiguousarray(xb, dtype=np.float64)


def _check_X_block(xb):
    finite = bool(np.all(np.isfinite(xb)))
    return finite, _abs_max(xb) if finite else np.inf


def _abs_max(a):
    # max and min, not abs: no temporary copy of a block.
    return max(abs(float(np.max(a))), abs(float(np.min(a)))) if a.size else 0.0


def _ones(xb):
    return np.ones(xb.shape[0])


def _prepare_sw(swb):
    swb = np.asarray(swb, dtype=np.float64).ravel()
    return np.ascontiguousarray(swb)


def _sw_checks(swb):
    return (
        bool(np.all(np.isfinite(swb))),
        bool(np.all(swb >= 0)),
        float(swb.sum()),
        int(np.count_nonzero(swb > 0)),
    )


def _weighted_sum(xb, swb):
    return swb @ xb, float(swb.sum())


def _weighted_centred_sq(xb, swb, mean):
    xc = xb - mean
    return swb @ (xc * xc)


def _regressor_y_block(yb, family, ests):
    yb = np.asarray(yb, dtype=np.float64).ravel()
    if not np.all(np.isfinite(yb)):
        raise ValueError("Input y contains NaN or infinity.")
    if family is not None:
        yb = family._check_targets(yb, ests)
    return yb


def _unique(yb):
    return fit_labels(np.asarray(yb).ravel())[0]


def _encode_labels(yb, classes):
    return encode_labels(np.asarray(yb).ravel(), classes)


def _class_mass(yb, swb, n_classes):
    return np.bincount(yb, weights=swb, minlength=n_classes)


def _init_z(xb, yb, view):
    """The columns an initialisation strategy works on (``_base._initial_resp``'s views).

    ``view = (cols, target)``: the columns of X (None: all) and what of y is
    appended -- None, ``"target"`` (y itself) or ``("onehot", n_classes)``.
    """
    cols, target = view
    Z = _cols(xb, cols)
    if target is None:
        return Z
    if target == "target":
        return np.column_stack([Z, np.asarray(yb, dtype=np.float64)])
    T = np.zeros((yb.shape[0], target[1]))
    T[np.arange(yb.shape[0]), yb] = 1.0
    return np.column_stack([Z, T])


def _z_sums(xb, yb, swb, view):
    return _weighted_sum(_init_z(xb, yb, view), swb)


def _z_sq(xb, yb, swb, view, mean):
    return _weighted_centred_sq(_init_z(xb, yb, view), swb, mean)


def _z_std(xb, yb, view, mean, std):
    return (_init_z(xb, yb, view) - mean) / std


def _positive_rows(swb):
    return np.flatnonzero(swb > 0)


def _stratum_masks(swb, yb, n_strata):
    """Per stratum, the block's rows with positive weight (one stratum when 0)."""
    positive = np.asarray(swb) > 0
    if n_strata == 0:
        return [positive]
    yb = np.asarray(yb)
    return [positive & (yb == c) for c in range(n_strata)]


def _stratum_counts(swb, yb, n_strata):
    masks = _stratum_masks(swb, yb, n_strata)
    swb = np.asarray(swb)
    return [int(m.sum()) for m in masks], np.array([swb[m].sum() for m in masks])


def _stratum_rows(xb, yb, swb, local, n_strata):
    """``(rows, strata, x, y, sw)`` of the block's drawn rows, in row order: ``local``
    gives ``(class, stratum, ranks)``, the ranks among the block's rows of that class."""
    masks = _stratum_masks(swb, yb, n_strata)
    rows = [np.flatnonzero(masks[c])[ranks] for c, _, ranks in local]
    strata = np.repeat(np.array([j for _, j, _ in local], dtype=np.intp), [r.size for r in rows])
    rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.intp)
    order = np.argsort(rows, kind="stable")
    rows, strata = rows[order], strata[order]
    return rows, strata, np.asarray(xb)[rows], np.asarray(yb)[rows], np.asarray(swb)[rows]


def _take_rows(xb, yb, swb, local, view, mean, std):
    return _z_std(xb, yb, view, mean, std)[local], swb[local]


def _init_kmeans(xb, yb, view, mean, std, km, K):
    with blas_single_threaded():
        labels = km.predict(_z_std(xb, yb, view, mean, std))
    return resp_from_labels(labels, K)


def _init_random(xb, yb, view, mean, std, centres, K):
    Z = _z_std(xb, yb, view, mean, std)
    return resp_from_labels(nearest_centre(Z, centres), K)


def _init_partition(xb, offset, seed, K):
    return resp_from_labels(hashed_labels(seed, offset, offset + xb.shape[0], K), K)


def _init_lines(xb, yb, view, mean, std, lines, scale, share):
    Z = _z_std(xb, yb, view, mean, std)
    return line_resp(Z[:, :-1], Z[:, -1], lines, scale, share)


def _z_cov(xb, yb, swb, view, mean, std):
    Z = _z_std(xb, yb, view, mean, std)
    return (Z * swb[:, None]).T @ Z


def _init_segments(xb, yb, offset, view, mean, std, axis, cuts, K, seed):
    t = _z_std(xb, yb, view, mean, std) @ axis
    return resp_from_labels(segment_labels(t, cuts, K, seed, offset), K)


def _e_step(xb, yb, gate, experts, gcols, ecols):
    log_gate = gate._log_proba(_cols(xb, gcols))
    log_lik = experts.log_prob(_cols(xb, ecols), yb)
    resp, ll = blockwise_posterior(log_gate, log_lik)
    log_px = gate._log_marginal(_cols(xb, gcols))
    if log_px is not None:
        ll = ll + log_px
    return resp, ll


def _e_sums(out, swb):
    # The experts' weighted mass (for re-seeding) and the weighted log-likelihood.
    resp, ll = out
    return swb @ resp, float(swb @ ll)


def _columns(resp, order):
    return resp[:, order]


def _get(out, i):
    return out[i]


def _reseed_block(resp, changes):
    resp = resp.copy()
    for rows, k in changes:
        reseed_assign(resp, rows, k)
    return resp


# ---------------------------------------------------------------------- #
# The data on the workers
# ---------------------------------------------------------------------- #
class _BlockData:
    """X, y and sample weights as persisted row blocks, plus their offsets."""

    def __init__(self, dask, X, y, sample_weight):
        import dask.array as da

        self.dask = dask
        self.delayed = dask.delayed
        if not hasattr(X, "chunks"):
            raise TypeError(
                f"X is a {type(X).__name__}; fit takes a Dask array. Convert a Dask DataFrame "
                "with X.to_dask_array(lengths=True)."
            )
        if X.ndim != 2:
            raise ValueError(
                f"Expected a 2-D Dask array X of shape (n_samples, n_features); got "
                f"{X.ndim} dimension(s)."
            )
        if any(np.isnan(c) for c in X.chunks[0]):
            raise ValueError(
                "X is a Dask array with unknown chunk sizes; call X.compute_chunk_sizes() "
                "(or build it with known chunks) before fitting."
            )
        if X.dtype.kind not in "biuf":
            raise ValueError(f"X must be numeric; got a Dask array of dtype {X.dtype}.")
        self.n, self.d = int(X.shape[0]), int(X.shape[1])
        if self.n == 0 or self.d == 0:
            raise ValueError(f"X has shape {X.shape}; need at least one sample and one feature.")
        # Blocks of 0 rows (normal after boolean filtering and
        # compute_chunk_sizes()) are dropped: every per-block pass (k-means
        # sample, moments, the expert and gate solvers) may then assume a
        # block has rows.  Merging an empty chunk moves no data.
        row_chunks = tuple(int(c) for c in X.chunks[0] if c > 0)
        X = X.rechunk({0: row_chunks, 1: -1})
        self.bounds = np.concatenate([[0], np.cumsum(row_chunks)]).astype(np.int64)
        y = self._as_rows(da, y, row_chunks, "y")
        sw = (
            None
            if sample_weight is None
            else self._as_rows(da, sample_weight, row_chunks, "sample_weight")
        )
        try:  # a distributed Client, if one is active: its futures API has less overhead
            from distributed import default_client

            self.client = default_client()
        except (ImportError, ValueError):
            self.client = None
        dl = self.delayed
        xs = [dl(_prepare_X, pure=False)(b) for b in X.to_delayed().ravel()]
        ys = list(y.to_delayed().ravel())
        if sw is None:
            sws = [dl(_ones, pure=False)(b) for b in xs]
        else:
            sws = [dl(_prepare_sw, pure=False)(b) for b in sw.to_delayed().ravel()]
        if self.client is not None:
            self.x, self.y_raw, self.sw = (self.client.compute(v) for v in (xs, ys, sws))
        else:
            self.x, self.y_raw, self.sw = dask.persist(xs, ys, sws)
        self.n_blocks = len(self.x)
        x_checks = self.map(_check_X_block, self.x)
        if not all(c[0] for c in x_checks):
            raise ValueError("Input X contains NaN or infinity.")
        # As in memory: values whose squares overflow are refused, naming X.
        check_magnitude(np.array([c[1] for c in x_checks]), "X")
        checks = self.map(_sw_checks, self.sw)
        if not all(c[0] for c in checks):
            raise ValueError("sample_weight contains NaN or infinity.")
        if not all(c[1] for c in checks):
            raise ValueError("Negative values in data passed to `sample_weight`")
        self.sw_sum = _ordered_sum([c[2] for c in checks])
        if not self.sw_sum > 0:
            raise ValueError("sample_weight sums to zero; at least one row needs positive weight.")
        self.y = None

    def _as_rows(self, da, v, row_chunks, name):
        if is_dask_collection(v):
            if not hasattr(v, "chunks"):
                raise TypeError(
                    f"{name} is a {type(v).__name__}; give a Dask array (e.g. "
                    f"{name}.to_dask_array(lengths=True)) or a NumPy array."
                )
            v = v.ravel() if v.ndim == 2 and v.shape[1] == 1 else v
        else:
            v = np.asarray(v)
            if v.ndim == 2 and v.shape[1] == 1:
                v = v.ravel()
        if v.ndim != 1 or v.shape[0] != self.n:
            raise ValueError(f"{name} must have shape ({self.n},) to match X; got shape {v.shape}.")
        if is_dask_collection(v):
            return v.rechunk((row_chunks,))
        return da.from_array(v, chunks=(row_chunks,))

    # -- helpers ------------------------------------------------------- #
    def map(self, func, *per_block, shared=(), compute=True):
        """``func(*block_args, *shared)`` for every block.

        Returns the results in block order (``compute=True``), or handles to
        them left on the workers (persisted) for later passes.
        """
        if self.client is not None:
            n = self.n_blocks
            futures = self.client.map(
                func, *[list(arg) for arg in per_block], *[[s] * n for s in shared], pure=False
            )
            return self.client.gather(futures) if compute else futures
        dl = self.delayed
        # Shared arguments (the gate, the experts, coefficients) become one
        # key each rather than one copy per task.
        shared = [
            s if (callable(s) or is_dask_collection(s)) else dl(s, pure=False, traverse=False)
            for s in shared
        ]
        tasks = [
            dl(func, pure=False)(*[arg[i] for arg in per_block], *shared)
            for i in range(self.n_blocks)
        ]
        if compute:
            return list(self.dask.compute(tasks)[0])
        return list(self.dask.persist(tasks)[0])

    def gather(self, handles):
        """The values of persisted blocks, in block order."""
        if self.client is not None:
            return self.client.gather(handles)
        return list(self.dask.compute(handles)[0])


def _ordered_sum(parts):
    """Sum a list of (tuples of) arrays or floats in list order (deterministic)."""
    first = parts[0]
    if isinstance(first, (tuple, list)):
        return tuple(_ordered_sum([p[i] for p in parts]) for i in range(len(first)))
    total = np.array(first, dtype=np.float64, copy=True) if np.ndim(first) else float(first)
    for p in parts[1:]:
        total = total + p
    return total


def _rows_block(xb, yb, swb, resp, func, gcols, ecols, *shared):
    block = RowBlock(gx=_cols(xb, gcols), ex=_cols(xb, ecols), y=yb, sw=swb, resp=resp)
    return func(block, *shared)


class _DaskRows:
    """The Dask row engine: ``sum(func, *shared)`` maps ``func(block, *shared)``
    over the persisted blocks and adds the results in block order (the
    protocol of :class:`skmoe._rows.ThreadRows`)."""

    def __init__(self, em, resp):
        self.em, self.resp = em, resp
        self.n = em.data.n

    def sum(self, func, *shared):
        data = self.em.data
        resp = self.resp if self.resp is not None else [None] * data.n_blocks
        return ordered_sum(
            data.map(
                _rows_block,
                data.x,
                data.y,
                data.sw,
                resp,
                shared=(func, self.em.gcols, self.em.ecols, *shared),
            )
        )


# ---------------------------------------------------------------------- #
# What runs on Dask
# ---------------------------------------------------------------------- #
def _partial_fit_hint(est):
    return (
        f"Exact data-parallel EM on Dask needs experts and a gate whose M-step is a "
        f"function of sums over rows: LinearExpert, PoissonExpert or BinomialExpert in "
        f"MixtureOfExpertsRegressor, LogisticExpert in MixtureOfExpertsClassifier, and the "
        f"'softmax', 'constant', 'gaussian' or 'hierarchical' gate. Otherwise stream the Dask blocks "
        f"through {type(est).__name__}.partial_fit (online EM; it takes the built-in "
        f"experts and any expert with its own partial_fit(X, y, sample_weight), e.g. "
        f"SGDRegressor or SGDClassifier, but not trees or SVMs), or call fit on "
        f"X.compute() if the data fit in memory."
    )


def _has_protocol(comp):
    """Whether a gate or expert set (or its class) can be estimated block by block."""
    return hasattr(comp, "row_stats") or hasattr(comp, "m_step_from_rows")


def _check_supported(est, named):
    if est._takes_sequences():
        raise NotImplementedError(
            "Sequence inputs cannot be fitted from a Dask array. " + _partial_fit_hint(est)
        )
    # Dispatch on the component protocol, never on the class: an expert set
    # and a gate with additive statistics or an iterative problem over rows
    # run on Dask blocks; the error names the missing methods.
    set_class = est._expert_set_class(named)
    if not _has_protocol(set_class):
        names = sorted({type(e).__name__ for _, e in named})
        if names == ["LinearExpert"] and est.m_step == "weighted":
            raise NotImplementedError(
                "LinearExpert experts with different alpha values are fitted one by one in "
                "memory, not from shared Gram matrices; give them one alpha to fit on Dask "
                "blocks. " + _partial_fit_hint(est)
            )
        raise NotImplementedError(
            f"The experts {names} (m_step={est.m_step!r}) form an expert set that implements "
            "neither form of the component protocol (row_stats/m_step_from_stats, or "
            "m_step_from_rows), so they cannot be fitted exactly block by block. "
            + _partial_fit_hint(est)
        )
    gate = est._make_gate()
    if not _has_protocol(gate):
        raise NotImplementedError(
            f"The gate {type(gate).__name__} implements neither form of the component "
            "protocol (row_stats/m_step_from_stats, or m_step_from_rows), so it cannot be "
            "estimated block by block. " + _partial_fit_hint(est)
        )


def fit_dask(est, X, y, sample_weight=None):
    """Fit a mixture of experts by exact EM on a Dask array ``X``.

    Called by ``fit`` when ``X`` is a Dask array; see the module docstring
    for what is computed where and what is exact.

    Parameters
    ----------
    est : MixtureOfExpertsRegressor or MixtureOfExpertsClassifier
        Parameters already validated.
    X : dask.array.Array of shape (n_samples, n_features)
        Row chunks are the blocks of the map-reduce.
    y : dask.array.Array or array-like of shape (n_samples,)
    sample_weight : dask.array.Array, array-like or None

    Returns
    -------
    est : the fitted estimator, with NumPy parameters.

    Notes
    -----
    ``n_jobs`` is not used: the parallelism is the cluster's.  Restarts
    (``n_init``) run one after the other, each over all the blocks.
    """
    dask = _import_dask()
    n_rows = X.shape[0] if hasattr(X, "shape") and len(X.shape) else np.nan
    if n_rows == n_rows:  # known row count (else _BlockData explains): sizes first
        est._check_n_samples(int(n_rows))
    named = est._named_experts()
    _check_supported(est, named)
    est._init_strategies(est._n_candidates())  # an impossible strategy fails before any work
    data = _BlockData(dask, X, y, sample_weight)
    # What validate_data(reset=True) leaves: the feature count, no names.
    est.n_features_in_ = data.d
    if hasattr(est, "feature_names_in_"):
        del est.feature_names_in_
    est._seq_features = None
    _validate_y(est, data, named)
    est._gate_cols = est._resolve_features(est.gate_features, "gate_features")
    est._expert_cols = est._resolve_features(est.expert_features, "expert_features")
    n_experts = len(named)
    if data.n < n_experts:
        raise ValueError(
            f"Expected n_samples >= n_experts, got n_samples={data.n} and n_experts={n_experts}."
        )
    em = _DaskEM(est, data)
    warm, seeds = est._start_seeds(n_experts)
    strategies = est._init_strategies(len(seeds))
    # The in-memory fit's subsample, its starts run in memory on the client.
    subsample = None if warm else em.subsample(named, seeds, strategies)
    # The in-memory restarts and screening; the starts run one after the
    # other, each spread over the cluster.
    est._run_restarts(
        lambda i: em.run(
            named, seeds[i], i, warm, strategies[i], perturb=repeats_strategy(strategies, i)
        ),
        strategies,
        n_experts,
        parallel=False,
        subsample=subsample,
    )
    est.n_subsample_ = em.n_subsample
    return est


def _validate_y(est, data, named):
    """The subclasses' ``_check_y``, with its sums reduced over the blocks."""
    if est._is_classifier:
        # The classes of every block, then of their union (the in-memory
        # fit's check and message, skmoe._validation.fit_labels).
        uniques = data.map(_unique, data.y_raw)
        classes = fit_labels(np.concatenate(uniques), estimator=type(est).__name__)[0]
        data.y = data.map(_encode_labels, data.y_raw, shared=(classes,), compute=False)
        weighted = _ordered_sum(data.map(_class_mass, data.y, data.sw, shared=(len(classes),)))
        if np.count_nonzero(weighted > 0) < 2:
            raise ValueError(
                f"{type(est).__name__} needs at least 2 classes with positive sample_weight; "
                f"only class {classes[np.argmax(weighted)]!r} has any weight."
            )
        if (
            est.warm_start
            and hasattr(est, "classes_")
            and not np.array_equal(est.classes_, classes)
        ):
            raise ValueError(
                f"warm_start=True needs the same classes as the previous fit {est.classes_.tolist()}; "
                f"got {classes.tolist()}."
            )
        est.classes_ = classes
        return
    from .experts._families import expert_family

    ests = [e for _, e in named]
    family = expert_family(ests, est.m_step)
    data.y = data.map(_regressor_y_block, data.y_raw, shared=(family, ests), compute=False)
    check_magnitude(np.array(data.map(_abs_max, data.y)), "y")
    # MixtureOfExpertsRegressor._check_y: the variance floor from the weighted moments of y.
    col = data.map(np.reshape, data.y, shared=((-1, 1),), compute=False)
    s, w = _ordered_sum(data.map(_weighted_sum, col, data.sw))
    mean = float(s[0] / w)
    var_y = float(_ordered_sum(data.map(_weighted_centred_sq, col, data.sw, shared=(mean,)))[0] / w)
    est._var_floor = variance_floor(est.variance_floor, var_y, mean)


class _DaskEM:
    """``BaseMixtureOfExperts._run_em`` with its passes over rows mapped over Dask blocks."""

    def __init__(self, est, data):
        self.est = est
        self.data = data
        self.n_subsample = 0
        self.gcols = est._gate_cols
        self.ecols = est._expert_cols
        self.d_gate = data.d if self.gcols is None else len(self.gcols)
        self.d_expert = data.d if self.ecols is None else len(self.ecols)

    # -- initialisation ------------------------------------------------ #
    def _view(self, strategy):
        est = self.est
        if strategy == "kmeans_gate":
            return (self.gcols, None)
        if strategy == "classes":
            return (None, ("onehot", len(est.classes_)))
        if strategy in NEEDS_MATRIX:
            return (self.ecols, "target")
        return (None, None if est._is_classifier else "target")

    def _take(self, global_rows, view, mean, std, weights=False):
        """The standardised view of the given rows (any order), from their blocks
        (and their sample weights, with ``weights``)."""
        data = self.data
        block = np.searchsorted(data.bounds, global_rows, side="right") - 1
        local = [
            np.asarray(global_rows[block == i] - data.bounds[i], dtype=np.intp)
            for i in range(data.n_blocks)
        ]
        parts = data.map(_take_rows, data.x, data.y, data.sw, local, shared=(view, mean, std))
        found = {}
        for i in range(data.n_blocks):
            for pos, r in enumerate(local[i]):
                found[int(r) + int(data.bounds[i])] = (parts[i][0][pos], parts[i][1][pos])
        Z = np.array([found[int(r)][0] for r in global_rows])
        if weights:
            return Z, np.array([found[int(r)][1] for r in global_rows])
        return Z

    def _moments(self, view):
        """Weighted mean and spread (``frame_scale``) of a view's columns."""
        data = self.data
        s, w = _ordered_sum(data.map(_z_sums, data.x, data.y, data.sw, shared=(view,)))
        mean = s / w
        sq = _ordered_sum(data.map(_z_sq, data.x, data.y, data.sw, shared=(view, mean)))
        return mean, frame_scale(mean, np.sqrt(np.maximum(sq / w, 0.0))), w

    def _positive(self):
        """Global indices of the rows with positive weight, in row order."""
        data = self.data
        positive = data.map(_positive_rows, data.sw)
        return np.concatenate([p + data.bounds[i] for i, p in enumerate(positive)])

    def _initial_resp(self, K, rng, strategy, perturb=False):
        """``BaseMixtureOfExperts._initial_resp`` with its passes over the blocks."""
        data = self.data
        if K == 1:
            return data.map(
                np.ones,
                [(b1 - b0, 1) for b0, b1 in zip(data.bounds[:-1], data.bounds[1:], strict=True)],
                compute=False,
            )
        if strategy == "random_partition":
            seed = rng.randint(np.iinfo(np.int32).max)
            offsets = [int(b) for b in data.bounds[:-1]]
            return data.map(_init_partition, data.x, offsets, shared=(seed, K), compute=False)
        view = self._view(strategy)
        mean, std, _ = self._moments(view)
        if strategy in NEEDS_MATRIX:
            # _base._initial_resp's draws, in its order, on the blocks.
            positive = self._positive()
            if strategy == "random_lines":
                rows = sample_line_rows(rng, positive, K, self.d_expert)
                points = [self._take(positive[r], view, mean, std) for r in rows]
                lines = fit_lines([(P[:, :-1], P[:, -1]) for P in points])
            m = SEGMENTS_MAX_ROWS if strategy == "segments" else LINES_MAX_ROWS
            c = positive if positive.size <= m else np.sort(rng.choice(positive, m, replace=False))
            P, ws = self._take(c, view, mean, std, weights=True)
            Zs, us = P[:, :-1], P[:, -1]
            if strategy == "segments":
                gview = (self.gcols, None)
                gmean, gstd, w = self._moments(gview)
                C = _ordered_sum(
                    data.map(_z_cov, data.x, data.y, data.sw, shared=(gview, gmean, gstd))
                )
                axis = gate_axis(C / w)
                ts = self._take(c, gview, gmean, gstd) @ axis
                cuts = segment_thresholds(ts, Zs, us, segment_weights(rng, ws, perturb), K)
                seed = rng.randint(np.iinfo(np.int32).max)
                offsets = [int(b) for b in data.bounds[:-1]]
                return data.map(
                    _init_segments,
                    data.x,
                    data.y,
                    offsets,
                    shared=(gview, gmean, gstd, axis, cuts, K, seed),
                    compute=False,
                )
            if strategy == "consensus_lines":
                lines = consensus_lines(rng, Zs, us, ws, K)
            scale, share = line_scales(Zs, us, ws, lines)
            return data.map(
                _init_lines,
                data.x,
                data.y,
                shared=(view, mean, std, lines, scale, share),
                compute=False,
            )
        if strategy in ("kmeans", "kmeans_gate", "classes"):
            km = KMeans(
                n_clusters=K,
                n_init=1,
                random_state=rng.randint(np.iinfo(np.int32).max),
                copy_x=False,
            )
            if data.n <= _KMEANS_MAX_ROWS:
                local = [slice(None)] * data.n_blocks
            else:
                # The in-memory draw: rng.choice(rows, m) is rows[rng.choice(len(rows), m)].
                positive = data.map(_positive_rows, data.sw)
                n_pos = sum(p.size for p in positive)
                if n_pos > _KMEANS_MAX_ROWS:
                    ranks = np.sort(rng.choice(n_pos, size=_KMEANS_MAX_ROWS, replace=False))
                    starts = np.concatenate([[0], np.cumsum([p.size for p in positive])])
                    local = [
                        positive[i][
                            ranks[(ranks >= starts[i]) & (ranks < starts[i + 1])] - starts[i]
                        ]
                        for i in range(data.n_blocks)
                    ]
                else:
                    local = positive
            parts = data.map(_take_rows, data.x, data.y, data.sw, local, shared=(view, mean, std))
            Z = np.concatenate([p[0] for p in parts])
            sw = np.concatenate([p[1] for p in parts])
            with warnings.catch_warnings(), blas_single_threaded():
                warnings.simplefilter("ignore", ConvergenceWarning)
                km.fit(Z, sample_weight=sw)
            return data.map(
                _init_kmeans, data.x, data.y, shared=(view, mean, std, km, K), compute=False
            )
        # "random": k distinct rows as centres, in the order of the draw.
        centres = self._take(rng.choice(data.n, size=K, replace=False), view, mean, std)
        return data.map(
            _init_random, data.x, data.y, shared=(view, mean, std, centres, K), compute=False
        )

    def _uniform(self, K):
        data = self.data
        return data.map(
            np.full,
            [(b1 - b0, K) for b0, b1 in zip(data.bounds[:-1], data.bounds[1:], strict=True)],
            shared=(1.0 / K,),
            compute=False,
        )

    def _initialize_gate(self, gate, K):
        if hasattr(gate, "row_stats"):
            # A gate with statistics: its frame, then an M-step from uniform
            # responsibilities (what its in-memory _initialize does).
            gate._validate_params()
            gate.n_experts_ = K
            gate.n_features_in_ = self.d_gate
            rows = _DaskRows(self, self._uniform(K))
            gate.prepare(rows)
            gate.m_step_from_stats(rows.sum(gate.row_stats))
            return
        # An iterative gate: its parameters sized on one dummy row, then its
        # frame from the blocks.
        gate._initialize(np.zeros((1, self.d_gate)), K, sample_weight=np.ones(1))
        gate.prepare(_DaskRows(self, None))
        gate._sync()

    def _prepare_experts(self, experts):
        # The frame from the sample weights (one column of ones as the
        # responsibilities), as the in-memory fit does for cold and warm starts.
        if hasattr(experts, "prepare"):
            experts.prepare(_DaskRows(self, self._uniform(1)))

    # -- M-steps -------------------------------------------------------- #
    def _m_step(self, gate, experts, resp, iteration):
        rows = _DaskRows(self, resp)
        if hasattr(experts, "row_stats"):
            experts.m_step_from_stats(rows.sum(experts.row_stats))
        else:
            experts.m_step_from_rows(rows, iteration)
        if hasattr(gate, "row_stats"):
            gate.m_step_from_stats(rows.sum(gate.row_stats))
        else:
            gate.m_step_from_rows(rows)

    # -- E-step and re-seeding ----------------------------------------- #
    def _e_step(self, gate, experts):
        data = self.data
        out = data.map(
            _e_step, data.x, data.y, shared=(gate, experts, self.gcols, self.ecols), compute=False
        )
        sums = _ordered_sum(data.map(_e_sums, out, data.sw))
        resp = data.map(_get, out, shared=(0,), compute=False)
        ll = data.map(_get, out, shared=(1,), compute=False)
        return resp, ll, sums

    def _reseed(self, resp, ll, mass, rng):
        """The in-memory re-seed (:func:`~skmoe._em.reseed_plan`); the rows ranked on the client."""
        data = self.data
        n = data.n
        dead, m = reseed_plan(mass, n, data.d, data.sw_sum / n)
        if dead.size == 0:
            return resp, dead
        ll_all, sw_all = data.gather(ll), data.gather(data.sw)
        ll_all, sw_all = np.concatenate(ll_all), np.concatenate(sw_all)
        order = np.argsort(ll_all, kind="stable")
        order = order[sw_all[order] > 0]
        changes = [[] for _ in range(data.n_blocks)]
        for k, rows in reseed_rows(order, dead, m, n, rng):
            block = np.searchsorted(data.bounds, rows, side="right") - 1
            for i in np.unique(block):
                changes[i].append((rows[block == i] - data.bounds[i], k))
        resp = data.map(_reseed_block, resp, changes, compute=False)
        return resp, dead

    # -- the EM loop ---------------------------------------------------- #
    def _prefit_resp(self, seed, init, resp):
        """``BaseMixtureOfExperts._prefit_resp`` on the blocks (self.est is the surrogate)."""
        est = self.est
        run = self.run(est._named_experts(), seed, init, False, resp0=resp)
        run.advance(min(PREFIT_ITER, est.max_iter))
        run.report.close()
        return self._e_step(run.gate, run.experts)[0]

    def subsample(self, named, seeds, strategies):
        """The in-memory fit's subsample (``skmoe._subsample``): ``(make_sub_run, resume)``.

        The same rows and weights as in memory, drawn from per-block counts
        and weight totals (no per-row array reaches the client); the starts
        run in memory on them, with their frames fixed on the blocks, and
        the kept ones continue on the blocks.  None when the starts run on
        all rows.
        """
        est, data = self.est, self.data
        # Per block and class (0: one stratum, a regressor), the rows with
        # positive weight and their weight.
        by_class = len(est.classes_) if est._is_classifier else 0
        per_block = data.map(_stratum_counts, data.sw, data.y, shared=(by_class,))
        counts = np.array([c for c, _ in per_block], dtype=np.int64).reshape(data.n_blocks, -1)
        totals = _ordered_sum([t for _, t in per_block])
        present = np.flatnonzero(counts.sum(axis=0) > 0)  # the strata of strata_of
        ranks = draw_ranks(
            est, [int(counts[:, c].sum()) for c in present], data.d, len(named), seeds
        )
        if ranks is None:
            return None
        # Each stratum's ranks, cut at the blocks' cumulative counts.
        local = [[] for _ in range(data.n_blocks)]
        for j, (c, r) in enumerate(zip(present, ranks, strict=True)):
            edges = np.concatenate([[0], np.cumsum(counts[:, c])])
            block = np.searchsorted(edges, r, side="right") - 1
            for i in np.unique(block):
                local[i].append((int(c), j, r[block == i] - edges[i]))
        parts = data.map(_stratum_rows, data.x, data.y, data.sw, local, shared=(by_class,))
        # Blocks in order, rows in order within each: the rows in row order.
        rows = np.concatenate([p[0] + b for p, b in zip(parts, data.bounds, strict=False)])
        strata, Xs, ys, sws = (np.concatenate([p[k] for p in parts]) for k in range(1, 5))
        weights = scaled_weights(sws, strata, totals[present])
        frames = SimpleNamespace(
            gate=MemoRows(_DaskRows(self, None)),
            experts=MemoRows(_DaskRows(self, self._uniform(1))),
        )
        self.n_subsample = rows.size

        make_sub_run = est._run_maker(
            Xs, ys, weights, named, seeds, strategies, None, frames=frames
        )

        def resume(i, run):
            return self.run(named, seeds[i], i, False, start=run)

        return make_sub_run, resume

    def run(
        self, named, seed, init, warm, strategy="kmeans", resp0=None, perturb=False, start=None
    ):
        """One start's EMRun on the blocks (``start``: continue a subsample run's gate
        and experts, whose frames are the blocks' already)."""
        est = self.est
        rng = np.random.RandomState(seed)
        K = len(named)
        if start is not None:
            gate, experts = start.gate, start.experts
        elif warm:
            gate = copy.deepcopy(est.gate_)
            experts = copy.deepcopy(est._expert_set)
            self._prepare_experts(experts)
        else:
            gate = est._make_gate()
            self._initialize_gate(gate, K)
            experts = est._make_expert_set(named, rng, None)
            self._prepare_experts(experts)
            resp = resp0 if resp0 is not None else self._initial_resp(K, rng, strategy, perturb)
            surrogate = None if resp0 is not None else est._surrogate(gate, named, init)
            if surrogate is not None:
                resp = _DaskEM(surrogate, self.data)._prefit_resp(seed, init, resp)
            # The in-memory fit's tree arrangement (first restart only).
            if init == 0 and hasattr(gate, "leaf_order"):
                order = gate.leaf_order(_DaskRows(self, resp))
                resp = self.data.map(_columns, resp, shared=(order,), compute=False)
            self._m_step(gate, experts, resp, 0)
        sw_sum = self.data.sw_sum
        state = {}

        def e_step():
            resp, ll, sums = self._e_step(gate, experts)
            state.update(resp=resp, ll=ll, sums=sums)
            penalty = gate._penalty() + getattr(experts, "penalty", lambda: 0.0)()
            return float((sums[1] - penalty) / sw_sum)

        def reseed():
            state["resp"], dead = self._reseed(state["resp"], state["ll"], state["sums"][0], rng)
            return dead

        def m_step(n_iter, dead):
            self._m_step(gate, experts, state["resp"], n_iter)
            # The next E-step recomputes them: a paused run (screening) holds
            # no per-row blocks on the cluster.
            state.clear()

        return EMRun(est, init, gate, experts, e_step, reseed, m_step, release=state.clear)
