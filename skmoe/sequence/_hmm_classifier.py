"""Class-conditional hidden Markov model classifiers for variable-length sequences."""

from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, column_or_1d

from .._docs import DocLinkMixin
from .._em import finite_objective, screen_keep
from .._threading import blas_single_threaded
from .._unchanged import fit_unchanged_on_error
from .._validation import check_sample_weight, fit_labels
from .._warn import warn_user
from ._features import check_sequences
from ._hmm_baum_welch import (
    CategoricalEmission,
    GaussianEmission,
    concatenate,
    fit_baum_welch,
    initial_params,
    log_likelihoods,
)


class _BaseHMMClassifier(DocLinkMixin, ClassifierMixin, BaseEstimator, metaclass=ABCMeta):
    """One hidden Markov model per class, combined by Bayes' rule.

    Subclasses say how sequences are validated and which emission model is
    used; this class owns the weighted Baum-Welch fits, restarts, warm starts
    and the posterior class probabilities.
    """

    # Tells MixtureOfExpertsClassifier that this expert takes whole sequences.
    _input_is_sequences = True

    _parameter_constraints: dict = {
        "n_states": [Interval(Integral, 1, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "n_screen": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "screen_iter": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "priors": ["array-like", None],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
    }

    _seq_dtype = np.float64

    # The strategies a "portfolio" start cycles through, in order (the
    # user-facing names; see ``_strategy``).
    _portfolio = ("kmeans", "mixture", "random")

    @abstractmethod
    def _make_emission(self, seqs, reset):
        """The emission model; sets emission-related fitted state when ``reset``."""

    @abstractmethod
    def _expose(self):
        """Set the public per-class parameter arrays from ``self._params``."""

    def _check_seqs(self, X, lengths, reset):
        return check_sequences(
            X,
            lengths,
            dtype=self._seq_dtype,
            n_features=None if reset else self.n_features_in_,
            estimator=self,
        )

    @fit_unchanged_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, lengths=None):
        """Fit one hidden Markov model per class by weighted Baum-Welch.

        Parameters
        ----------
        X : list of array-like of shape (T_i, n_features)
            The sequences (a 3-D array ``(n, T, n_features)`` and hmmlearn's
            concatenated 2-D array with ``lengths`` are accepted too).
        y : array-like of shape (n_sequences,)
            One label per sequence.
        sample_weight : array-like of shape (n_sequences,), default=None
            Non-negative weight of each sequence: its sufficient statistics
            are multiplied by it, so an integer weight is the same as
            repeating the sequence.  Class priors are weighted too.
        lengths : array-like of int, default=None
            Lengths of the sequences when ``X`` is their concatenation.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        seqs = self._check_seqs(X, lengths, reset=True)
        n = len(seqs)
        y = column_or_1d(y, warn=True)
        if y.shape[0] != n:
            raise ValueError(f"Found {n} sequences in X but {y.shape[0]} labels in y.")
        classes, y_idx = fit_labels(y, estimator=type(self).__name__)
        sw = check_sample_weight(
            sample_weight, np.empty((n, 0)), dtype=np.float64, ensure_non_negative=True
        )
        n_features = seqs[0].shape[1]
        warm = (
            self.warm_start
            and hasattr(self, "_params")
            and np.array_equal(self.classes_, classes)
            and self.n_features_in_ == n_features
            and self._warm_key == self._structure_key()
        )
        class_weight = np.bincount(y_idx, weights=sw, minlength=len(classes))
        empty = np.flatnonzero(class_weight <= 0)
        if empty.size and not warm:
            raise ValueError(
                f"{type(self).__name__}: class(es) {classes[empty].tolist()} have no sequence "
                "with positive sample_weight; every class in y needs at least one sequence "
                "to fit its hidden Markov model."
            )
        self.n_features_in_ = n_features
        emission = self._make_emission(seqs, reset=not warm)
        if self.priors is None:
            prior = class_weight / class_weight.sum()
        else:
            prior = np.asarray(self.priors, dtype=np.float64)
            if (
                prior.shape != (len(classes),)
                or np.any(prior < 0)
                or not np.isclose(prior.sum(), 1.0)
            ):
                raise ValueError(
                    f"priors must be {len(classes)} non-negative numbers summing to 1 (one per "
                    f"class, in the order of classes_ {classes.tolist()}); got {self.priors!r}."
                )
        rng = check_random_state(self.random_state)
        # Small matrices: BLAS/OpenMP threads (k-means) cost more than they gain.
        with blas_single_threaded():
            params, lower_bound, n_iter, converged, lbs_all, strategies = self._fit_classes(
                seqs, y_idx, sw, len(classes), warm, emission, rng
            )
        self.classes_ = classes
        self.class_prior_ = prior
        self._emission = emission
        self._params = params
        self._warm_key = self._structure_key()
        self.n_iter_ = n_iter
        self.converged_ = converged
        self.lower_bound_ = lower_bound
        # Per class, the final log-likelihood of every start (screened-out
        # ones after screen_iter iterations), and the starts' strategies.
        self.lower_bounds_all_ = lbs_all
        self.init_strategies_ = None if warm else strategies
        self._expose()
        if not warm and not converged.all():
            warn_user(
                f"{type(self).__name__}: Baum-Welch did not converge for class(es) "
                f"{classes[~converged].tolist()} in max_iter={self.max_iter} iterations "
                f"(tol={self.tol}). Increase max_iter or tol.",
                ConvergenceWarning,
            )
        return self

    def _strategy(self, name):
        """The internal strategy (``_hmm_baum_welch.HMM_STRATEGIES``) of a public name."""
        return name

    def _start_strategies(self):
        """The strategy of every start of one class's fit (screened ones included)."""
        n_screen = 2 * self.n_init if self.n_screen == "auto" else self.n_screen
        n_starts = max(self.n_init, n_screen)
        if self.init_params == "portfolio":
            names = self._portfolio
            return [names[i % len(names)] for i in range(n_starts)]
        return [self.init_params] * n_starts

    def _fit_class(self, Xc, bounds, wc, emission, strategies, seeds):
        """Restarts of one class: every start from its strategy; with more starts
        than ``n_init``, ``screen_iter`` Baum-Welch iterations each, then the
        ``n_init`` best continue to convergence (emEM); the best is kept.

        Each start has its own random stream, so a start's result does not
        depend on which other starts ran.  Ranking is by the weighted
        log-likelihood, ties to the earlier start.
        """
        runs = []
        screening = len(strategies) > self.n_init
        first = min(self.screen_iter, self.max_iter) if screening else self.max_iter
        for name, seed in zip(strategies, seeds, strict=True):
            rng = np.random.RandomState(seed)
            p0 = initial_params(emission, Xc, bounds, wc, self.n_states, rng, self._strategy(name))
            run = fit_baum_welch(p0, emission, Xc, bounds, wc, first, self.tol, rng)
            runs.append((run, rng))
        if screening:
            kept = screen_keep([run[0][1] for run in runs], self.n_init)
            for i in kept:
                (p, lb, it, conv), rng = runs[i]
                if not conv and it < self.max_iter:
                    more = fit_baum_welch(
                        p, emission, Xc, bounds, wc, self.max_iter - it, self.tol, rng
                    )
                    runs[i] = ((more[0], more[1], it + more[2], more[3]), rng)
            candidates = kept
        else:
            candidates = list(range(len(runs)))
        best = max(candidates, key=lambda i: (finite_objective(runs[i][0][1]), -i))
        return runs[best][0], [runs[i][0][1] for i in range(len(runs))]

    def _fit_classes(self, seqs, y_idx, sw, n_classes, warm, emission, rng):
        """Best of the restarts of each class's weighted Baum-Welch."""
        params = list(self._params) if warm else [None] * n_classes
        n_iter = np.zeros(n_classes, dtype=np.intp)
        converged = np.ones(n_classes, dtype=bool)
        lower_bound = np.full(n_classes, np.nan)
        strategies = self._start_strategies()
        lower_bounds_all = [[] for _ in range(n_classes)]
        for c in range(n_classes):
            # Drawn for every class, used or not: a class's starts do not
            # depend on whether an earlier class had weight.
            seeds = rng.randint(np.iinfo(np.int32).max, size=len(strategies))
            rows = np.flatnonzero((y_idx == c) & (sw > 0))
            if rows.size == 0:
                # Warm start: a class without weight keeps its previous model.
                if hasattr(self, "lower_bound_"):
                    lower_bound[c] = self.lower_bound_[c]
                continue
            Xc, bounds = concatenate([seqs[i] for i in rows])
            wc = sw[rows]
            if warm:
                run_rng = np.random.RandomState(seeds[0])
                best = fit_baum_welch(
                    params[c], emission, Xc, bounds, wc, self.max_iter, self.tol, run_rng
                )
                lower_bounds_all[c] = [best[1]]
            else:
                best, lower_bounds_all[c] = self._fit_class(
                    Xc, bounds, wc, emission, strategies, seeds
                )
            params[c], lower_bound[c], n_iter[c], converged[c] = best
        return params, lower_bound, n_iter, converged, lower_bounds_all, strategies

    def _structure_key(self):
        return (self.n_states,)

    def class_log_likelihood(self, X, lengths=None):
        """Log-likelihood of each sequence under each class's model.

        Parameters
        ----------
        X : list of array-like of shape (T_i, n_features)
            The sequences.
        lengths : array-like of int, default=None
            Lengths of the sequences when ``X`` is their concatenation.

        Returns
        -------
        log_lik : ndarray of shape (n_sequences, n_classes)
            ``log p(sequence_i | class c)``; ``-inf`` where the sequence is
            impossible under the class's model.
        """
        check_is_fitted(self)
        seqs = self._check_seqs(X, lengths, reset=False)
        self._check_predict_sequences(seqs)
        Xc, bounds = concatenate(seqs)
        return np.column_stack(
            [log_likelihoods(p, self._emission, Xc, bounds) for p in self._params]
        )

    def _check_predict_sequences(self, seqs):
        pass

    def _log_joint(self, X):
        """``log p(x_i, c) = log p(x_i | c) + log prior_c``, shape (n_sequences, n_classes).

        A generative expert: with it, MixtureOfExpertsClassifier's E-step uses
        the joint likelihood ``log p_k(x, y)``, so that the mixture is a
        mixture of class-conditional HMMs whose exact M-step is weighted
        Baum-Welch, and ``predict_proba`` is ``p(c | x) ∝ sum_k g_k p_k(x, c)``.
        """
        with np.errstate(divide="ignore"):
            return self.class_log_likelihood(X) + np.log(self.class_prior_)

    def predict_log_proba(self, X, lengths=None):
        """Log posterior class probabilities by Bayes' rule with the class priors.

        A sequence that is impossible under every class gets the priors.

        Parameters
        ----------
        X : list of array-like of shape (T_i, n_features)
            The sequences.
        lengths : array-like of int, default=None
            Lengths of the sequences when ``X`` is their concatenation.

        Returns
        -------
        log_proba : ndarray of shape (n_sequences, n_classes)
            Logarithm of the class probabilities, columns in the order of ``classes_``.
        """
        ll = self.class_log_likelihood(X, lengths)
        with np.errstate(divide="ignore"):
            log_prior = np.log(self.class_prior_)
        joint = ll + log_prior
        none = ~np.isfinite(joint.max(axis=1))
        joint[none] = log_prior
        # Less the row's largest first: far from the training data the
        # class log-likelihoods reach -1e29, where adding log(sum) ~ log(2)
        # to the largest is lost to rounding, and every class of a tie got
        # probability 1.
        joint -= joint.max(axis=1, keepdims=True)
        return joint - logsumexp(joint, axis=1, keepdims=True)

    def predict_proba(self, X, lengths=None):
        """Posterior class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : list of array-like of shape (T_i, n_features)
            The sequences.
        lengths : array-like of int, default=None
            Lengths of the sequences when ``X`` is their concatenation.

        Returns
        -------
        proba : ndarray of shape (n_sequences, n_classes)
            Class probabilities, columns in the order of ``classes_``.
        """
        return np.exp(self.predict_log_proba(X, lengths))

    def predict(self, X, lengths=None):
        """Most probable class of each sequence.

        Parameters
        ----------
        X : list of array-like of shape (T_i, n_features)
            The sequences.
        lengths : array-like of int, default=None
            Lengths of the sequences when ``X`` is their concatenation.

        Returns
        -------
        y_pred : ndarray of shape (n_sequences,)
            Predicted class of each sequence.
        """
        check_is_fitted(self)  # before classes_ is read: NotFittedError, not AttributeError
        return self.classes_[np.argmax(self.predict_log_proba(X, lengths), axis=1)]

    def _n_parameters(self):
        """Free parameters: per class start, transitions and emissions, plus priors."""
        check_is_fitted(self)
        S = self.n_states
        per_class = (S - 1) + S * (S - 1) + self._emission.n_parameters(S, self.n_features_in_)
        n_prior = 0 if self.priors is not None else len(self.classes_) - 1
        return len(self.classes_) * per_class + n_prior


class GaussianHMMClassifier(_BaseHMMClassifier):
    """Sequence classifier with one Gaussian-emission hidden Markov model per class.

    Each class ``c`` has an HMM with ``n_states`` hidden states, a start
    distribution, a transition matrix and Gaussian emissions, fitted by
    weighted Baum-Welch (each sequence's sufficient statistics multiplied by
    its ``sample_weight``).  ``predict_proba`` is Bayes' rule,
    ``p(c | x) ∝ prior_c p(x | c)``.  Sequences may have different lengths.

    It is also an expert for :class:`~skmoe.MixtureOfExpertsClassifier`: give
    the mixture a list of sequences as X; its gate then sees per-sequence
    features (:class:`SequenceFeatures` by default, or any transformer given
    as ``gate_features``).

    Parameters
    ----------
    n_states : int, default=2
        Hidden states per class.
    covariance_type : {"diag", "full"}, default="diag"
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance after each M-step.
    n_init : int, default=1
        Baum-Welch runs per class carried to convergence; the one with the
        highest weighted log-likelihood is kept.
    init_params : {"portfolio", "kmeans", "mixture", "random"}, \
            default="portfolio"
        How each start is initialised.  ``"kmeans"``: k-means means (best of
        10, as hmmlearn), uniform transitions.  ``"mixture"``: a Gaussian
        mixture fitted to the frames ignoring time (20 EM iterations from a
        random start); its posteriors give the emissions, the start
        probabilities and the transitions.  ``"random"``: every frame to the
        nearest of ``n_states`` random frames.  ``"portfolio"``: start ``i``
        takes ``("kmeans", "mixture", "random")[i % 3]``, so restarts differ
        in kind, not only in seed (see the user guide, "Restarts and
        initialisation").
    n_screen : int or "auto", default="auto"
        Starts screened per class: every start runs ``screen_iter``
        Baum-Welch iterations and the ``n_init`` best continue to
        convergence (emEM).  ``"auto"`` is ``2 * n_init``; a value at most
        ``n_init`` turns screening off.
    screen_iter : int, default=5
        Baum-Welch iterations of a screened start.
    max_iter : int, default=100
        Maximum Baum-Welch iterations (M-steps) per restart.
    tol : float, default=1e-4
        Stop when the weighted mean log-likelihood per time step changes by
        less than ``tol``.
    priors : array-like of shape (n_classes,), default=None
        Class priors; by default the weighted class frequencies.
    warm_start : bool, default=False
        Refit from the previous parameters (one run per class, no restarts);
        a class with no weight keeps its previous model.  Set by
        :class:`~skmoe.MixtureOfExpertsClassifier` for its experts.
    random_state : int, RandomState instance or None, default=None
        Seed of the random draws (the k-means initialisation of the
        emission means, the re-seeding of unused states); pass an int for
        reproducible fits.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    class_prior_ : ndarray of shape (n_classes,)
    startprob_ : ndarray of shape (n_classes, n_states)
    transmat_ : ndarray of shape (n_classes, n_states, n_states)
    means_ : ndarray of shape (n_classes, n_states, n_features)
    covars_ : ndarray of shape (n_classes, n_states, n_features) or \
            (n_classes, n_states, n_features, n_features)
    n_iter_ : ndarray of shape (n_classes,)
    converged_ : ndarray of shape (n_classes,) of bool
    lower_bound_ : ndarray of shape (n_classes,)
        Weighted mean log-likelihood per time step of each class's model.
    lower_bounds_all_ : list of list of float
        Per class, the final weighted mean log-likelihood per time step of
        every start (a screened-out start's after ``screen_iter`` iterations).
    init_strategies_ : list of str or None
        The strategy of each start (the same for every class); None after a
        warm start.
    n_features_in_ : int
        Features per time step.

    See Also
    --------
    CategoricalHMMClassifier : The same for sequences of discrete symbols.
    SequenceFeatures : Per-sequence features for a mixture's gate.

    Examples
    --------
    >>> import numpy as np
    >>> from skmoe.sequence import GaussianHMMClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = [rng.randn(rng.randint(5, 10), 2) + (i % 2) for i in range(20)]
    >>> y = [i % 2 for i in range(20)]
    >>> clf = GaussianHMMClassifier(n_states=2, random_state=0).fit(X, y)
    >>> clf.predict(X[:4])
    array([0, 1, 0, 1])
    """

    _parameter_constraints: dict = {
        **_BaseHMMClassifier._parameter_constraints,
        "covariance_type": [StrOptions({"diag", "full"})],
        "reg_covar": [Interval(Real, 0, None, closed="left")],
        "init_params": [StrOptions({"portfolio", "kmeans", "mixture", "random"})],
    }

    def __init__(
        self,
        n_states=2,
        *,
        covariance_type="diag",
        reg_covar=1e-6,
        n_init=1,
        init_params="portfolio",
        n_screen="auto",
        screen_iter=5,
        max_iter=100,
        tol=1e-4,
        priors=None,
        warm_start=False,
        random_state=None,
    ):
        self.n_states = n_states
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.n_init = n_init
        self.init_params = init_params
        self.n_screen = n_screen
        self.screen_iter = screen_iter
        self.max_iter = max_iter
        self.tol = tol
        self.priors = priors
        self.warm_start = warm_start
        self.random_state = random_state

    def _structure_key(self):
        return (self.n_states, self.covariance_type)

    def _make_emission(self, seqs, reset):
        return GaussianEmission(self.covariance_type, self.reg_covar)

    def _expose(self):
        self.startprob_ = np.stack([p["startprob"] for p in self._params])
        self.transmat_ = np.stack([p["transmat"] for p in self._params])
        self.means_ = np.stack([p["means"] for p in self._params])
        self.covars_ = np.stack([p["covars"] for p in self._params])


class CategoricalHMMClassifier(_BaseHMMClassifier):
    """Sequence classifier with one discrete-emission hidden Markov model per class.

    Sequences are integer symbols ``0 .. n_symbols - 1`` (each a 1-D array or
    a ``(T_i, 1)`` array).  Fitted by weighted Baum-Welch; ``predict_proba`` is
    Bayes' rule with the class priors.

    Parameters
    ----------
    n_states : int, default=2
        Hidden states per class.
    n_symbols : int, default=None
        Size of the alphabet, symbols ``0 .. n_symbols - 1``.  By default the
        alphabet is the distinct symbols seen in ``fit`` (any integers, in
        ``symbols_``; the tables are sized by their number), and a symbol not
        seen in ``fit`` is a ValueError at prediction.  Set it when a symbol
        may appear only at prediction time.
    alpha : float, default=0.0
        Pseudocount added to every (state, symbol) emission count in the
        M-step.  0 is maximum likelihood (hmmlearn's default); a positive value
        keeps symbols a class never emitted possible.  Unlike ``alpha=0`` it is
        not invariant to a common rescaling of ``sample_weight``.
    n_init : int, default=1
        Baum-Welch runs per class carried to convergence; the one with the
        highest weighted log-likelihood is kept.
    init_params : {"portfolio", "frequencies", "mixture", "random"}, \
            default="portfolio"
        How each start is initialised.  ``"frequencies"``: every state's
        emissions are the symbol frequencies perturbed at random, transitions
        perturbed uniform.  ``"mixture"``: a mixture of categorical
        distributions fitted to the frames ignoring time (20 EM iterations
        from a random start); its posteriors give the emissions, the start
        probabilities and the transitions.  ``"random"``: emission rows drawn
        uniformly from the simplex (hmmlearn's random start).
        ``"portfolio"``: start ``i`` takes
        ``("frequencies", "mixture", "random")[i % 3]``.
    n_screen : int or "auto", default="auto"
        Starts screened per class: every start runs ``screen_iter``
        Baum-Welch iterations and the ``n_init`` best continue to
        convergence (emEM).  ``"auto"`` is ``2 * n_init``; a value at most
        ``n_init`` turns screening off.
    screen_iter : int, default=5
        Baum-Welch iterations of a screened start.
    max_iter : int, default=100
        Maximum Baum-Welch iterations (M-steps) per restart.
    tol : float, default=1e-4
        Stop when the weighted mean log-likelihood per time step changes by
        less than ``tol``.
    priors : array-like of shape (n_classes,), default=None
        Class priors; by default the weighted class frequencies.
    warm_start : bool, default=False
        Refit from the previous parameters (one run per class, no restarts);
        a class with no weight keeps its previous model.  Set by
        :class:`~skmoe.MixtureOfExpertsClassifier` for its experts.
    random_state : int, RandomState instance or None, default=None
        Seed of the random draws; pass an int for reproducible fits.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    class_prior_ : ndarray of shape (n_classes,)
    n_symbols_ : int
        Size of the alphabet.
    symbols_ : ndarray of shape (``n_symbols_``,)
        The symbols, in the order of the columns of ``emissionprob_``.
    startprob_ : ndarray of shape (n_classes, n_states)
    transmat_ : ndarray of shape (n_classes, n_states, n_states)
    emissionprob_ : ndarray of shape (n_classes, n_states, ``n_symbols_``)
    n_iter_ : ndarray of shape (n_classes,)
    converged_ : ndarray of shape (n_classes,) of bool
    lower_bound_ : ndarray of shape (n_classes,)
    lower_bounds_all_ : list of list of float
        Per class, the final log-likelihood of every start.
    init_strategies_ : list of str or None
        The strategy of each start; None after a warm start.
    n_features_in_ : int
        Always 1.

    See Also
    --------
    GaussianHMMClassifier : The same for real-valued sequences.

    Examples
    --------
    >>> import numpy as np
    >>> from skmoe.sequence import CategoricalHMMClassifier
    >>> X = [np.array([0, 1, 0, 1, 0]), np.array([1, 0, 1, 0]),
    ...      np.array([0, 0, 1, 1, 0, 0]), np.array([1, 1, 0, 0, 1])]
    >>> clf = CategoricalHMMClassifier(random_state=0).fit(X, [0, 0, 1, 1])
    >>> clf.predict_proba(X).shape
    (4, 2)
    """

    _parameter_constraints: dict = {
        **_BaseHMMClassifier._parameter_constraints,
        "n_symbols": [Interval(Integral, 1, None, closed="left"), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "init_params": [StrOptions({"portfolio", "frequencies", "mixture", "random"})],
    }

    _seq_dtype = "integer"
    _portfolio = ("frequencies", "mixture", "random")

    def _strategy(self, name):
        # The emission model's own start is the perturbed frequencies.
        return "kmeans" if name == "frequencies" else name

    def __init__(
        self,
        n_states=2,
        *,
        n_symbols=None,
        alpha=0.0,
        n_init=1,
        init_params="portfolio",
        n_screen="auto",
        screen_iter=5,
        max_iter=100,
        tol=1e-4,
        priors=None,
        warm_start=False,
        random_state=None,
    ):
        self.n_states = n_states
        self.n_symbols = n_symbols
        self.alpha = alpha
        self.n_init = n_init
        self.init_params = init_params
        self.n_screen = n_screen
        self.screen_iter = screen_iter
        self.max_iter = max_iter
        self.tol = tol
        self.priors = priors
        self.warm_start = warm_start
        self.random_state = random_state

    def _check_seqs(self, X, lengths, reset):
        seqs = super()._check_seqs(X, lengths, reset)
        if seqs[0].shape[1] != 1:
            raise ValueError(
                f"{type(self).__name__} takes sequences of single symbols (1-D, or 2-D with "
                f"one column); got {seqs[0].shape[1]} columns."
            )
        return seqs

    def _structure_key(self):
        return (self.n_states, self.n_symbols)

    def _make_emission(self, seqs, reset):
        if reset:
            if self.n_symbols is None:
                # The symbols seen, encoded 0 .. m-1: the tables are sized by
                # how many symbols there are, not by the largest (one symbol
                # of 1e9 would otherwise allocate gigabytes).
                self.symbols_ = np.unique(np.concatenate([s[:, 0] for s in seqs]))
            else:
                self.symbols_ = np.arange(self.n_symbols)
            self.n_symbols_ = self.symbols_.size
        self._encode(seqs, "fit")
        return CategoricalEmission(self.n_symbols_, self.alpha)

    def _encode(self, seqs, where):
        """Replace each sequence of ``seqs`` by its symbols' codes (in place)."""
        for i, s in enumerate(seqs):
            codes = np.searchsorted(self.symbols_, s[:, 0])
            codes = np.minimum(codes, self.symbols_.size - 1)
            bad = self.symbols_[codes] != s[:, 0]
            if bad.any():
                sym = int(s[np.argmax(bad), 0])
                if self.n_symbols is not None:
                    raise ValueError(
                        f"{type(self).__name__}: symbol {sym} found but the alphabet has "
                        f"n_symbols={self.n_symbols} symbols (0 .. {self.n_symbols - 1})."
                    )
                raise ValueError(
                    f"{type(self).__name__}: symbol {sym} (in {where}) was not among the "
                    f"{self.symbols_.size} symbols seen in fit (symbols_); set n_symbols to "
                    "the full alphabet size (symbols 0 .. n_symbols - 1) when a symbol may "
                    "appear only at prediction time."
                )
            seqs[i] = codes[:, None].astype(np.intp)

    def _check_predict_sequences(self, seqs):
        self._encode(seqs, "the sequences to predict")

    def _expose(self):
        self.startprob_ = np.stack([p["startprob"] for p in self._params])
        self.transmat_ = np.stack([p["transmat"] for p in self._params])
        self.emissionprob_ = np.stack([p["emissionprob"] for p in self._params])
