"""Expert sets: how K experts become ``log p_k(y|x)`` plus a weighted refit.

The EM driver never talks to individual estimators.  It talks to one expert
set, which owns K experts and implements

``fit(X, y, W, iteration)``
    the M-step with per-expert weights ``W[:, k] = r_ik * sample_weight_i``;
``log_prob(X, y)``
    ``log p_k(y_i | x_i)``, shape (n_samples, n_experts);
``n_parameters()``
    free parameters, for BIC and AIC;
``estimators()``
    the fitted estimators exposed as ``experts_``.

The built-in linear-Gaussian set solves all K experts from one pass of
sufficient statistics; the estimator sets wrap arbitrary scikit-learn
estimators.
"""

import copy

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone

from .._frame import frame_inverse_scale, frame_scale, moments_first, moments_second
from .._kernels import gaussian_log_density, linear_sufficient_stats, log_proba_of_labels
from .._kernels._config import PROBA_FLOOR, THREAD_BLOCK_ROWS
from .._multinomial import (
    MultinomialSolverState,
    RowsMultinomialProblem,
    fit_multinomial_problem,
    multinomial_expansion,
    raw_coefficients,
    select_labels,
    solve_multinomial_expansion,
)
from .._rows import ThreadRows
from ..exceptions import ExpertFitError
from ._linear import (
    LinearExpert,
    linear_gaussian_log_prob,
    linear_predict,
    solve_weighted_linear,
)


def seed_estimator(est, rng):
    """Give an unseeded estimator a seed drawn from ``rng`` (in place).

    One source of randomness: every expert's seed derives from the mixture's
    ``random_state``, so results do not depend on ``n_jobs``.
    """
    params = est.get_params(deep=True)
    for key in sorted(params):
        if key == "random_state" or key.endswith("__random_state"):
            seed = int(rng.randint(np.iinfo(np.int32).max))
            if params[key] is None:
                est.set_params(**{key: seed})
    return est


def count_parameters(est, n_classes=None):
    """Free parameters of a fitted expert, for BIC / AIC.

    Linear models count their coefficients and intercepts (a multinomial
    model's redundant class is removed), trees count leaf values and split
    thresholds, Gaussian naive Bayes counts means, variances and priors.
    """
    name = type(est).__name__
    if hasattr(est, "_n_parameters"):  # estimators that count their own (HMM classifiers)
        return int(est._n_parameters())
    if hasattr(est, "coef_"):
        coef = np.atleast_2d(np.asarray(est.coef_))
        n_int = (
            np.size(getattr(est, "intercept_", 0.0))
            if np.any(getattr(est, "intercept_", 0.0))
            else 0
        )
        if n_classes is not None and n_classes > 2 and n_classes in coef.shape:
            n_feat = coef.size // n_classes
            return (n_feat + (1 if n_int else 0)) * (n_classes - 1)
        return int(coef.size + n_int)
    if hasattr(est, "tree_"):
        tree = est.tree_
        n_leaves = int(tree.n_leaves)
        per_leaf = 1 if n_classes is None else n_classes - 1
        return n_leaves * per_leaf + (int(tree.node_count) - n_leaves)
    if hasattr(est, "theta_") and hasattr(est, "var_"):
        return int(est.theta_.size + est.var_.size + len(est.classes_) - 1)
    raise ValueError(
        f"bic and aic need the number of free parameters of each expert, but {name} "
        "exposes none (no coef_, tree_ or theta_). Compare models by cross-validation "
        "(e.g. sklearn.model_selection.cross_val_score) instead."
    )


# An expert whose weight mass is below this fraction of one average row
# carries no information: it is frozen (keeps its previous fit) instead of
# being handed (near) zero weights, which most estimators refuse
# (DecisionTreeRegressor, SVR: "at least one non-zero") or fit to noise.
_FROZEN_MASS = 1e-9


def _fit_failed(exc, k, name, est, iteration, init):
    where = "initial M-step" if iteration == 0 else f"EM iteration {iteration}"
    return ExpertFitError(
        f"Expert {k} ({name!r}, {type(est).__name__}) raised in its fit during the "
        f"{where} (restart {init}): {type(exc).__name__}: {exc}"
    )


def _fit_one(est, X, y, weight, rows, k, name, iteration, init):
    try:
        if rows is None:
            est.fit(X, y, sample_weight=weight)
        else:
            est.fit(X[rows], y[rows])
    except Exception as exc:
        raise _fit_failed(exc, k, name, est, iteration, init) from exc
    return est


