"""Markov-switching mixtures of experts for time series.

A latent regime ``z_t`` follows a Markov chain and each regime is an expert:
``p(y_t | x_t, z_t = k) = p_k(y_t | x_t)`` (Hamilton 1989; Meila & Jordan
1996).  Transitions are homogeneous, or depend on the input through a
softmax per origin regime (the input-output HMM of Bengio & Frasconi 1995).
Fitted by EM on the log-space forward-backward kernel
(:func:`skmoe._kernels.forward_backward`), finished for the built-in
linear-Gaussian experts by a quasi-Newton polish of the exact likelihood.
"""

import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from .._docs import DocLinkMixin
from .._em import PREFIT_ITER, EMRun, screen_keep
from .._frame import frame_scale, variance_floor
from .._init import nearest_centre
from .._lazy import KMeans
from .._progress import PROGRESS
from .._threading import blas_single_threaded
from .._unchanged import fit_unchanged_on_error
from .._validation import (
    check_numeric,
    encode_labels,
    fit_labels,
    named_experts,
    resolve_features,
    validate_numeric_data,
)
from .._warn import warn_user
from ..exceptions import DegenerateExpertWarning
from ..experts import LinearExpert, LogisticExpert
from ..experts._sets import (
    _ClassifierSet,
    _LinearGaussianSet,
    _RegressorSet,
    is_builtin_linear,
)
from ._markov_fit import (
    EM_SWITCH_TOL,
    LinearGaussianPolish,
    LogisticPolish,
    RegimeChain,
    constrained_m_step,
    e_step,
    stationary_distribution,
    stationary_distributions,
)

# Markov switching re-seeds nothing (see ``_run``).
# The strategies a "portfolio" start cycles through, and the EM iterations
# of the time-ignoring mixture of the "mixture" start.
_PORTFOLIO = ("kmeans", "mixture", "random")
_MIXTURE_ITER = PREFIT_ITER


_NO_RESEED = np.empty(0, dtype=np.intp)


def _logistic_regimes(experts, fitted=False):
    """Whether every regime's expert is a built-in LogisticExpert (the classifier's polish).

    With ``fitted``, also that each was fitted on every class, in its fixed
    frame, so all share one parametrisation (``_V`` of shape (d, C)).
    """
    if not isinstance(experts, _ClassifierSet) or not all(
        type(e) is LogisticExpert for e in experts.ests
    ):
        return False
    if not fitted:
        return True
    C = experts.n_classes
    return all(
        hasattr(e, "_V")
        and e._V.shape[1] == C
        and np.array_equal(np.asarray(e.classes_), np.arange(C))
        for e in experts.ests
    )


def _local_frequencies(y, n_classes, window):
    """Centred moving averages (``window`` rows) of the one-hot labels ``y``."""
    onehot = np.zeros((y.shape[0], n_classes))
    onehot[np.arange(y.shape[0]), y] = 1.0
    c = np.cumsum(np.vstack([np.zeros((1, n_classes)), onehot]), axis=0)
    half = window // 2
    lo = np.clip(np.arange(y.shape[0]) - half, 0, y.shape[0])
    hi = np.clip(np.arange(y.shape[0]) + half + 1, 0, y.shape[0])
    return (c[hi] - c[lo]) / (hi - lo)[:, None]


def _check_lengths(lengths, n_samples, min_length=1):
    """Series boundaries from ``lengths`` (None: one series of all rows)."""
    if lengths is None:
        lengths = np.array([n_samples])
    else:
        arr = np.asarray(lengths)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(
                f"lengths must be a non-empty 1-D sequence of series lengths; got {lengths!r}."
            )
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        if arr.dtype.kind not in "iu":
            raise ValueError(f"lengths must hold integers; got dtype {arr.dtype}.")
        if np.any(arr < 1):
            raise ValueError(
                f"Every series needs at least one observation; lengths contains "
                f"{int(arr.min())} (series {int(np.argmin(arr))})."
            )
        if int(arr.sum()) != n_samples:
            raise ValueError(
                f"lengths sum to {int(arr.sum())} but X has {n_samples} rows; the series "
                "lengths must add up to the number of samples."
            )
        lengths = arr.astype(np.int64)
    short = np.flatnonzero(lengths < min_length)
    if short.size:
        s = int(short[0])
        raise ValueError(
            f"Each series needs at least n_regimes={min_length} observations to fit the "
            f"model; series {s} has n_samples={int(lengths[s])}."
        )
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


