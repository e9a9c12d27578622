"""Online EM behind ``partial_fit`` (Cappé & Moulines 2009).

Each call of ``partial_fit`` on a chunk ``(X_t, y_t)`` is one step of
stochastic-approximation EM:

1. **E-step** on the chunk with the current parameters ``theta_{t-1}``:
   responsibilities ``r_ik``.
2. **Running averages** of the chunk's sufficient statistics, per unit of
   sample weight, ``s_t = s_{t-1} + gamma_t (s(X_t, y_t; theta_{t-1}) - s_{t-1})``
   with the step size ``gamma_t = (t + learning_offset) ** -learning_decay``
   (``learning_decay`` in (0.5, 1], so that ``sum gamma_t = inf`` and
   ``sum gamma_t^2 < inf``).
3. **M-step** from the averaged statistics where the model has finite
   sufficient statistics (built-in linear-Gaussian experts: ``X1^T W X1``,
   ``X1^T W y``, ``sum W y^2`` and the masses; the constant gate's masses;
   the Gaussian gate's masses, first and second moments).  Parts of the
   model without finite statistics (softmax gate, logistic, Poisson and
   binomial experts) average, with the same step sizes, the second-order
   expansion of each chunk's weighted loss about the parameters of its
   E-step, and take the minimiser of the averaged quadratic: a stochastic
   Newton step.  Both are the component protocol (:class:`_ComponentUpdater`):
   the components say how to form statistics or expansions, this module only
   moves chunks and step sizes.
   Estimator experts with a ``partial_fit(X, y, sample_weight)``
   (``SGDRegressor``, ``SGDClassifier``...) are handed the chunk with
   weights ``r_ik * w_i`` and use their own learning rate.

The first call initialises the model on its chunk as ``fit`` does (the
initial responsibilities of a start of the portfolio, an initial M-step) and
then takes the first online step on the same chunk, for each of
``max(n_init, n_screen)`` parallel chains (one per start); each chunk is
scored by every chain before the chain learns from it, and after
``2 * screen_iter`` chunks the chain with the best mean score over the last
``screen_iter`` of them goes on alone (online EM cannot restart later: it has
no data to restart from).  ``partial_fit`` after ``fit`` starts
the running statistics from the first chunk's E-step under the fitted
parameters.  Memory is that of one chunk: nothing of earlier chunks is kept
but the statistics (O(K^2 d^2) numbers).
"""

import inspect

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight

from ._rows import ThreadRows
from ._threading import blas_single_threaded
from ._validation import check_sample_weight, encode_labels, fit_labels, validate_numeric_data
from .experts._glm import BinomialExpert, PoissonExpert
from .experts._linear import LinearExpert
from .experts._logistic import LogisticExpert
from .experts._sets import _LinearGaussianSet, _LogisticSet

# scikit-learn >= 1.7 refuses all-zero weights unless told otherwise.
_ZERO_OK = (
    {"allow_all_zero_weights": True}
    if "allow_all_zero_weights" in inspect.signature(_check_sample_weight).parameters
    else {}
)

_SUPPORTED_EXPERTS = (
    "LinearExpert, LogisticExpert, PoissonExpert, BinomialExpert and estimators whose "
    "partial_fit takes sample_weight (SGDRegressor, SGDClassifier, ...)"
)


# --------------------------------------------------------------------------- #
# Which configurations have an online M-step
# --------------------------------------------------------------------------- #
def _takes_weighted_partial_fit(est):
    method = getattr(est, "partial_fit", None)
    if method is None:
        return False
    try:
        return "sample_weight" in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


def _expert_kind(est):
    if type(est) is LinearExpert:
        return "linear"
    if type(est) is LogisticExpert:
        return "logistic"
    if type(est) in (PoissonExpert, BinomialExpert):
        return "glm"
    if _takes_weighted_partial_fit(est):
        return "partial_fit"
    return None