def _degenerate_weights(weight, y, classifier):
    """Whether an expert's weights are ones a plain estimator may refuse.

    Fewer than two rows of positive weight, or (classifier) one class only
    among them: SVC and LogisticRegression refuse a single class, although
    an expert that owns a pure region of one class is normal in a mixture.
    """
    pos = weight > 0
    if np.count_nonzero(pos) < 2:
        return True
    if not classifier:
        return False
    labels = y[pos]  # the encoded labels 0..C-1
    return labels.min() == labels.max()


def _fit_or_freeze(est, previous, X, y, weight, rows, k, name, iteration, init):
    """One expert's M-step, or ``previous`` when its fit refuses the weights.

    Returns ``(estimator, frozen)``.  ``previous`` is a copy of the expert's
    last fit, taken only when its weights are degenerate (see
    :func:`_degenerate_weights`); without it an error raises
    :class:`ExpertFitError`.
    """
    try:
        return _fit_one(est, X, y, weight, rows, k, name, iteration, init), False
    except ExpertFitError:
        if previous is None:
            raise
        return previous, True


def _linear_frame_first(block):
    w = block.W.sum(axis=1)
    wsum, sx = moments_first(block.ex, w)
    return wsum, sx, np.array([np.einsum("i,i->", w, block.y)])


def _linear_frame_second(block, mx, my):
    w = block.W.sum(axis=1)
    (ssx,) = moments_second(block.ex, w, mx)
    r = block.y - my
    return ssx, np.array([np.einsum("i,i,i->", w, r, r)])


