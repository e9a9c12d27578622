"""MixtureOfExpertsClassifier."""

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context

from ._base import BaseMixtureOfExperts
from ._online import OnlineMethod, online_partial_fit
from ._unchanged import unchanged_on_error
from ._validation import encode_labels, fit_labels
from .experts import LogisticExpert
from .experts._sets import _ClassifierSet, _LogisticSet


class MixtureOfExpertsClassifier(ClassifierMixin, BaseMixtureOfExperts):
    """Mixture of experts for classification, trained by EM.

    Models ``p(y | x) = sum_k g_k(x) p_k(y | x)`` where each expert's
    ``p_k(y | x)`` is its ``predict_proba`` (columns aligned to ``classes_``,
    floored before the log) and ``g`` is the gate.

    Parameters
    ----------
    experts : None, estimator or list of (str, estimator), default=None
        ``None`` uses :class:`~skmoe.experts.LogisticExpert` (multinomial
        logistic regression).  An estimator is cloned ``n_experts`` times;
        a list of ``(name, estimator)`` pairs gives heterogeneous experts
        (``n_experts`` is then ignored), settable as
        ``experts__<name>__<param>``.  Experts need ``predict_proba``, and
        ``sample_weight`` in ``fit`` unless ``m_step="stochastic"``.
    n_experts : int, default=2
        Number of experts when ``experts`` is None or a single estimator.
    gate : {"softmax", "constant", "gaussian", "hierarchical"} or gate object, \
            default="softmax"
        As in :class:`MixtureOfExpertsRegressor`.
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
            "random_partition", "classes"}, default="portfolio"
        How each start's initial responsibilities are drawn (user guide,
        "Restarts and initialisation"). ``"portfolio"`` cycles through unlike
        strategies, start ``i`` taking strategy ``i`` mod their number (k-means,
        classes, random partition, k-means on the gate's features, random
        centres); the others use one strategy for every start: k-means on the
        standardised X (the labels left out) (``"kmeans"``) or on the gate's
        features alone (``"kmeans_gate"``), the nearest of ``n_experts`` random
        rows (``"random"``), a uniformly random expert per row
        (``"random_partition"``, flexmix's start), or k-means on X and the
        one-hot class, experts starting specialised by class (``"classes"``).
    n_screen : int or "auto", default="auto"
        Number of starts screened by short EM runs (emEM, Biernacki, Celeux
        & Govaert 2003): when larger than ``n_init``, every start runs
        ``screen_iter`` iterations and the ``n_init`` best continue to
        convergence.  ``"auto"`` screens ``2 * n_init`` starts; 0 (or any
        value up to ``n_init``) runs ``n_init`` starts without screening.
    screen_iter : int, default=10
        EM iterations of each screening run.
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
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, the restarts, stochastic M-steps and every
        unseeded expert; results do not depend on ``n_jobs``.
    warm_start : bool, default=False
        If True, ``fit`` continues EM from the previous solution (which
        needs the same number of experts and the same classes).
    verbose : int or "progress", default=0
        As in :class:`MixtureOfExpertsRegressor`: ``1`` a summary line per
        restart, ``2`` also a line per EM iteration, ``"progress"`` a tqdm
        progress bar per restart.
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
    gate_features : array-like of int, str or bool, or transformer, default=None
        Columns of X the gate sees (indices, names of a DataFrame's columns, or
        a boolean mask); None means all.  As in flexmix's concomitant models.
        Sequences: with HMM-sequence experts
        (:class:`~skmoe.sequence.GaussianHMMClassifier`, ...) X is a list of
        ``(T_i, d)`` arrays, the experts receive the sequences and the gate
        sees ``gate_features.fit_transform(X)``, a transformer of sequences
        (:class:`~skmoe.sequence.SequenceFeatures` when None).  Such experts
        are generative: the E-step uses ``log p_k(x, y)`` and
        ``predict_proba`` is ``p(c | x) ∝ sum_k g_k(x) p_k(x, c)``.
    expert_features : array-like of int, str or bool, default=None
        Columns of X the experts see; None means all.
    learning_decay : float in (0.5, 1], default=0.6
        Online EM (:meth:`partial_fit`) only: the step size of the ``t``-th
        call is ``(t + learning_offset) ** -learning_decay``.
    learning_offset : float, default=1.0
        Online EM only: a positive offset slows the steps of the first calls.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen in fit, sorted; the column order of
        ``predict_proba``.
    experts_ : list of estimators
        Fitted experts.
    gate_ : gate object
        Fitted gate.
    n_experts_ : int
        Number of experts.
    n_iter_ : int
        EM iterations of the selected restart.
    converged_ : bool
        Whether the selected restart converged within ``max_iter``.
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
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features,)
        Defined only when X has feature names that are all strings.

    See Also
    --------
    MixtureOfExpertsRegressor : The same model for real-valued targets.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skmoe import MixtureOfExpertsClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MixtureOfExpertsClassifier(n_experts=2, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:1]).shape
    (1, 3)
    """

    _is_classifier = True

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

    def _default_expert(self):
        return LogisticExpert()

    def _check_y(self, X, y, sw):
        classes, y_idx = fit_labels(y, estimator=type(self).__name__)
        weighted = np.bincount(y_idx, weights=sw, minlength=len(classes))
        if np.count_nonzero(weighted > 0) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 classes with positive sample_weight; "
                f"only class {classes[np.argmax(weighted)]!r} has any weight."
            )
        if (
            self.warm_start
            and hasattr(self, "classes_")
            and not np.array_equal(self.classes_, classes)
        ):
            raise ValueError(
                f"warm_start=True needs the same classes as the previous fit {self.classes_.tolist()}; "
                f"got {classes.tolist()}."
            )
        self.classes_ = classes
        return y_idx

    @OnlineMethod
    @_fit_context(prefer_skip_nested_validation=False)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One step of online EM on a chunk of data.

        As :meth:`MixtureOfExpertsRegressor.partial_fit`: an E-step on the
        chunk, then running averages, with step size
        ``(t + learning_offset) ** -learning_decay``, of sufficient statistics
        or of second-order expansions of the loss (the softmax gate and the
        logistic experts take a stochastic Newton step); estimator experts
        with a ``partial_fit`` taking ``sample_weight`` (``SGDClassifier``
        with a probabilistic loss) use their own.  Available when every expert
        and the gate can be updated online; otherwise accessing it raises an
        AttributeError that names the expert or gate.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A chunk of inputs; same features (and names) on every call.
        y : array-like of shape (n_samples,)
            Labels of the chunk, all within ``classes``.
        classes : array-like of shape (n_classes,), default=None
            Every label the stream can contain.  Required on the first call
            (unless the estimator was fitted by ``fit``); later calls may
            omit it or must repeat the same set.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the chunk's rows.

        Returns
        -------
        self : MixtureOfExpertsClassifier
            The estimator, updated.
        """
        with unchanged_on_error(self, deep=True):
            return online_partial_fit(self, X, y, sample_weight, classes=classes)

    def _encode_y(self, y):
        return encode_labels(y, self.classes_)

    def _y_features(self, y):
        # Clustering on X alone: with the labels in the clustering, k-means
        # tends to give each expert one class, a local optimum in which the
        # gate has to do all the classifying (seen on XOR-like data).
        return np.empty((y.shape[0], 0))

    def _make_expert_set(self, named, rng, n_jobs):
        return self._expert_set_class(named)(named, self.m_step, n_jobs, rng, len(self.classes_))

    def _expert_set_class(self, named):
        """The expert set :meth:`_make_expert_set` builds for ``named`` (checked before any work)."""
        if self.m_step == "weighted" and all(type(e) is LogisticExpert for _, e in named):
            return _LogisticSet
        return _ClassifierSet

    def predict_experts(self, X):
        """Each expert's class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_experts, n_classes)
            Class probabilities of each expert, columns in the order of ``classes_``.
        """
        X = self._check_X(X)
        return self._expert_set.predict_proba(self._ex(X))

    def predict_proba(self, X):
        """Mixture class probabilities ``sum_k g_k(x) p_k(c | x)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities, columns in the order of ``classes_``.
        """
        X = self._check_X(X)
        gate = self._gate_proba(X)[0]
        log_joint = self._expert_set.log_joint(self._ex(X))
        if log_joint is not None:
            # Generative experts (HMM-sequence classifiers): p(c | x) ∝ sum_k g_k p_k(x, c).
            with np.errstate(divide="ignore"):
                a = np.log(gate)[:, :, None] + log_joint
            m = a.max(axis=(1, 2))
            ok = np.isfinite(m)
            proba = np.exp(a - np.where(ok, m, 0.0)[:, None, None]).sum(axis=1)
            if not ok.all():  # impossible under every expert: the experts' own posteriors
                proba[~ok] = np.einsum(
                    "nk,nkc->nc", gate[~ok], self._expert_set.predict_proba(self._ex(X)[~ok])
                )
        else:
            proba = np.einsum("nk,nkc->nc", gate, self._expert_set.predict_proba(self._ex(X)))
        total = proba.sum(axis=1, keepdims=True)
        # Renormalise: an expert that never saw a class gives it zero mass.
        return proba / np.where(total > 0, total, 1.0)

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`.

        A class to which every expert gives probability zero (a tree leaf that
        never saw it, say) gets ``-inf``, exactly ``log(predict_proba(X))``, as
        in scikit-learn's own classifiers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Logarithm of the class probabilities, columns in the order of ``classes_``.
        """
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(proba)

    def summary(self, X, y, alpha=0.05, sample_weight=None, cov_type="observed"):
        """Report the estimates with standard errors, tests and intervals.

        A header (gate, experts, ``nobs``, ``llf``, AIC, BIC, ICL,
        convergence, EM iterations, penalties), then one table per contrast
        of the gate and one per expert and class.  The gate's parameters
        are the logit contrasts of expert ``k`` against expert 0 (slopes
        ``gate:<feature>[k]`` and intercept ``gate:const[k]`` for
        ``gate="softmax"``, only ``gate:const[k]`` for ``gate="constant"``),
        as in :meth:`MixtureOfExpertsRegressor.summary
        <skmoe.MixtureOfExpertsRegressor.summary>`.  Expert ``k``'s are the
        logit contrasts of class ``c`` against the first class,
        ``log(p_k(c | x) / p_k(classes_[0] | x))``: slopes
        ``<feature>[k, c]`` and intercept ``const[k, c]``, in the units of
        ``X``.

        The covariance is the inverse of the observed information, minus the
        Hessian of the log-likelihood (central differences of its analytic
        gradient).  The gate's and the experts' L2 penalties (their
        ``alpha``) are part of the objective EM maximises, so with either
        above zero it is the covariance of the *penalised* estimate, and the
        header and notes say so.  Pass the training data.  Available for the
        built-in logistic experts with ``gate="softmax"`` or ``"constant"``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,)
            Training labels.
        alpha : float, default=0.05
            The intervals shown have coverage ``1 - alpha``.
        sample_weight : array-like of shape (n_samples,), default=None
            The weights the model was fitted with, taken as frequency
            weights in the log-likelihood, its information and its scores.
            Required when the model was fitted with weights.
        cov_type : {"observed", "robust"}, default="observed"
            ``"observed"``: the inverse observed information.
            ``"robust"``: the sandwich ``H^-1 J H^-1`` (``J`` the weighted
            sum of the rows' score outer products), valid when the model is
            misspecified.

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
        skmoe.MixtureOfExpertsRegressor.summary : The regressor's summary.

        Examples
        --------
        >>> from skmoe import MixtureOfExpertsClassifier
        >>> from skmoe.datasets import make_moe_classification
        >>> X, y, _ = make_moe_classification(n_samples=300, random_state=0)
        >>> clf = MixtureOfExpertsClassifier(n_experts=2, random_state=0).fit(X, y)
        >>> res = clf.summary(X, y)
        >>> res.param_names[:3]
        ['gate:x0[1]', 'gate:x1[1]', 'gate:const[1]']
        >>> res.conf_int().shape
        (9, 2)
        """
        from ._classifier_inference import classifier_summary_parts
        from ._summary import SummaryResults

        if not 0.0 < alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1); got {alpha!r}.")
        parts = classifier_summary_parts(self, X, y, sample_weight, cov_type)
        return SummaryResults(type(self).__name__, alpha=alpha, **parts)

    def predict(self, X):
        """Most probable class under the mixture.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted class labels.
        """
        # predict_proba first: it raises NotFittedError before classes_ is read.
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]