class _BaseMarkovSwitching(DocLinkMixin, BaseEstimator, metaclass=ABCMeta):
    """EM for a regime chain whose regimes are experts (shared machinery)."""

    _parameter_constraints: dict = {
        "experts": [None, HasMethods(["fit"]), list],
        "n_regimes": [Interval(Integral, 1, None, closed="left")],
        "transitions": [StrOptions({"homogeneous", "input"})],
        "start": [StrOptions({"learned", "steady-state"})],
        "expert_features": ["array-like", None],
        "transition_features": ["array-like", None],
        "transition_alpha": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_params": [StrOptions({"portfolio", "kmeans", "mixture", "random"})],
        "n_screen": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "screen_iter": [Interval(Integral, 1, None, closed="left")],
        "polish": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose", StrOptions({PROGRESS})],
    }

    _is_classifier = False
    # Documented in the API reference under skmoe (the "?" link's page).
    _doc_module = "skmoe"

    @abstractmethod
    def __init__(
        self,
        experts=None,
        *,
        n_regimes=2,
        transitions="homogeneous",
        start="learned",
        expert_features=None,
        transition_features=None,
        transition_alpha=1e-4,
        max_iter=200,
        tol=1e-6,
        n_init=1,
        init_params="portfolio",
        n_screen="auto",
        screen_iter=5,
        polish=True,
        random_state=None,
        verbose=0,
    ):
        self.experts = experts
        self.n_regimes = n_regimes
        self.transitions = transitions
        self.start = start
        self.expert_features = expert_features
        self.transition_features = transition_features
        self.transition_alpha = transition_alpha
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.init_params = init_params
        self.n_screen = n_screen
        self.screen_iter = screen_iter
        self.polish = polish
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ #
    # Hooks
    # ------------------------------------------------------------------ #
    @abstractmethod
    def _default_expert(self): ...

    @abstractmethod
    def _check_y(self, y):
        """Validate and encode y at fit time (sets target-related state)."""

    @abstractmethod
    def _encode_y(self, y):
        """Encode y for the scoring methods."""

    @abstractmethod
    def _make_expert_set(self, named, rng):
        """The private expert set of one restart."""

    @abstractmethod
    def _y_features(self, y):
        """Columns describing y for the k-means initialisation."""

    def _check_options(self, Xe, named):
        """Refuse option combinations the data or the experts cannot support (none here)."""

    def _constrain(self, experts, Xe, y, W, var_old):
        """Impose parameters shared across regimes after the experts' M-step (none here)."""

    def _polish_ties(self):
        """Shared parameters the polish keeps tied (keyword arguments of the polish)."""
        return {}

    # ------------------------------------------------------------------ #
    # Validation
    # ------------------------------------------------------------------ #
    def _named_experts(self):
        S = self.n_regimes
        n_listed = len(self.experts) if isinstance(self.experts, list) else S
        return named_experts(
            self.experts,
            S,
            self._default_expert,
            classifier=self._is_classifier,
            owner=type(self).__name__,
            prefix="regime",
            sample_weight_hint=(
                "the M-step refits each regime's expert with the smoothed regime "
                "probabilities as sample weights."
            ),
            n_required=S,
            count_message=(
                f"experts lists {n_listed} estimators but n_regimes={S}; give one expert per "
                "regime."
            ),
        )

    def _resolve(self, spec, param):
        if spec is not None and np.asarray(spec).size == 0:
            return np.empty(0, dtype=np.intp)
        return resolve_features(
            spec, param, self.n_features_in_, getattr(self, "feature_names_in_", None)
        )

    def _split(self, X):
        Xe = X if self._expert_cols is None else np.ascontiguousarray(X[:, self._expert_cols])
        if self._is_classifier and Xe.shape[1] == 0:
            # No expert features: each regime's expert is its class
            # frequencies, fitted as a classifier of one constant input
            # (scikit-learn estimators refuse zero columns); the constant's
            # coefficients are zero and not counted (_n_parameters).
            Xe = np.zeros((X.shape[0], 1))
        if self.transitions == "homogeneous":
            Xt = None
        elif self._transition_cols is None:
            Xt = X
        else:
            Xt = np.ascontiguousarray(X[:, self._transition_cols])
        return Xe, Xt

    def _fitted_without_X(self):
        return getattr(self, "_no_X", False)

    def _check_X(self, X, method="predict"):
        check_is_fitted(self)
        if self._fitted_without_X():
            # Fitted on y alone: rows carry no input, only their number.
            if X is None:
                raise ValueError(
                    f"This {type(self).__name__} was fitted without X; {method} needs the "
                    "number of rows, so pass X=np.empty((n_samples, 0)) (the methods that "
                    "take y accept X=None)."
                )
            shape = np.shape(X)
            if len(shape) != 2 or shape[1] != 0:
                raise ValueError(
                    f"This {type(self).__name__} was fitted without X (on y alone); X must be "
                    f"None or of shape (n_samples, 0); got an array of shape {shape}."
                )
            return np.empty((shape[0], 0))
        if X is None:
            raise ValueError(
                f"X is None, but this {type(self).__name__} was fitted on "
                f"{self.n_features_in_} feature(s); pass the same columns."
            )
        return validate_numeric_data(self, X, reset=False, dtype=np.float64)

    def _check_Xy(self, X, y, lengths):
        check_is_fitted(self)
        if y is None:
            raise ValueError("y is required (the observed series); got None.")
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if X is None and self._fitted_without_X():
            X = np.empty((y.shape[0] if y.ndim else 0, 0))
        else:
            X = self._check_X(X, method="this method")
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(f"y must have shape ({X.shape[0]},) to match X; got shape {y.shape}.")
        y = self._encode_y(y)
        bounds = _check_lengths(lengths, X.shape[0])
        return X, y, bounds

    def _validate_fit_data(self, X, y):
        """Validated ``(X, y)`` of ``fit``; ``X=None`` fits on y alone (no regressors)."""
        if y is None:
            # (scikit-learn's wording first: its common checks look for it.)
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None: "
                "fit needs the observed series (fit(X, y), or fit(None, y) / fit(y=y) for a "
                "model without regressors)."
            )
        if X is not None:
            self._no_X = False
            return validate_numeric_data(
                self, X, y, dtype=np.float64, y_numeric=not self._is_classifier
            )
        # No regressors: statsmodels' MarkovRegression(y, k_regimes) (switching
        # mean and variance), or regimes of class frequencies for the
        # classifier.  Nothing can select columns that do not exist.
        for param in ("expert_features", "transition_features"):
            spec = getattr(self, param)
            if spec is not None and np.asarray(spec).size:
                raise ValueError(
                    f"{param}={spec!r} selects columns of X, but fit was called with X=None; "
                    f"pass X or leave {param}=None."
                )
        if self.transitions != "homogeneous":
            raise ValueError(
                "transitions='input' needs transition features from X, but fit was called "
                "with X=None; pass X or use transitions='homogeneous'."
            )
        if self._is_classifier:
            y = column_or_1d(y, warn=True)
        else:
            check_numeric(y, "y", f"{type(self).__name__} needs a numeric target")
            y = column_or_1d(check_array(y, ensure_2d=False, dtype=np.float64), warn=True)
        if y.shape[0] == 0:
            raise ValueError("y is empty: fit needs at least one observation per regime.")
        self._no_X = True
        self.n_features_in_ = 0
        if hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return np.empty((y.shape[0], 0)), y

    # ------------------------------------------------------------------ #
    # Fit
    # ------------------------------------------------------------------ #
    @fit_unchanged_on_error
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X=None, y=None, lengths=None):
        """Fit the Markov-switching model by EM (and a quasi-Newton polish).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or None, default=None
            Inputs, rows in time order within each series.  None (``fit(None,
            y)`` or ``fit(y=y)``) fits a model without regressors: each
            regime is a constant (the regressor: switching mean and variance,
            statsmodels' ``MarkovRegression(y, k_regimes)``; the classifier:
            switching class frequencies).  The other methods then take
            ``X=None`` where they take ``y``, or an array of shape
            ``(n_samples, 0)``.
        y : array-like of shape (n_samples,)
            Targets: real values for the regressor, class labels for the
            classifier.
        lengths : array-like of int, default=None
            Lengths of consecutive independent series in ``X`` (they add up to
            ``n_samples``); None means one series.  Each series needs at least
            ``n_regimes`` observations.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        named = self._named_experts()
        X, y = self._validate_fit_data(X, y)
        y = self._check_y(y)
        bounds = _check_lengths(lengths, X.shape[0], min_length=self.n_regimes)
        if self._no_X:
            self._expert_cols = np.empty(0, dtype=np.intp)
            self._transition_cols = None
        else:
            self._expert_cols = self._resolve(self.expert_features, "expert_features")
            self._transition_cols = self._resolve(self.transition_features, "transition_features")
        if (
            self.transitions == "input"
            and self._transition_cols is not None
            and not self._transition_cols.size
        ):
            raise ValueError(
                "transition_features selects no column; use transitions='homogeneous'."
            )
        Xe, Xt = self._split(X)
        self._check_options(Xe, named)
        rng = check_random_state(self.random_state)
        strategies = self._start_strategies()
        seeds = rng.randint(np.iinfo(np.int32).max, size=len(strategies))
        # Small matrices only: a multi-threaded BLAS gains nothing here and
        # its spinning workers slow every call down on a busy machine.
        with blas_single_threaded():
            starts = [
                self._start(Xe, Xt, y, bounds, named, seed, init, strategy)
                for init, (seed, strategy) in enumerate(zip(seeds, strategies, strict=True))
            ]
            screening = len(starts) > self.n_init
            first = self.screen_iter if screening else self.max_iter
            for em, _ in starts:
                em.advance(first)
            if screening:
                # emEM: the n_init best short runs continue, ties to the earlier start.
                kept = screen_keep([em.objective for em, _ in starts], self.n_init)
                for i in sorted(set(range(len(starts))) - set(kept)):
                    starts[i][0].report.close()
            else:
                kept = list(range(len(starts)))
            runs = {i: self._finish(*starts[i], advance=self.max_iter) for i in kept}
        # First-best on ties, so the choice does not depend on run order.
        best = runs[max(kept, key=lambda i: (runs[i]["objective"], -i))]
        self._chain = best["chain"]
        self._expert_set = best["experts"]
        self.n_iter_ = best["n_iter"]
        self.n_polish_iter_ = best["n_polish_iter"]
        self.converged_ = best["converged"]
        self.lower_bound_ = best["lower_bound"]
        self.lower_bounds_ = best["lower_bounds"]
        # Every start's history, in start order (ConvergenceDisplay); a
        # screened-out start's ends after screen_iter iterations.
        self.lower_bounds_all_ = [
            runs[i]["lower_bounds"] if i in runs else np.asarray(starts[i][0].history)
            for i in range(len(starts))
        ]
        self.init_strategies_ = list(strategies)
        self._expose(Xt, bounds)
        n_frozen = getattr(self._expert_set, "n_frozen", 0)
        if n_frozen > 0:
            # As the mixtures: a frozen regime expert kept an earlier fit.
            warn_user(
                f"A regime's expert had (almost) no responsibility mass, or weights its own "
                f"fit refused (a single row or a single class), in {n_frozen} M-step(s) of "
                "the fit, and kept its previous fit (frozen); the data may not support this "
                "many regimes. Consider fewer regimes or more data.",
                DegenerateExpertWarning,
            )
        if not self.converged_:
            warn_user(
                f"Best of {len(seeds)} restart(s) did not converge after {self.n_iter_} EM "
                f"iterations and {self.n_polish_iter_} polish iterations. Try a larger "
                "max_iter or tol.",
                ConvergenceWarning,
            )
        return self

    def _start_strategies(self):
        """The strategy of every start (screened ones included)."""
        n_screen = 2 * self.n_init if self.n_screen == "auto" else self.n_screen
        n_starts = max(self.n_init, n_screen)
        if self.init_params == "portfolio":
            return [_PORTFOLIO[i % len(_PORTFOLIO)] for i in range(n_starts)]
        return [self.init_params] * n_starts

    def _initial_resp(self, Xe, y, named, rng, strategy):
        """Initial regime responsibilities (n, S) and hard labels of a start."""
        S = self.n_regimes
        if strategy != "mixture":
            labels = self._initial_labels(Xe, y, rng, strategy)
            resp = np.full((Xe.shape[0], S), 0.1 / S)
            resp[np.arange(Xe.shape[0]), labels] += 0.9
            return resp, labels
        # A mixture of the same experts, ignoring time: EM from the "random"
        # regimes with constant weights.
        resp, _ = self._initial_resp(Xe, y, named, rng, "random")
        experts = self._make_expert_set(named, rng)
        with np.errstate(divide="ignore"):
            for it in range(_MIXTURE_ITER):
                experts.fit(Xe, y, resp, iteration=it, init=0, rng=rng)
                mass = resp.sum(axis=0)
                L = self._log_emit(experts, Xe, y) + np.log(mass / mass.sum())
                L -= L.max(axis=1, keepdims=True)
                resp = np.exp(L)
                resp /= resp.sum(axis=1, keepdims=True)
        return resp, np.argmax(resp, axis=1).astype(np.intp)

    def _initial_labels(self, Xe, y, rng, strategy="kmeans"):
        S = self.n_regimes
        n = Xe.shape[0]
        if S == 1:
            return np.zeros(n, dtype=np.intp)
        Z = np.column_stack([Xe, self._y_features(y)])
        # Standardised columns (a constant one, whose spread is within 64
        # ulps of its centre, is only centred): k-means then sees the same
        # points whatever the units and offsets of the features and the target.
        mean = Z.mean(axis=0)
        Z = Z - mean
        Z /= frame_scale(mean, Z.std(axis=0))
        if self._is_classifier and not np.any(Z):
            # Nothing to cluster (no expert features, or constant ones): the
            # regimes differ only in their class frequencies, so cluster the
            # local class frequencies (a moving average of the one-hot labels;
            # windows may straddle two series, which only blurs a start).
            Z = _local_frequencies(y, len(self.classes_), max(5, min(50, n // (4 * S))))
        if strategy == "kmeans":
            with warnings.catch_warnings(), blas_single_threaded():
                warnings.simplefilter("ignore", ConvergenceWarning)
                km = KMeans(
                    n_clusters=S, n_init=1, random_state=rng.randint(np.iinfo(np.int32).max)
                )
                return km.fit(Z).labels_.astype(np.intp)
        centres = Z[rng.choice(n, size=S, replace=False)]
        return nearest_centre(Z, centres)

    def _log_emit(self, experts, Xe, y):
        return np.ascontiguousarray(experts.log_prob(Xe, y), dtype=np.float64)

    def _start(self, Xe, Xt, y, bounds, named, seed, init, strategy):
        """One start: ``(EMRun, state)``, EM on the shared loop (the chain plays
        the gate), paused before its first E-step; :meth:`_finish` completes it."""
        rng = np.random.RandomState(seed)
        S = self.n_regimes
        n = Xe.shape[0]
        resp, labels = self._initial_resp(Xe, y, named, rng, strategy)
        experts = self._make_expert_set(named, rng)
        experts.fit(Xe, y, resp, iteration=0, init=init, rng=rng)
        self._constrain(experts, Xe, y, resp, None)
        chain = RegimeChain(S, self.transitions, self.start, self.transition_alpha)
        chain.init(Xt, bounds, labels, rng, neutral=init == 0)
        can_polish = self.polish and (
            isinstance(experts, _LinearGaussianSet) or _logistic_regimes(experts)
        )
        # With the polish to follow, EM only has to reach its basin.
        switch_tol = max(self.tol, EM_SWITCH_TOL) if can_polish else self.tol
        state = {}

        def em_e_step():
            # Forward-backward; the objective is the penalised log-likelihood
            # per observation, which EM never decreases.
            post = e_step(chain, self._log_emit(experts, Xe, y), bounds, Xt)
            state["post"] = post
            # (The experts' own penalties too, as in the mixtures: the
            # logistic experts' ridge is part of what the M-step maximises.)
            state["objective"] = post["ll"] - chain.penalty() - experts.penalty()
            return state["objective"] / n

        def reseed():
            # A regime whose smoothed mass collapses stays a valid (if
            # improbable) state of the chain: nothing to re-seed.
            return _NO_RESEED

        def m_step(n_iter, dead):
            post = state["post"]
            var_old = getattr(experts, "variance", None)
            var_old = None if var_old is None else np.array(var_old, dtype=np.float64)
            experts.fit(Xe, y, post["gamma"], iteration=n_iter, init=init, rng=rng)
            self._constrain(experts, Xe, y, post["gamma"], var_old)
            chain.m_step(post, Xt, bounds)
            # The next E-step recomputes it: a paused run (screening) keeps
            # no per-row posteriors.
            del state["post"]

        def polish(report):
            # L-BFGS on the exact log-likelihood from where EM stopped.
            em_objective = state["objective"]
            if isinstance(experts, _LinearGaussianSet):
                polisher = LinearGaussianPolish(
                    chain, experts, Xe, y, Xt, bounds, **self._polish_ties()
                )
            elif _logistic_regimes(experts, fitted=True):
                polisher = LogisticPolish(chain, experts, Xe, y, Xt, bounds)
            else:
                # A regime's expert saw too few classes (or kept a frozen
                # fit): no common parametrisation, EM's answer stands.
                state["polish"] = None
                return
            res, gmax = polisher.run(max_iter=max(50, self.max_iter), gtol=1e-9)
            em_e_step()
            objective = state["objective"]
            # Converged: the optimiser stopped on its own criteria with a
            # small gradient, or EM itself had stalled below tol.
            state["polish"] = dict(
                n_iter=int(res.nit),
                converged=gmax < 1e-5 or abs(objective / n - em_objective / n) < self.tol,
            )
            report.write(
                f"[{type(self).__name__}] restart {init} polish: {int(res.nit)} L-BFGS "
                f"iterations, {polisher.n_evals} evaluations, mean log-likelihood "
                f"{objective / n:.12g}, max |gradient| {gmax:.2e} ({res.message})"
            )

        state["can_polish"] = can_polish
        state["n"] = n
        em = EMRun(
            self,
            init,
            chain,
            experts,
            em_e_step,
            reseed,
            m_step,
            tol=switch_tol,
            finish=polish if can_polish else None,
            release=lambda: state.pop("post", None),
        )
        return em, state

    def _finish(self, em, state, advance):
        """Run a start to convergence (and its polish); the run's summary."""
        run = em.advance(advance).result()
        n = state["n"]
        can_polish = state["can_polish"]
        run["chain"] = run.pop("gate")
        run["objective"] = state["objective"]
        run["n_polish_iter"] = 0
        if can_polish and state.get("polish") is not None:
            pol = state["polish"]
            run["lower_bounds"] = np.append(run["lower_bounds"], state["objective"] / n)
            run["lower_bound"] = state["objective"] / n
            run["n_polish_iter"] = pol["n_iter"]
            run["converged"] = pol["converged"]
        return run

    def _expose(self, Xt, bounds):
        ch = self._chain
        S = self.n_regimes
        self.experts_ = self._expert_set.estimators()
        if ch.transitions == "homogeneous":
            self.transition_matrix_ = np.exp(ch.log_A)
            self.transition_matrix_ /= self.transition_matrix_.sum(axis=1, keepdims=True)
        else:
            coef, intercept = ch.raw_transition_coef()
            self.transition_coef_ = coef
            self.transition_intercept_ = intercept
            rows = np.ones(Xt.shape[0], dtype=bool)
            rows[bounds[:-1]] = False
            if not rows.any():
                rows[:] = True
            A = np.exp(ch.log_trans_rows(Xt[rows]))
            self.transition_matrix_ = A.mean(axis=0)
        if ch.start == "learned":
            self.start_proba_ = np.exp(ch.log_start)
        elif ch.transitions == "homogeneous":
            self.start_proba_ = stationary_distribution(self.transition_matrix_)
        else:
            self.start_proba_ = stationary_distributions(
                np.exp(ch.log_trans_rows(Xt[bounds[:-1]]))
            ).mean(axis=0)
        self.start_proba_ = self.start_proba_ / self.start_proba_.sum()
        self.n_regimes_ = S

    # ------------------------------------------------------------------ #
    # Inference
    # ------------------------------------------------------------------ #
    def _posterior(self, X, y, lengths):
        X, y, bounds = self._check_Xy(X, y, lengths)
        Xe, Xt = self._split(X)
        log_emit = self._log_emit(self._expert_set, Xe, y)
        post = e_step(self._chain, log_emit, bounds, Xt, want_alpha=True)
        post["log_emit"] = log_emit
        post["bounds"] = bounds
        post["Xt"] = Xt
        post["Xe"] = Xe
        return post

    @staticmethod
    def _filtered(post):
        la = post["log_alpha"]
        m = la.max(axis=1, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)
        p = np.exp(la - m)
        s = p.sum(axis=1, keepdims=True)
        S = la.shape[1]
        return np.where(s > 0, p / np.where(s > 0, s, 1.0), 1.0 / S)

    def _predicted(self, post):
        filt = self._filtered(post)
        bounds = post["bounds"]
        out = np.empty_like(filt)
        logA = post["logA"]
        A = np.exp(self._chain.log_A) if logA is None else None
        for s in range(len(bounds) - 1):
            a, b = bounds[s], bounds[s + 1]
            out[a] = np.exp(post["log_start"][s])
            if b - a > 1:
                if A is not None:
                    out[a + 1 : b] = filt[a : b - 1] @ A
                else:
                    out[a + 1 : b] = np.einsum(
                        "ti,tij->tj", filt[a : b - 1], np.exp(logA[a + 1 : b])
                    )
        return out / out.sum(axis=1, keepdims=True)

    def filtered_regime_proba(self, X, y, lengths=None):
        """Filtered regime probabilities ``p(z_t | y_1..t, x_1..t)``.

        The forward pass: the regime at ``t`` given the series up to and
        including ``t``, what was known in real time (no look-ahead), unlike
        :meth:`smoothed_regime_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or None
            Inputs, rows in time order within each series; None for a model
            fitted without X.
        y : array-like of shape (n_samples,)
            Observed targets (labels among ``classes_`` for the classifier),
            aligned with the rows of X.
        lengths : array-like of int, default=None
            Lengths of consecutive independent series in X (they add up to
            ``n_samples``); None means one series.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_regimes)
            Probability of each regime at each row; the rows sum to one.
        """
        return self._filtered(self._posterior(X, y, lengths))

    def smoothed_regime_proba(self, X, y, lengths=None):
        """Smoothed regime probabilities ``p(z_t | y_1..T, x_1..T)`` (whole series).

        Forward-backward: the regime at ``t`` given the whole series, past
        and future, the best estimate after the fact (the E-step's weights).
        For real-time estimates use :meth:`filtered_regime_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or None
            Inputs, rows in time order within each series; None for a model
            fitted without X.
        y : array-like of shape (n_samples,)
            Observed targets (labels among ``classes_`` for the classifier),
            aligned with the rows of X.
        lengths : array-like of int, default=None
            Lengths of consecutive independent series in X (they add up to
            ``n_samples``); None means one series.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_regimes)
            Probability of each regime at each row; the rows sum to one.
        """
        return self._posterior(X, y, lengths)["gamma"]

    def predicted_regime_proba(self, X, y, lengths=None):
        """One-step-ahead regime probabilities ``p(z_t | y_1..t-1, x_1..t)``.

        The filtered probabilities of ``t - 1`` moved one step by the
        transition matrix (of ``x_t`` for input transitions): the regime
        forecast before ``y_t`` is seen, the weights of the one-step-ahead
        predictions.  The first row of each series gets the start
        distribution.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or None
            Inputs, rows in time order within each series; None for a model
            fitted without X.
        y : array-like of shape (n_samples,)
            Observed targets (labels among ``classes_`` for the
            classifier), aligned with the rows of X;
            ``y_t`` itself is not used for row ``t``.
        lengths : array-like of int, default=None
            Lengths of consecutive independent series in X (they add up to
            ``n_samples``); None means one series.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_regimes)
            Probability of each regime at each row; the rows sum to one.
        """
        return self._predicted(self._posterior(X, y, lengths))

    def log_likelihood(self, X, y, lengths=None):
        """Per-observation predictive log-density ``log p(y_t | y_1..t-1, x_1..t)``.

        By the chain rule these add up, within each series, to the series'
        log-likelihood, so ``log_likelihood(X, y, lengths).sum()`` is the
        log-likelihood of the data (statsmodels' ``llf``; the array is its
        ``llf_obs``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or None
            Inputs, rows in time order within each series; None for a model
            fitted without X.
        y : array-like of shape (n_samples,)
            Observed targets (labels among ``classes_`` for the classifier),
            aligned with the rows of X.
        lengths : array-like of int, default=None
            Lengths of consecutive independent series in X (they add up to
            ``n_samples``); None means one series.

        Returns
        -------
        log_lik : ndarray of shape (n_samples,)
            Log-likelihood of each observation given the past of its series
            (natural logarithm; for the regressor a log-density, whose value
            depends on the units of ``y``).
        """
        post = self._posterior(X, y, lengths)
        # log sum_k p(z_t = k | past) p_k(y_t | x_t), row by row: as exact for
        # tiny densities as for large ones (no difference of running sums).
        with np.errstate(divide="ignore"):
            a = np.log(self._predicted(post)) + post["log_emit"]
        m = a.max(axis=1)
        finite = np.isfinite(m)
        out = np.full(a.shape[0], -np.inf)
        out[finite] = m[finite] + np.log(np.exp(a[finite] - m[finite, None]).sum(axis=1))
        return out

    def llf(self, X, y, lengths=None):
        """Log-likelihood of the data, a scalar: statsmodels' ``llf``.

        The sum of :meth:`log_likelihood` (statsmodels' ``llf_obs``) over
        all rows of all series, as a Python float.  On the training data it
        is the ``llf`` that the regressor's ``summary`` reports.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or None
            Inputs, rows in time order within each series; None for a model
            fitted without X.
        y : array-like of shape (n_samples,)
            Observed targets, aligned with the rows of X.
        lengths : array-like of int, default=None
            Lengths of consecutive independent series in X (they add up to
            ``n_samples``); None means one series.

        Returns
        -------
        llf : float
            ``log_likelihood(X, y, lengths).sum()`` (natural logarithm).

        See Also
        --------
        log_likelihood : The same, one value per observation.
        """
        return float(np.sum(self.log_likelihood(X, y, lengths)))

    def predict_transition_matrix(self, X):
        """Transition matrices ``P(z_t = j | z_{t-1} = i, x_t)`` for every row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs; row ``t`` governs the move from ``t - 1`` to ``t``.  Only
            the columns of ``transition_features`` are read, and none for
            homogeneous transitions.

        Returns
        -------
        A : ndarray of shape (n_samples, n_regimes, n_regimes)
            ``A[t, i, j] = P(z_t = j | z_{t-1} = i, x_t)``, row-stochastic;
            the same matrix, ``transition_matrix_``, on every row for
            homogeneous transitions.
        """
        X = self._check_X(X)
        _, Xt = self._split(X)
        if Xt is None:
            return np.broadcast_to(
                self.transition_matrix_, (X.shape[0],) + self.transition_matrix_.shape
            ).copy()
        return np.exp(self._chain.log_trans_rows(Xt))

    def _stationary_rows(self, X):
        """Long-run regime probabilities of each row (no observed history)."""
        if self.transitions == "homogeneous":
            pi = stationary_distribution(self.transition_matrix_)
            return np.broadcast_to(pi, (X.shape[0], self.n_regimes))
        _, Xt = self._split(X)
        return stationary_distributions(np.exp(self._chain.log_trans_rows(Xt)))

    def _n_parameters(self):
        d_t = self.transition_coef_.shape[1] if self.transitions == "input" else 0
        n = self._chain.n_parameters(d_t) + self._expert_set.n_parameters()
        if self._is_classifier and self._expert_cols is not None and not self._expert_cols.size:
            # The constant input's coefficients (see _split) are not free.
            n -= self.n_regimes * (len(self.classes_) - 1)
        return n

    def bic(self, X, y, lengths=None):
        """Bayesian information criterion ``-2 log L + p log n`` (lower is better).

        ``log L`` is the log-likelihood of the series, the sum of
        :meth:`log_likelihood`; ``n`` is the number of observations (all
        series together) and ``p`` the number of free parameters of the
        chain (start and transition probabilities, or transition
        coefficients) and of the experts (with the regressor's noise
        variances).  It trades the fit against the size of the model, to
        choose, say, the number of regimes among models fitted to the same
        series; its ``log n`` penalty favours smaller models than
        :meth:`aic`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or None
            Inputs, rows in time order within each series; None for a model
            fitted without X.
        y : array-like of shape (n_samples,)
            Observed targets (labels among ``classes_`` for the classifier),
            aligned with the rows of X.
        lengths : array-like of int, default=None
            Lengths of consecutive independent series in X (they add up to
            ``n_samples``); None means one series.

        Returns
        -------
        bic : float
            The criterion, on the scale of ``-2`` times a log-likelihood.
        """
        ll = self.log_likelihood(X, y, lengths)
        return float(-2.0 * ll.sum() + self._n_parameters() * np.log(ll.shape[0]))

    def aic(self, X, y, lengths=None):
        """Akaike information criterion ``-2 log L + 2 p`` (lower is better).

        ``log L`` and ``p`` as in :meth:`bic`.  Its penalty of 2 per
        parameter, smaller than BIC's ``log n`` once ``n > 7``, aims at
        prediction rather than at the true number of regimes, so it tends to
        choose larger models.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or None
            Inputs, rows in time order within each series; None for a model
            fitted without X.
        y : array-like of shape (n_samples,)
            Observed targets (labels among ``classes_`` for the classifier),
            aligned with the rows of X.
        lengths : array-like of int, default=None
            Lengths of consecutive independent series in X (they add up to
            ``n_samples``); None means one series.

        Returns
        -------
        aic : float
            The criterion, on the scale of ``-2`` times a log-likelihood.
        """
        ll = self.log_likelihood(X, y, lengths)
        return float(-2.0 * ll.sum() + 2.0 * self._n_parameters())


