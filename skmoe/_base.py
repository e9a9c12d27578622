"""BaseMixtureOfExperts: parameters, validation and the EM driver."""

import copy
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real
from types import SimpleNamespace

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, _fit_context, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._docs import DocLinkMixin
from ._em import (
    KMEANS_MAX_ROWS,
    PREFIT_ITER,
    EMRun,
    finite_objective,
    reseed_assign,
    reseed_plan,
    reseed_rows,
    resp_from_labels,
    screen_keep,
)
from ._frame import frame_scale, weighted_moments
from ._fused import Lookahead, can_look_ahead, fused_e_step
from ._init import (
    INIT_OPTIONS,
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
    strategy_of,
)
from ._kernels import weighted_column_sums
from ._lazy import KMeans
from ._online import OnlineMethod, online_partial_fit
from ._probabilities import proba_from_log
from ._progress import PROGRESS
from ._rows import ThreadRows
from ._subsample import MemoRows, subsample_rows
from ._threading import (
    blas_single_threaded,
    blockwise_posterior,
    effective_n_threads,
    map_blocks,
    thread_limit,
    with_thread_limit,
)
from ._unchanged import unchanged_on_error
from ._validation import check_magnitude, check_sample_weight, named_experts, validate_numeric_data
from ._warn import warn_user
from .exceptions import DegenerateExpertWarning
from .gating import BaseGate, ConstantGate, GaussianGate, HierarchicalGate, SoftmaxGate

_GATES = {
    "softmax": SoftmaxGate,
    "constant": ConstantGate,
    "gaussian": GaussianGate,
    "hierarchical": HierarchicalGate,
}

# Warn after this many re-seeds in the selected restart: an occasional
# re-seed is normal early in EM, repeated ones mean too many experts.
_RESEED_WARN_AFTER = 3

# k-means initialisation runs on at most this many rows (a uniform
# subsample, then every row goes to its nearest centre): the initial
# partition needs no more, and it bounds the time and memory of the
# initialisation at large n.
_KMEANS_MAX_ROWS = KMEANS_MAX_ROWS
# split_merge: pairs of experts tried per round (by responsibility overlap)
# and rounds of moves at most.
_MOVE_PAIRS = 6
_MOVE_ROUNDS = 3
# Re-splits of each pair per kind (regressors: consensus lines, random lines).
_MOVE_SPLITS = 2


def _check_float32_experts(named, X):
    """Refuse, naming X and the expert, inputs that a float32 expert cannot hold.

    scikit-learn's trees (and the ensembles of them) cast X to float32: beyond
    its largest value (3.4e38) their own fit fails deep inside EM.
    """
    if hasattr(X, "expert_input") or not isinstance(X, np.ndarray) or X.size == 0:
        return
    from sklearn.ensemble import BaseEnsemble
    from sklearn.tree import BaseDecisionTree

    limit = float(np.finfo(np.float32).max)
    for name, est in named:
        if isinstance(est, (BaseDecisionTree, BaseEnsemble)):
            big = max(abs(float(np.max(X))), abs(float(np.min(X))))
            if big > limit:
                raise ValueError(
                    f"X has values of magnitude up to {big:.3g}; expert {name!r} "
                    f"({type(est).__name__}) works in float32, whose largest value is "
                    f"{limit:.3g}. Rescale X, e.g. divide it by a power of ten."
                )
            return


def _n_floored(experts):
    """How many of an expert set's noise variances sit on their floor (likelihood spikes)."""
    var, floor = getattr(experts, "variance", None), getattr(experts, "var_floor", None)
    if var is None or floor is None:
        return 0
    return int(np.count_nonzero(np.asarray(var) <= floor * (1.0 + 1e-9)))


def _floored(experts):
    """Whether an expert set's noise variance sits on its floor (a likelihood spike)."""
    return _n_floored(experts) > 0


_finite = finite_objective


def _one_hot(codes, n_classes):
    T = np.zeros((codes.shape[0], n_classes))
    T[np.arange(codes.shape[0]), codes] = 1.0
    return T


def _standardize(Z, weights):
    """Weighted standardisation of the columns of Z, in place (Z is a temporary).

    A column that is constant to the precision of its own values (``is_constant``
    of ``_frame``: spread within 64 ulps of its centre) is only centred; any
    other column is divided by its spread, whatever its units.
    """
    # The frame's two passes (no temporary the size of Z, such as Z**2).
    mean, std = weighted_moments(Z, weights)
    Z -= mean
    Z /= frame_scale(mean, std)
    return Z


class _StdColumns:
    """Columns of A standardised by their weighted moments, formed on demand.

    The line and segment starts need the standardised rows of a small
    sample, and passes over all rows block by block; holding a standardised
    copy of A instead (and its squares while the moments are formed) costs
    twice the data.  The moments are :func:`skmoe._frame.weighted_moments`'
    two passes over A in place, the scale :func:`~skmoe._frame.frame_scale`'s
    (constant columns only centred), as ``_standardize`` does.
    """

    block_rows = 32768

    def __init__(self, A, weights):
        # A list of arrays: their columns side by side (the k-means views,
        # inputs and target), never stacked into one copy.  The moments are
        # per column, so those of the parts are those of the stack.
        self.parts = list(A) if isinstance(A, list) else [A]
        moments = [weighted_moments(part, weights) for part in self.parts]
        mean = np.concatenate([m for m, _ in moments])
        std = np.concatenate([s for _, s in moments])
        self.mean, self.scale = mean, frame_scale(mean, std)
        self.n_columns = mean.shape[0]
        self.n_rows = self.parts[0].shape[0]

    def rows(self, idx):
        """The standardised rows ``idx`` (an index array or a slice)."""
        # A copy of the rows, standardised in place (one temporary per block).
        if len(self.parts) == 1:
            A = np.array(self.parts[0][idx], dtype=np.float64)
        else:
            A = np.column_stack([np.asarray(p[idx], dtype=np.float64) for p in self.parts])
        A -= self.mean
        A /= self.scale
        return A

    def blocks(self):
        """``(start, stop, standardised rows)`` over all rows, in order."""
        n = self.n_rows
        for a in range(0, n, self.block_rows):
            b = min(a + self.block_rows, n)
            yield a, b, self.rows(slice(a, b))