def online_support_problem(est):
    """Why ``est`` has no ``partial_fit`` (a message), or None when it has one.

    Decided from the parameters alone, so that ``hasattr(est, "partial_fit")``
    is False exactly when ``partial_fit`` could not work (scikit-learn's
    convention, e.g. ``MLPClassifier`` with a non-stochastic solver).
    Invalid parameters are left for ``partial_fit``'s own validation to
    report.
    """
    name = type(est).__name__
    try:
        if est._takes_sequences():
            return (
                f"{name}.partial_fit does not support sequence inputs (HMM-sequence experts "
                "or a gate_features transformer); use fit."
            )
    except Exception:  # noqa: BLE001 - invalid parameters: partial_fit reports them
        return None
    gate = est.gate
    if not isinstance(gate, str) and hasattr(gate, "_m_step") and not _supports_online(gate):
        return (
            f"{name}.partial_fit needs a gate of the component protocol; the gate "
            f"{type(gate).__name__} implements neither row_stats/m_step_from_stats nor "
            "expansion_from_rows/m_step_from_expansion, so it has no online M-step. Use fit."
        )
    experts = est.experts
    if experts is None:
        return None
    if isinstance(experts, list):
        named = [item for item in experts if isinstance(item, tuple) and len(item) == 2]
    else:
        named = [("expert0", experts)]
    for expert_name, expert in named:
        if not hasattr(expert, "fit"):
            return None  # invalid: fit's validation says so
        if _expert_kind(expert) is None:
            return (
                f"{name}.partial_fit needs experts that can be updated online, but expert "
                f"{expert_name!r} ({type(expert).__name__}) has neither a partial_fit that takes "
                "sample_weight nor sufficient statistics skmoe can average. Online EM supports "
                f"{_SUPPORTED_EXPERTS}. Use fit, or such an expert."
            )
    return None


class OnlineMethod:
    """Descriptor: the method exists only when :func:`online_support_problem` finds none.

    Like scikit-learn's ``available_if``, but the ``AttributeError`` carries
    the reason (the expert or gate class that has no online update).
    """

    def __init__(self, fn):
        self.fn = fn
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__
        self.__wrapped__ = fn

    def __get__(self, obj, owner=None):
        if obj is None:
            return self.fn
        problem = online_support_problem(obj)
        if problem is not None:
            raise AttributeError(problem)
        return self.fn.__get__(obj, owner)


# --------------------------------------------------------------------------- #
# Expert updaters: running statistics or stochastic steps
# --------------------------------------------------------------------------- #
def _mix(old, new, gamma):
    return old + gamma * (new - old)


class _ComponentUpdater:
    """Online EM for any gate or expert set of the component protocol.

    Only the protocol is used (see ``skmoe._rows``), never the class:

    * a component with additive statistics (``prepare``, ``row_stats``,
      ``m_step_from_stats``) has its per-unit-weight statistics averaged with
      the step size, ``avg = (1 - gamma) * avg + gamma * stats(chunk) / wsum``,
      and its M-step taken from the average;
    * an iterative problem (``m_step_from_rows``, ``expansion_from_rows``,
      ``m_step_from_expansion``) has the second-order expansions of its
      chunk losses about the current parameters averaged the same way, and
      minimises the average plus its penalty: a stochastic Newton step.

    The first chunk of a fresh model fixes the frame and takes the batch
    M-step on that chunk (with step 1 a first chunk is exactly the batch
    M-step).
    """

    def __init__(self, comp, role):
        self.comp = comp
        self.role = role  # "experts" (rows: ex, y, W) or "gate" (rows: gx, resp, sw)
        self.iterative = not hasattr(comp, "row_stats")
        self.stats = None

    def _rows(self, X, a, b):
        if self.role == "experts":
            return ThreadRows(ex=X, y=a, W=b)
        return ThreadRows(gx=X, resp=a, sw=b)

    def _chunk(self, rows, wsum):
        if self.iterative:
            parts = self.comp.expansion_from_rows(rows)
        else:
            parts = rows.sum(self.comp.row_stats)
        return tuple(np.asarray(s) / wsum for s in parts)

    def start(self, X, a, b, wsum, ctx):
        rows = self._rows(X, a, b)
        if self.role == "experts" and getattr(self.comp, "_frame", None) is None:
            self.comp.prepare(rows)
        if self.iterative:
            if ctx["fresh"]:
                self.comp.m_step_from_rows(rows)
            return
        self.stats = self._chunk(rows, wsum)
        self.comp.m_step_from_stats(self.stats)

    def step(self, X, a, b, wsum, gamma, ctx):
        new = self._chunk(self._rows(X, a, b), wsum)
        if self.stats is None:
            self.stats = new
        else:
            self.stats = tuple(_mix(o, n, gamma) for o, n in zip(self.stats, new, strict=True))
        if self.iterative:
            self.comp.m_step_from_expansion(self.stats, ctx["n_seen"])
        else:
            self.comp.m_step_from_stats(self.stats)


def _supports_online(comp):
    return hasattr(comp, "row_stats") or hasattr(comp, "expansion_from_rows")