_COMMON_DOC = """
    Parameters
    ----------
    experts : None, estimator or list of (str, estimator), default=None
        The regimes' experts.  ``None``: the built-in {builtin}.  An
        estimator is cloned ``n_regimes`` times; a list gives one
        ``(name, estimator)`` per regime.  Experts must accept
        ``sample_weight`` in ``fit``: the M-step refits expert ``k`` on every
        row weighted by the smoothed probability of regime ``k``.
    n_regimes : int, default=2
        Number of regimes (states of the Markov chain).
    transitions : {{"homogeneous", "input"}}, default="homogeneous"
        ``"homogeneous"``: one transition matrix.  ``"input"``: the row of
        origin regime ``i`` is ``softmax(x_t W_i + b_i)`` of the input of the
        arriving step (``x_t`` governs the move from ``t - 1`` to ``t``), fitted
        on the posterior transition probabilities by penalised multinomial
        regression.
    start : {{"learned", "steady-state"}}, default="learned"
        Distribution of the first regime of every series: estimated (from the
        first posteriors of all series), or the stationary distribution of the
        transition matrix (at the series' first row for input transitions),
        statsmodels' default.
    expert_features, transition_features : array-like of int, str or bool, default=None
        Columns of X the experts and the transitions see (indices, names of a
        DataFrame's columns, or a boolean mask); None means all.  An empty
        list gives experts that see no column (a regime-specific constant).
    transition_alpha : float, default=1e-4
        Ridge on the standardised transition slopes (``transitions="input"``),
        on the scale of a summed log-likelihood.
    max_iter : int, default=200
        Maximum EM iterations per restart.
    tol : float, default=1e-6
        Convergence tolerance on the change of the mean (per-observation)
        log-likelihood between EM iterations.  With the built-in experts
        EM hands over to the polish once the change is below
        ``max(tol, 1e-5)``.
    n_init : int, default=1
        EM runs carried to convergence (and polished); the best log-likelihood
        is kept.  The first start's transition prior has persistence 0.5,
        later ones a random persistence.
    init_params : {{"portfolio", "kmeans", "mixture", "random"}}, \
            default="portfolio"
        Initial regimes.  ``"kmeans"``: k-means on the standardised expert
        inputs (and the target, for the regressor: labels would make k-means
        give each regime one class).  ``"random"``: every row to the nearest
        of ``n_regimes`` random rows.  ``"mixture"``: a mixture of the same
        experts fitted ignoring time (20 EM iterations from the ``"random"``
        regimes), whose responsibilities start the regimes and whose labels
        start the transitions.  ``"portfolio"``: start ``i`` takes
        ``("kmeans", "mixture", "random")[i % 3]``, so restarts differ in
        kind, not only in seed.
    n_screen : int or "auto", default="auto"
        Starts screened: every start runs ``screen_iter`` EM iterations and
        the ``n_init`` best continue (emEM).  ``"auto"`` is ``2 * n_init``; a
        value at most ``n_init`` turns screening off.
    screen_iter : int, default=5
        EM iterations of a screened start.
    polish : bool, default=True
        With the built-in linear-Gaussian or logistic experts, finish EM with
        L-BFGS on the exact (penalised) log-likelihood (gradient by Fisher's
        identity): EM is slow when regimes overlap or switch often, the
        polish converges fast there, and EM's chain M-step ignores a
        steady-state start, which the polish maximises exactly.  Ignored for
        other experts.
{variance_floor}    random_state : int, RandomState instance or None, default=None
        Seeds the initial regimes (k-means or random rows), the initial
        persistence of every restart after the first and every unseeded
        expert; pass an int for reproducible fits.
    verbose : int or "progress", default=0
        ``1`` prints one summary line per restart (converged, stopped at
        ``max_iter`` or screened out, with its log-likelihood) and the
        polish's summary; ``2`` also prints the log-likelihood at every EM
        iteration.  ``"progress"`` shows a tqdm progress bar per restart
        with the log-likelihood and its change (``pip install
        "skmoe[progress]"``; without tqdm a line every 10 iterations and a
        one-time note).
"""


