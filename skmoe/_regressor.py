"""MixtureOfExpertsRegressor."""

from numbers import Integral, Real

import numpy as np
from scipy.special import ndtr
from sklearn.base import RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from ._base import BaseMixtureOfExperts
from ._frame import variance_floor
from ._validation import check_numeric
from .experts import LinearExpert
from .experts._families import bisect_quantiles, expert_family
from .experts._sets import _LinearGaussianSet, _RegressorSet, is_builtin_linear


class MixtureOfExpertsRegressor(RegressorMixin, BaseMixtureOfExperts):
    """Mixture of experts for regression, trained by EM.

    Models ``p(y | x) = sum_k g_k(x) N(y; f_k(x), sigma_k^2)``: a gate ``g``
    routes each input to K experts ``f_k``, each with its own Gaussian noise
    variance (Jacobs, Jordan, Nowlan & Hinton 1991).  With
    ``gate="constant"`` it is the classical finite mixture of regressions.

    Parameters
    ----------
    experts : None, estimator or list of (str, estimator), default=None
        ``None`` uses :class:`~skmoe.experts.LinearExpert` (closed-form
        weighted least squares, all experts solved from one pass of
        sufficient statistics).  An estimator is cloned ``n_experts`` times.
        A list of ``(name, estimator)`` pairs gives heterogeneous experts, one
        per pair (``n_experts`` is then ignored); their parameters are
        settable as ``experts__<name>__<param>``.  Experts must accept
        ``sample_weight`` in ``fit`` unless ``m_step="stochastic"``.
        :class:`~skmoe.experts.StudentTExpert` (heavy-tailed noise),
        :class:`~skmoe.experts.PoissonExpert` (counts) and
        :class:`~skmoe.experts.BinomialExpert` (proportions out of
        ``n_trials``) replace the Gaussian noise model by their family's
        likelihood, in the E-step, ``log_likelihood``, ``bic`` / ``aic`` and
        the predictive methods; all experts must then be of that one class.
    n_experts : int, default=2
        Number of experts when ``experts`` is None or a single estimator.
    gate : {"softmax", "constant", "gaussian", "hierarchical"} or gate object, \
            default="softmax"
        ``"softmax"``: :class:`~skmoe.gating.SoftmaxGate`; ``"constant"``:
        :class:`~skmoe.gating.ConstantGate`; ``"gaussian"``:
        :class:`~skmoe.gating.GaussianGate` (EM then maximises the joint
        ``log p(x, y)``); ``"hierarchical"``:
        :class:`~skmoe.gating.HierarchicalGate` (the number of experts is
        then the tree's number of leaves, 4 by default, and ``n_experts`` is
        ignored).  Pass an object to tune its parameters (``gate__alpha``).
    max_iter : int, default=100
        Maximum EM iterations per restart.
    tol : float, default=1e-4
        EM stops when the mean log-likelihood (minus the gate penalty per
        sample) changes by less than ``tol``.
    n_init : int, default=1
        Number of EM runs taken to convergence; the one with the best
        log-likelihood is kept (the earliest of the runs within ``tol`` of the
        best: runs that reach one optimum stop up to ``tol`` apart).
    init_params : {"portfolio", "kmeans", "kmeans_gate", "random", \
            "random_partition", "random_lines", "consensus_lines", \
            "segments"}, default="portfolio"
        How each start's initial responsibilities are drawn (user guide,
        "Restarts and initialisation"). ``"portfolio"`` cycles through unlike
        strategies, start ``i`` taking strategy ``i`` mod their number
        (k-means, consensus lines, segments, random lines, k-means on the
        gate's features, random partition, random centres); the others use one
        strategy for every start: k-means on the standardised ``(X, y)``
        (``"kmeans"``) or on the gate's features alone (``"kmeans_gate"``),
        the nearest of ``n_experts`` random rows (``"random"``), a uniformly
        random expert per row (``"random_partition"``, flexmix's start), each
        expert a least-squares line through ``n_features + 1`` random rows
        (``"random_lines"``, mixtools' ``regmixEM`` start), lines found one
        after another by consensus, the line with the most rows in a narrow
        band first (``"consensus_lines"``, sequential RANSAC: finds a small
        tight component), or runs along the gate's first principal axis cut
        by dynamic programming, each with its own line and noise variance
        (``"segments"``).  The line starts give soft responsibilities from
        each line's robust noise scale.
    n_screen : int or "auto", default="auto"
        Number of starts screened by short EM runs (emEM, Biernacki, Celeux
        & Govaert 2003): when larger than ``n_init``, every start runs
        ``screen_iter`` iterations and the ``n_init`` best continue to
        convergence.  ``"auto"`` screens ``2 * n_init`` starts; 0 (or any
        value up to ``n_init``) runs ``n_init`` starts without screening.
    screen_iter : int, default=10
        EM iterations of each screening run.  Starts heading for a small,
        tight component climb slowly at first: at 5 iterations the screening
        dropped them on mixtools' ``tonedata`` (4 of 10 seeds kept the best
        optimum at ``n_init=5``), at 10 it keeps them (10 of 10).  With
        ``partial_fit``, chains run ``2 * screen_iter`` chunks.
    subsample : int, "auto" or None, default="auto"
        At large n, run the starts on a random subsample of this many rows
        first: their initialisation, the screening (``n_screen``,
        ``screen_iter``) and the ``n_init`` best to convergence (or
        ``max_iter``); these then continue on all rows from where they
        ended, and the best of them is kept (as mclust's initialisation
        subset, extended to the screening).  The fit is still EM on all rows
        to convergence; the subsample only chooses and places the starts, at
        a small fraction of the cost of iterations on all rows.
        The subsample is uniform over the rows with positive weight
        (stratified by class for a classifier, every class keeping at least
        16 rows or all of its own), with the weights scaled so that it
        carries the total weight of all rows (the penalties act as on all
        rows), and each start fixes its frames (standardisations) on all
        rows.  An integer uses a subsample when there are more rows than
        that (and refuses one with fewer rows than ``n_experts *
        (n_features + 2) * n_outputs``, the parameters a start fits);
        ``"auto"`` uses ``max(2**14, 64 * n_experts * (n_features + 2)
        * n_outputs)`` rows (``n_outputs``: 1, or the number of classes
        minus 1) when there are at least four times as many; None runs every
        start on all rows.  Not used with ``warm_start`` or sequences (HMM
        experts); a Dask fit draws the same subsample and runs its starts in
        memory.  ``n_subsample_`` tells which applied.
    split_merge : bool, default=False
        After the fit, try pair moves (after Ueda et al.'s split-and-merge
        EM): pool the rows of two experts, re-split them (regressors: two
        lines by consensus and two random lines through the pooled rows;
        classifiers: 2-means on the inputs), keep the other experts, and run
        EM from there; a move is kept when it raises the log-likelihood by
        more than ``tol``.  Up to 6 pairs (most overlapping responsibilities
        first) and 3 rounds: up to 36 extra EM runs.  Finds optima where two
        experts share their rows the wrong way, which no restart reaches
        easily (the motorcycle data; user guide, "Restarts and
        initialisation").  In memory only (not with Dask input).
    m_step : {"weighted", "stochastic"}, default="weighted"
        ``"weighted"`` refits each expert on all rows with weights
        ``r_ik * sample_weight_i``; ``"stochastic"`` refits it on rows drawn
        with replacement in proportion to those weights (stochastic EM), for
        experts whose ``fit`` takes no ``sample_weight``.
    variance_floor : float, default=1e-6
        Noise variances are kept above ``variance_floor * var(y)`` so that no
        expert's likelihood becomes infinite.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, the restarts, stochastic M-steps and every
        unseeded expert; results do not depend on ``n_jobs``.
    warm_start : bool, default=False
        If True, ``fit`` continues EM from the previous solution.
    verbose : int or "progress", default=0
        ``1`` prints one summary line per restart (converged, stopped at
        ``max_iter`` or screened out, with its log-likelihood) and
        re-seeding events; ``2`` also prints the log-likelihood at every EM
        iteration.  ``"progress"`` shows a tqdm progress bar per restart
        with the log-likelihood and its change (``pip install
        "skmoe[progress]"``; without tqdm a line every 10 iterations).
    n_jobs : int, default=None
        Restarts (when ``n_init > 1``) or expert refits run in parallel
        through joblib.  It also caps the threads of the row-block passes
        (``1``: none besides the caller's), as do
        :func:`skmoe.set_config`'s ``n_threads``, ``threadpool_limits`` and
        the inner thread cap joblib sets in its workers; results never depend
        on it.
    top_k : int, default=None
        At predict time keep only the ``top_k`` most probable experts of each
        row and renormalise the gate (sparse routing); ``gate_mass_dropped``
        reports the discarded probability.  Fitting, ``log_likelihood`` and
        ``responsibilities`` use the full gate.
    gate_features : array-like of int, str or bool, default=None
        Columns of X the gate sees (indices, names of a DataFrame's columns, or
        a boolean mask); None means all.  As in flexmix's concomitant models.
    expert_features : array-like of int, str or bool, default=None
        Columns of X the experts see; None means all.
    learning_decay : float in (0.5, 1], default=0.6
        Online EM (:meth:`partial_fit`) only: the step size of the ``t``-th
        call is ``(t + learning_offset) ** -learning_decay`` (Cappé &
        Moulines 2009).  Smaller values forget the early, poorly fitted
        chunks faster; 1 weights every chunk equally (an exact running mean).
    learning_offset : float, default=1.0
        Online EM only: a positive offset slows the steps of the first calls.

    Attributes
    ----------
    experts_ : list of estimators
        Fitted experts.
    gate_ : gate object
        Fitted gate.
    noise_variance_ : ndarray of shape (n_experts,)
        Gaussian noise variance of each expert.  Not defined for the
        Student-t, Poisson and binomial experts, whose fitted ``experts_``
        carry their own parameters (``scale_``, ``df_``).
    n_experts_ : int
    n_iter_ : int
        EM iterations of the selected restart.
    converged_ : bool
    lower_bound_ : float
        Final value of the EM objective (mean log-likelihood minus gate penalty).
    lower_bounds_ : ndarray of shape (n_iterations,)
        The objective at every iteration.
    lower_bounds_all_ : list of ndarray
        The objective history of every start, in start order (one entry with
        ``warm_start``); starts dropped by screening stop after
        ``screen_iter`` iterations; the selected one has the largest last
        value.  Plot them with :class:`~skmoe.inspection.ConvergenceDisplay`.
    init_strategies_ : list of str or None
        The initialisation strategy of every start (None after a warm start).
    n_subsample_ : int
        Rows of the subsample the starts ran on first (``subsample``); 0
        when they ran on all rows.  ``n_iter_`` and ``lower_bounds_`` then
        count the iterations on all rows only, and ``lower_bounds_all_``
        holds the histories on all rows of the starts that continued there
        and the subsample histories of the others.
    n_reseeds_ : int
        Times an expert whose responsibility collapsed was re-seeded.
    n_split_merge_ : int
        Pair moves kept by ``split_merge=True`` (defined only then); each
        kept move appends its history to ``lower_bounds_all_`` and
        ``"split_merge"`` to ``init_strategies_``.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features,)
        Defined only when X has feature names that are all strings.

    See Also
    --------
    MixtureOfExpertsClassifier : The same model for class labels.

    Examples
    --------
    >>> from skmoe import MixtureOfExpertsRegressor
    >>> from skmoe.datasets import load_mcycle
    >>> X, y = load_mcycle(return_X_y=True)
    >>> moe = MixtureOfExpertsRegressor(n_experts=3, random_state=0).fit(X, y)
    >>> moe.predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints = {
        **BaseMixtureOfExperts._parameter_constraints,
        "variance_floor": [Interval(Real, 0, None, closed="neither")],
    }

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
        variance_floor=1e-6,
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
        super().__init__(
            experts,
            n_experts=n_experts,
            gate=gate,
            max_iter=max_iter,
            tol=tol,
            n_init=n_init,
            init_params=init_params,
            n_screen=n_screen,
            screen_iter=screen_iter,
            subsample=subsample,
            split_merge=split_merge,
            m_step=m_step,
            random_state=random_state,
            warm_start=warm_start,
            verbose=verbose,
            n_jobs=n_jobs,
            top_k=top_k,
            gate_features=gate_features,
            expert_features=expert_features,
            learning_decay=learning_decay,
            learning_offset=learning_offset,
        )
        self.variance_floor = variance_floor

    def _default_expert(self):
        return LinearExpert()

    def _validate_fit_data(self, X, y, sample_weight):
        y_arr = np.asarray(y)
        if y_arr.dtype.kind in "OUSV":
            try:
                y_arr.astype(np.float64)
            except (TypeError, ValueError):
                example = y_arr.ravel()[0] if y_arr.size else None
                raise ValueError(
                    f"{type(self).__name__} needs a numeric target y; got dtype "
                    f"{y_arr.dtype} with values such as {example!r}. For class labels use "
                    "MixtureOfExpertsClassifier."
                ) from None
        return super()._validate_fit_data(X, y, sample_weight)

    def _check_y(self, X, y, sw):
        y = np.asarray(y, dtype=np.float64)
        # einsum's own loop, not ``sw @ y``: a BLAS dot runs on OpenBLAS's
        # threads, whose wake-up cost 8-23 ms at n=10^5 on a busy 2-core
        # machine (0.2 ms on one thread), 5% of a whole fit there.
        total = sw.sum()
        mean = np.einsum("i,i->", sw, y) / total
        var_y = float(np.einsum("i,i->", sw, (y - mean) ** 2) / total)
        self._var_floor = variance_floor(self.variance_floor, var_y, mean)
        # Non-Gaussian expert families (counts, proportions) check their
        # targets here, before any work.
        family = expert_family([est for _, est in self._named_experts()], self.m_step)
        if family is not None:
            y = family._check_targets(y, [est for _, est in self._named_experts()])
        return y

    def _encode_y(self, y):
        check_numeric(y, "y", f"{type(self).__name__} needs a numeric target")
        try:
            y = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"y must be numeric; got dtype {np.asarray(y).dtype}.") from None
        family = expert_family(self.experts_)
        return y if family is None else family._check_targets(y, self.experts_)

    def _y_features(self, y):
        return y[:, None]

    def _make_expert_set(self, named, rng, n_jobs):
        ests = [est for _, est in named]
        family = expert_family(ests, self.m_step)
        if family is not None:
            return family._make_family_set(ests, self._var_floor)
        if self._expert_set_class(named) is _LinearGaussianSet:
            return _LinearGaussianSet(len(named), ests[0].alpha, self._var_floor)
        return _RegressorSet(named, self.m_step, n_jobs, rng, self._var_floor)

    def _expert_set_class(self, named):
        """The class of the expert set :meth:`_make_expert_set` builds (checked before any work)."""
        ests = [est for _, est in named]
        family = expert_family(ests, self.m_step)
        if family is not None:
            # A family without a declared set class (Student-t) is only
            # fitted in memory; object has none of the protocol's methods.
            return getattr(family, "_set_class", object)
        if (
            self.m_step == "weighted"
            and all(is_builtin_linear(e) for e in ests)
            and len({e.alpha for e in ests}) == 1
        ):
            return _LinearGaussianSet
        return _RegressorSet

    def _after_fit(self):
        # Only Gaussian experts have a noise variance; other families
        # (skmoe.experts._families) describe their laws through predictive().
        if hasattr(self._expert_set, "variance"):
            self.noise_variance_ = self._expert_set.variance.copy()

    def predict_experts(self, X):
        """Predict with each expert: ``f_k(x)``.

        Each expert's own prediction, whatever the gate: the mean of its law
        of y given x (the location, for Student-t experts).  The mixture's
        :meth:`predict` weights them by the gate.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        means : ndarray of shape (n_samples, n_experts)
            Each expert's prediction for each row.
        """
        X = self._check_X(X)
        return self._expert_set.predict(self._ex(X))

    def _mixture(self, X):
        """Gate, per-expert means and variances, and the experts' law (None if Gaussian)."""
        X = self._check_X(X)
        gate = self._gate_proba(X)[0]
        if hasattr(self._expert_set, "predictive"):
            law = self._expert_set.predictive(self._ex(X))
            return gate, law.mean, law.var, law
        return gate, self._expert_set.predict(self._ex(X)), self._expert_set.variance, None

    def predict(self, X, return_std=False):
        """Mean of the predictive mixture, optionally with its standard deviation.

        The mean is ``sum_k g_k(x) f_k(x)``, with the gate truncated to its
        ``top_k`` largest probabilities when ``top_k`` is set.  A multimodal
        prediction is poorly summarised by a mean: see
        :meth:`predict_quantiles` and :meth:`sample_y`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        return_std : bool, default=False
            Also return the standard deviation of ``p(y | x)``, which includes
            both the experts' noise and their disagreement.

        Returns
        -------
        y_mean : ndarray of shape (n_samples,)
            Mean of the predictive mixture for each row.
        y_std : ndarray of shape (n_samples,)
            Its standard deviation; only when ``return_std=True``.
        """
        gate, means, var, _ = self._mixture(X)
        overflow = not np.isfinite(means).all()
        if overflow:
            # A mean that overflowed (a Poisson expert far outside the data:
            # inf) counts only where the gate gives it weight; 0 * inf would
            # be NaN.  The mixture's mean and spread are then inf.
            means = np.where(gate > 0, means, 0.0)
        mu = np.einsum("nk,nk->n", gate, means)
        if not return_std:
            return mu
        # The law of total variance about the mixture's mean,
        # sum_k g_k var_k + sum_k (sqrt(g_k) (m_k - mu))^2: E[y^2] - mu^2
        # would cancel every digit of a small spread about a large mean (a
        # target offset by 1e9, or a Poisson mean of 1e30), and the square
        # root of the weight keeps a tiny weight times a huge squared
        # deviation finite.  Terms of zero weight count for nothing (an
        # infinite variance, a t expert with df <= 2, included).
        with np.errstate(over="ignore", invalid="ignore"):
            dev = np.where(gate > 0, np.sqrt(gate) * (means - mu[:, None]), 0.0)
            spread = np.where(gate > 0, gate * var, 0.0).sum(axis=1)
            spread += np.einsum("nk,nk->n", dev, dev)
        if overflow:
            spread = np.where(np.isfinite(mu), spread, np.inf)
        return mu, np.sqrt(spread)

    def sample_y(self, X, n_samples=1, random_state=None):
        """Draw targets from the predictive mixture ``p(y | x)``.

        Each draw picks an expert with the gate's probabilities (truncated to
        ``top_k`` when set), then draws y from that expert's law: the draws
        show the whole predictive law, multimodal or skewed, where
        :meth:`predict` gives only its mean.

        Parameters
        ----------
        X : array-like of shape (n_samples_X, n_features)
            Inputs.
        n_samples : int, default=1
            Draws per row of X.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws; pass an int for reproducible output.

        Returns
        -------
        y_samples : ndarray of shape (n_samples_X, n_samples)
            The draws, one row per row of X.
        """
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer; got {n_samples!r}.")
        rng = check_random_state(random_state)
        gate, means, var, law = self._mixture(X)
        if law is not None:
            return law.mixture_sample(gate, n_samples, rng)
        cdf = np.cumsum(gate, axis=1)
        u = rng.uniform(size=(gate.shape[0], n_samples))
        comp = (u[:, :, None] > cdf[:, None, :-1]).sum(axis=2)
        rows = np.arange(gate.shape[0])[:, None]
        return means[rows, comp] + np.sqrt(var[comp]) * rng.standard_normal(comp.shape)

    def predict_quantiles(self, X, quantiles=(0.05, 0.5, 0.95)):
        """Compute quantiles of the predictive mixture, which may be multimodal.

        Found by bisection on the mixture CDF, to 1e-12 of the predictive
        law's range (or to the resolution of the floats about a large
        offset), in any unit of y.  Unlike ``predict(X, return_std=True)``, they
        describe a skewed or multimodal law faithfully (a 90% interval from
        the 0.05 and 0.95 quantiles, say).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        quantiles : array-like of float in (0, 1), default=(0.05, 0.5, 0.95)
            The probability levels.

        Returns
        -------
        q : ndarray of shape (n_samples, n_quantiles)
            The quantiles of ``p(y | x)`` of each row, one column per level.
        """
        q = np.atleast_1d(np.asarray(quantiles, dtype=np.float64))
        if q.ndim != 1 or q.size == 0 or not np.all((q > 0) & (q < 1)):
            raise ValueError(
                f"quantiles must be a 1-D list of numbers in (0, 1); got {quantiles!r}."
            )
        gate, means, var, law = self._mixture(X)
        if law is not None:
            return law.mixture_quantiles(gate, q)
        sd = np.sqrt(var)
        lo = np.min(means - 40 * sd, axis=1)[:, None] * np.ones((1, q.size))
        hi = np.max(means + 40 * sd, axis=1)[:, None] * np.ones((1, q.size))
        return bisect_quantiles(
            lambda v: np.einsum("nk,nqk->nq", gate, ndtr((v[:, :, None] - means[:, None, :]) / sd)),
            lo,
            hi,
            q,
        )

    def standard_errors(self, X, y, sample_weight=None):
        """Standard errors of the fitted parameters from the observed information.

        The covariance is the inverse of the negative Hessian (computed
        analytically) of the log-likelihood at the estimate, *penalised* by
        the softmax gate's ``0.5 * alpha * ||V||^2`` since that is the
        objective EM maximises (negligible for the default small ``alpha``).
        Pass the training data (and weights): the formula assumes the
        estimate maximises the objective on them.  Available for the
        built-in linear-Gaussian experts with ``gate="softmax"`` or
        ``"constant"``.

        Parameters are, in order: for each expert ``k >= 1``, the gate's
        logit contrast against expert 0 (``gate[k vs 0]:<feature>`` slopes
        and ``gate[k vs 0]:intercept``; for a constant gate only the
        intercept, ``log(pi_k / pi_0)``), which makes the gate identifiable;
        then for each expert its slopes (``expert<k>:<feature>``), intercept
        and ``expert<k>:log_sigma``, the log noise standard deviation
        (``SE(sigma_k) ~= sigma_k * SE(log sigma_k)``).  With one expert the
        slope and intercept errors are those of ordinary least squares with
        the maximum-likelihood variance ``RSS / n``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,)
            Training targets.
        sample_weight : array-like of shape (n_samples,), default=None
            The weights used in ``fit`` (frequency weights).

        Returns
        -------
        table : ResultTable
            A dict of columns ``parameter``, ``estimate``, ``std_error``,
            ``z`` (``estimate / std_error``; NaN for ``log_sigma``) and
            ``p_value`` (two-sided, normal), with ``to_frame()`` for pandas.
            Attributes ``covariance`` and ``information`` hold the full
            matrices and ``gradient`` the score at the estimate (near zero
            when EM converged).

        Raises
        ------
        NotImplementedError
            For other experts or gates: :meth:`summary` covers every built-in
            expert family and gate.
        """
        from ._inference import standard_errors

        return standard_errors(self, X, y, sample_weight)

    def summary(self, X, y, alpha=0.05, sample_weight=None, cov_type="observed"):
        """Report the estimates with standard errors, tests and intervals.

        A header (gate, experts, ``nobs``, ``llf``, AIC, BIC, ICL,
        convergence, EM iterations, covariance type), then one table per
        block of the gate and one per expert.  Available for every built-in
        expert family -- linear-Gaussian (``experts=None`` or
        :class:`~skmoe.experts.LinearExpert`),
        :class:`~skmoe.experts.StudentTExpert`,
        :class:`~skmoe.experts.PoissonExpert`,
        :class:`~skmoe.experts.BinomialExpert` -- and gate (``"softmax"``,
        ``"constant"``, ``"gaussian"``,
        :class:`~skmoe.gating.HierarchicalGate`).

        Parameters, in the units of ``X`` and ``y`` and named after the
        features:

        * softmax and constant gates: the logit contrasts of expert ``k``
          against expert 0, ``log(g_k(x) / g_0(x))``: slopes
          ``gate:<feature>[k]`` and intercept ``gate:const[k]`` (only
          ``gate:const[k] = log(pi_k / pi_0)`` for a constant gate);
        * hierarchical gate: the same contrasts for every internal node
          ``j`` (breadth first) and branch ``b`` against branch 0,
          ``gate<j>:<feature>[b]``;
        * Gaussian gate: ``gate:log_pi[k]`` (mixing weights, against
          expert 0), the means ``gate:mean_<feature>[k]`` and the covariance
          entries of x (``gate:var_<f>[k]``, ``gate:cov_<f>_<g>[k]``);
        * each expert: slopes ``<feature>[k]`` and intercept ``const[k]``,
          then ``sigma2[k]`` (linear-Gaussian noise variance), or
          ``scale[k]`` and ``df[k]`` (Student-t; a ``df`` fixed by the user
          or estimated at its bound 0.1 or 200 is shown without a standard
          error and said so in the notes).  Poisson and binomial experts
          have slopes and intercept only (log and logit links).

        The covariance is the inverse of the observed information of the
        exact log-likelihood at the estimate: the analytic Hessian for
        linear-Gaussian experts with a softmax or constant gate, otherwise
        central differences of the analytic gradient.  Scales and degrees
        of freedom are fitted on the log scale and carried over by the
        delta method.  When the fit is penalised (the gate's ``alpha``, the
        GLM experts' ridge) the covariance is that of the *penalised*
        estimate, and the header and notes say so.  With a Gaussian gate it
        is the information of the joint likelihood of x and y, which that
        gate's EM maximises.  Pass the training data: the formula assumes
        the estimate maximises the objective on them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,)
            Training targets.
        alpha : float, default=0.05
            The intervals shown have coverage ``1 - alpha``.
        sample_weight : array-like of shape (n_samples,), default=None
            The weights the model was fitted with, taken as frequency
            weights (a weight of 2 is a row seen twice) in the
            log-likelihood, its information and its scores.  Required when
            the model was fitted with weights.
        cov_type : {"observed", "robust"}, default="observed"
            ``"observed"``: the inverse observed information.
            ``"robust"``: the sandwich ``H^-1 J H^-1`` (``H`` the observed
            information, ``J`` the weighted sum of the rows' score outer
            products), valid when the model is misspecified.

        Returns
        -------
        results : SummaryResults
            ``print(results)`` shows the tables, ``results.to_frame()`` gives
            pandas; ``params``, ``bse``, ``conf_int()``, ``cov_params()``,
            ``llf``, ``nobs``, ``aic``, ``bic`` as in statsmodels, and
            ``icl`` (without sample weights).

        Raises
        ------
        NotImplementedError
            For other experts (estimators, ``m_step="stochastic"``) or gates.
        ValueError
            For a bad ``alpha`` or ``cov_type``, or when the model was fitted
            with ``sample_weight`` and none is given.

        See Also
        --------
        standard_errors : The same covariance, in the fitting parametrisation
            (linear-Gaussian experts with a softmax or constant gate).
        skmoe.inspection.bootstrap_params : Bootstrap intervals and standard
            errors, by refitting on resampled data.

        Examples
        --------
        >>> from skmoe import MixtureOfExpertsRegressor
        >>> from skmoe.datasets import load_mcycle
        >>> X, y = load_mcycle(return_X_y=True)
        >>> moe = MixtureOfExpertsRegressor(n_experts=2, random_state=0).fit(X, y)
        >>> res = moe.summary(X, y)
        >>> res.param_names[:2]
        ['gate:x0[1]', 'gate:const[1]']
        >>> res.conf_int().shape
        (8, 2)
        """
        from ._inference import mixture_summary_parts
        from ._summary import SummaryResults

        if not 0.0 < alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1); got {alpha!r}.")
        parts = mixture_summary_parts(self, X, y, sample_weight, cov_type)
        return SummaryResults(type(self).__name__, alpha=alpha, **parts)