class _EstimatorSetUpdater:
    """Estimator experts (a mixed list), each by its own rule.

    A built-in linear or logistic expert is updated as a one-expert set of
    the component protocol (:class:`_ComponentUpdater`); any other expert by
    its own ``partial_fit`` with the chunk's weights.
    """

    def __init__(self, eset, classifier, n_classes, var_floor):
        self.eset = eset
        self.classifier = classifier
        self.n_classes = n_classes
        self.var_floor = var_floor
        self.kinds = []
        for name, est in zip(eset.names, eset.ests, strict=True):
            kind = _expert_kind(est)
            if kind is None or kind == "glm":  # guarded by online_support_problem
                raise ValueError(
                    f"Expert {name!r} ({type(est).__name__}) cannot be updated online; "
                    f"partial_fit supports {_SUPPORTED_EXPERTS}."
                )
            self.kinds.append(kind)
        self.updaters = {}

    def _one_set(self, k, kind, est, X, W, fresh):
        """A one-expert component set around expert ``k`` (updated in place)."""
        if kind == "linear":
            return _LinearGaussianSet(1, est.alpha, self.var_floor or 0.0)
        one = _LogisticSet([(self.eset.names[k], est)], "weighted", None, None, self.n_classes)
        one.ests = [est]  # the mixture's own expert, not a clone
        if fresh or not hasattr(est, "_V"):
            # One frame for the stream, from the first chunk's sample weights
            # (as fit fixes it from the sample-weighted X).
            one.prepare(ThreadRows(ex=X, W=W))
        else:
            # Continue a batch fit in its frame; a class the expert never saw
            # starts well below the others.
            one._frame = (est._mean, est._scale)
            cols = np.asarray(est.classes_).astype(np.intp)
            V = np.zeros((est._V.shape[0], self.n_classes))
            c = np.full(self.n_classes, float(np.min(est._c)) - 10.0)
            V[:, cols], c[cols] = est._V, est._c
            one._set(est, V, c)
        return one

    def _sync(self, k, kind, est, X):
        if kind == "linear":
            one = self.updaters[k].comp
            est.coef_ = one.coef[:, 0].copy()
            est.intercept_ = float(one.intercept[0])
            est.n_features_in_ = X.shape[1]

    def _partial_fit(self, est, X, y, w):
        if self.classifier:
            est.partial_fit(X, y, classes=np.arange(self.n_classes), sample_weight=w)
        else:
            est.partial_fit(X, y, sample_weight=w)

    def start(self, X, y, W, wsum, ctx):
        fresh = ctx["fresh"]
        for k, (kind, est) in enumerate(zip(self.kinds, self.eset.ests, strict=True)):
            if kind in ("linear", "logistic"):
                one = self._one_set(k, kind, est, X, W, fresh)
                self.updaters[k] = _ComponentUpdater(one, "experts")
                self.updaters[k].start(X, y, np.ascontiguousarray(W[:, k : k + 1]), wsum, ctx)
                self._sync(k, kind, est, X)
            elif fresh:
                self._partial_fit(est, X, y, np.ascontiguousarray(W[:, k]))
        if not self.classifier:
            self.num, self.mass = self._residual_stats(X, y, W, wsum)
            self._variance()

    def step(self, X, y, W, wsum, gamma, ctx):
        for k, (kind, est) in enumerate(zip(self.kinds, self.eset.ests, strict=True)):
            if k in self.updaters:
                w = np.ascontiguousarray(W[:, k : k + 1])
                self.updaters[k].step(X, y, w, wsum, gamma, ctx)
                self._sync(k, kind, est, X)
            else:
                self._partial_fit(est, X, y, np.ascontiguousarray(W[:, k]))
        if not self.classifier:
            num, mass = self._residual_stats(X, y, W, wsum)
            self.num = _mix(self.num, num, gamma)
            self.mass = _mix(self.mass, mass, gamma)
            self._variance()

    def _residual_stats(self, X, y, W, wsum):
        resid2 = (y[:, None] - self.eset.predict(X)) ** 2
        return np.einsum("ik,ik->k", W, resid2) / wsum, W.sum(axis=0) / wsum

    def _variance(self):
        with np.errstate(divide="ignore", invalid="ignore"):
            var = self.num / np.maximum(self.mass, 1e-300)
        var = np.where(np.isfinite(var), var, self.var_floor)
        self.eset.variance = np.maximum(var, self.var_floor)