class MarkovSwitchingRegressor(RegressorMixin, _BaseMarkovSwitching):
    __doc__ = (
        """Markov-switching regression: each regime of a hidden Markov chain is an expert.

    ``y_t | z_t = k ~ N(f_k(x_t), sigma_k^2)`` with ``z_t`` a Markov chain
    (Hamilton 1989); with ``transitions="input"`` the chain's transition
    probabilities depend on ``x_t`` (an input-output HMM, Bengio & Frasconi
    1995).  Equivalent to statsmodels' ``MarkovRegression`` (and
    ``exog_tvtp`` for input transitions), with its ``switching_trend`` and
    ``switching_variance`` options under the same names; without X
    (``fit(None, y)``), ``MarkovRegression(y, k_regimes)``.
"""
        + _COMMON_DOC.format(
            builtin="linear-Gaussian expert (:class:`~skmoe.experts.LinearExpert`, solved in closed form)",
            variance_floor="""    variance_floor : float, default=1e-6
        Noise variances are kept above ``variance_floor * var(y)`` (in the
        units of ``y`` squared, so the floor follows the target's scale; a
        constant ``y`` gets the square of its resolution, 64 ulps of
        ``max|y|``).
    switching_trend : bool, default=True
        Whether each regime has its own intercept (statsmodels'
        ``switching_trend``).  False: one intercept, at ``x = 0``, shared by
        all regimes, whose slopes still switch (built-in linear experts
        only); the M-step solves the regimes' weighted least squares jointly
        and the polish keeps the intercepts tied.
    switching_variance : bool, default=True
        Whether each regime has its own noise variance (statsmodels'
        ``switching_variance``).  False: one variance shared by all regimes,
        pooled over the regimes' weighted residuals in the M-step.  With
        neither the trend nor the variance switching, the experts need
        features for the regimes to differ.
""",
        )
        + """
    Attributes
    ----------
    experts_ : list of estimators
        The fitted expert of each regime.
    noise_variance_ : ndarray of shape (n_regimes,)
    transition_matrix_ : ndarray of shape (n_regimes, n_regimes)
        Row-stochastic ``P(z_t = j | z_{t-1} = i)``; with input transitions
        the average of the fitted matrices over the training transitions.
    transition_coef_ : ndarray of shape (n_regimes, n_transition_features, n_regimes)
        Input transitions only: slopes of the softmax of each origin regime.
    transition_intercept_ : ndarray of shape (n_regimes, n_regimes)
        Input transitions only.
    start_proba_ : ndarray of shape (n_regimes,)
        Start distribution (learned, or the stationary one).
    n_iter_ : int
        EM iterations of the selected restart.
    n_polish_iter_ : int
        L-BFGS iterations of the polish (0 without it).
    converged_ : bool
    lower_bound_ : float
        Final mean log-likelihood per observation, minus the penalties per
        observation (the input transitions' ridge, and the ridge of experts
        that have one in their objective, as the logistic expert).
    lower_bounds_ : ndarray
        Its history (EM iterations, then the polished value).
    lower_bounds_all_ : list of ndarray
        ``lower_bounds_`` of every restart, in restart order; the selected
        one has the largest last value.  Plot them with
        :class:`~skmoe.inspection.ConvergenceDisplay`.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features,)

    See Also
    --------
    MarkovSwitchingClassifier : The same model for class labels.
    skmoe.MixtureOfExpertsRegressor : Independent (not Markov) regimes.

    Examples
    --------
    >>> import numpy as np
    >>> from skmoe import MarkovSwitchingRegressor
    >>> rng = np.random.RandomState(0)
    >>> z = (np.arange(300) // 50) % 2
    >>> X = rng.randn(300, 1)
    >>> y = np.where(z == 0, 2 * X[:, 0], -X[:, 0] + 3) + 0.3 * rng.randn(300)
    >>> ms = MarkovSwitchingRegressor(n_regimes=2, random_state=0).fit(X, y)
    >>> bool(np.all(np.diag(ms.transition_matrix_) > 0.95))  # persistent regimes
    True
    >>> ms.smoothed_regime_proba(X, y).shape
    (300, 2)
    """
    )

    _parameter_constraints = {
        **_BaseMarkovSwitching._parameter_constraints,
        "variance_floor": [Interval(Real, 0, None, closed="neither")],
        "switching_trend": ["boolean"],
        "switching_variance": ["boolean"],
    }

    def __init__(
        self,
        experts=None,
        *,
        n_regimes=2,
        transitions="homogeneous",
        start="learned",
        expert_features=None,
        transition_features=None,
        transition_alpha=1e-4,
        max_iter=200,
        tol=1e-6,
        n_init=1,
        init_params="portfolio",
        n_screen="auto",
        screen_iter=5,
        polish=True,
        variance_floor=1e-6,
        switching_trend=True,
        switching_variance=True,
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            experts,
            n_regimes=n_regimes,
            transitions=transitions,
            start=start,
            expert_features=expert_features,
            transition_features=transition_features,
            transition_alpha=transition_alpha,
            max_iter=max_iter,
            tol=tol,
            n_init=n_init,
            init_params=init_params,
            n_screen=n_screen,
            screen_iter=screen_iter,
            polish=polish,
            random_state=random_state,
            verbose=verbose,
        )
        self.variance_floor = variance_floor
        self.switching_trend = switching_trend
        self.switching_variance = switching_variance

    def _default_expert(self):
        return LinearExpert()

    def _check_options(self, Xe, named):
        if not self.switching_trend and not isinstance(
            self._make_expert_set(named, np.random.RandomState(0)), _LinearGaussianSet
        ):
            raise ValueError(
                "switching_trend=False (one intercept shared by all regimes) needs the built-in "
                "linear-Gaussian experts (experts=None or LinearExpert, one alpha); got "
                f"experts={self.experts!r}."
            )
        if (
            self.n_regimes > 1
            and Xe.shape[1] == 0
            and not self.switching_trend
            and not self.switching_variance
        ):
            raise ValueError(
                "With no expert features, switching_trend=False and switching_variance=False "
                "leave nothing that differs between regimes (the regimes are not identified); "
                "let the mean or the variance switch, or give the experts features."
            )

    def _constrain(self, experts, Xe, y, W, var_old):
        if self.switching_trend and self.switching_variance:
            return
        constrained_m_step(
            experts, Xe, y, W, var_old, self.switching_trend, self.switching_variance
        )

    def _polish_ties(self):
        return dict(
            tie_intercept=not self.switching_trend, tie_variance=not self.switching_variance
        )

    def _n_parameters(self):
        # A shared intercept or variance is one parameter, not n_regimes.
        n = super()._n_parameters()
        shared = (not self.switching_trend) + (not self.switching_variance)
        return n - shared * (self.n_regimes - 1)

    def _check_y(self, y):
        y = np.asarray(y, dtype=np.float64)
        # variance_floor * var(y), in the units of y squared; a constant y
        # gets the square of its resolution (64 ulps of its value).
        self._var_floor = variance_floor(self.variance_floor, float(np.var(y)), float(y.mean()))
        return y

    def _encode_y(self, y):
        check_numeric(y, "y", f"{type(self).__name__} needs a numeric target")
        try:
            y = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"y must be numeric; got dtype {np.asarray(y).dtype}.") from None
        if not np.all(np.isfinite(y)):
            raise ValueError("Input y contains NaN or infinity.")
        return y

    def _y_features(self, y):
        return y[:, None]

    def _make_expert_set(self, named, rng):
        ests = [est for _, est in named]
        if all(is_builtin_linear(e) for e in ests) and len({e.alpha for e in ests}) == 1:
            return _LinearGaussianSet(len(named), ests[0].alpha, self._var_floor)
        return _RegressorSet(named, "weighted", None, rng, self._var_floor)

    def _expose(self, Xt, bounds):
        super()._expose(Xt, bounds)
        self.noise_variance_ = np.asarray(self._expert_set.variance, dtype=np.float64).copy()

    def summary(self, X, y, lengths=None, alpha=0.05, cov_type="observed"):
        """Report the estimates with standard errors, tests and intervals.

        For each regime: the slopes on the expert features and the
        intercept (``const``), in the units of ``X`` and ``y`` and named
        after the features, and the noise variance ``sigma2``; then the
        transition probabilities ``p[i->j] = P(z_t = j | z_{t-1} = i)`` for
        ``j < n_regimes - 1`` (the last column is one minus the others) and,
        with ``start="learned"``, the start probabilities but the last.  The
        names and the parametrisation are statsmodels' ``MarkovRegression``:
        with ``switching_trend=False`` or ``switching_variance=False`` the
        shared intercept or variance is one parameter, ``const`` or
        ``sigma2``, in a table of its own.  The header has the
        log-likelihood, AIC, BIC and HQIC.

        The covariance is the inverse of the observed information of the
        exact log-likelihood in these parameters: a central-difference
        Hessian of its analytic gradient (Fisher's identity, the gradient of
        the polish), as statsmodels' ``cov_type="approx"``.  With
        ``cov_type="robust"`` it is the sandwich ``H^-1 J H^-1`` (``H`` that
        information, ``J`` the sum of the outer products of the per-step
        scores of ``log p(y_t | y_1..t-1)``, by central differences of the
        forward filter's normalisers), as statsmodels'
        ``cov_type="robust"``.  The header's ``Covariance type`` and the
        notes say which.  Pass the training data: the formula assumes the
        estimate maximises the likelihood on them.  Available for the
        built-in linear-Gaussian experts with ``transitions="homogeneous"``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or None
            Training inputs, rows in time order within each series; None for
            a model fitted without X.
        y : array-like of shape (n_samples,)
            Training targets.
        lengths : array-like of int, default=None
            Lengths of the training series (as in ``fit``).
        alpha : float, default=0.05
            The intervals shown have coverage ``1 - alpha``.
        cov_type : {"observed", "robust"}, default="observed"
            ``"observed"``: the inverse observed information.
            ``"robust"``: the sandwich ``H^-1 J H^-1`` (``H`` the observed
            information, ``J`` the sum of the per-step score outer products,
            every series' steps), valid when the model is misspecified.

        Returns
        -------
        results : SummaryResults
            ``print(results)`` shows the tables, ``results.to_frame()`` gives
            pandas; ``params``, ``bse``, ``conf_int()``, ``cov_params()``,
            ``llf``, ``nobs``, ``aic``, ``bic``, ``hqic`` as in statsmodels,
            ``expected_durations`` (``1 / (1 - p[k->k])``, in rows) and
            ``cov_type``.

        Raises
        ------
        NotImplementedError
            For input-dependent transitions or experts other than the
            built-in linear-Gaussian one.
        ValueError
            For a bad ``alpha`` or ``cov_type``.
        """
        from .._inference import check_cov_type
        from .._summary import SummaryResults
        from ._markov_inference import check_summary_alpha, markov_summary_parts

        alpha = check_summary_alpha(alpha)
        check_cov_type(cov_type)
        X, y, bounds = self._check_Xy(X, y, lengths)
        parts = markov_summary_parts(self, X, y, bounds, cov_type)
        return SummaryResults(type(self).__name__, alpha=alpha, **parts)

    def score(self, X, y, sample_weight=None):
        """Coefficient of determination of :meth:`predict` (scikit-learn's ``score``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or None
            Inputs; None (or shape ``(n_samples, 0)``) for a model fitted
            without X.
        y : array-like of shape (n_samples,)
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in the score.

        Returns
        -------
        score : float
            ``R^2`` of the long-run predictions (no observed history).
        """
        if X is None and self._fitted_without_X():
            X = np.empty((np.shape(y)[0], 0))
        return super().score(X, y, sample_weight=sample_weight)

    def predict_regimes(self, X):
        """Each regime's prediction ``f_k(x)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples; each row is predicted on its own.

        Returns
        -------
        pred : ndarray of shape (n_samples, n_regimes)
            Prediction of each regime's expert for each row, in the order of
            ``experts_``.
        """
        X = self._check_X(X)
        Xe, _ = self._split(X)
        return self._expert_set.predict(Xe)

    def predict(self, X):
        """Mean prediction with no observed history, from the long-run regime probabilities.

        The regimes' predictions weighted by the chain's stationary
        probabilities (of each row's transition matrix for input
        transitions): what is known of ``y`` at an ``x`` seen without its
        series, row by row and independent of the batch.  Use
        :meth:`predict_one_step` for forecasts that use the observed past of
        the series, usually far better when the regimes persist.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples; each row is predicted on its own.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted mean of each row.
        """
        X = self._check_X(X)
        Xe, _ = self._split(X)
        return np.sum(self._stationary_rows(X) * self._expert_set.predict(Xe), axis=1)

    def predict_one_step(self, X, y, lengths=None, return_std=False):
        """One-step-ahead predictive mean ``E[y_t | y_1..t-1, x_1..t]``.

        The regimes' predictions weighted by :meth:`predicted_regime_proba`:
        the forecast of ``y_t`` from the past of its series, as made in real
        time.  The first row of each series uses the start distribution.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or None
            Inputs, rows in time order within each series; None for a model
            fitted without X.
        y : array-like of shape (n_samples,)
            Observed targets; ``y_t`` itself is not used for row ``t``.
        lengths : array-like of int, default=None
            Lengths of consecutive independent series in X (they add up to
            ``n_samples``); None means one series.
        return_std : bool, default=False
            Also return the predictive standard deviation (of the Gaussian
            mixture over regimes).

        Returns
        -------
        mean : ndarray of shape (n_samples,)
            Predictive mean of each row.
        std : ndarray of shape (n_samples,)
            Predictive standard deviation of each row, in the units of ``y``
            (the spread of the regimes' means and their noise); returned only
            if ``return_std`` is True.

        Examples
        --------
        >>> import numpy as np
        >>> from skmoe import MarkovSwitchingRegressor
        >>> rng = np.random.RandomState(0)
        >>> z = (np.arange(300) // 50) % 2
        >>> X = rng.randn(300, 1)
        >>> y = np.where(z == 0, 2 * X[:, 0], -X[:, 0] + 3) + 0.3 * rng.randn(300)
        >>> ms = MarkovSwitchingRegressor(n_regimes=2, random_state=0).fit(X, y)
        >>> mean, std = ms.predict_one_step(X, y, return_std=True)
        >>> mse_past, mse_none = np.mean((y - mean) ** 2), np.mean((y - ms.predict(X)) ** 2)
        >>> bool(mse_past < mse_none)  # the past reveals the current regime
        True
        """
        post = self._posterior(X, y, lengths)
        pred = self._predicted(post)
        f = self._expert_set.predict(post["Xe"])
        mean = np.sum(pred * f, axis=1)
        if not return_std:
            return mean
        # About the mean (the law of total variance): E[y^2] - mean^2 would
        # cancel every digit of a small spread about a large level.
        dev = f - mean[:, None]
        spread = np.sum(pred * (dev * dev + np.asarray(self._expert_set.variance)[None, :]), axis=1)
        return mean, np.sqrt(spread)