class _LinearGaussianSet:
    """K built-in linear experts with Gaussian noise, solved together.

    Estimated from additive statistics (the component protocol of
    ``skmoe._rows``): ``prepare(rows)`` fixes the frame of the EM run (the
    weighted centres and spreads of the features and the target),
    ``row_stats(block)`` forms the K Gram matrices of one block of rows in
    that frame, ``m_step_from_stats(stats)`` solves the K centred ridge
    problems.  The slopes are penalised by ``alpha`` on standardised
    features (standardised by the training data's weighted spread), the
    intercepts are not.
    """

    def __init__(self, n_experts, alpha, var_floor):
        self.n_experts = n_experts
        self.alpha = alpha
        self.var_floor = var_floor

    # -- the component protocol ------------------------------------------- #
    def prepare(self, rows):
        """Fix the frame from the rows' weighted moments (once per EM run)."""
        wsum, sx, sy = rows.sum(_linear_frame_first)
        total = max(float(wsum[0]), np.finfo(float).tiny)
        mx, my = sx / total, float(sy[0]) / total
        ssx, ssy = rows.sum(_linear_frame_second, mx, my)
        sdx = np.sqrt(np.maximum(ssx / total, 0.0))
        # A column constant to its own precision carries nothing: dropped
        # from the frame (its slope is zero), not scaled up from rounding.
        inv = frame_inverse_scale(mx, sdx)
        sdy = np.sqrt(max(float(ssy[0]) / total, 0.0))
        y_scale = float(frame_scale(np.array([my]), np.array([sdy]))[0])
        self._frame = (mx, inv, my, 1.0 / y_scale)
        return self

    def row_stats(self, block):
        """The K Gram matrices of one block of rows, in the frame (additive)."""
        return linear_sufficient_stats(block.ex, block.y, block.W, *self._frame)

    def m_step_from_stats(self, stats):
        """The M-step from statistics summed over all rows (or averaged online)."""
        A, b, syy = stats
        mx, inv, my, y_inv_scale = self._frame
        d = A.shape[1] - 1
        # A ridge of alpha on every standardised slope (scale 1: the same
        # numbers as np.ones(d)).
        beta, rss, mass = solve_weighted_linear(A, b, syy, self.alpha, ridge_scale=1.0)
        y_scale = 1.0 / y_inv_scale
        self.coef = np.ascontiguousarray(beta[:, :-1].T * (inv * y_scale)[:, None])
        # The prediction at the centre, and the centre it refers to: the
        # mean is formed as (x - shift) . coef + intercept_c, exact far
        # from zero; ``intercept`` (at x = 0) is for display only.
        self.shift = mx.copy()
        self.intercept_c = beta[:, -1] * y_scale + my
        y_scale2 = y_scale**2
        if np.ndim(self.var_floor) == 0:
            # A few experts: the same IEEE operations on Python floats
            # (np.where / np.maximum / * below), no errstate to enter.
            var = [
                (r / max(m, 1e-300) if m > 0 else 0.0) * y_scale2
                for r, m in zip(rss.tolist(), mass.tolist(), strict=True)
            ]
            floor = float(self.var_floor)
            self.variance = np.array([v if not floor > v else floor for v in var])
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                var = np.where(mass > 0, rss / np.maximum(mass, 1e-300), 0.0) * y_scale2
            self.variance = np.maximum(var, self.var_floor)
        self.n_features = d
        return self

    @property
    def intercept(self):
        """Intercepts at ``x = 0`` (for display; predictions use the centre)."""
        return self.intercept_c - self.shift @ self.coef

    @intercept.setter
    def intercept(self, value):
        # Parameters set from outside (Markov switching's M-step) refer to x = 0.
        self.shift = np.zeros(self.coef.shape[0])
        self.intercept_c = np.asarray(value, dtype=np.float64)

    # -- the in-memory M-step ----------------------------------------------- #
    def fit(self, X, y, W, iteration=0, init=0, rng=None):
        if getattr(self, "_frame", None) is not None and X.shape[0] <= THREAD_BLOCK_ROWS:
            # One row block: its statistics are the sum (what rows.sum gives).
            return self.m_step_from_stats(linear_sufficient_stats(X, y, W, *self._frame))
        rows = ThreadRows(ex=X, y=y, W=W)
        if getattr(self, "_frame", None) is None:
            self.prepare(rows)
        return self.m_step_from_stats(rows.sum(self.row_stats))

    def predict(self, X):
        return linear_predict(X, self.coef, self.intercept_c, self.shift)

    def log_prob(self, X, y):
        return linear_gaussian_log_prob(
            X, y, self.coef, self.intercept_c, self.variance, self.shift
        )

    def _linear_gaussian(self):
        """``(coef, intercept, variance, shift)`` as :meth:`log_prob` uses them.

        The fused E-step's hook (``skmoe._fused``): expert ``k`` is
        ``N(y; (x - shift) . coef[:, k] + intercept[k], variance[k])``.
        """
        return (
            np.ascontiguousarray(self.coef, dtype=np.float64),
            np.asarray(self.intercept_c, dtype=np.float64),
            np.asarray(self.variance, dtype=np.float64),
            None if self.shift is None else np.asarray(self.shift, dtype=np.float64),
        )

    def n_parameters(self):
        return self.n_experts * (self.n_features + 2)

    def penalty(self):
        # The tiny ridge is numerical insurance, not part of the model.
        return 0.0

    def estimators(self):
        out = []
        for k in range(self.n_experts):
            est = LinearExpert(alpha=self.alpha)
            est.coef_ = self.coef[:, k].copy()
            est.intercept_ = float(self.intercept[k])
            est.n_features_in_ = self.n_features
            out.append(est)
        return out


