"""Bootstrap standard errors and percentile intervals of a fitted mixture's parameters."""

import copy
import warnings
from itertools import permutations, product
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from scipy.optimize import linear_sum_assignment
from sklearn.base import clone
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_is_fitted

from ._validation import check_sample_weight
from ._warn import warn_user
from .gating import GaussianGate, HierarchicalGate

# Trees with more symmetries than this are not aligned by enumeration.
_MAX_TREE_AUTOMORPHISMS = 20_000


class BootstrapResults:
    """Bootstrap replicates of a fitted mixture's parameters, aligned to the original fit.

    Returned by :func:`bootstrap_params`; not meant to be built by hand.

    Parameters
    ----------
    param_names : list of str
        One name per parameter.
    params : ndarray of shape (n_params,)
        The original estimate.
    replicates : ndarray of shape (n_boot, n_params)
        The aligned replicates (NaN where missing).
    alpha : float
        Default level of the intervals.
    n_failed : int
        Refits that raised an error.
    kind : str
        The kind of bootstrap.
    n_rearranged : int, default=0
        Hierarchical refits arranged otherwise in the tree.

    Attributes
    ----------
    param_names : list of str
        As in the estimator's ``summary`` (a Student-t ``df`` held fixed is
        left out).
    params : ndarray of shape (n_params,)
        The original estimate.
    replicates : ndarray of shape (n_boot, n_params)
        One row per refit, its experts relabelled to match the original
        fit's; NaN rows for refits that failed.
    bse : ndarray of shape (n_params,)
        Standard deviation of each parameter's replicates (``ddof=1``, NaN
        values left out).
    alpha : float
        Level of :meth:`conf_int`'s default intervals.
    n_failed : int
        Refits that raised an error.
    n_rearranged : int
        Refits of a hierarchical mixture that arranged their experts
        differently in the tree (no symmetry of the tree maps them onto the
        original): their gate parameters are NaN, their experts' are kept.
    kind : str
        ``"nonparametric"`` or ``"parametric"``.

    See Also
    --------
    bootstrap_params : The function that returns these results.
    skmoe.SummaryResults : The observed-information summary.

    Examples
    --------
    >>> from skmoe import MixtureOfExpertsRegressor
    >>> from skmoe.datasets import load_mcycle
    >>> from skmoe.inspection import bootstrap_params
    >>> X, y = load_mcycle(return_X_y=True)
    >>> moe = MixtureOfExpertsRegressor(n_experts=2, random_state=0).fit(X, y)
    >>> boot = bootstrap_params(moe, X, y, n_boot=4, random_state=0)
    >>> boot.bse.shape, boot.n_failed
    ((8,), 0)
    """

    def __init__(self, param_names, params, replicates, alpha, n_failed, kind, n_rearranged=0):
        self.param_names = list(param_names)
        self.params = params
        self.replicates = replicates
        self.alpha = alpha
        self.n_failed = n_failed
        self.n_rearranged = n_rearranged
        self.kind = kind
        # Per parameter, the replicates that have it (NaN: a failed refit, or
        # a hierarchical gate arranged otherwise).
        count = np.isfinite(replicates).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            self.bse = np.where(count > 1, np.nanstd(replicates, axis=0, ddof=1), np.nan)

    def conf_int(self, alpha=None):
        """Percentile intervals: the ``alpha/2`` and ``1 - alpha/2`` quantiles of the replicates.

        Parameters
        ----------
        alpha : float, default=None
            ``1 - alpha`` coverage; None uses the level given to
            :func:`bootstrap_params`.

        Returns
        -------
        intervals : ndarray of shape (n_params, 2)
            Lower and upper bounds.
        """
        alpha = self.alpha if alpha is None else alpha
        if not (isinstance(alpha, Real) and 0.0 < alpha < 1.0):
            raise ValueError(f"alpha must be in (0, 1); got {alpha!r}.")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column gives NaN
            return np.nanquantile(self.replicates, [alpha / 2, 1 - alpha / 2], axis=0).T

    def to_frame(self):
        """The estimates, bootstrap standard errors and intervals as a :class:`pandas.DataFrame`.

        Returns
        -------
        frame : pandas.DataFrame
            Columns ``coef``, ``bootstrap se`` and the interval bounds,
            indexed by parameter name.
        """
        import pandas as pd

        ci = self.conf_int()
        return pd.DataFrame(
            {
                "coef": self.params,
                "bootstrap se": self.bse,
                f"[{self.alpha / 2:g}": ci[:, 0],
                f"{1 - self.alpha / 2:g}]": ci[:, 1],
            },
            index=pd.Index(self.param_names, name="parameter"),
        )

    def __repr__(self):
        return (
            f"BootstrapResults(kind={self.kind!r}, n_boot={self.replicates.shape[0]}, "
            f"n_params={self.params.size}, n_failed={self.n_failed}, "
            f"n_rearranged={self.n_rearranged})"
        )