def _gate_updater(gate):
    # Dispatch on the protocol: any gate with additive statistics or an
    # iterative problem with expansions runs online unchanged.
    if _supports_online(gate):
        return _ComponentUpdater(gate, "gate")
    raise ValueError(
        f"partial_fit has no online M-step for the gate {type(gate).__name__}: it implements "
        "neither row_stats/m_step_from_stats nor expansion_from_rows/m_step_from_expansion."
    )


def _expert_updater(est, eset):
    if _supports_online(eset):
        return _ComponentUpdater(eset, "experts")
    if hasattr(eset, "ests"):
        n_classes = len(est.classes_) if est._is_classifier else None
        return _EstimatorSetUpdater(
            eset, est._is_classifier, n_classes, getattr(est, "_var_floor", None)
        )
    raise ValueError(
        f"partial_fit has no online M-step for these experts ({type(eset).__name__}); "
        f"it supports {_SUPPORTED_EXPERTS}."
    )


# --------------------------------------------------------------------------- #
# The driver
# --------------------------------------------------------------------------- #
class _OnlineState:
    """What online EM carries from one chunk to the next (O(K d^2), not the data)."""

    def __init__(self, gate, experts, gate_updater, expert_updater):
        self.gate = gate
        self.experts = experts
        self.gate_updater = gate_updater
        self.expert_updater = expert_updater
        self.t = 0
        self.n_seen = 0.0
        self.history = []
        # While the parallel chains of the first chunks run (the leading
        # chain holds them all): the chains, their strategies, the lead's index.
        self.chains = None
        self.strategies = None
        self.best = 0


def _start_chain(est, gate, experts, resp, X, y_enc, sw, wsum, fresh):
    """An online state whose statistics start from the chunk with ``resp``."""
    state = _OnlineState(gate, experts, _gate_updater(gate), _expert_updater(est, experts))
    state.n_seen = wsum
    ctx = {"fresh": fresh, "n_seen": state.n_seen, "wsum": wsum}
    W = resp * sw[:, None]
    # Small matrices only: a multi-threaded BLAS would only add its
    # spin-up cost (large on a busy machine; see skmoe._threading).
    with blas_single_threaded():
        state.expert_updater.start(est._ex(X), y_enc, W, wsum, ctx)
        state.gate_updater.start(est._gx(X), resp, sw, wsum, ctx)
    return state


def _online_step(est, state, X, y_enc, sw, wsum):
    """One online-EM step of ``state`` on the chunk."""
    kappa, t0 = float(est.learning_decay), float(est.learning_offset)
    state.t += 1
    gamma = min(1.0, (state.t + t0) ** -kappa)
    gate, experts = state.gate, state.experts
    resp, ll = est._e_step(X, y_enc, gate, experts)
    log_px = gate._log_marginal(est._gx(X))
    if log_px is not None:
        ll = ll + log_px
    # The chunk's score under the parameters before its own update: a
    # progressive-validation estimate of the objective.
    state.history.append(float(sw @ ll / wsum))
    ctx = {"fresh": False, "n_seen": state.n_seen, "wsum": wsum}
    with blas_single_threaded():
        state.expert_updater.step(est._ex(X), y_enc, resp * sw[:, None], wsum, gamma, ctx)
        state.gate_updater.step(est._gx(X), resp, sw, wsum, gamma, ctx)


def _check_classes(est, classes, first):
    if classes is not None:
        classes = np.unique(np.asarray(classes))
    if first:
        if classes is None:
            raise ValueError(
                f"classes must be passed on the first call to {type(est).__name__}.partial_fit "
                "(all the labels the stream can contain, e.g. classes=np.unique(y_all))."
            )
        if classes.size < 2:
            raise ValueError(
                f"{type(est).__name__} needs at least 2 classes; classes={classes.tolist()}."
            )
        return classes
    if classes is not None and not np.array_equal(classes, est.classes_):
        raise ValueError(
            f"classes={classes.tolist()} is not the same as on the first call to partial_fit "
            f"(or in fit): {est.classes_.tolist()}."
        )
    return est.classes_


def _encode_labels(est, y):
    fit_labels(y)  # a classification target (check_classification_targets)
    return encode_labels(y, est.classes_, where="in fit nor given on the first call to partial_fit")