class _EstimatorSet:
    """K arbitrary scikit-learn estimators refitted with sample weights.

    With ``m_step="stochastic"`` each expert is instead refitted on rows drawn
    with replacement in proportion to its weights (stochastic EM), which
    serves estimators whose ``fit`` has no ``sample_weight``.
    """

    def __init__(self, named_estimators, m_step, n_jobs, rng):
        self.names = [name for name, _ in named_estimators]
        self.ests = [seed_estimator(clone(est), rng) for _, est in named_estimators]
        for est in self.ests:
            # Warm starts make later M-steps cheap for iterative experts; it
            # never changes what a convex expert converges to.
            if "warm_start" in est.get_params(deep=False) and type(est).__module__.startswith(
                "skmoe"
            ):
                est.set_params(warm_start=True)
        self.n_experts = len(self.ests)
        self.m_step = m_step
        self.n_jobs = n_jobs
        self.rng = rng

    def _targets(self, y):
        return y

    _is_classifier = False

    def fit(self, X, y, W, iteration=0, init=0, rng=None):
        """The M-step of every expert; collapsed experts are frozen, not fitted.

        An expert whose weight mass is (nearly) zero keeps its previous fit
        (an expert that never had one is fitted on the rows' summed
        weights, all experts' mass pooled); one whose fit refuses its
        degenerate weights (one class, a single row) keeps its previous fit
        too.  ``n_frozen`` counts these M-steps, for the mixture's warning.
        """
        rng = self.rng if rng is None else rng
        targets = self._targets(y)
        n = X.shape[0]
        mass = W.sum(axis=0)
        # The total is positive (fit checks the sample weights).
        unit = max(float(mass.sum()) / n, np.finfo(float).tiny)
        fitted = getattr(self, "_fitted", [False] * self.n_experts)
        weights, rows, frozen = [], [None] * self.n_experts, [False] * self.n_experts
        for k in range(self.n_experts):
            w = np.ascontiguousarray(W[:, k])
            if not mass[k] > _FROZEN_MASS * unit:
                if fitted[k]:
                    frozen[k] = True
                else:
                    # Never fitted (no previous fit to keep): the pooled weights.
                    w = np.ascontiguousarray(W.sum(axis=1))
            weights.append(w)
        if self.m_step == "stochastic":
            # At least an equal share of the rows (drawn with replacement):
            # an expert with little mass still gets a sample that estimators
            # with a minimum size (k-neighbours, internal cross-validation)
            # accept, and never a draw from all-zero probabilities.
            floor = min(n, max(2, int(np.ceil(n / self.n_experts))))
            for k in range(self.n_experts):
                if frozen[k]:
                    continue
                p = weights[k] / weights[k].sum()
                m = max(int(round(weights[k].sum() / unit)), floor)
                rows[k] = np.sort(rng.choice(n, size=m, replace=True, p=p))
        previous = [None] * self.n_experts
        for k in range(self.n_experts):
            # A copy of the last fit, to fall back on, only where the fit
            # may refuse its weights (copying every expert would cost a
            # deep copy per M-step).
            if fitted[k] and not frozen[k]:
                w = weights[k] if rows[k] is None else np.bincount(rows[k], minlength=n)
                if _degenerate_weights(w, targets, self._is_classifier):
                    previous[k] = copy.deepcopy(self.ests[k])
        jobs = [
            delayed(_fit_or_freeze)(
                est,
                previous[k],
                X,
                targets,
                weights[k],
                rows[k],
                k,
                self.names[k],
                iteration,
                init,
            )
            for k, est in enumerate(self.ests)
            if not frozen[k]
        ]
        if self.n_jobs in (None, 1):
            out = [job[0](*job[1], **job[2]) for job in jobs]
        else:
            out = Parallel(n_jobs=self.n_jobs, prefer="threads")(jobs)
        done = iter(out)
        for k in range(self.n_experts):
            if not frozen[k]:
                self.ests[k], frozen[k] = next(done)
        self._fitted = [True] * self.n_experts
        self.n_frozen = getattr(self, "n_frozen", 0) + sum(frozen)
        self._after_fit(X, y, W)
        return self

    def _after_fit(self, X, y, W):
        pass

    def _call(self, k, method, X):
        """``self.ests[k].<method>(X)``, an error naming the expert.

        An expert whose own fit accepted the rows it was given may still
        refuse to predict (a k-neighbours expert resampled to fewer rows
        than ``n_neighbors``): say which expert, not only the estimator's
        message.
        """
        est = self.ests[k]
        try:
            return getattr(est, method)(X)
        except Exception as exc:
            raise ExpertFitError(
                f"Expert {k} ({self.names[k]!r}, {type(est).__name__}) raised in its "
                f"{method}: {type(exc).__name__}: {exc}"
            ) from exc

    def penalty(self):
        """Sum of the experts' own penalties, for experts that expose ``_penalty``."""
        return float(sum(est._penalty() for est in self.ests if hasattr(est, "_penalty")))

    def estimators(self):
        return list(self.ests)


class _RegressorSet(_EstimatorSet):
    """Estimator experts with a Gaussian noise variance each."""

    def __init__(self, named_estimators, m_step, n_jobs, rng, var_floor):
        super().__init__(named_estimators, m_step, n_jobs, rng)
        self.var_floor = var_floor

    def predict(self, X):
        return np.column_stack(
            [
                np.asarray(self._call(k, "predict", X), dtype=np.float64).ravel()
                for k in range(self.n_experts)
            ]
        )

    def _after_fit(self, X, y, W):
        # The noise variance always uses the exact weights, also in stochastic EM.
        resid2 = (y[:, None] - self.predict(X)) ** 2
        mass = W.sum(axis=0)
        var = np.einsum("ik,ik->k", W, resid2) / np.maximum(mass, 1e-300)
        var = np.where(np.isfinite(var), var, self.var_floor)
        self.variance = np.maximum(var, self.var_floor)

    def log_prob(self, X, y):
        return gaussian_log_density(y, self.predict(X), self.variance)

    def n_parameters(self):
        return sum(count_parameters(est) for est in self.ests) + self.n_experts