# --------------------------------------------------------------------------- #
# Flat parameters and their layout
# --------------------------------------------------------------------------- #
def _flat(moe, X, y):
    """Names, values and layout of a fitted mixture's reported parameters.

    The layout says how a relabelling of the experts acts on them:
    ``contrast`` (indices (K - 1, q) of the gate's logit contrasts against
    expert 0, or None), ``gate_blocks`` (per-expert gate parameters: the
    Gaussian gate's means and covariances) and ``expert_blocks``.
    """
    if hasattr(moe, "classes_"):
        from ._classifier_inference import _Problem, check_supported
        from ._inference import gate_names_and_groups
        from .gating import SoftmaxGate

        check_supported(moe)
        Xv, y_idx = moe._check_Xy(X, y)
        prob = _Problem(moe, Xv, y_idx)
        K, C, q, p = prob.K, prob.C, prob.q, prob.p
        _, feats, names, _ = gate_names_and_groups(moe, K, isinstance(moe.gate_, SoftmaxGate))
        classes = [str(c) for c in moe.classes_]
        names += [f"{f}[{k}, {classes[c]}]" for k in range(K) for c in range(1, C) for f in feats]
        n_gate = (K - 1) * q
        contrast = np.arange(n_gate).reshape(K - 1, q)
        size = (C - 1) * p
        blocks = [list(range(n_gate + k * size, n_gate + (k + 1) * size)) for k in range(K)]
        return (
            names,
            prob.theta.copy(),
            dict(contrast=contrast, gate_blocks=None, expert_blocks=blocks),
        )
    from ._mixture_loglik import MixtureLikelihood

    Xv, yv = moe._check_Xy(X, y)
    lik = MixtureLikelihood(moe, Xv, yv, np.ones(Xv.shape[0]))
    names, params, _ = lik.report()
    K, n_gate = lik.K, lik.n_gate
    gate = moe.gate_
    blocks = [[n_gate + i for i in b] for b in lik.experts.blocks]
    if isinstance(gate, GaussianGate):
        d = lik.gate.d
        contrast = np.arange(K - 1).reshape(K - 1, 1)
        gate_blocks = [list(range(K - 1 + k * d, K - 1 + (k + 1) * d)) for k in range(K)]
        start = K - 1 + K * d
        ct = gate.covariance_type
        m = {"full": d * (d + 1) // 2, "diag": d, "spherical": 1}.get(ct)
        if m is not None:  # "tied": one covariance, not permuted
            for k in range(K):
                gate_blocks[k] += list(range(start + k * m, start + (k + 1) * m))
        return names, params, dict(contrast=contrast, gate_blocks=gate_blocks, expert_blocks=blocks)
    if isinstance(gate, HierarchicalGate):
        layout = dict(
            contrast=None,
            gate_blocks=None,
            expert_blocks=blocks,
            tree=(int(gate.branching), int(gate.depth), lik.gate.q),
        )
        return names, params, layout
    q = lik.gate.q
    contrast = np.arange((K - 1) * q).reshape(K - 1, q)
    return names, params, dict(contrast=contrast, gate_blocks=None, expert_blocks=blocks)


def _tree_automorphisms(B, depth):
    """Every symmetry of the complete B-ary tree, as ``(node_map, branch_maps, leaf_perm)``.

    ``node_map[j]``: the node of the other labelling that plays node ``j``'s
    role; ``branch_maps[j][c]``: the branch of that node that plays branch
    ``c``; ``leaf_perm[l]``: the leaf that plays leaf ``l``.
    """
    n_nodes = (B**depth - 1) // (B - 1)
    perms = list(permutations(range(B)))

    def offset(level):
        return (B**level - 1) // (B - 1)

    out = []
    choices = [perms] * n_nodes
    if len(perms) ** n_nodes > _MAX_TREE_AUTOMORPHISMS:
        raise NotImplementedError(
            f"A HierarchicalGate with branching={B} and depth={depth} has "
            f"{len(perms)}^{n_nodes} symmetries, too many to align bootstrap refits to the "
            "original fit by enumeration; use a smaller tree."
        )
    for chosen in product(*choices):
        # chosen[j]: the permutation applied below the node that plays node j.
        node_map = np.zeros(n_nodes, dtype=int)
        branch_maps = np.zeros((n_nodes, B), dtype=int)
        leaf_perm = np.zeros(B**depth, dtype=int)
        # Walk the original tree level by level, the counterpart node known.
        frontier = [(0, 0)]  # (index within level of the original node, of its counterpart)
        for level in range(depth):
            nxt = []
            for m, m_other in frontier:
                j = offset(level) + m
                j_other = offset(level) + m_other
                node_map[j] = j_other
                tau = chosen[j]
                branch_maps[j] = tau
                for c in range(B):
                    child, child_other = m * B + c, m_other * B + tau[c]
                    if level + 1 == depth:
                        leaf_perm[child] = child_other
                    else:
                        nxt.append((child, child_other))
            frontier = nxt
        out.append((node_map, branch_maps, leaf_perm))
    return out


def _align(ref, values, layout, scale):
    """``values`` (a refit's flat parameters) relabelled to best match ``ref``."""
    blocks = layout["expert_blocks"]
    gate_blocks = layout["gate_blocks"]
    K = len(blocks)

    def expert_vec(v, k):
        idx = list(blocks[k]) + (list(gate_blocks[k]) if gate_blocks else [])
        return v[idx], idx

    cost = np.empty((K, K))
    for k in range(K):
        a, idx = expert_vec(ref, k)
        for j in range(K):
            b, _ = expert_vec(values, j)
            cost[k, j] = np.sum(((a - b) / scale[idx]) ** 2)
    out = values.copy()
    perm = linear_sum_assignment(cost)[1]  # original expert k <- refit expert perm[k]
    rearranged = False
    if "tree" in layout:
        B, depth, q = layout["tree"]
        n_nodes = (B**depth - 1) // (B - 1)
        n_gate = n_nodes * (B - 1) * q
        match = [aut for aut in _tree_automorphisms(B, depth) if np.array_equal(aut[2], perm)]
        if not match:
            # The refit arranged its experts differently in the tree (another
            # local optimum of a hierarchical mixture): its experts still
            # compare, its gate's nodes do not.
            out[:n_gate] = np.nan
            rearranged = True
        else:
            node_map, branch_maps, _ = match[0]
            eta = np.concatenate(
                [np.zeros((n_nodes, 1, q)), values[:n_gate].reshape(n_nodes, B - 1, q)], axis=1
            )  # (N, B, q) in the refit's labels, branch 0 the reference
            new = np.empty((n_nodes, B - 1, q))
            for j in range(n_nodes):
                e = eta[node_map[j]][branch_maps[j]]  # branch c of node j <- branch tau(c)
                new[j] = e[1:] - e[0]
            out[:n_gate] = new.ravel()
    else:
        C = layout["contrast"]
        if C is not None:
            eta = np.vstack([np.zeros(C.shape[1]), values[C]])  # (K, q), expert 0 the reference
            out[C] = eta[perm[1:]] - eta[perm[0]]
        if gate_blocks:
            for k in range(K):
                out[gate_blocks[k]] = values[gate_blocks[perm[k]]]
    for k in range(K):
        out[blocks[k]] = values[blocks[perm[k]]]
    return out, rearranged


# --------------------------------------------------------------------------- #
# The bootstrap
# --------------------------------------------------------------------------- #
def _one_replicate(estimator, X, y, sw, kind, seed, warm_start):
    rng = np.random.RandomState(seed)
    n = y.shape[0]
    if kind == "nonparametric":
        rows = rng.randint(n, size=n)
        # _safe_indexing keeps a DataFrame (feature names, gate_features by name).
        Xb, yb, wb = _safe_indexing(X, rows), y[rows], None if sw is None else sw[rows]
    else:
        Xb, wb = X, sw
        if hasattr(estimator, "classes_"):
            proba = estimator.predict_proba(X)
            u = rng.uniform(size=(n, 1))
            idx = np.minimum((u > np.cumsum(proba, axis=1)).sum(axis=1), proba.shape[1] - 1)
            yb = estimator.classes_[idx]
        else:
            yb = estimator.sample_y(X, 1, random_state=rng)[:, 0]
    seed_fit = int(rng.randint(np.iinfo(np.int32).max))
    if warm_start:
        # From the original estimate: the refit climbs to the optimum of its
        # own data next to the original one, not to another local optimum or
        # labelling.
        model = copy.deepcopy(estimator).set_params(warm_start=True, random_state=seed_fit)
    else:
        model = clone(estimator).set_params(random_state=seed_fit)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(Xb, yb, sample_weight=wb)
        return _flat(model, Xb, yb)[1]
    except Exception:  # noqa: BLE001 -- a failed refit is counted, not fatal
        return None


def bootstrap_params(
    estimator,
    X,
    y,
    *,
    n_boot=200,
    kind="nonparametric",
    sample_weight=None,
    alpha=0.05,
    warm_start=True,
    n_jobs=None,
    random_state=None,
):
    """Bootstrap standard errors and percentile intervals of a fitted mixture's parameters.

    Refits copies of ``estimator`` on ``n_boot`` bootstrap data sets, in
    parallel with joblib, and reports the spread of their parameters.  The
    parameters are those of ``estimator.summary`` (same names, same units).
    Each refit may number its experts differently: it is relabelled to match
    the original fit, by the assignment (Hungarian algorithm,
    :func:`scipy.optimize.linear_sum_assignment`) that minimises the
    distance between the experts' parameters, each scaled by its spread
    across the original experts; the gate's contrasts are then re-expressed
    against the original expert 0.  With a hierarchical gate, only
    relabellings that are symmetries of the tree are considered.

    The output depends on ``random_state`` only, not on ``n_jobs``: every
    replicate draws its data and its refit's seed from its own stream.

    Parameters
    ----------
    estimator : MixtureOfExpertsRegressor or MixtureOfExpertsClassifier
        A fitted mixture with built-in experts and gate (those ``summary``
        supports); its clones are refitted with its parameters.
    X : array-like of shape (n_samples, n_features)
        The training inputs.
    y : array-like of shape (n_samples,)
        The training targets.
    n_boot : int, default=200
        Number of bootstrap refits (at least 2).
    kind : {"nonparametric", "parametric"}, default="nonparametric"
        ``"nonparametric"`` resamples the rows (X, y and the weights) with
        replacement.  ``"parametric"`` keeps X and draws new targets from the
        fitted model (``sample_y``, or labels from ``predict_proba``).
    sample_weight : array-like of shape (n_samples,), default=None
        The fit's sample weights, carried with their rows.
    alpha : float, default=0.05
        Level of the percentile intervals (``1 - alpha`` coverage).
    warm_start : bool, default=True
        Start every refit from the original estimate (the usual practice for
        mixtures: the refit finds the optimum of its data next to the
        original one, rather than another local optimum).  ``False`` refits
        from scratch with the estimator's own initialisation (``n_init``
        restarts), which also shows how often the fit lands elsewhere.
    n_jobs : int, default=None
        Refits run in parallel (joblib); ``None`` means 1.
    random_state : int, RandomState instance or None, default=None
        Seeds the bootstrap data sets and the refits; pass an int for
        reproducible output.

    Returns
    -------
    results : BootstrapResults
        ``params``, ``replicates``, ``bse``, ``conf_int()``, ``to_frame()``
        and ``n_failed``.

    Raises
    ------
    ValueError
        For a bad ``n_boot``, ``kind`` or ``alpha``.
    NotImplementedError
        For experts or gates ``summary`` does not support.

    See Also
    --------
    skmoe.MixtureOfExpertsRegressor.summary : Standard errors from the
        observed information.

    Examples
    --------
    >>> from skmoe import MixtureOfExpertsRegressor
    >>> from skmoe.datasets import load_mcycle
    >>> from skmoe.inspection import bootstrap_params
    >>> X, y = load_mcycle(return_X_y=True)
    >>> moe = MixtureOfExpertsRegressor(n_experts=2, random_state=0).fit(X, y)
    >>> boot = bootstrap_params(moe, X, y, n_boot=5, random_state=0)
    >>> boot.replicates.shape, boot.conf_int().shape
    ((5, 8), (8, 2))
    """
    from ._base import BaseMixtureOfExperts

    if not isinstance(estimator, BaseMixtureOfExperts):
        # Markov-switching models: rows are not exchangeable (resampling them
        # breaks the chain), so a row bootstrap would be wrong; their
        # summary(cov_type="robust") is the supported alternative.
        raise TypeError(
            "bootstrap_params resamples independent rows: it takes a fitted "
            "MixtureOfExpertsRegressor or MixtureOfExpertsClassifier; got "
            f"{type(estimator).__name__}. For a Markov-switching model use "
            'summary(X, y, cov_type="robust").'
        )
    check_is_fitted(estimator, "gate_")
    if not isinstance(n_boot, Integral) or isinstance(n_boot, bool) or n_boot < 2:
        raise ValueError(f"n_boot must be an integer >= 2; got {n_boot!r}.")
    if kind not in ("nonparametric", "parametric"):
        raise ValueError(f"kind must be 'nonparametric' or 'parametric'; got {kind!r}.")
    if not (isinstance(alpha, Real) and 0.0 < alpha < 1.0):
        raise ValueError(f"alpha must be in (0, 1); got {alpha!r}.")
    Xv = estimator._check_X(X)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.shape != (Xv.shape[0],):
        raise ValueError(f"y must have shape ({Xv.shape[0]},) to match X; got shape {y.shape}.")
    sw = None
    if sample_weight is not None:
        sw = check_sample_weight(sample_weight, Xv, dtype=np.float64, ensure_non_negative=True)
    names, params, layout = _flat(estimator, X, y)
    # Distances between experts in units of each parameter's spread across
    # the original experts (a slope in any unit weighs the same).
    blocks = layout["expert_blocks"]
    gate_blocks = layout["gate_blocks"]
    rows = [list(b) + (list(gate_blocks[k]) if gate_blocks else []) for k, b in enumerate(blocks)]
    stack = np.array([params[r] for r in rows])
    spread = stack.std(axis=0) + 1e-12 * (1.0 + np.abs(stack).mean(axis=0))
    scale = np.ones_like(params)
    for r in rows:
        scale[r] = spread
    rng = (
        np.random.RandomState(random_state)
        if not hasattr(random_state, "randint")
        else random_state
    )
    seeds = rng.randint(np.iinfo(np.int32).max, size=n_boot)
    out = Parallel(n_jobs=n_jobs)(
        delayed(_one_replicate)(estimator, X, y, sw, kind, int(s), bool(warm_start)) for s in seeds
    )
    reps = np.full((n_boot, params.size), np.nan)
    n_failed = n_rearranged = 0
    for b, values in enumerate(out):
        if values is None or values.shape != params.shape:
            n_failed += 1
            continue
        reps[b], moved = _align(params, values, layout, scale)
        n_rearranged += moved
    if n_failed:
        warn_user(
            f"{n_failed} of {n_boot} bootstrap refits failed and are left out of the "
            "standard errors and intervals.",
            UserWarning,
        )
    if n_rearranged:
        warn_user(
            f"{n_rearranged} of {n_boot} bootstrap refits arranged their experts differently "
            "in the hierarchical gate's tree (another local optimum); their gate parameters "
            "are NaN and left out. Consider a larger n_init.",
            UserWarning,
        )
    return BootstrapResults(names, params, reps, float(alpha), n_failed, kind, n_rearranged)