class BaseMixtureOfExperts(DocLinkMixin, BaseEstimator, metaclass=ABCMeta):
    """Shared machinery of the EM-trained mixture-of-experts estimators.

    Subclasses say how y is validated and encoded, which expert is built in,
    how an expert set is built, and what the predictions are; this class owns
    parameter handling, initialisation, the E- and M-steps, restarts and
    degeneracy handling.  The driver has the shape of scikit-learn's
    ``BaseMixture.fit_predict``.
    """

    _parameter_constraints: dict = {
        "experts": [None, HasMethods(["fit"]), list],
        "n_experts": [Interval(Integral, 1, None, closed="left")],
        "gate": [StrOptions(set(_GATES)), BaseGate],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_params": [StrOptions(set(INIT_OPTIONS))],
        "n_screen": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "screen_iter": [Interval(Integral, 1, None, closed="left")],
        "subsample": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"}), None],
        "split_merge": ["boolean"],
        "m_step": [StrOptions({"weighted", "stochastic"})],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose", StrOptions({PROGRESS})],
        "n_jobs": [Integral, None],
        "top_k": [Interval(Integral, 1, None, closed="left"), None],
        "gate_features": ["array-like", None, HasMethods(["fit", "transform"])],
        "expert_features": ["array-like", None],
        "learning_decay": [Interval(Real, 0.5, 1, closed="right")],
        "learning_offset": [Interval(Real, 0, None, closed="left")],
    }

    @abstractmethod
    def __init__(
        self,
        experts=None,
        *,
        n_experts=2,
        gate="softmax",
        max_iter=100,
        tol=1e-4,
        n_init=1,
        init_params="portfolio",
        n_screen="auto",
        screen_iter=10,
        subsample="auto",
        split_merge=False,
        m_step="weighted",
        random_state=None,
        warm_start=False,
        verbose=0,
        n_jobs=None,
        top_k=None,
        gate_features=None,
        expert_features=None,
        learning_decay=0.6,
        learning_offset=1.0,
    ):
        self.experts = experts
        self.n_experts = n_experts
        self.gate = gate
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.init_params = init_params
        self.n_screen = n_screen
        self.screen_iter = screen_iter
        self.subsample = subsample
        self.split_merge = split_merge
        self.m_step = m_step
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.top_k = top_k
        self.gate_features = gate_features
        self.expert_features = expert_features
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset

    # ------------------------------------------------------------------ #
    # Nested parameters of a heterogeneous expert list: experts__<name>__<p>
    # ------------------------------------------------------------------ #
    def _expert_list(self):
        if isinstance(self.experts, list):
            return [
                item
                for item in self.experts
                if isinstance(item, tuple) and len(item) == 2 and hasattr(item[1], "get_params")
            ]
        return []

    def get_params(self, deep=True):
        """Get the parameters of this estimator, with those of its named experts.

        As scikit-learn's :meth:`~sklearn.base.BaseEstimator.get_params`.  In
        addition, when ``experts`` is a list of ``(name, estimator)`` pairs
        and ``deep`` is True, each expert is listed as ``experts__<name>``
        and each of its parameters as ``experts__<name>__<param>``:
        scikit-learn does not look inside lists, and these names let a grid
        search tune the experts as it tunes the steps of a
        :class:`~sklearn.pipeline.Pipeline`.

        Parameters
        ----------
        deep : bool, default=True
            If True, also return the parameters of the sub-estimators: a gate
            object (``gate__<param>``), a single expert estimator
            (``experts__<param>``) or the named experts.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.

        See Also
        --------
        set_params : Set parameters by the same names.

        Examples
        --------
        >>> from sklearn.tree import DecisionTreeRegressor
        >>> from skmoe import MixtureOfExpertsRegressor
        >>> from skmoe.experts import LinearExpert
        >>> moe = MixtureOfExpertsRegressor(
        ...     experts=[("line", LinearExpert()), ("tree", DecisionTreeRegressor(max_depth=2))]
        ... )
        >>> moe.get_params()["experts__tree__max_depth"]
        2
        """
        out = super().get_params(deep=deep)
        if deep:
            for name, est in self._expert_list():
                out[f"experts__{name}"] = est
                for key, value in est.get_params(deep=True).items():
                    out[f"experts__{name}__{key}"] = value
        return out

    def set_params(self, **params):
        """Set the parameters of this estimator, including those of its named experts.

        As scikit-learn's :meth:`~sklearn.base.BaseEstimator.set_params`.  In
        addition, when ``experts`` is a list of ``(name, estimator)`` pairs,
        ``experts__<name>=estimator`` replaces that expert (in a new list: the
        list given by the user is not modified) and
        ``experts__<name>__<param>=value`` sets a parameter of the expert, in
        place.  Replacements are made before parameters are set, so one call
        can replace an expert and tune the new one.  A nested parameter of
        the default gate or expert (``gate__alpha`` with ``gate="softmax"``,
        ``experts__alpha`` with ``experts=None``) first replaces the string
        or None by the object it stands for (``SoftmaxGate()``, the default
        expert), so a grid search can tune them.

        Parameters
        ----------
        **params : dict
            Estimator parameters: those of :meth:`get_params`, including
            ``experts__<name>`` and ``experts__<name>__<param>``.

        Returns
        -------
        self : estimator instance
            The estimator, with its parameters set.

        Raises
        ------
        ValueError
            If ``<name>`` in ``experts__<name>...`` names no expert of the list.

        See Also
        --------
        get_params : The parameters, by the names this method accepts.

        Examples
        --------
        >>> from sklearn.tree import DecisionTreeRegressor
        >>> from skmoe import MixtureOfExpertsRegressor
        >>> from skmoe.experts import LinearExpert
        >>> moe = MixtureOfExpertsRegressor(
        ...     experts=[("line", LinearExpert()), ("tree", DecisionTreeRegressor(max_depth=2))]
        ... )
        >>> moe = moe.set_params(experts__tree__max_depth=4)
        >>> moe.experts[1][1].max_depth
        4
        """
        params = self._resolve_defaults_for_nested(params)
        nested = {k: v for k, v in params.items() if k.startswith("experts__")}
        if not nested or not isinstance(params.get("experts", self.experts), list):
            return super().set_params(**params)
        super().set_params(**{k: v for k, v in params.items() if k not in nested})
        # Whole estimators first, then their parameters.
        for key in sorted(nested, key=lambda k: k.count("__")):
            name, _, sub = key[len("experts__") :].partition("__")
            names = [n for n, _ in self._expert_list()]
            if name not in names:
                raise ValueError(
                    f"Invalid parameter {key!r} for estimator {type(self).__name__}: "
                    f"there is no expert named {name!r}; the experts are {names}."
                )
            idx = names.index(name)
            if sub:
                self.experts[idx][1].set_params(**{sub: nested[key]})
            else:
                new = list(self.experts)
                new[idx] = (name, nested[key])
                self.experts = new
        return self

    def _resolve_defaults_for_nested(self, params):
        """Turn a string gate or ``experts=None`` into its object when tuned by ``__`` names.

        ``gate="softmax"`` and ``experts=None`` stand for ``SoftmaxGate()`` and
        the default expert (``LinearExpert()``, ``LogisticExpert()``); they are
        strings and None because scikit-learn's defaults must be immutable.
        A grid over ``gate__alpha`` or ``experts__alpha`` (GridSearchCV calls
        ``set_params`` on a clone) gets the object first, with every other
        parameter at its default, so the fit is the one the defaults give.
        ``get_params`` is untouched: ``clone`` and ``get_params(deep=False)``
        still return the string and None until a nested parameter is set.
        """
        gate = params.get("gate", self.gate)
        if isinstance(gate, str) and gate in _GATES and any(k.startswith("gate__") for k in params):
            params = {**params, "gate": _GATES[gate]()}
        experts = params.get("experts", self.experts)
        if experts is None and any(k.startswith("experts__") for k in params):
            params = {**params, "experts": self._default_expert()}
        return params

    # ------------------------------------------------------------------ #
    # Hooks for the subclasses
    # ------------------------------------------------------------------ #
    @abstractmethod
    def _default_expert(self): ...

    @abstractmethod
    def _check_y(self, X, y, sample_weight):
        """Validate y, set target-related fitted state, return encoded y."""

    @abstractmethod
    def _encode_y(self, y):
        """Encode y for scoring methods (responsibilities, log_likelihood...)."""

    @abstractmethod
    def _make_expert_set(self, named, rng, n_jobs):
        """Build the private expert set for one restart."""

    @abstractmethod
    def _y_features(self, y):
        """Columns describing y for the k-means initialisation."""

    _is_classifier = False

    # ------------------------------------------------------------------ #
    # Validation
    # ------------------------------------------------------------------ #
    def _n_experts_wanted(self):
        # A hierarchical gate fixes the number of experts (its leaves), also
        # when it is named by a string (gate="hierarchical": the default tree).
        gate = _GATES[self.gate]() if isinstance(self.gate, str) else self.gate
        if isinstance(gate, BaseGate) and hasattr(gate, "_required_n_experts"):
            return gate._required_n_experts()
        return self.n_experts

    def _named_experts(self):
        n_wanted = self._n_experts_wanted()
        leaves_fixed = isinstance(self.experts, list) and n_wanted != self.n_experts
        return named_experts(
            self.experts,
            n_wanted,
            self._default_expert,
            classifier=self._is_classifier,
            owner=type(self).__name__,
            sample_weight_hint=(
                "the weighted M-step needs it. Use m_step='stochastic' to fit it on rows "
                "resampled by responsibility, or choose an estimator whose fit takes "
                "sample_weight."
                if self.m_step == "weighted"
                else None
            ),
            n_required=n_wanted if leaves_fixed else None,
            count_message=(
                f"The gate {type(self.gate).__name__} has {n_wanted} leaves but experts lists "
                f"{len(self.experts) if isinstance(self.experts, list) else 0} estimators."
            ),
        )

    def _make_gate(self):
        if isinstance(self.gate, str):
            return _GATES[self.gate]()
        return clone(self.gate)

    def _takes_sequences(self):
        """Sequence mode: X is a list of (T_i, d) sequences.

        On when ``gate_features`` is a transformer (of sequences) or an expert
        takes sequences (e.g. ``skmoe.sequence.GaussianHMMClassifier``).  The
        experts then receive the sequences and the gate their features
        (``gate_features``, ``SequenceFeatures()`` by default); see
        ``skmoe.sequence._features``.
        """
        if hasattr(self.gate_features, "transform"):
            return True
        ests = (
            [e for _, e in self._expert_list()]
            if isinstance(self.experts, list)
            else [self.experts]
        )
        return any(getattr(e, "_input_is_sequences", False) for e in ests)

    def _n_experts_requested(self):
        """The number of experts the parameters ask for, without building any."""
        if isinstance(self.experts, list):
            return len(self.experts)
        return self._n_experts_wanted()

    def _check_n_samples(self, n_samples):
        """``n_samples >= n_experts``, checked before any expert is built."""
        n_experts = self._n_experts_requested()
        if n_samples < n_experts:
            raise ValueError(
                f"Expected n_samples >= n_experts, got n_samples={n_samples} and "
                f"n_experts={n_experts}."
            )

    def _validate_fit_data(self, X, y, sample_weight):
        if self._takes_sequences():
            from .sequence._features import sequence_fit_input  # lazy: avoids an import cycle

            X, y = sequence_fit_input(self, X, y)
        else:
            self._seq_features = None
            X, y = validate_numeric_data(
                self, X, y, dtype=np.float64, y_numeric=not self._is_classifier
            )
            check_magnitude(X, "X")
            if not self._is_classifier:
                check_magnitude(np.asarray(y, dtype=np.float64), "y")
        self._check_n_samples(len(y))
        sw = check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        y_enc = self._check_y(X, y, sw)
        return X, y_enc, sw

    # ------------------------------------------------------------------ #
    # EM
    # ------------------------------------------------------------------ #
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Fit the mixture of experts by EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs seen by the gate and the experts.  A Dask array runs the
            same EM data-parallel over its row blocks (``skmoe._dask``).
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; integer weights are equivalent to repeating
            rows in every M-step.  The penalties (the softmax gate's and the
            logistic and GLM experts' ``alpha``) are on the scale of the
            summed, weighted log-likelihood, as for repeated rows: multiplying
            every weight by ``c`` weakens them by ``c``.  Without penalties
            (``gate="constant"`` and built-in linear experts, say) a common
            factor changes nothing; for a fit that does not depend on the
            weights' total, pass weights of mean one.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        # The thread budget of the row-block passes, fixed once per fit by
        # scikit-learn's rule (n_jobs, threadpool_limits, joblib's inner cap).
        with unchanged_on_error(self), thread_limit(effective_n_threads(self.n_jobs)):
            return self._fit(X, y, sample_weight)

    def _fit(self, X, y, sample_weight):
        if type(X).__module__.startswith("dask"):  # no dask import unless given one
            from ._dask import fit_dask

            if self.split_merge:
                raise ValueError(
                    "split_merge=True is not available for Dask input (its moves refit "
                    "from responsibilities held in memory); fit in memory or set "
                    "split_merge=False."
                )

            return fit_dask(self, X, y, sample_weight)
        # The sizes are checked (in _validate_fit_data) before any expert
        # object is built: n_experts=10**9 must fail at once, not after
        # building a billion estimators.
        X, y_enc, sw = self._validate_fit_data(X, y, sample_weight)
        # summary() needs to know: its covariance is of the weighted estimate.
        self._fit_weighted = not bool(np.all(sw == 1.0))
        named = self._named_experts()
        _check_float32_experts(named, X)
        self._gate_cols = self._resolve_features(self.gate_features, "gate_features")
        self._expert_cols = self._resolve_features(self.expert_features, "expert_features")
        n_experts = len(named)
        warm, seeds = self._start_seeds(n_experts)
        strategies = self._init_strategies(len(seeds), X)
        inner_jobs = self.n_jobs if len(seeds) == 1 or self.n_jobs in (None, 1) else None

        make_run = self._run_maker(X, y_enc, sw, named, seeds, strategies, inner_jobs, warm=warm)
        sample = None if warm else self._screening_sample(X, y_enc, sw, n_experts, seeds)
        subsample = None
        if sample is not None:
            Xs, ys, sws, frames = sample
            make_sub_run = self._run_maker(
                Xs, ys, sws, named, seeds, strategies, inner_jobs, frames=frames
            )

            def resume(i, run):
                return self._run_em(
                    X, y_enc, sw, named, seeds[i], i, inner_jobs, warm=False, start=run
                )

            subsample = (make_sub_run, resume)
        self._run_restarts(
            make_run, strategies, n_experts, parallel=inner_jobs is None, subsample=subsample
        )
        self.n_subsample_ = 0 if sample is None else sample[0].shape[0]
        if self.split_merge and n_experts > 1 and not warm:
            self._split_merge(X, y_enc, sw, named, seeds[0], inner_jobs)
        return self

    def _run_maker(self, X, y, sw, named, seeds, strategies, n_jobs, warm=False, frames=None):
        """``make_run(i)``: start ``i``'s :class:`~skmoe._em.EMRun` on these rows
        (:meth:`_run_em` with its seed and strategy; ``frames`` for a subsample)."""

        def make_run(i):
            run = self._run_em(
                X,
                y,
                sw,
                named,
                seeds[i],
                i,
                n_jobs,
                warm=warm,
                strategy=strategies[i],
                perturb=repeats_strategy(strategies, i),
                frames=frames,
            )
            if frames is not None:
                # Its progress lines say where it runs (the run on all rows
                # that may follow reports under the plain name).
                run.name = f"{run.name}, subsample of {X.shape[0]} rows"
            return run

        return make_run

    def _split_merge(self, X, y, sw, named, seed, n_jobs):
        """Pair moves after the fit (after Ueda et al. 2000's split-and-merge EM).

        A local optimum of a mixture often shares the rows of two experts the
        wrong way (the motorcycle data's -580.52: the dip and the rebound
        split at the wrong place).  Each move takes a pair of experts, pools
        their responsibilities, re-splits the pool -- by two lines found by
        consensus and two random lines through its rows (regressors with a
        feature matrix), or 2-means on the standardised inputs -- keeps every
        other expert as it is, and runs EM to convergence from there.  The
        pairs are tried in order of Ueda's merge criterion (the overlap of
        their responsibilities), at most ``_MOVE_PAIRS`` of them; a move is
        kept when it ends above the fit by more than ``tol``, and the moves
        repeat from the improved fit until none improves (at most
        ``_MOVE_ROUNDS`` rounds).  ``n_split_merge_`` counts the moves kept.
        """
        rng = np.random.RandomState(seed)
        lines = not self._is_classifier and not hasattr(X, "expert_input")
        # The standardised views the re-splits work in, formed once.
        if lines:
            view = (
                _standardize(np.array(self._ex(X), dtype=np.float64), sw),
                _standardize(np.asarray(y, dtype=np.float64)[:, None].copy(), sw)[:, 0],
            )
        else:
            view = _standardize(np.array(getattr(X, "gate_input", X), dtype=np.float64), sw)
        kept = 0
        for _ in range(_MOVE_ROUNDS):
            R = self._e_step(X, y, self.gate_, self._expert_set)[0]
            stuck = _n_floored(self._expert_set)
            K = R.shape[1]
            norms = np.sqrt(np.einsum("ik,ik->k", R, R))
            overlap = (R.T @ R) / np.maximum(np.outer(norms, norms), 1e-300)
            pairs = sorted(
                ((i, j) for i in range(K) for j in range(i + 1, K)),
                key=lambda ij: (-overlap[ij], ij),
            )[:_MOVE_PAIRS]
            best, best_key = None, None
            for i, j in pairs:
                pool = R[:, i] + R[:, j]
                for split in self._pair_splits(view, sw, pool, rng, lines):
                    R0 = R.copy()
                    R0[:, i] = pool * split[:, 0]
                    R0[:, j] = pool * split[:, 1]
                    run = self._run_em(
                        X,
                        y,
                        sw,
                        named,
                        rng.randint(np.iinfo(np.int32).max),
                        0,
                        n_jobs,
                        warm=False,
                        resp0=R0,
                    )
                    run.advance(self.max_iter)
                    res = run.result()
                    # Never into a spike (a variance on its floor); out of one
                    # (fewer floored experts), whatever the objective: a spike
                    # is not a maximum.
                    key = (-_n_floored(res["experts"]), _finite(res["lower_bound"]))
                    if key[0] < -stuck:
                        continue
                    better = key[0] > -stuck or key[1] > self.lower_bound_ + self.tol
                    if better and (best is None or key > best_key):
                        best, best_key = res, key
            if best is None:
                break
            history, strategies = self.lower_bounds_all_, self.init_strategies_
            self._keep_best_run([best], len(named))
            self.lower_bounds_all_ = [*history, best["lower_bounds"]]
            self.init_strategies_ = [*strategies, "split_merge"]
            kept += 1
        self.n_split_merge_ = kept
        self._warn_floored()

    def _pair_splits(self, view, sw, pool, rng, lines):
        """Two-column soft splits of a pair's pooled rows (see :meth:`_split_merge`).

        ``view``: the standardised ``(Z, u)`` (expert inputs, target) with
        ``lines``, else the standardised gate inputs.
        """
        rows = np.flatnonzero((pool > 0.5) & (sw > 0))
        if rows.size < 4:
            return []
        w = pool[rows] * sw[rows]
        if lines:
            Z, u = view
            out = []
            for how in ("consensus", "random") * _MOVE_SPLITS:
                if how == "consensus":
                    two = consensus_lines(rng, Z[rows], u[rows], w, 2)
                else:
                    picks = sample_line_rows(rng, np.arange(rows.size), 2, Z.shape[1])
                    two = fit_lines([(Z[rows[r]], u[rows[r]]) for r in picks])
                scale, share = line_scales(Z[rows], u[rows], w, two)
                out.append(line_resp(Z, u, two, scale, share))
            return out
        G = view
        km = KMeans(n_clusters=2, n_init=1, random_state=rng.randint(np.iinfo(np.int32).max))
        with warnings.catch_warnings(), blas_single_threaded():
            warnings.simplefilter("ignore", ConvergenceWarning)
            km.fit(G[rows], sample_weight=w)
        return [resp_from_labels(km.predict(G), 2)]

    @OnlineMethod
    @_fit_context(prefer_skip_nested_validation=False)
    def partial_fit(self, X, y, sample_weight=None):
        """One step of online EM on a chunk of data.

        Online EM (Cappé & Moulines 2009): an E-step on the chunk, running
        averages of the experts' sufficient statistics with step size
        ``(t + learning_offset) ** -learning_decay``, an M-step from the
        averages, and a stochastic Newton step on averaged second-order
        expansions of the loss for the parts of the model without finite
        statistics (softmax gate, logistic and GLM experts); estimator
        experts are updated through their own ``partial_fit`` with weights
        ``r_ik * sample_weight_i``.  The first call initialises the
        model on its chunk (``init_params``, ``random_state``) as
        ``max(n_init, n_screen)`` parallel chains, one per start of the
        portfolio; after ``2 * screen_iter`` chunks the chain with the best
        progressive-validation log-likelihood over the last ``screen_iter``
        (each chunk scored before the chain learns from it) goes on alone.
        After ``fit`` it continues from the fitted model.  Memory is one
        chunk's.  See
        ``skmoe/_online.py`` and the user guide, "Streaming with partial_fit".

        Available when every expert can be updated online (``LinearExpert``,
        ``LogisticExpert``, ``PoissonExpert``, ``BinomialExpert``, or an
        estimator whose ``partial_fit`` takes ``sample_weight``) and the gate
        is softmax, constant or Gaussian; otherwise accessing it raises an
        AttributeError that names the expert or gate.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A chunk of inputs; same features (and names) on every call.
        y : array-like of shape (n_samples,)
            Targets of the chunk.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the chunk's rows.

        Returns
        -------
        self : object
            The updated estimator.
        """
        with unchanged_on_error(self, deep=True), thread_limit(effective_n_threads(self.n_jobs)):
            return online_partial_fit(self, X, y, sample_weight)

    def _start_seeds(self, n_experts):
        """Whether this fit warm-starts, and the seed of each EM run.

        One seed (warm start) or ``n_init`` seeds, all drawn from
        ``random_state`` before any run, so the runs do not depend on the
        order or the engine (threads, Dask) they run in.
        """
        rng = check_random_state(self.random_state)
        warm = self.warm_start and hasattr(self, "gate_")
        if warm and self._expert_set.n_experts != n_experts:
            raise ValueError(
                "warm_start=True needs the same number of experts as the previous fit "
                f"({self._expert_set.n_experts}); got {n_experts}."
            )
        size = 1 if warm else self._n_candidates()
        # A warm start continues the previous expert set and its count of
        # frozen M-steps: only this fit's are reported.
        self._n_frozen_before = getattr(self._expert_set, "n_frozen", 0) if warm else 0
        return warm, rng.randint(np.iinfo(np.int32).max, size=size)

    def _n_candidates(self):
        """Starts drawn for one fit: ``n_init``, or more when they are screened."""
        n_screen = 2 * self.n_init if self.n_screen == "auto" else self.n_screen
        return max(self.n_init, n_screen)

    def _init_strategies(self, n_starts, X=None):
        """The initialisation strategy of each start (skmoe._init), checked before any work."""
        lines_possible = X is None or not hasattr(X, "expert_input")
        return [
            strategy_of(self.init_params, i, self._is_classifier, lines_possible)
            for i in range(n_starts)
        ]

    def _run_restarts(self, make_run, strategies, n_experts, parallel, subsample=None):
        """Run the starts (short-run screening when there are more than ``n_init``).

        ``make_run(i)`` returns start ``i``'s :class:`~skmoe._em.EMRun`.  With
        more starts than ``n_init`` every start first runs ``screen_iter`` EM
        iterations; the ``n_init`` with the best objective then resume to
        convergence (emEM, Biernacki, Celeux & Govaert 2003) and the best of
        those is kept.  The ranking is by objective, ties by start index, so
        it does not depend on the order in which threads finish.

        ``subsample``: ``(make_sub_run, resume)`` when the starts run on a
        subsample of the rows first (``skmoe._subsample``, :meth:`_run_subsampled`):
        the screening and the ``n_init`` kept starts to convergence on the
        subsample (``make_sub_run(i)``), then those on all rows
        (``resume(i, run)``, an :class:`~skmoe._em.EMRun` from that run's gate
        and experts), and the best of them is kept.
        """
        n_starts = len(strategies)
        screening = n_starts > self.n_init
        if subsample is not None:
            self._run_subsampled(subsample, n_starts, n_experts, parallel)
            self.init_strategies_ = list(strategies)
            return
        each = self._each(parallel)

        first = self.screen_iter if screening else self.max_iter
        runs = each(lambda i: make_run(i).advance(first), range(n_starts))
        if screening:
            # Runs on a likelihood spike (a variance on its floor) last.
            kept = screen_keep(
                [run.objective for run in runs],
                self.n_init,
                demote=[_n_floored(run.experts) for run in runs],
            )
            # (A joblib backend of processes returns copies: keep what comes back.)
            resumed = each(lambda i: runs[i].advance(self.max_iter), kept)
            for i, run in zip(kept, resumed, strict=True):
                runs[i] = run
            for i in set(range(n_starts)) - set(kept):
                runs[i].report.close()
        else:
            kept = list(range(n_starts))
        self._keep_best_run([runs[i].result() for i in kept], n_experts)
        # Every start's history (the screened-out ones stop early) and strategy.
        self.lower_bounds_all_ = [np.asarray(run.history) for run in runs]
        self.init_strategies_ = list(strategies)

    def _run_subsampled(self, subsample, n_starts, n_experts, parallel):
        """:meth:`_run_restarts` with the starts on the subsample first.

        The screening on the subsample (``screen_iter`` iterations a start
        when there are more starts than ``n_init``), the kept starts to
        convergence on it, then on all rows from there.
        """
        make_sub_run, resume = subsample
        each = self._each(parallel)
        screening = n_starts > self.n_init
        first = self.screen_iter if screening else self.max_iter
        # Side by side on the fit's threads, as row blocks are (a subsample
        # is one or a few blocks, so its passes alone would leave threads
        # idle); their own passes then run inline.  Each start is a function
        # of its seed alone: the same runs on any number of threads.
        runs = map_blocks(lambda i, _: make_sub_run(i).advance(first), list(range(n_starts + 1)))
        # Ranked as screened starts are: a run on a likelihood spike last.
        kept = screen_keep(
            [run.objective for run in runs],
            self.n_init,
            demote=[_n_floored(run.experts) for run in runs],
        )
        for i in set(range(n_starts)) - set(kept):
            runs[i].report.close()

        def finish(i):
            sub = runs[i].advance(self.max_iter)  # (nothing to do when it stopped)
            sub.report.close()
            return resume(i, sub).advance(self.max_iter)

        resumed = each(finish, kept)
        for i, run in zip(kept, resumed, strict=True):
            runs[i] = run
        self._keep_best_run([runs[i].result() for i in kept], n_experts)
        # The kept starts' histories on all rows, the others' on the subsample.
        self.lower_bounds_all_ = [np.asarray(run.history) for run in runs]

    def _each(self, parallel):
        """``each(func, items)``: ``[func(i) for i in items]``, in joblib threads if ``parallel``."""

        def each(func, items):
            # Restarts in joblib threads keep this fit's thread budget.
            jobs = [delayed(with_thread_limit(func))(i) for i in items]
            if parallel and len(jobs) > 1:
                return Parallel(n_jobs=self.n_jobs, prefer="threads")(jobs)
            return [f(*a, **kw) for f, a, kw in jobs]

        return each

    def _screening_sample(self, X, y, sw, n_experts, seeds):
        """The subsample the starts run on first, or None (``subsample``, ``skmoe._subsample``).

        Returns ``(X, y, sample_weight, frames)`` of the subsample, with
        ``frames`` the row engines of all rows on which each start fixes its
        gate's and experts' frames: a run resumed on all rows then works in
        the frame of a fit on all rows (the penalties on the same
        standardised coefficients).
        """
        if hasattr(X, "expert_input"):  # sequences: the rows are not exchangeable
            return None
        drawn = subsample_rows(self, sw, y, X.shape[1], n_experts, seeds)
        if drawn is None:
            return None
        rows, weights = drawn
        frames = SimpleNamespace(
            gate=MemoRows(ThreadRows(gx=self._gx(X), sw=sw)),
            experts=MemoRows(ThreadRows(ex=self._ex(X), y=y, W=sw[:, None])),
        )
        return np.ascontiguousarray(X[rows]), y[rows], weights, frames

    def _keep_best_run(self, runs, n_experts):
        """Set the fitted state from the best EM run and warn about the fit."""
        # The earliest run within tol of the best: runs that reach one optimum
        # from different sides stop up to tol apart, and which of them is a
        # hair higher is rounding (it would flip with the units of the data).
        # A run with a noise variance on its floor sits on a spike of the
        # likelihood (an expert on a few repeated target values), not at a
        # proper maximum: it is kept only when every run does so.
        proper = [r for r in runs if not _floored(r["experts"])] or runs
        top = max(_finite(r["lower_bound"]) for r in proper)
        best = min(
            i
            for i, r in enumerate(runs)
            if any(r is q for q in proper) and _finite(r["lower_bound"]) >= top - self.tol
        )
        run = runs[best]
        self.gate_ = run["gate"]
        self._expert_set = run["experts"]
        self.experts_ = run["experts"].estimators()
        self.n_experts_ = n_experts
        self.n_iter_ = run["n_iter"]
        self.converged_ = run["converged"]
        self.lower_bound_ = run["lower_bound"]
        self.lower_bounds_ = run["lower_bounds"]
        # Every restart's history, in restart order (ConvergenceDisplay).
        self.lower_bounds_all_ = [r["lower_bounds"] for r in runs]
        self.init_strategies_ = None
        self.n_reseeds_ = run["n_reseeds"]
        self._after_fit()
        if not self.converged_:
            warn_user(
                f"Best of {len(runs)} EM restart(s) did not converge after "
                f"{self.n_iter_} iterations (last change of the mean log-likelihood "
                f"above tol={self.tol}). Try a larger max_iter or tol.",
                ConvergenceWarning,
            )
        if self.n_reseeds_ > _RESEED_WARN_AFTER:
            warn_user(
                f"Experts lost their data and were re-seeded {self.n_reseeds_} times during "
                "the fit; the data may not support this many experts. Consider fewer "
                "experts, a larger gate penalty, or more restarts (n_init).",
                DegenerateExpertWarning,
            )
        if not self.split_merge:  # else: told after the moves (_split_merge)
            self._warn_floored()
        n_frozen = getattr(self._expert_set, "n_frozen", 0) - getattr(self, "_n_frozen_before", 0)
        if n_frozen > 0:
            # Always told: a frozen expert kept a fit from an earlier M-step.
            warn_user(
                f"An expert had (almost) no responsibility mass, or weights its own fit "
                f"refused (a single row or a single class), in {n_frozen} M-step(s) of the "
                "fit, and kept its previous fit (frozen); the data may not support this "
                "many experts. Consider fewer experts or more data.",
                DegenerateExpertWarning,
            )

    def _warn_floored(self):
        """Tell the user when the kept fit has a noise variance on its floor."""
        if _floored(self._expert_set):
            var = np.asarray(self._expert_set.variance)
            low = np.flatnonzero(var <= self._expert_set.var_floor * (1.0 + 1e-9)).tolist()
            warn_user(
                f"The noise variance of expert(s) {low} collapsed onto its floor "
                f"(variance_floor * var(y) = {self._expert_set.var_floor:.3g}): a spike of the "
                "likelihood on a few (repeated) target values, not a proper maximum, and "
                "every run ended on one. Consider fewer experts, a larger variance_floor, or "
                "more restarts (n_init).",
                DegenerateExpertWarning,
            )

    def _after_fit(self):
        """Hook for subclasses to expose fitted state (e.g. noise variances)."""

    def _initial_resp(self, X, y, sw, n_experts, rng, strategy=None, perturb=False):
        """Initial responsibilities of one start by ``strategy`` (see skmoe._init).

        ``perturb``: the restart repeats an earlier restart's strategy
        (:func:`skmoe._init.repeats_strategy`; only ``"segments"`` uses it).
        """
        if n_experts == 1:
            return np.ones((X.shape[0], 1))
        if strategy is None:
            strategy = self._init_strategies(1, X)[0]
        if strategy == "random_partition":
            seed = rng.randint(np.iinfo(np.int32).max)
            return resp_from_labels(hashed_labels(seed, 0, X.shape[0], n_experts), n_experts)
        if strategy in NEEDS_MATRIX:
            # Lines of y on the expert features (standardised), then soft
            # responsibilities; or runs along the gate's main axis.  The
            # standardised rows are formed only for the sampled rows and
            # block by block for the rest: a standardised copy of X (and its
            # squares) would double the fit's memory at its peak.
            ex = _StdColumns(self._ex(X), sw)
            ey = _StdColumns(np.asarray(y, dtype=np.float64)[:, None], sw)
            positive = np.flatnonzero(sw > 0)
            if strategy == "random_lines":
                rows = sample_line_rows(rng, positive, n_experts, ex.n_columns)
                lines = fit_lines(
                    [(ex.rows(positive[r]), ey.rows(positive[r])[:, 0]) for r in rows]
                )
            m = SEGMENTS_MAX_ROWS if strategy == "segments" else LINES_MAX_ROWS
            c = positive if positive.size <= m else np.sort(rng.choice(positive, m, replace=False))
            Zc, uc = ex.rows(c), ey.rows(c)[:, 0]
            if strategy == "segments":
                gx = _StdColumns(self._gx(X), sw)
                C = sum(Gb.T @ (Gb * sw[a:b, None]) for a, b, Gb in gx.blocks())
                axis = gate_axis(C / sw.sum())
                t = np.concatenate([Gb @ axis for _, _, Gb in gx.blocks()])
                ww = segment_weights(rng, sw[c], perturb)
                cuts = segment_thresholds(t[c], Zc, uc, ww, n_experts)
                seed = rng.randint(np.iinfo(np.int32).max)
                return resp_from_labels(segment_labels(t, cuts, n_experts, seed, 0), n_experts)
            if strategy == "consensus_lines":
                lines = consensus_lines(rng, Zc, uc, sw[c], n_experts)
            scale, share = line_scales(Zc, uc, sw[c], lines)
            # line_resp is a function of each row alone: blocks give the same.
            return np.concatenate(
                [
                    line_resp(Zb, ey.rows(slice(a, b))[:, 0], lines, scale, share)
                    for a, b, Zb in ex.blocks()
                ]
            )
        # The k-means views.  (Sequence mode: the gate's per-sequence features.)
        # Standardised rows are formed for the sample k-means fits on and
        # block by block for the assignment of every row: a standardised copy
        # of the view, X's size, was a fit's peak with the responsibilities.
        if strategy == "kmeans_gate":
            view = [self._gx(X)]
        elif strategy == "classes":
            view = [getattr(X, "gate_input", X), _one_hot(y, len(self.classes_))]
        else:
            view = [getattr(X, "gate_input", X), self._y_features(y)]
        std = _StdColumns(view, sw)
        if strategy in ("kmeans", "kmeans_gate", "classes"):
            km = KMeans(
                n_clusters=n_experts,
                n_init=1,
                random_state=rng.randint(np.iinfo(np.int32).max),
                copy_x=False,  # the rows are our own temporary: no second copy
            )
            # One thread: on at most _KMEANS_MAX_ROWS rows threads gain
            # little, and spinning OpenMP/BLAS workers on a busy machine
            # cost a lot.
            with warnings.catch_warnings(), blas_single_threaded():
                # Fewer distinct points than experts is handled by re-seeding.
                warnings.simplefilter("ignore", ConvergenceWarning)
                if std.n_rows <= _KMEANS_MAX_ROWS:
                    labels = km.fit(std.rows(slice(None)), sample_weight=sw).labels_
                else:
                    # Large n: cluster a uniform subsample of the rows that
                    # carry weight (weights kept), then assign every row to
                    # its nearest centre, block by block (blocks of a
                    # multiple of scikit-learn's 256-row chunks: the labels
                    # of one call on all rows).
                    rows = np.flatnonzero(sw > 0)
                    if rows.size > _KMEANS_MAX_ROWS:
                        rows = np.sort(rng.choice(rows, size=_KMEANS_MAX_ROWS, replace=False))
                    km.fit(std.rows(rows), sample_weight=sw[rows])
                    labels = np.concatenate([km.predict(Zb) for _, _, Zb in std.blocks()])
        else:
            # "random": k distinct rows as centres, nearest-centre assignment.
            centres = std.rows(rng.choice(X.shape[0], size=n_experts, replace=False))
            labels = np.concatenate([nearest_centre(Zb, centres) for _, _, Zb in std.blocks()])
        return resp_from_labels(labels, n_experts)

    # ------------------------------------------------------------------ #
    # Feature subsets: the gate and the experts may see different columns
    # (flexmix's concomitant-variable models).
    # ------------------------------------------------------------------ #
    def _resolve_features(self, spec, param):
        from ._validation import resolve_features

        return resolve_features(
            spec, param, self.n_features_in_, getattr(self, "feature_names_in_", None)
        )

    def _gx(self, X):
        X = getattr(X, "gate_input", X)  # sequence mode: per-sequence features
        cols = getattr(self, "_gate_cols", None)
        return X if cols is None else np.ascontiguousarray(X[:, cols])

    def _ex(self, X):
        X = getattr(X, "expert_input", X)  # sequence mode: the sequences
        cols = getattr(self, "_expert_cols", None)
        return X if cols is None else np.ascontiguousarray(X[:, cols])

    # ------------------------------------------------------------------ #
    # Sparse routing at predict time
    # ------------------------------------------------------------------ #
    def _gate_proba(self, X, sparse=True):
        """Gate probabilities on full-width X; top_k applied if ``sparse``."""
        gate = proba_from_log(self.gate_._log_proba(self._gx(X)))
        if not sparse or self.top_k is None or self.top_k >= gate.shape[1]:
            return gate, np.zeros(gate.shape[0])
        drop = np.argpartition(-gate, self.top_k - 1, axis=1)[:, self.top_k :]
        # Sum the dropped entries directly: 1 - sum(kept) cancels to noise.
        dropped = np.take_along_axis(gate, drop, axis=1).sum(axis=1)
        kept = gate.copy()
        np.put_along_axis(kept, drop, 0.0, axis=1)
        return kept / kept.sum(axis=1)[:, None], dropped

    def gate_mass_dropped(self, X):
        """Fraction of gate probability discarded by ``top_k`` routing, per sample.

        With ``top_k`` set, the predictions of a row use only its ``top_k``
        most probable experts, the gate renormalised over them.  The mass the
        full gate gave to the other experts measures what this sparse routing
        changes: near 0, the dropped experts hardly mattered; large, the
        sparse prediction departs from the fitted mixture.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        dropped : ndarray of shape (n_samples,)
            Sum of the full gate's probabilities of the experts outside each
            row's ``top_k`` (summed directly, not as ``1 -`` the kept mass, so
            small values keep their precision), in ``[0, 1)``; zeros when
            ``top_k`` is None or not smaller than the number of experts.

        See Also
        --------
        predict_gate : The gate as the predictions use it.

        Examples
        --------
        >>> from skmoe import MixtureOfExpertsRegressor
        >>> from skmoe.datasets import make_moe_regression
        >>> X, y, _ = make_moe_regression(n_samples=300, n_experts=3, random_state=0)
        >>> moe = MixtureOfExpertsRegressor(n_experts=3, top_k=1, random_state=0).fit(X, y)
        >>> dropped = moe.gate_mass_dropped(X)
        >>> dropped.shape
        (300,)
        >>> bool(dropped.max() <= 2 / 3)  # the top one of 3 experts has at least 1/3
        True
        """
        X = self._check_X(X)
        return self._gate_proba(X)[1]

    def _e_step(self, X, y, gate, experts):
        """``(resp, ll)``: the responsibilities and ``log p(y | x)`` per row.

        A softmax gate with linear-Gaussian experts takes the fused pass
        (skmoe._fused; its gate evaluation and masses are not needed here):
        the same numbers, bit for bit, and the prediction methods
        (``log_likelihood``, ``responsibilities``, the criteria) then compile
        no kernels beyond those the fit compiled (the separate Gaussian
        log-density and posterior kernels cost ~0.5 s in a fresh install).
        """
        gx = self._gx(X)
        fused = fused_e_step(gate, experts, gx, self._ex(X), y, np.ones(gx.shape[0]))
        if fused is not None:
            return fused[0], fused[1]
        log_gate = gate._log_proba(gx)
        log_lik = experts.log_prob(self._ex(X), y)
        # posterior_from_logs on fixed row blocks in parallel (same result).
        return blockwise_posterior(log_gate, log_lik)

    def _em_e_step(self, X, y, sw, gate, experts):
        """The E-step of an EM iteration: ``(resp, ll, gate_eval, mass)``.

        ``ll`` is what EM maximises per row: ``log p(y | x)``, plus ``log p(x)``
        for a generative gate (GaussianGate: EM then increases the joint
        log-likelihood, and that is what is tracked).  A softmax gate with
        linear-Gaussian experts takes one pass (skmoe._fused), which also
        gives ``gate_eval``, the gate's M-step loss and gradient at its
        current coefficients on these responsibilities (for
        :meth:`_m_step`), and ``mass``, the experts' responsibility masses
        (for :meth:`_reseed`); otherwise both are None.
        """
        gx = self._gx(X)
        log_px = gate._log_marginal(gx)
        fused = None if log_px is not None else fused_e_step(gate, experts, gx, self._ex(X), y, sw)
        if fused is not None:
            return fused
        resp, ll = self._e_step(X, y, gate, experts)
        if log_px is not None:
            ll = ll + log_px
        return resp, ll, None, None

    def _m_step(
        self,
        X,
        y,
        sw,
        resp,
        gate,
        experts,
        iteration,
        init,
        rng,
        gate_eval=None,
        spare=None,
        first=False,
    ):
        """The M-step.  Returns the next E-step when the gate's M-step ran it.

        ``gate_eval``: the fused E-step's evaluation of the gate's loss at its
        current coefficients on ``resp`` (:meth:`_em_e_step`), given only when
        ``resp`` is that E-step's, unmodified.  The gate's solver then also
        evaluates its last trial point as the next E-step, writing the new
        responsibilities over ``resp`` (``skmoe._fused.Lookahead``); when the
        gate ends there, that E-step ``(resp, ll, gate_eval, mass)`` is
        returned for the next iteration, else None.  ``spare``: an array of
        ``resp``'s shape that nothing else holds any more (the targets of the
        previous M-step), for the look-ahead to write into instead of a new
        one (no fresh pages to fault in each iteration).  ``first``: a start's
        first M-step, on an initialisation's ``resp``: its gate's last trial
        is the first E-step too, where the fused pass applies (one pass fewer
        per start).
        """
        # Unit sample weights (the default) leave the responsibilities as
        # they are: no (n_samples, n_experts) product per iteration.  Expert
        # sets only read W.
        W = resp if np.all(sw == 1.0) else resp * sw[:, None]
        lookahead = None
        if gate_eval is not None or first:
            # The previous gate and experts, before their M-steps.
            gx = self._gx(X)
            if gate_eval is not None or can_look_ahead(gate, experts, gx, resp):
                lookahead = Lookahead(gx, self._ex(X), y, sw, resp, gate, experts, out=spare)
        experts.fit(self._ex(X), y, W, iteration=iteration, init=init, rng=rng)
        if lookahead is None:
            gate._m_step(self._gx(X), resp, sw)
            return None
        del W  # (resp itself, or a product the experts no longer need)
        gate._m_step(gx, resp, sw, evaluation=gate_eval, lookahead=lookahead)
        return lookahead.next_e_step(gate)

    def _reseed(self, X, resp, ll, sw, rng, mass=None):
        """Give experts whose responsibility mass collapsed the worst-explained rows.

        ``mass``: ``sum_i sw_i resp_ik`` when the E-step already formed it.
        """
        n = resp.shape[0]
        # A Numba loop, not ``sw @ resp`` (a threaded BLAS gemv whose spinning
        # workers cost milliseconds per call on a busy machine) nor einsum
        # (~3-10x slower than memory speed for a few columns).
        if mass is None:
            mass = weighted_column_sums(sw, np.ascontiguousarray(resp))
        dead, m = reseed_plan(mass, n, X.shape[1], sw.sum() / n)
        if dead.size == 0:
            return resp, dead
        resp = resp.copy()
        order = np.argsort(ll, kind="stable")  # worst-explained rows first
        order = order[sw[order] > 0]
        for k, rows in reseed_rows(order, dead, m, n, rng):
            reseed_assign(resp, rows, k)
        return resp, dead

    def _prepare_experts(self, X, y, sw, experts):
        """Fix the frame of an expert set with statistics (component protocol).

        From the sample weights, so a warm start on the same data gets the
        very frame of the cold fit, and on new data (a target moved by 1e7)
        a frame of its own.
        """
        if hasattr(experts, "prepare"):
            experts.prepare(ThreadRows(ex=self._ex(X), y=y, W=sw[:, None]))

    def _surrogate(self, gate, named, start):
        """The simpler model whose short fit starts this one, or None.

        A tree gate (depth > 1) starts from a flat softmax gate on the same
        experts: the flat fit places the experts, the tree then arranges them
        (:meth:`~skmoe.gating.HierarchicalGate.leaf_order`) instead of
        starting from k-means' arbitrary clusters.  Student-t experts start
        every other start (the odd ones) from Gaussian (built-in linear)
        experts with the same gate: the Gaussian fit has no scale spikes to
        chase, but gross outliers can mislead it, so the even starts keep the
        strategy's own partition and screening picks.
        """
        from .experts import LinearExpert, StudentTExpert
        from .gating import SoftmaxGate

        tree = getattr(gate, "depth", 1) > 1 and hasattr(gate, "leaf_order")
        student = start % 2 == 1 and all(type(e) is StudentTExpert for _, e in named)
        if not (tree or student):
            return None
        sur = copy.copy(self)  # the fitted frame (_gate_cols, _var_floor...) comes along
        sur.verbose = 0
        sur.n_experts = len(named)
        if tree:
            sur.gate = SoftmaxGate(alpha=gate.alpha)
        if student:
            sur.experts = LinearExpert()
        return sur

    def _prefit_resp(self, X, y, sw, seed, init, n_jobs, resp):
        """Responsibilities after a short fit of this (surrogate) model from ``resp``."""
        run = self._run_em(
            X, y, sw, self._named_experts(), seed, init, n_jobs, warm=False, resp0=resp
        )
        run.advance(min(PREFIT_ITER, self.max_iter))
        run.report.close()
        return self._e_step(X, y, run.gate, run.experts)[0]

    def _run_em(
        self,
        X,
        y,
        sw,
        named,
        seed,
        init,
        n_jobs,
        warm,
        strategy="kmeans",
        resp0=None,
        perturb=False,
        frames=None,
        start=None,
    ):
        """One start's :class:`~skmoe._em.EMRun`.

        ``frames``: the row engines on which the gate and the experts fix
        their frames (a run on a subsample fixes them on all rows), else
        ``X``'s rows.  ``start``: an EMRun (on a subsample) whose gate and
        experts this run continues from, on these rows: no initialisation.
        """
        rng = np.random.RandomState(seed)
        ahead = None
        if start is not None:
            # Their frames are already these rows' (``frames`` above).
            gate, experts = start.gate, start.experts
        elif warm:
            gate = copy.deepcopy(self.gate_)
            experts = copy.deepcopy(self._expert_set)
            self._prepare_experts(X, y, sw, experts)
        else:
            gate = self._make_gate()
            gate._initialize(self._gx(X), len(named), sample_weight=sw)
            experts = self._make_expert_set(named, rng, n_jobs)
            if frames is None:
                self._prepare_experts(X, y, sw, experts)
            else:
                # Fixed before the first M-step, which re-estimates whatever
                # _initialize estimated in the subsample's frame.
                if hasattr(gate, "prepare"):
                    gate.prepare(frames.gate)
                if hasattr(experts, "prepare"):
                    experts.prepare(frames.experts)
            if resp0 is not None:
                resp = resp0
            else:
                resp = self._initial_resp(X, y, sw, len(named), rng, strategy, perturb)
            # A model that EM finds hard to start (a tree gate, Student-t
            # experts) starts from a short fit of its simpler neighbour.
            surrogate = None if resp0 is not None else self._surrogate(gate, named, init)
            if surrogate is not None:
                resp = surrogate._prefit_resp(X, y, sw, seed, init, n_jobs, resp)
            # A tree gate places the initial clusters on its leaves so that
            # nearby clusters are siblings (HME local optima are mostly wrong
            # sibling pairs).  Only in the first restart: the others keep
            # k-means' arbitrary numbering, whose diversity restarts need.
            if init == 0 and hasattr(gate, "_arrange_responsibilities"):
                resp = gate._arrange_responsibilities(self._gx(X), resp, sw)
            ahead = self._m_step(X, y, sw, resp, gate, experts, 0, init, rng, first=True)
        sw_sum = sw.sum()
        # The first E-step, when the first M-step's gate ran it.
        state = {} if ahead is None else {"ahead": ahead}

        def e_step():
            # The EM objective: weighted mean log-likelihood minus the gate's
            # penalty, the quantity EM never decreases.
            ahead = state.pop("ahead", None)  # the E-step the M-step already ran
            if ahead is not None:
                resp, ll, gate_eval, mass = ahead
            else:
                resp, ll, gate_eval, mass = self._em_e_step(X, y, sw, gate, experts)
            state["resp"], state["ll"] = resp, ll
            if gate_eval is not None:
                state["gate_eval"], state["mass"] = gate_eval, mass
            penalty = gate._penalty() + getattr(experts, "penalty", lambda: 0.0)()
            return float((np.einsum("i,i->", sw, ll) - penalty) / sw_sum)

        def reseed():
            state["resp"], dead = self._reseed(
                X, state["resp"], state["ll"], sw, rng, mass=state.get("mass")
            )
            if dead.size:
                # The gate's targets changed: its fused evaluation is void.
                state.pop("gate_eval", None)
            return dead

        def m_step(n_iter, dead):
            targets = state["resp"]
            ahead = self._m_step(
                X,
                y,
                sw,
                targets,
                gate,
                experts,
                n_iter,
                init,
                rng,
                gate_eval=state.get("gate_eval"),
                spare=state.get("spare"),
            )
            # The next E-step recomputes them: a run paused here (screening
            # holds 2 * n_init of them) keeps no (n, K) arrays (EMRun calls
            # state.clear when it pauses or stops, the next E-step included).
            state.clear()
            if ahead is not None:
                state["ahead"] = ahead
                # The look-ahead wrote the next E-step into an array of its
                # own: the targets are free, and the next look-ahead writes
                # into them (two arrays in turn for the whole run).
                if ahead[0] is not targets:
                    state["spare"] = targets

        return EMRun(self, init, gate, experts, e_step, reseed, m_step, release=state.clear)

    # ------------------------------------------------------------------ #
    # Shared prediction API
    # ------------------------------------------------------------------ #
    def _check_X(self, X):
        check_is_fitted(self)
        if getattr(self, "_seq_features", None) is not None:
            from .sequence._features import sequence_input

            return sequence_input(self, X)
        return validate_numeric_data(self, X, reset=False, dtype=np.float64)

    def _check_Xy(self, X, y):
        X = self._check_X(X)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(f"y must have shape ({X.shape[0]},) to match X; got shape {y.shape}.")
        y_enc = self._encode_y(y)
        # As score (and fit) do: a NaN or infinite target is an error, not a
        # log-likelihood of -inf or a responsibility of 1/K.
        if y_enc.dtype.kind == "f" and not np.all(np.isfinite(y_enc)):
            bad = "NaN" if np.isnan(y_enc).any() else "infinity"
            raise ValueError(f"Input y contains {bad}.")
        return X, y_enc

    def predict_gate(self, X):
        """Gate probabilities ``g_k(x)``, as the predictions use them.

        The full gate, or with ``top_k`` set, the gate restricted to each
        row's ``top_k`` most probable experts and renormalised over them (the
        other experts get 0).  The full gate of a sparse model is
        ``gate_.predict_proba`` on the gate's columns of X;
        :meth:`gate_mass_dropped` gives the mass the restriction discards.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples (all the columns seen in fit; the gate takes those
            of ``gate_features``).

        Returns
        -------
        gate : ndarray of shape (n_samples, n_experts)
            Probability of each expert for each row, in the order of
            ``experts_``; the rows sum to one.

        See Also
        --------
        responsibilities : The experts' probabilities once y is seen too.

        Examples
        --------
        >>> import numpy as np
        >>> from skmoe import MixtureOfExpertsRegressor
        >>> from skmoe.datasets import load_mcycle
        >>> X, y = load_mcycle(return_X_y=True)
        >>> moe = MixtureOfExpertsRegressor(n_experts=3, random_state=0).fit(X, y)
        >>> gate = moe.predict_gate(X)
        >>> gate.shape
        (133, 3)
        >>> bool(np.allclose(gate.sum(axis=1), 1.0))
        True
        """
        X = self._check_X(X)
        return self._gate_proba(X)[0]

    def responsibilities(self, X, y):
        """Posterior probability that each expert generated each ``(x, y)``.

        ``r_ik = g_k(x_i) p_k(y_i | x_i) / sum_j g_j(x_i) p_j(y_i | x_i)``:
        the E-step's soft assignment of row ``i`` to expert ``k``, which
        sharpens the gate's prior guess with how well each expert explains
        ``y_i``.  It uses the full gate (no ``top_k`` truncation), as the fit
        does.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.
        y : array-like of shape (n_samples,)
            Targets: real values for a regressor; for a classifier, labels
            among ``classes_`` (an unseen label raises a ValueError).

        Returns
        -------
        resp : ndarray of shape (n_samples, n_experts)
            Posterior probability of each expert for each row, in the order of
            ``experts_``; the rows sum to one.

        See Also
        --------
        predict_gate : The prior probabilities, from x alone.

        Examples
        --------
        >>> import numpy as np
        >>> from skmoe import MixtureOfExpertsRegressor
        >>> from skmoe.datasets import load_mcycle
        >>> X, y = load_mcycle(return_X_y=True)
        >>> moe = MixtureOfExpertsRegressor(n_experts=3, random_state=0).fit(X, y)
        >>> resp = moe.responsibilities(X, y)
        >>> resp.shape
        (133, 3)
        >>> bool(np.allclose(resp.sum(axis=1), 1.0))
        True
        """
        X, y = self._check_Xy(X, y)
        return self._e_step(X, y, self.gate_, self._expert_set)[0]

    def log_likelihood(self, X, y):
        """Per-sample log-likelihood ``log p(y_i | x_i)`` under the fitted mixture.

        ``log sum_k g_k(x_i) p_k(y_i | x_i)`` (natural logarithm) with the
        full gate (no ``top_k`` truncation), one value per row and not
        weighted: sum it for the log-likelihood of the data, average it for a
        score comparable across data sets of different sizes.  For a
        regressor with continuous experts it is a log-density, whose value
        depends on the units of ``y``: compare models on the same target only.
        It is conditional on x also with a generative gate
        (``gate="gaussian"``), whose ``log p(x_i)`` :meth:`bic`, :meth:`aic`
        and :meth:`icl` add; with generative sequence experts
        (:class:`~skmoe.sequence.GaussianHMMClassifier`, ...) the experts'
        ``p_k(x_i, y_i)`` replaces ``p_k(y_i | x_i)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.
        y : array-like of shape (n_samples,)
            Targets: real values for a regressor; for a classifier, labels
            among ``classes_`` (an unseen label raises a ValueError).

        Returns
        -------
        log_lik : ndarray of shape (n_samples,)
            Log-likelihood of each row.

        See Also
        --------
        bic : An information criterion from the summed log-likelihood.

        Examples
        --------
        >>> from skmoe import MixtureOfExpertsRegressor
        >>> from skmoe.datasets import load_mcycle
        >>> X, y = load_mcycle(return_X_y=True)
        >>> moe = MixtureOfExpertsRegressor(n_experts=3, random_state=0).fit(X, y)
        >>> moe.log_likelihood(X, y).shape  # one value per row; .sum() for the data
        (133,)
        """
        X, y = self._check_Xy(X, y)
        return self._e_step(X, y, self.gate_, self._expert_set)[1]

    def llf(self, X, y):
        """Log-likelihood of the data, a scalar: statsmodels' ``llf``.

        The sum of :meth:`log_likelihood` over the rows (which is the
        per-row array, statsmodels' ``llf_obs``), as a Python float, so
        ``f"{est.llf(X, y):.3f}"`` works.  On the training data it is the
        ``llf`` that :meth:`summary` reports where it exists; it is not
        penalised (``lower_bound_`` is the objective EM maximised, penalties
        included).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.
        y : array-like of shape (n_samples,)
            Targets: real values for a regressor; for a classifier, labels
            among ``classes_``.

        Returns
        -------
        llf : float
            ``log_likelihood(X, y).sum()`` (natural logarithm).

        See Also
        --------
        log_likelihood : The same, one value per row.

        Examples
        --------
        >>> from skmoe import MixtureOfExpertsRegressor
        >>> from skmoe.datasets import load_mcycle
        >>> X, y = load_mcycle(return_X_y=True)
        >>> moe = MixtureOfExpertsRegressor(n_experts=3, random_state=0).fit(X, y)
        >>> isinstance(moe.llf(X, y), float)
        True
        """
        return float(np.sum(self.log_likelihood(X, y)))

    def _n_parameters(self):
        return self.gate_._n_parameters() + self._expert_set.n_parameters()

    def _criterion_log_likelihood(self, X, y):
        """Per-sample log-likelihood that matches the parameter count.

        A generative gate (GaussianGate) counts the parameters of its model of
        x, so its criteria use the joint ``log p(x, y)``; for conditional
        gates this is ``log p(y | x)``.
        """
        X, y_enc = self._check_Xy(X, y)
        resp, ll = self._e_step(X, y_enc, self.gate_, self._expert_set)
        log_px = self.gate_._log_marginal(self._gx(X))
        if log_px is not None:
            ll = ll + log_px
        return resp, ll

    def bic(self, X, y):
        """Bayesian information criterion (lower is better).

        ``-2 log L + p log n``: ``log L`` is the log-likelihood of the data,
        the sum of :meth:`log_likelihood` over the rows (plus the gate's
        ``log p(x_i)`` with a generative gate, ``gate="gaussian"``, whose
        parameter count includes its model of x), ``n`` is the number of rows
        (sample weights are not used) and ``p`` the number of free
        parameters of the gate and the experts (with a regressor's noise
        variances).  It trades the fit against the size of the model, to
        choose, say, the number of experts among models fitted to the same
        data; its ``log n`` penalty favours smaller models than :meth:`aic`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.
        y : array-like of shape (n_samples,)
            Targets: real values for a regressor; for a classifier, labels
            among ``classes_``.

        Returns
        -------
        bic : float
            The criterion, on the scale of ``-2`` times a log-likelihood.

        See Also
        --------
        aic : Akaike's criterion, a smaller penalty per parameter.
        icl : BIC penalised by the uncertainty of the assignment to experts.

        Examples
        --------
        >>> from skmoe import MixtureOfExpertsRegressor
        >>> from skmoe.datasets import load_mcycle
        >>> X, y = load_mcycle(return_X_y=True)
        >>> bic = {
        ...     k: MixtureOfExpertsRegressor(n_experts=k, random_state=0).fit(X, y).bic(X, y)
        ...     for k in (1, 3)
        ... }
        >>> bool(bic[3] < bic[1])  # one straight line does not fit the curve
        True
        """
        ll = self._criterion_log_likelihood(X, y)[1]
        return float(-2.0 * ll.sum() + self._n_parameters() * np.log(ll.shape[0]))

    def aic(self, X, y):
        """Akaike information criterion (lower is better): ``-2 log L + 2 p``.

        ``log L`` and ``p`` as in :meth:`bic`: the log-likelihood of the data
        (joint in x and y with a generative gate) and the number of free
        parameters of the gate and the experts.  Its penalty of 2 per
        parameter, smaller than BIC's ``log n`` once ``n > 7``, aims at
        prediction rather than at the true number of experts, so it tends to
        choose larger models.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.
        y : array-like of shape (n_samples,)
            Targets: real values for a regressor; for a classifier, labels
            among ``classes_``.

        Returns
        -------
        aic : float
            The criterion, on the scale of ``-2`` times a log-likelihood.

        See Also
        --------
        bic : The Bayesian criterion, a penalty of ``log n`` per parameter.

        Examples
        --------
        >>> from skmoe import MixtureOfExpertsRegressor
        >>> from skmoe.datasets import load_mcycle
        >>> X, y = load_mcycle(return_X_y=True)
        >>> moe = MixtureOfExpertsRegressor(n_experts=3, random_state=0).fit(X, y)
        >>> bool(moe.aic(X, y) < moe.bic(X, y))  # 133 rows: log(133) > 2
        True
        """
        ll = self._criterion_log_likelihood(X, y)[1]
        return float(-2.0 * ll.sum() + 2.0 * self._n_parameters())

    def icl(self, X, y):
        """Integrated completed likelihood, BIC form (lower is better).

        ``bic(X, y) + 2 * sum_i sum_k -r_ik log r_ik`` with ``r`` the
        responsibilities (Biernacki, Celeux & Govaert 2000): BIC penalised
        by the entropy of the soft assignment, so it prefers experts that
        split the data clearly.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.
        y : array-like of shape (n_samples,)
            Targets: real values for a regressor; for a classifier, labels
            among ``classes_``.

        Returns
        -------
        icl : float
            The criterion, on the scale of ``-2`` times a log-likelihood; at
            least :meth:`bic`, equal when every row belongs to one expert.

        See Also
        --------
        bic : The criterion without the entropy term.
        responsibilities : The ``r_ik`` of the entropy.

        Examples
        --------
        >>> from skmoe import MixtureOfExpertsRegressor
        >>> from skmoe.datasets import load_mcycle
        >>> X, y = load_mcycle(return_X_y=True)
        >>> moe = MixtureOfExpertsRegressor(n_experts=3, random_state=0).fit(X, y)
        >>> bool(moe.icl(X, y) >= moe.bic(X, y))  # the entropy is never negative
        True
        """
        resp, ll = self._criterion_log_likelihood(X, y)
        entropy = -float(np.sum(resp * np.log(np.where(resp > 0, resp, 1.0))))
        bic = -2.0 * ll.sum() + self._n_parameters() * np.log(ll.shape[0])
        return float(bic + 2.0 * entropy)