class _ClassifierSet(_EstimatorSet):
    """Estimator experts whose likelihood is ``predict_proba`` at the label."""

    _is_classifier = True

    def __init__(self, named_estimators, m_step, n_jobs, rng, n_classes):
        super().__init__(named_estimators, m_step, n_jobs, rng)
        self.n_classes = n_classes
        for name, est in zip(self.names, self.ests, strict=False):
            if not hasattr(est, "predict_proba"):
                raise ValueError(
                    f"Expert {name!r} ({type(est).__name__}) has no predict_proba; "
                    "classification experts must give class probabilities; wrap it in "
                    f"CalibratedClassifierCV({type(est).__name__}(), ensemble=False) "
                    "(SVC(probability=True) is deprecated since scikit-learn 1.9)."
                )

    def fit(self, X, y, W, iteration=0, init=0, rng=None):
        if iteration == 0:
            # LogisticExperts among other estimators: the standardisation of
            # their penalty is fixed once per EM run (from the sample-weighted
            # X), so the EM objective is one function at every M-step.
            from ._logistic import LogisticExpert

            frame = None
            for est in self.ests:
                if isinstance(est, LogisticExpert):
                    if frame is None:
                        frame = expert_feature_frame(ThreadRows(ex=X, W=W))[:2]
                    est._fixed_moments = frame
        super().fit(X, y, W, iteration, init, rng)
        return self

    def predict_proba(self, X):
        """Per-expert probabilities aligned to the mixture's classes, (n, K, C)."""
        n = X.shape[0]
        out = np.zeros((n, self.n_experts, self.n_classes))
        for k, est in enumerate(self.ests):
            p = np.asarray(self._call(k, "predict_proba", X), dtype=np.float64)
            cols = np.asarray(est.classes_).astype(np.intp)
            out[:, k, cols] = p
        return out

    def log_joint(self, X):
        """``log p_k(x, c)``, shape (n, K, C), when every expert is generative; else None.

        Generative experts (``_log_joint``: the HMM-sequence classifiers) model
        the input too: the E-step then uses ``log p_k(x_i, y_i)`` (a mixture of
        class-conditional models, whose weighted refit is the exact M-step)
        and the mixture's class posterior is ``∝ sum_k g_k p_k(x, c)``.
        """
        if not all(hasattr(est, "_log_joint") for est in self.ests):
            return None
        out = np.full((X.shape[0], self.n_experts, self.n_classes), -np.inf)
        for k, est in enumerate(self.ests):
            out[:, k, np.asarray(est.classes_).astype(np.intp)] = est._log_joint(X)
        return out

    def log_prob(self, X, y):
        n = X.shape[0]
        log_joint = self.log_joint(X)
        if log_joint is not None:
            return np.ascontiguousarray(log_joint[np.arange(n), :, y])
        out = np.empty((n, self.n_experts))
        for k, est in enumerate(self.ests):
            p = np.asarray(self._call(k, "predict_proba", X), dtype=np.float64)
            cols = np.asarray(est.classes_).astype(np.intp)
            full = np.zeros((n, self.n_classes))
            full[:, cols] = p
            out[:, k] = log_proba_of_labels(full, y, PROBA_FLOOR)
        return out

    def n_parameters(self):
        return sum(count_parameters(est, self.n_classes) for est in self.ests)


def _expert_frame_first(block):
    return moments_first(block.ex, block.W.sum(axis=1))


def _expert_frame_second(block, mean):
    return moments_second(block.ex, block.W.sum(axis=1), mean)


def expert_feature_frame(rows):
    """Weighted centre and scale of each expert feature over ``rows`` (any row engine).

    The weights are ``W.sum(axis=1)``: the sample weights, since
    responsibilities sum to one over the experts.  Two ordered passes; a
    constant column gets scale 1 (:func:`skmoe._frame.frame_scale`).

    Returns
    -------
    mean, scale : ndarray of shape (n_features,)
    wsum : float
        The total weight.
    """
    wsum, s = rows.sum(_expert_frame_first)
    total = max(float(wsum[0]), np.finfo(float).tiny)
    mean = s / total
    (ss,) = rows.sum(_expert_frame_second, mean)
    return mean, frame_scale(mean, np.sqrt(np.maximum(ss / total, 0.0))), float(wsum[0])