def online_partial_fit(est, X, y, sample_weight=None, classes=None):
    """One online-EM step of ``est`` on the chunk ``(X, y)``; see the module docstring."""
    problem = online_support_problem(est)
    if problem is not None:
        raise ValueError(problem)
    state = getattr(est, "_online", None)
    fitted = hasattr(est, "gate_")
    # A fit since the last partial_fit replaced the model: start over from it.
    if state is not None and (not fitted or state.gate is not est.gate_):
        state = None
    fresh = not fitted
    X, y = validate_numeric_data(
        est, X, y, reset=fresh, dtype=np.float64, y_numeric=not est._is_classifier
    )
    # Sizes first: n_experts=10**9 must fail before any expert is built.
    if fresh and X.shape[0] < est._n_experts_requested():
        raise ValueError(
            f"The first chunk given to partial_fit needs n_samples >= n_experts, got "
            f"n_samples={X.shape[0]} and n_experts={est._n_experts_requested()}."
        )
    # An all-zero chunk is a no-op for the stream, not an error.
    sw = check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True, **_ZERO_OK
    )
    wsum = float(sw.sum())
    if fresh and not wsum > 0:
        raise ValueError("The first chunk given to partial_fit has no positive sample_weight.")
    if est._is_classifier:
        est.classes_ = _check_classes(est, classes, fresh)
        y_enc = _encode_labels(est, y)
    elif fresh:
        y_enc = est._check_y(X, y, sw)
    else:
        y_enc = est._encode_y(y)
    if fresh:
        named = est._named_experts()
        est._gate_cols = est._resolve_features(est.gate_features, "gate_features")
        est._expert_cols = est._resolve_features(est.expert_features, "expert_features")
        n_experts = len(named)
        # Parallel chains, one per start of the portfolio (as fit's starts);
        # each has its own random stream, drawn up front.
        strategies = est._init_strategies(est._n_candidates(), X)
        seeds = check_random_state(est.random_state).randint(
            np.iinfo(np.int32).max, size=len(strategies)
        )
        chains = []
        for strategy, seed in zip(strategies, seeds, strict=True):
            rng = np.random.RandomState(seed)
            gate = est._make_gate()
            gate._initialize(est._gx(X), n_experts, sample_weight=sw)
            experts = est._make_expert_set(named, rng, None)
            resp = est._initial_resp(X, y_enc, sw, n_experts, rng, strategy)
            chains.append(_start_chain(est, gate, experts, resp, X, y_enc, sw, wsum, True))
        state = chains[0]
        state.chains = chains if len(chains) > 1 else None
        state.strategies = strategies
    elif state is None:
        if not wsum > 0:
            return est  # nothing to learn from, and nothing to start statistics with
        resp = est._e_step(X, y_enc, est.gate_, est._expert_set)[0]
        state = _start_chain(est, est.gate_, est._expert_set, resp, X, y_enc, sw, wsum, False)
    elif not wsum > 0:
        return est
    else:
        for chain in state.chains or [state]:
            chain.n_seen += wsum
    # One online-EM step of every chain on this chunk.
    for chain in state.chains or [state]:
        _online_step(est, chain, X, y_enc, sw, wsum)
    if state.chains is not None:
        # Lead: the chain with the best progressive-validation log-likelihood
        # (each chunk scored before the chain learns from it; ties to the
        # earlier start) over its last screen_iter chunks -- the first
        # screen_iter are a burn-in, whose scores say more about the start
        # than about where the chain is going.  After 2 * screen_iter chunks
        # the others are dropped and one chain goes on.
        m = est.screen_iter
        score = [
            float(np.mean(c.history[m:] if len(c.history) > m else c.history)) for c in state.chains
        ]
        best = max(range(len(score)), key=lambda i: (score[i], -i))
        lead = state.chains[best]
        lead.chains, lead.strategies = state.chains, state.strategies
        lead.best = best
        lead.screen_histories = [np.asarray(c.history) for c in state.chains]
        if lead.t >= 2 * m:
            lead.chains = None
        state = lead
    est._online = state
    est.gate_ = state.gate
    est._expert_set = state.experts
    est.n_experts_ = state.experts.n_experts
    gate, experts = state.gate, state.experts
    est.experts_ = experts.estimators()
    est.n_iter_ = state.t
    est.converged_ = False
    est.lower_bound_ = state.history[-1]
    est.lower_bounds_ = np.asarray(state.history)
    # Every chain's scores while they ran side by side (one chain: its own).
    est.lower_bounds_all_ = getattr(state, "screen_histories", None) or [est.lower_bounds_]
    est.init_strategies_ = state.strategies
    est.n_subsample_ = 0  # the chains run on the stream itself
    est.n_reseeds_ = 0
    est._after_fit()
    return est
