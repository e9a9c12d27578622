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
   Newton step (:class:`_MultinomialSurrogate`, :class:`_GLMSetUpdater`).
   Estimator experts with a ``partial_fit(X, y, sample_weight)``
   (``SGDRegressor``, ``SGDClassifier``...) are handed the chunk with
   weights ``r_ik * w_i`` and use their own learning rate.

The first call initialises the model on its chunk as ``fit`` does (k-means
or random initial responsibilities, an initial M-step) and then takes the
first online step on the same chunk.  ``partial_fit`` after ``fit`` starts
the running statistics from the first chunk's E-step under the fitted
parameters.  Memory is that of one chunk: nothing of earlier chunks is kept
but the statistics (O(K^2 d^2) numbers).
"""

import inspect

import numpy as np
from scipy import linalg
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, validate_data

from ._multinomial import feature_moments, fit_multinomial, raw_coefficients, softmax_log_proba
from ._rows import ThreadRows
from ._threading import blas_single_threaded
from .experts._glm import BinomialExpert, PoissonExpert, _GLMSet, _weighted_moments
from .experts._linear import LinearExpert, weighted_linear_stats
from .experts._logistic import LogisticExpert
from .experts._sets import _LinearGaussianSet
from .gating import SoftmaxGate

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
    if isinstance(gate, str):
        if gate == "hierarchical":
            return (
                f"{name}.partial_fit supports the softmax, constant and Gaussian gates; "
                "gate='hierarchical' has no online M-step. Use fit."
            )
    elif not (hasattr(gate, "row_stats") or type(gate) is SoftmaxGate) and hasattr(gate, "_m_step"):
        return (
            f"{name}.partial_fit supports SoftmaxGate, ConstantGate and GaussianGate; the gate "
            f"{type(gate).__name__} has no online M-step. Use fit."
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


class _StatsUpdater:
    """Online EM for any component estimated from additive statistics.

    The component protocol (``prepare``, ``row_stats``,
    ``m_step_from_stats``; see ``skmoe._rows``) is all it uses: the first
    chunk fixes the frame (unless a fit already did), then the per-unit-
    weight statistics are averaged with the step size,
    ``avg = (1 - gamma) * avg + gamma * stats(chunk) / wsum``, and the
    M-step is taken from the average.  A first chunk with step 1 is exactly
    the batch M-step on that chunk.
    """

    def __init__(self, comp, role):
        self.comp = comp
        self.role = role  # "experts" (rows: ex, y, W) or "gate" (rows: gx, resp, sw)

    def _rows(self, X, a, b):
        if self.role == "experts":
            return ThreadRows(ex=X, y=a, W=b)
        return ThreadRows(gx=X, resp=a, sw=b)

    def _chunk(self, rows, wsum):
        return tuple(np.asarray(s) / wsum for s in rows.sum(self.comp.row_stats))

    def start(self, X, a, b, wsum, ctx):
        rows = self._rows(X, a, b)
        if getattr(self.comp, "_frame", None) is None:
            self.comp.prepare(rows)
        self.stats = self._chunk(rows, wsum)
        self.comp.m_step_from_stats(self.stats)

    def step(self, X, a, b, wsum, gamma, ctx):
        new = self._chunk(self._rows(X, a, b), wsum)
        self.stats = tuple(_mix(o, n, gamma) for o, n in zip(self.stats, new, strict=True))
        self.comp.m_step_from_stats(self.stats)


def _standardizer(mean, scale):
    """The matrix mapping ``[x, 1]`` to ``[(x - mean) / scale, 1]``."""
    d = mean.size
    T = np.eye(d + 1)
    T[np.arange(d), np.arange(d)] = 1.0 / scale
    T[:d, d] = -mean / scale
    return T


def _capped(old, new, max_step):
    """``new``, moved back towards ``old`` so no entry changes by more than ``max_step``."""
    step = new - old
    big = float(np.max(np.abs(step))) if step.size else 0.0
    if not np.isfinite(big):
        return old
    if big > max_step:
        step = step * (max_step / big)
    return old + step


class _GLMSetUpdater:
    """Poisson / binomial experts: a stochastic Newton step on averaged expansions.

    As for the softmax models (:class:`_MultinomialSurrogate`): each chunk's
    weighted negative log-likelihood per unit of weight is expanded to second
    order about the current coefficients, the expansions are averaged with
    the online-EM step sizes, and the coefficients minimise the average plus
    the ridge (``alpha`` per unit of weight, the batch objective's
    ``alpha * N`` divided by ``N``).
    """

    max_step = 5.0

    def __init__(self, eset):
        self.eset = eset
        self.H = None

    def start(self, X, y, W, wsum, ctx):
        s = self.eset
        if s.coef is None:  # fresh: the batch M-step on the first chunk
            s.fit(X, y, W)
        # One standardisation for the whole stream: the ridge (on
        # standardised slopes) is then one fixed function of the coefficients.
        self.mean, self.scale = _weighted_moments(X, W.sum(axis=1))
        self.T = _standardizer(self.mean, self.scale)
        self._finish(X, ctx)

    def step(self, X, y, W, wsum, gamma, ctx):
        s = self.eset
        d, K = s.coef.shape
        p = d + 1
        t = s._sufficient(y)
        theta = np.empty((K, p))
        theta[:, :d] = s.coef.T * self.scale
        theta[:, d] = s.intercept + self.mean @ s.coef
        with np.errstate(over="ignore", invalid="ignore"):
            mu, v = s._family().mean_var(X @ s.coef + s.intercept)
            R = W * (mu - t[:, None])
            Wv = W * v
        ok = np.all(np.isfinite(R), axis=0) & np.all(np.isfinite(Wv), axis=0)
        R[:, ~ok] = 0.0
        Wv[:, ~ok] = 0.0
        g = np.empty((p, K))
        g[:d] = X.T @ R
        g[d] = R.sum(axis=0)
        g = (self.T @ g / wsum).T
        H = weighted_linear_stats(X, np.zeros(X.shape[0]), np.ascontiguousarray(Wv))[0]
        H = np.einsum("ab,kbc,dc->kad", self.T, H, self.T) / wsum
        h = g - np.einsum("kab,kb->ka", H, theta)
        if self.H is None:
            self.H, self.h = H, h
        else:
            self.H = _mix(self.H, H, gamma)
            self.h = _mix(self.h, h, gamma)
        for k in np.flatnonzero(ok):
            M = self.H[k].copy()
            M[np.arange(d), np.arange(d)] += s.alpha[k]
            M[np.diag_indices(p)] += 1e-12 * (1.0 + np.trace(M) / p)
            try:
                new = linalg.solve(M, -self.h[k], assume_a="sym", check_finite=False)
            except (linalg.LinAlgError, ValueError):
                new = linalg.lstsq(M, -self.h[k], check_finite=False)[0]
            theta[k] = _capped(theta[k], new, self.max_step)
        s.coef = np.ascontiguousarray((theta[:, :d] / self.scale).T)
        s.intercept = theta[:, d] - self.mean @ s.coef
        self._finish(X, ctx)

    def _finish(self, X, ctx):
        self.eset.n_features = X.shape[1]
        self.eset._ridge = self.eset.alpha * ctx["n_seen"]
        self.eset._scale = self.scale


class _MultinomialSurrogate:
    """Running average of second-order expansions of a multinomial model's chunk loss.

    A softmax model (the gate, a logistic expert) has no finite sufficient
    statistics.  Online EM then averages, with the same step sizes, the
    quadratic expansion of each chunk's weighted cross-entropy (per unit of
    weight) about the parameters of its E-step: ``H_t`` and
    ``g_t - H_t theta_t``.  The new parameters minimise the averaged
    quadratic plus the penalty: a stochastic Newton step whose fixed point
    is a stationary point of the expected objective.  (Averaging the
    chunks' own optima instead is biased: on nearly separable chunks their
    coefficients are inflated.)  Parameters are in the model's standardised
    coordinates ``theta = [V; c]``, shape (n_features + 1, K).
    """

    # Largest change of a standardised coefficient in one step: early
    # expansions, taken far from the optimum, may be poor.
    max_step = 5.0

    def __init__(self, mean, scale):
        self.mean, self.scale = mean, scale
        self.T = _standardizer(mean, scale)
        self.H = None
        self.h = None

    def update(self, X, targets, w, wsum, V, c, gamma):
        d, K = V.shape
        p = d + 1
        coef, intercept = raw_coefficients(V, c, self.mean, self.scale)
        P = np.exp(softmax_log_proba(X, coef, intercept))
        s = targets.sum(axis=1)
        R = w[:, None] * (s[:, None] * P - targets)
        g = np.empty((p, K))
        g[:d] = X.T @ R
        g[d] = R.sum(axis=0)
        g = self.T @ g / wsum
        ws = w * s
        pairs = [(k, m) for k in range(K) for m in range(k, K)]
        Wp = np.empty((X.shape[0], len(pairs)))
        for j, (k, m) in enumerate(pairs):
            Wp[:, j] = ws * P[:, k] * ((1.0 if k == m else 0.0) - P[:, m])
        blocks = weighted_linear_stats(X, np.zeros(X.shape[0]), Wp)[0]
        H = np.empty((K * p, K * p))
        for j, (k, m) in enumerate(pairs):
            B = self.T @ blocks[j] @ self.T.T / wsum
            H[k * p : (k + 1) * p, m * p : (m + 1) * p] = B
            H[m * p : (m + 1) * p, k * p : (k + 1) * p] = B.T
        theta = np.vstack([V, c[None, :]]).T.ravel()  # expert-major: k * p + j
        h = g.T.ravel() - H @ theta
        if self.H is None:
            self.H, self.h = H, h
        else:
            self.H = _mix(self.H, H, gamma)
            self.h = _mix(self.h, h, gamma)

    def solve(self, V, c, alpha):
        """Minimiser of the averaged quadratic plus ``alpha/2 ||V||^2`` (per unit weight)."""
        d, K = V.shape
        p = d + 1
        M = self.H.copy()
        pen = np.full(p, alpha)
        pen[d] = 0.0
        M[np.diag_indices_from(M)] += np.tile(pen, K)
        # The softmax is invariant to adding one vector to every class's
        # parameters: the quadratic is flat along those directions.  A
        # penalty on the class mean of theta (zero at the solution, which is
        # centred) makes the system well conditioned without changing the
        # probabilities; otherwise rounding noise along the flat directions
        # could dominate the step (and its cap).
        lam = 1.0 + np.trace(M) / M.shape[0]
        M += np.kron(np.full((K, K), lam / K), np.eye(p))
        M[np.diag_indices_from(M)] += 1e-12 * lam
        try:
            theta = linalg.solve(M, -self.h, assume_a="sym", check_finite=False)
        except (linalg.LinAlgError, ValueError):
            theta = linalg.lstsq(M, -self.h, check_finite=False)[0]
        new = _capped(np.vstack([V, c[None, :]]), theta.reshape(K, p).T, self.max_step)
        c_new = new[d] - new[d].mean()
        return new[:d].copy(), c_new


def _one_hot(y, n_classes):
    T = np.zeros((y.shape[0], n_classes))
    T[np.arange(y.shape[0]), y] = 1.0
    return T


class _EstimatorSetUpdater:
    """Estimator experts, each by its own rule (statistics, stochastic step, partial_fit)."""

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
        self.linear = {}
        self.surrogates = {}

    # -- one expert ------------------------------------------------------- #
    def _logistic_start(self, k, est, X, y, w, ctx, fresh):
        C = self.n_classes
        if fresh or not hasattr(est, "_V"):
            mean, scale = ctx["moments"]
            V0, c0 = np.zeros((X.shape[1], C)), np.zeros(C)
            V, c, _, est.n_iter_ = fit_multinomial(
                X,
                ctx["targets"],
                w,
                alpha=est.alpha * ctx["wsum"] / ctx["n_seen"],
                mean=mean,
                scale=scale,
                V0=V0,
                c0=c0,
                max_iter=est.max_iter,
                tol=est.tol,
            )
        else:
            # Continue a batch fit: its classes may be a subset of the
            # mixture's; an unseen class starts well below the others.
            mean, scale = est._mean, est._scale
            cols = np.asarray(est.classes_).astype(np.intp)
            V = np.zeros((X.shape[1], C))
            c = np.full(C, float(np.min(est._c)) - 10.0)
            V[:, cols] = est._V
            c[cols] = est._c
        est._mean, est._scale = mean, scale
        self._logistic_set(est, V, c)

    def _logistic_set(self, est, V, c):
        est._V, est._c = V, c
        est.classes_ = np.arange(self.n_classes)
        est.coef_, est.intercept_ = raw_coefficients(V, c, est._mean, est._scale)
        est.n_features_in_ = V.shape[0]

    def _logistic_step(self, k, est, X, y, w, gamma, ctx):
        sur = self.surrogates.get(k)
        if sur is None:
            sur = self.surrogates[k] = _MultinomialSurrogate(est._mean, est._scale)
        sur.update(X, ctx["targets"], w, ctx["wsum"], est._V, est._c, gamma)
        V, c = sur.solve(est._V, est._c, est.alpha / ctx["n_seen"])
        self._logistic_set(est, V, c)

    def _partial_fit(self, est, X, y, w):
        if self.classifier:
            est.partial_fit(X, y, classes=np.arange(self.n_classes), sample_weight=w)
        else:
            est.partial_fit(X, y, sample_weight=w)

    def _linear_set(self, k, est, X):
        # A one-expert built-in set carries the statistics (see _StatsUpdater).
        one = self.linear[k].comp
        est.coef_ = one.coef[:, 0].copy()
        est.intercept_ = float(one.intercept[0])
        est.n_features_in_ = X.shape[1]

    # -- the set ---------------------------------------------------------- #
    def _context(self, X, y, W, wsum, ctx):
        if self.classifier and "logistic" in self.kinds:
            ctx["targets"] = _one_hot(y, self.n_classes)
        return ctx

    def start(self, X, y, W, wsum, ctx):
        fresh = ctx["fresh"]
        ctx = self._context(X, y, W, wsum, ctx)
        if fresh and "targets" in ctx:
            # One standardisation for the stream, from the first chunk (as
            # fit fixes it from the sample-weighted X).
            ctx["moments"] = feature_moments(X, W.sum(axis=1))
        for k, (kind, est) in enumerate(zip(self.kinds, self.eset.ests, strict=True)):
            w = np.ascontiguousarray(W[:, k])
            if kind == "linear":
                one = _LinearGaussianSet(1, est.alpha, self.var_floor or 0.0)
                self.linear[k] = _StatsUpdater(one, "experts")
                self.linear[k].start(X, y, np.ascontiguousarray(W[:, k : k + 1]), wsum, ctx)
                self._linear_set(k, est, X)
            elif kind == "logistic":
                self._logistic_start(k, est, X, y, w, ctx, fresh)
            elif fresh:
                self._partial_fit(est, X, y, w)
        if not self.classifier:
            num, mass = self._residual_stats(X, y, W, wsum)
            self.num, self.mass = num, mass
            self._variance()

    def step(self, X, y, W, wsum, gamma, ctx):
        ctx = self._context(X, y, W, wsum, ctx)
        for k, (kind, est) in enumerate(zip(self.kinds, self.eset.ests, strict=True)):
            w = np.ascontiguousarray(W[:, k])
            if kind == "linear":
                self.linear[k].step(X, y, np.ascontiguousarray(W[:, k : k + 1]), wsum, gamma, ctx)
                self._linear_set(k, est, X)
            elif kind == "logistic":
                self._logistic_step(k, est, X, y, w, gamma, ctx)
            else:
                self._partial_fit(est, X, y, w)
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


# --------------------------------------------------------------------------- #
# Gate updaters
# --------------------------------------------------------------------------- #
class _SoftmaxUpdater:
    """The softmax gate: a stochastic Newton step on averaged expansions (see _MultinomialSurrogate)."""

    def __init__(self, gate):
        self.gate = gate
        self.surrogate = None

    def start(self, X, resp, sw, wsum, ctx):
        if ctx["fresh"]:
            g = self.gate
            g._m_step(X, resp, sw)

    def step(self, X, resp, sw, wsum, gamma, ctx):
        g = self.gate
        if self.surrogate is None:
            self.surrogate = _MultinomialSurrogate(g._mean, g._scale)
        self.surrogate.update(X, resp, sw, wsum, g._V, g._c, gamma)
        # alpha is on the summed-loss scale: per unit of weight, alpha / N.
        g._V, g._c = self.surrogate.solve(g._V, g._c, g.alpha / ctx["n_seen"])
        g._sync()


def _gate_updater(gate):
    # Dispatch on the protocol: any gate with additive statistics runs
    # online unchanged; the softmax gate's iterative problem has its own
    # stochastic Newton step.
    if hasattr(gate, "row_stats"):
        return _StatsUpdater(gate, "gate")
    if type(gate) is SoftmaxGate:
        return _SoftmaxUpdater(gate)
    raise ValueError(
        f"partial_fit has no online M-step for the gate {type(gate).__name__}: it implements "
        "neither row_stats/m_step_from_stats nor the softmax gate's problem."
    )


def _expert_updater(est, eset):
    if hasattr(eset, "row_stats"):
        return _StatsUpdater(eset, "experts")
    if isinstance(eset, _GLMSet):
        return _GLMSetUpdater(eset)
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
    from sklearn.utils.multiclass import check_classification_targets

    check_classification_targets(y)
    classes = est.classes_
    idx = np.clip(np.searchsorted(classes, y), 0, len(classes) - 1)
    bad = classes[idx] != y
    if np.any(bad):
        raise ValueError(
            f"y contains labels {np.unique(np.asarray(y)[bad]).tolist()} that are not in classes "
            f"{classes.tolist()} (given on the first call to partial_fit, or seen in fit)."
        )
    return idx.astype(np.intp)


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
    X, y = validate_data(est, X, y, reset=fresh, dtype=np.float64, y_numeric=not est._is_classifier)
    # An all-zero chunk is a no-op for the stream, not an error.
    sw = _check_sample_weight(
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
        if X.shape[0] < n_experts:
            raise ValueError(
                f"The first chunk given to partial_fit needs n_samples >= n_experts, got "
                f"n_samples={X.shape[0]} and n_experts={n_experts}."
            )
        rng = np.random.RandomState(
            check_random_state(est.random_state).randint(np.iinfo(np.int32).max)
        )
        gate = est._make_gate()
        gate._initialize(est._gx(X), n_experts, sample_weight=sw)
        experts = est._make_expert_set(named, rng, None)
        resp = est._initial_resp(X, y_enc, sw, n_experts, rng)
    elif state is None:
        gate, experts = est.gate_, est._expert_set
        resp = est._e_step(X, y_enc, gate, experts)[0]
    if state is None:
        if not wsum > 0:
            return est  # nothing to learn from, and nothing to start statistics with
        state = _OnlineState(gate, experts, _gate_updater(gate), _expert_updater(est, experts))
        state.n_seen = wsum
        ctx = {"fresh": fresh, "n_seen": state.n_seen, "wsum": wsum}
        W = resp * sw[:, None]
        # Small matrices only: a multi-threaded BLAS would only add its
        # spin-up cost (large on a busy machine; see skmoe._threading).
        with blas_single_threaded():
            state.expert_updater.start(est._ex(X), y_enc, W, wsum, ctx)
            state.gate_updater.start(est._gx(X), resp, sw, wsum, ctx)
        est._online = state
        est.gate_ = gate
        est._expert_set = experts
        est.n_experts_ = experts.n_experts
    elif not wsum > 0:
        return est
    else:
        state.n_seen += wsum
    # One online-EM step on this chunk.
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
    est.experts_ = experts.estimators()
    est.n_iter_ = state.t
    est.converged_ = False
    est.lower_bound_ = state.history[-1]
    est.lower_bounds_ = np.asarray(state.history)
    est.n_reseeds_ = 0
    est._after_fit()
    return est