def to_frame(V, c, old, new):
    """Standardised coefficients of one frame ``(mean, scale)`` expressed in another.

    The linear predictor ``((x - mean) / scale) @ V + c`` is unchanged; the
    identity when the frames are equal (as at every EM iteration).
    """
    (m0, s0), (m1, s1) = old, new
    if m0 is m1 and s0 is s1:
        return V, c
    return V * (s1 / s0)[:, None], c + ((m1 - m0) / s0) @ V


class _LogisticSet(_ClassifierSet):
    """K built-in :class:`LogisticExpert` experts, estimated on any row engine.

    The component protocol of an iterative problem (see ``skmoe._rows``):
    ``prepare(rows)`` fixes the frame of the EM run (the weighted centres and
    spreads of the expert features, so the penalty on standardised slopes
    is one function at every M-step); ``m_step_from_rows(rows)`` fits each
    expert's multinomial model, every loss and gradient being
    ``rows.sum(...)`` -- thread blocks in memory, Dask blocks on a cluster.
    Each expert keeps its quasi-Newton memory between M-steps (its Hessian
    does not depend on the weights' small changes), like the softmax gate.
    """

    def __init__(self, named_estimators, m_step, n_jobs, rng, n_classes):
        super().__init__(named_estimators, m_step, n_jobs, rng, n_classes)
        self._frame = None
        self._states = [MultinomialSolverState() for _ in self.ests]

    def prepare(self, rows):
        """Fix the frame from the rows' sample-weighted moments (once per EM run)."""
        mean, scale, _ = expert_feature_frame(rows)
        self._frame = (mean, scale)
        return self

    def m_step_from_rows(self, rows, iteration=0, init=0):
        """Fit every expert to its weights; the sums over rows come from ``rows``."""
        mean, scale = self._frame
        d, C = mean.shape[0], self.n_classes
        for k, est in enumerate(self.ests):
            try:
                est._validate_params()
                if hasattr(est, "_V") and est._V.shape == (d, C):
                    V0, c0 = to_frame(est._V, est._c, (est._mean, est._scale), self._frame)
                else:
                    V0, c0 = np.zeros((d, C)), np.zeros(C)
                problem = RowsMultinomialProblem(rows, select_labels, (k, C), d, C)
                est._V, est._c, _, est.n_iter_ = fit_multinomial_problem(
                    problem,
                    alpha=est.alpha,
                    mean=mean,
                    scale=scale,
                    V0=V0,
                    c0=c0,
                    max_iter=est.max_iter,
                    tol=est.tol,
                    state=self._states[k],
                )
            except Exception as exc:
                where = "initial M-step" if iteration == 0 else f"EM iteration {iteration}"
                raise ExpertFitError(
                    f"Expert {k} ({self.names[k]!r}, {type(est).__name__}) raised in its fit "
                    f"during the {where} (restart {init}): {type(exc).__name__}: {exc}"
                ) from exc
            self._set(est, est._V, est._c)
        return self

    def _set(self, est, V, c):
        mean, scale = self._frame
        est._V, est._c = V, c
        est._mean, est._scale = mean, scale
        est.classes_ = np.arange(self.n_classes)
        est.coef_, est.intercept_ = raw_coefficients(V, c, mean, scale)
        est.n_features_in_ = V.shape[0]

    def expansion_from_rows(self, rows):
        """Each expert's second-order expansion about its parameters (online EM).

        Returns ``(H_0, h_0, H_1, h_1, ...)``, sums over the rows
        (:func:`~skmoe._multinomial.multinomial_expansion`).
        """
        mean, scale = self._frame
        out = []
        for k, est in enumerate(self.ests):
            out.extend(
                multinomial_expansion(
                    rows, select_labels, (k, self.n_classes), est._V, est._c, mean, scale
                )
            )
        return tuple(out)

    def m_step_from_expansion(self, stats, n_seen):
        """Minimise each expert's averaged expansion plus its penalty (online EM)."""
        for k, est in enumerate(self.ests):
            V, c = solve_multinomial_expansion(
                stats[2 * k], stats[2 * k + 1], est._V, est._c, est.alpha / n_seen
            )
            self._set(est, V, c)
        return self

    def fit(self, X, y, W, iteration=0, init=0, rng=None):
        rows = ThreadRows(ex=X, y=y, W=W)
        if self._frame is None:
            self.prepare(rows)
        return self.m_step_from_rows(rows, iteration, init)


def is_builtin_linear(est):
    return type(est) is LinearExpert