class MarkovSwitchingClassifier(ClassifierMixin, _BaseMarkovSwitching):
    __doc__ = (
        """Markov-switching classification: each regime of a hidden Markov chain is a classifier.

    ``P(y_t = c | x_t, z_t = k) = p_k(c | x_t)`` with ``z_t`` a Markov chain
    (homogeneous, or input-dependent as in Bengio & Frasconi's input-output
    HMM); fitted by EM with the smoothed regime probabilities as sample
    weights of each regime's classifier.
"""
        + _COMMON_DOC.format(
            builtin="multinomial logistic expert (:class:`~skmoe.experts.LogisticExpert`)",
            variance_floor="",
        )
        + """
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    experts_ : list of estimators
    transition_matrix_ : ndarray of shape (n_regimes, n_regimes)
        Row-stochastic; with input transitions the average of the fitted
        matrices over the training transitions.
    transition_coef_, transition_intercept_ : ndarray
        Input transitions only (see :class:`MarkovSwitchingRegressor`).
    start_proba_ : ndarray of shape (n_regimes,)
    n_iter_ : int
    n_polish_iter_ : int
        L-BFGS iterations of the polish (0 without it: experts other than
        the built-in logistic one, or ``polish=False``).
    converged_ : bool
    lower_bound_ : float
    lower_bounds_ : ndarray
    lower_bounds_all_ : list of ndarray
        ``lower_bounds_`` of every restart, in restart order.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features,)

    See Also
    --------
    MarkovSwitchingRegressor : The same model for real targets.
    skmoe.MixtureOfExpertsClassifier : Independent (not Markov) regimes.

    Examples
    --------
    >>> import numpy as np
    >>> from skmoe import MarkovSwitchingClassifier
    >>> rng = np.random.RandomState(0)
    >>> z = (np.arange(300) // 50) % 2  # the regime switches every 50 steps
    >>> X = rng.randn(300, 1)
    >>> p = 1 / (1 + np.exp(-np.where(z == 0, 4, -4) * X[:, 0]))  # opposite slopes
    >>> y = (rng.rand(300) < p).astype(int)
    >>> ms = MarkovSwitchingClassifier(n_regimes=2, random_state=0).fit(X, y)
    >>> bool(np.all(np.diag(ms.transition_matrix_) > 0.95))  # persistent regimes
    True
    >>> proba = ms.predict_proba_one_step(X, y)  # the past labels reveal the regime
    >>> acc_past = np.mean(ms.classes_[proba.argmax(axis=1)] == y)
    >>> bool(acc_past > ms.score(X, y) + 0.2)  # x alone: the slopes cancel out
    True
    """
    )

    _is_classifier = True

    def __init__(
        self,
        experts=None,
        *,
        n_regimes=2,
        transitions="homogeneous",
        start="learned",
        expert_features=None,
        transition_features=None,
        transition_alpha=1e-4,
        max_iter=200,
        tol=1e-6,
        n_init=1,
        init_params="portfolio",
        n_screen="auto",
        screen_iter=5,
        polish=True,
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            experts,
            n_regimes=n_regimes,
            transitions=transitions,
            start=start,
            expert_features=expert_features,
            transition_features=transition_features,
            transition_alpha=transition_alpha,
            max_iter=max_iter,
            tol=tol,
            n_init=n_init,
            init_params=init_params,
            n_screen=n_screen,
            screen_iter=screen_iter,
            polish=polish,
            random_state=random_state,
            verbose=verbose,
        )

    def _default_expert(self):
        return LogisticExpert()

    def _check_y(self, y):
        self.classes_, codes = fit_labels(y, estimator=type(self).__name__)
        return codes

    def _encode_y(self, y):
        return encode_labels(y, self.classes_)

    def _y_features(self, y):
        # As in MixtureOfExpertsClassifier: cluster on X alone.
        return np.empty((y.shape[0], 0))

    def _make_expert_set(self, named, rng):
        return _ClassifierSet(named, "weighted", None, rng, len(self.classes_))

    def summary(self, X, y, lengths=None, alpha=0.05, cov_type="observed"):
        """Report the estimates with standard errors, tests and intervals.

        For each regime ``k`` and each class ``c`` but the first: the logit
        contrast ``log(p(c) / p(classes_[0]))`` of regime ``k``'s expert, its
        slopes on the expert features (in their units, named after them)
        and its intercept (``const``), named ``feature[k, c]``; then the
        transition probabilities ``p[i->j] = P(z_t = j | z_{t-1} = i)`` for
        ``j < n_regimes - 1`` (the last column is one minus the others) and,
        with ``start="learned"``, the start probabilities but the last.  The
        header has the log-likelihood, AIC, BIC and HQIC (statsmodels'
        definitions) and ``expected_durations`` the mean time spent in each
        regime, ``1 / (1 - p[k->k])`` rows.

        The covariance is the inverse of the observed information of the
        exact log-likelihood (forward algorithm) in these parameters: a
        central-difference Hessian of its analytic score (Fisher's
        identity).  The experts' ridge penalty (``LogisticExpert.alpha``,
        on standardised slopes) is part of what EM maximises, so the
        information is that of the penalised log-likelihood, and the notes
        say the covariance is of the penalised estimate; fit with
        ``LogisticExpert(alpha=0)`` for the plain maximum likelihood
        estimate.  With ``cov_type="robust"`` it is the sandwich
        ``H^-1 J H^-1`` (``H`` that information, ``J`` the sum of the outer
        products of the per-step scores of the unpenalised
        ``log p(y_t | y_1..t-1)``, by central differences of the forward
        filter's normalisers); the header's ``Covariance type`` and the
        notes say which.  Pass the training data: the formula assumes the
        estimate maximises the objective on them.  Available for the
        built-in logistic experts with ``transitions="homogeneous"``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or None
            Training inputs, rows in time order within each series; None for
            a model fitted without X.
        y : array-like of shape (n_samples,)
            Training labels, among ``classes_``.
        lengths : array-like of int, default=None
            Lengths of the training series (as in ``fit``).
        alpha : float, default=0.05
            The intervals shown have coverage ``1 - alpha``.
        cov_type : {"observed", "robust"}, default="observed"
            ``"observed"``: the inverse observed information.
            ``"robust"``: the sandwich ``H^-1 J H^-1`` (``H`` the observed
            information, ``J`` the sum of the per-step score outer products,
            every series' steps), valid when the model is misspecified.

        Returns
        -------
        results : SummaryResults
            ``print(results)`` shows the tables, ``results.to_frame()`` gives
            pandas; ``params``, ``bse``, ``conf_int()``, ``cov_params()``,
            ``llf``, ``nobs``, ``aic``, ``bic``, ``hqic`` as in statsmodels,
            ``expected_durations`` and ``cov_type``.

        Raises
        ------
        NotImplementedError
            For input-dependent transitions, experts other than the built-in
            logistic one, or a regime whose expert did not model every class.
        ValueError
            For a bad ``alpha`` or ``cov_type``.

        Examples
        --------
        >>> import numpy as np
        >>> from skmoe import MarkovSwitchingClassifier
        >>> rng = np.random.RandomState(0)
        >>> z = (np.arange(400) // 50) % 2
        >>> X = rng.randn(400, 1)
        >>> p = 1 / (1 + np.exp(-np.where(z == 0, 3, -3) * X[:, 0]))
        >>> y = (rng.rand(400) < p).astype(int)
        >>> ms = MarkovSwitchingClassifier(start="steady-state", random_state=0).fit(X, y)
        >>> res = ms.summary(X, y)
        >>> res.param_names
        ['x0[0, 1]', 'const[0, 1]', 'x0[1, 1]', 'const[1, 1]', 'p[0->0]', 'p[1->0]']
        >>> bool(np.all(np.isfinite(res.bse)))
        True
        """
        from .._inference import check_cov_type
        from .._summary import SummaryResults
        from ._markov_inference import check_summary_alpha, markov_classifier_summary_parts

        alpha = check_summary_alpha(alpha)
        check_cov_type(cov_type)
        X, y_idx, bounds = self._check_Xy(X, y, lengths)
        parts = markov_classifier_summary_parts(self, X, y_idx, bounds, cov_type)
        return SummaryResults(type(self).__name__, alpha=alpha, **parts)

    def score(self, X, y, sample_weight=None):
        """Accuracy of :meth:`predict` (scikit-learn's ``score``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or None
            Inputs; None (or shape ``(n_samples, 0)``) for a model fitted
            without X.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in the score.

        Returns
        -------
        score : float
            Mean accuracy of the long-run predictions (no observed history).
        """
        if X is None and self._fitted_without_X():
            X = np.empty((np.shape(y)[0], 0))
        return super().score(X, y, sample_weight=sample_weight)

    def predict_regimes_proba(self, X):
        """Each regime's class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples; each row is predicted on its own.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_regimes, n_classes)
            Class probabilities of each regime's expert, regimes in the order
            of ``experts_`` and classes in that of ``classes_``.
        """
        X = self._check_X(X)
        Xe, _ = self._split(X)
        return self._expert_set.predict_proba(Xe)

    def predict_proba(self, X):
        """Class probabilities with no observed history, from the long-run regime probabilities.

        The regimes' class probabilities weighted by the chain's stationary
        probabilities (of each row's transition matrix for input
        transitions), row by row and independent of the batch.  Use
        :meth:`predict_proba_one_step` for forecasts that use the observed
        past labels of the series, usually far better when the regimes
        persist.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples; each row is predicted on its own.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities, columns in the order of ``classes_``.
        """
        X = self._check_X(X)
        Xe, _ = self._split(X)
        w = self._stationary_rows(X)
        return np.einsum("nk,nkc->nc", w, self._expert_set.predict_proba(Xe))

    def predict(self, X):
        """Most probable class under :meth:`predict_proba`.

        With no observed history: see :meth:`predict_proba_one_step` for
        forecasts from the past of the series.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples; each row is predicted on its own.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted class labels.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def predict_proba_one_step(self, X, y, lengths=None):
        """One-step-ahead class probabilities ``P(y_t | y_1..t-1, x_1..t)``.

        The regimes' class probabilities weighted by
        :meth:`predicted_regime_proba`: the forecast of ``y_t`` from the past
        of its series, as made in real time.  The first row of each series
        uses the start distribution.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or None
            Inputs, rows in time order within each series; None for a model
            fitted without X.
        y : array-like of shape (n_samples,)
            Observed labels, among ``classes_``; ``y_t`` itself is not used
            for row ``t``.
        lengths : array-like of int, default=None
            Lengths of consecutive independent series in X (they add up to
            ``n_samples``); None means one series.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities, columns in the order of ``classes_``.
        """
        post = self._posterior(X, y, lengths)
        pred = self._predicted(post)
        return np.einsum("nk,nkc->nc", pred, self._expert_set.predict_proba(post["Xe"]))
