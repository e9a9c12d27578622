"""Choosing the number of experts: information criteria and cross-validation."""

import copy
import threading
import warnings
from numbers import Integral

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone, is_classifier
from sklearn.model_selection import KFold, StratifiedKFold, check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, check_random_state, indexable
from sklearn.utils.validation import check_consistent_length

from ._base import BaseMixtureOfExperts
from ._results import ResultTable
from ._validation import check_sample_weight
from .gating import BaseGate

__all__ = ["log_likelihood_scorer", "select_n_experts"]

_CRITERIA = ("bic", "icl", "aic", "cv")


def _final_mixture(estimator):
    """The last step of (nested) Pipelines, with its ``step__...__`` parameter prefix.

    ``estimator`` itself, with prefix ``""``, when it is not a Pipeline.
    """
    prefix = ""
    while isinstance(estimator, Pipeline):
        name, estimator = estimator.steps[-1]
        prefix += f"{name}__"
    return estimator, prefix


def _mixture_and_input(estimator, X, who):
    """The fitted mixture at the end of ``estimator`` and X as that mixture sees it.

    A Pipeline's earlier steps transform X (each a fitted transformer); the
    last step must have ``log_likelihood``.  Anything else is a TypeError
    naming what was expected: a scorer that cannot score must say so, not
    return NaN (GridSearchCV would keep its first candidate silently).
    """
    Xt = X
    while isinstance(estimator, Pipeline):
        if len(estimator.steps) > 1:
            Xt = estimator[:-1].transform(Xt)
        estimator = estimator.steps[-1][1]
    if not hasattr(estimator, "log_likelihood"):
        raise TypeError(
            f"{who} needs a fitted skmoe mixture (MixtureOfExpertsRegressor or "
            "MixtureOfExpertsClassifier), or a Pipeline whose last step is one; got "
            f"{type(estimator).__name__}, which has no log_likelihood method."
        )
    return estimator, Xt


def log_likelihood_scorer(estimator, X, y, sample_weight=None):
    """Mean log-likelihood of held-out data under a fitted mixture (higher is better).

    A scorer with scikit-learn's ``scorer(estimator, X, y)`` signature, for
    ``cross_val_score(..., scoring=log_likelihood_scorer)`` or
    ``GridSearchCV(..., scoring=log_likelihood_scorer)``: the (weighted)
    mean of ``estimator.log_likelihood(X, y)``, the per-sample
    ``log p(y_i | x_i)``.  A :class:`~sklearn.pipeline.Pipeline` whose last
    step is a mixture is scored too: X goes through the earlier steps'
    ``transform`` first.

    Parameters
    ----------
    estimator : fitted mixture of experts, or Pipeline ending in one
        A fitted ``MixtureOfExpertsRegressor`` or
        ``MixtureOfExpertsClassifier``, or a fitted Pipeline whose last step
        is one.
    X : array-like of shape (n_samples, n_features)
        Input samples (the Pipeline's input, when it is a Pipeline).
    y : array-like of shape (n_samples,)
        Observed targets, one per row of X.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights; None gives every row weight 1.

    Returns
    -------
    score : float
        Mean log-likelihood per row of the held-out data (higher is better).

    Raises
    ------
    TypeError
        If the estimator (or the Pipeline's last step) has no
        ``log_likelihood``: it is not a mixture of experts.
    ValueError
        If the mean log-likelihood is NaN.  A scorer never returns NaN: a
        search would rank every candidate NaN and keep the first.
    """
    mixture, Xt = _mixture_and_input(estimator, X, "log_likelihood_scorer")
    ll = np.asarray(mixture.log_likelihood(Xt, y), dtype=np.float64)
    if sample_weight is None:
        score = float(ll.mean())
    else:
        sw = np.asarray(sample_weight, dtype=np.float64)
        score = float(sw @ ll / sw.sum())
    if np.isnan(score):
        raise ValueError(
            "log_likelihood_scorer: the mean log-likelihood of the held-out rows is NaN "
            f"({int(np.isnan(ll).sum())} of {ll.size} rows NaN"
            + ("" if sample_weight is None else ", or the weights sum to 0")
            + "); a score must be a number."
        )
    return score


def _check_estimator(template):
    """The mixture at the end of ``template`` and its ``n_experts`` parameter name."""
    estimator, prefix = _final_mixture(template)
    if not isinstance(estimator, BaseMixtureOfExperts):
        raise TypeError(
            "select_n_experts needs a skmoe mixture (MixtureOfExpertsRegressor or "
            "MixtureOfExpertsClassifier) or a Pipeline whose last step is one; got "
            f"{type(estimator).__name__}"
            + (f" as the last step of a {type(template).__name__}." if prefix else ".")
        )
    gate = estimator.gate
    # A gate named by a string is the default of its class: gate="hierarchical"
    # is HierarchicalGate(), whose leaves fix the number of experts as well
    # (every candidate was the same 4-leaf model, and best_n_experts=1).
    if isinstance(gate, str):
        gate = estimator._make_gate()
    if isinstance(gate, BaseGate) and hasattr(gate, "_required_n_experts"):
        raise ValueError(
            f"The gate {type(gate).__name__} fixes the number of experts (its leaves), so "
            "n_experts cannot be chosen; compare gate shapes (e.g. depth, branching) with "
            "GridSearchCV and log_likelihood_scorer instead."
        )
    if isinstance(estimator.experts, list):
        raise ValueError(
            "The estimator has a list of heterogeneous experts, which fixes the number of "
            "experts; select_n_experts needs experts=None or a single estimator."
        )
    return prefix + "n_experts"


def _check_n_experts(n_experts):
    hint = "n_experts must be a non-empty sequence of positive integers such as range(1, 7)"
    if isinstance(n_experts, (str, bytes, Integral)) or not np.iterable(n_experts):
        raise ValueError(f"{hint}; got {n_experts!r}.")
    values = list(n_experts)
    if not values:
        raise ValueError(f"{hint}; got an empty sequence {n_experts!r}.")
    bad = [
        v for v in values if isinstance(v, (bool, np.bool_)) or not isinstance(v, Integral) or v < 1
    ]
    if bad:
        raise ValueError(f"{hint}; got the invalid value(s) {bad!r}.")
    return np.array(sorted({int(v) for v in values}), dtype=np.intp)


def _run_quietly(func, *args):
    """Call ``func`` and return its result with the warnings it raised.

    In the main thread of a process (sequential runs, process-based joblib
    backends such as the default loky) the warnings are recorded and
    re-issued by the caller in candidate order, so what the user sees does
    not depend on ``n_jobs``; warnings from loky workers would otherwise be
    lost.  ``warnings.catch_warnings`` is not thread-safe, so in a worker
    thread (joblib's threading backend) warnings go out directly instead.
    """
    if threading.current_thread() is not threading.main_thread():
        return func(*args), []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = func(*args)
    return out, [(w.category, str(w.message)) for w in caught]


def _fit_params(estimator, sw):
    """``fit``'s keyword arguments for the weights ``sw`` (None: unweighted).

    A Pipeline routes them to its last step as ``<step>__sample_weight``.
    """
    if sw is None:
        return {}
    return {_final_mixture(estimator)[1] + "sample_weight": sw}


def _fit_criteria(estimator, X, y, sw, weighted):
    estimator.fit(X, y, **_fit_params(estimator, sw if weighted else None))
    # The criteria of a Pipeline are those of its mixture on the transformed
    # X: the earlier steps are the same for every candidate, so their own
    # parameters (not counted) do not change the ranking.
    mixture, Xt = _mixture_and_input(estimator, X, "select_n_experts")
    ll = mixture.log_likelihood(Xt, y)
    resp = mixture.responsibilities(Xt, y)
    n_params = mixture._n_parameters()
    ll_sum = float(sw @ ll)
    n_eff = float(sw.sum())
    entropy = float(sw @ -np.sum(resp * np.log(np.where(resp > 0, resp, 1.0)), axis=1))
    bic = -2.0 * ll_sum + n_params * np.log(n_eff)
    row = dict(
        log_likelihood=ll_sum,
        n_parameters=n_params,
        bic=bic,
        aic=-2.0 * ll_sum + 2.0 * n_params,
        icl=bic + 2.0 * entropy,
        converged=bool(mixture.converged_),
        n_iter=int(mixture.n_iter_),
    )
    return estimator, row


def _fit_score(estimator, X, y, sw, train, test, weighted):
    estimator.fit(
        _safe_indexing(X, train),
        _safe_indexing(y, train),
        **_fit_params(estimator, sw[train] if weighted else None),
    )
    return log_likelihood_scorer(
        estimator, _safe_indexing(X, test), _safe_indexing(y, test), sw[test] if weighted else None
    )


def _cv_seed(random_state):
    """An int (or None) seed for the shuffled folds from the estimator's ``random_state``.

    A ``RandomState`` is copied before drawing: the folds must not advance
    the user's generator, which every candidate (a clone) starts from.
    """
    if random_state is None or isinstance(random_state, Integral):
        return random_state
    rng = check_random_state(copy.deepcopy(random_state))
    return int(rng.randint(np.iinfo(np.int32).max))


def _check_cv(cv, y, estimator):
    """Shuffled (Stratified)KFold for an int ``cv``; ``check_cv`` for anything else.

    Unshuffled folds are contiguous blocks of rows.  On data sorted by x (a
    time series such as the motorcycle data) each fold then holds out a
    range of x the training folds never saw, and the held-out likelihood
    rewards the model that extrapolates least: one expert (1 instead of 4
    on ``load_mcycle``).  Shuffled folds ask what ``n_experts`` is for, how
    well the model generalises within the range of the data.
    """
    if cv is None or (isinstance(cv, Integral) and not isinstance(cv, bool)):
        mixture = _final_mixture(estimator)[0]
        splitter = StratifiedKFold if is_classifier(estimator) else KFold
        return splitter(
            5 if cv is None else int(cv),
            shuffle=True,
            random_state=_cv_seed(mixture.random_state),
        )
    return check_cv(cv, y, classifier=is_classifier(estimator))


def _reissue(caught_by_candidate, labels):
    for label, caught in zip(labels, caught_by_candidate, strict=False):
        seen = set()
        for category, message in caught:
            if category in seen:
                continue
            seen.add(category)
            warnings.warn(f"{label}: {message}", category, stacklevel=3)


def select_n_experts(
    estimator,
    X,
    y,
    *,
    n_experts=range(1, 7),
    criterion="bic",
    cv=5,
    n_jobs=None,
    sample_weight=None,
):
    """Choose the number of experts by an information criterion or cross-validation.

    Every candidate is a clone of ``estimator`` with ``n_experts`` set to one
    of the values; the candidates are fitted in parallel with joblib.  Each
    candidate keeps the estimator's ``random_state``, so with an integer (or
    a ``RandomState``) seed the result is the same for any ``n_jobs``.

    Parameters
    ----------
    estimator : mixture of experts, or Pipeline ending in one
        Template; it is cloned, never fitted.  A
        ``MixtureOfExpertsRegressor`` or ``MixtureOfExpertsClassifier``, or a
        :class:`~sklearn.pipeline.Pipeline` whose last step is one (its
        ``<step>__n_experts`` is varied, ``sample_weight`` goes to that
        step, and the criteria are the mixture's on the transformed X).  The
        mixture's gate must not fix the number of experts (a
        ``HierarchicalGate``) and ``experts`` must not be a list of named
        experts.
    X : array-like of shape (n_samples, n_features)
        Input samples.
    y : array-like of shape (n_samples,)
        Observed targets, one per row of X.
    n_experts : iterable of int, default=range(1, 7)
        Candidate numbers of experts, evaluated in increasing order
        (duplicates are dropped).
    criterion : {"bic", "icl", "aic", "cv"}, default="bic"
        ``"bic"``, ``"icl"`` and ``"aic"`` fit every candidate on all the
        data and pick the smallest criterion (see
        :meth:`~skmoe.MixtureOfExpertsRegressor.bic`, ``icl``, ``aic``);
        ICL adds twice the entropy of the responsibilities to BIC, so it
        favours well-separated experts and tends to choose fewer.
        ``"cv"`` picks the largest mean held-out log-likelihood
        (:func:`log_likelihood_scorer`) over the folds of ``cv`` and then
        refits the chosen candidate on all the data.
    cv : int, cross-validation generator, iterable or None, default=5
        Folds for ``criterion="cv"`` (ignored otherwise).  An int (None:
        5) gives *shuffled* ``KFold`` for a regressor and shuffled
        ``StratifiedKFold`` for a classifier, seeded by the mixture's
        ``random_state`` (an int is used as is; a ``RandomState`` is not
        advanced).  They are shuffled, unlike
        :func:`~sklearn.model_selection.cross_val_score`'s, because data
        sorted by x (time series such as
        :func:`~skmoe.datasets.load_mcycle`) would otherwise hold out whole
        ranges of x, and the held-out likelihood would reward the model that
        extrapolates least (one expert instead of four on the motorcycle
        data).  A splitter or an iterable of ``(train, test)`` pairs is used
        as given (e.g. ``KFold(5)`` for contiguous folds, or
        ``TimeSeriesSplit`` to score forecasts).  The same folds are used
        for every candidate.
    n_jobs : int, default=None
        Number of parallel jobs over candidates (and folds); ``None`` means
        1 unless in a :func:`joblib.parallel_backend` context.
    sample_weight : array-like of shape (n_samples,), default=None
        Passed to every ``fit``; it also weights the criteria (the
        log-likelihood and entropy are weighted sums and ``n`` in BIC's
        ``log n`` is the sum of the weights, so integer weights act as
        repeated rows) and the held-out scores.

    Returns
    -------
    best_estimator : estimator
        A clone of ``estimator`` (the mixture, or the Pipeline) with the
        chosen ``n_experts``, fitted on all the data.
    results : ResultTable
        One row per candidate (a dict of arrays; ``results.to_frame()``
        gives a pandas DataFrame).  Columns: ``n_experts``; for the
        information criteria ``log_likelihood`` (total), ``n_parameters``,
        ``bic``, ``aic``, ``icl``, ``converged`` and ``n_iter``; for
        ``"cv"`` ``mean_test_log_likelihood``, ``std_test_log_likelihood``
        and ``split<i>_test_log_likelihood``; always ``rank`` (1 is the
        choice; ties go to fewer experts).  Attributes ``criterion``,
        ``best_index`` and ``best_n_experts``.

    Warns
    -----
    Warnings raised while fitting a candidate (``ConvergenceWarning``,
    :class:`~skmoe.exceptions.DegenerateExpertWarning`...) are re-issued
    once per candidate and category, prefixed by the candidate.

    See Also
    --------
    log_likelihood_scorer : The held-out score used by ``criterion="cv"``.
    sklearn.model_selection.GridSearchCV : To tune several parameters at once.

    Examples
    --------
    >>> from skmoe import MixtureOfExpertsRegressor
    >>> from skmoe.datasets import make_moe_regression
    >>> from skmoe.model_selection import select_n_experts
    >>> X, y, _ = make_moe_regression(n_samples=500, n_experts=3, noise=0.3, random_state=0)
    >>> best, results = select_n_experts(
    ...     MixtureOfExpertsRegressor(n_init=2, random_state=0), X, y, n_experts=range(1, 5))
    >>> best.n_experts
    3
    >>> results.to_frame()[["n_experts", "bic", "rank"]]  # doctest: +SKIP
    """
    n_experts_param = _check_estimator(estimator)
    candidates = _check_n_experts(n_experts)
    if not isinstance(criterion, str) or criterion not in _CRITERIA:
        raise ValueError(f"criterion must be one of {list(_CRITERIA)}; got {criterion!r}.")
    X, y = indexable(X, y)
    check_consistent_length(X, y)
    weighted = sample_weight is not None
    sw = check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
    templates = [clone(estimator).set_params(**{n_experts_param: int(k)}) for k in candidates]
    parallel = Parallel(n_jobs=n_jobs)

    if criterion != "cv":
        outs = parallel(
            delayed(_run_quietly)(_fit_criteria, est, X, y, sw, weighted) for est in templates
        )
        _reissue([caught for _, caught in outs], [f"n_experts={k}" for k in candidates])
        fitted = [out[0][0] for out in outs]
        rows = [out[0][1] for out in outs]
        columns = {"n_experts": candidates}
        for key in rows[0]:
            columns[key] = np.array([row[key] for row in rows])
        values = columns[criterion]
        order = np.argsort(values, kind="stable")  # ties: fewer experts first
    else:
        cv_ = _check_cv(cv, y, estimator)
        splits = list(cv_.split(X, y))
        outs = parallel(
            delayed(_run_quietly)(_fit_score, clone(est), X, y, sw, train, test, weighted)
            for est in templates
            for train, test in splits
        )
        n_splits = len(splits)
        scores = np.array([score for score, _ in outs]).reshape(len(candidates), n_splits)
        caught = [
            sum((outs[i * n_splits + s][1] for s in range(n_splits)), [])
            for i in range(len(candidates))
        ]
        _reissue(caught, [f"n_experts={k} (cross-validation)" for k in candidates])
        columns = {
            "n_experts": candidates,
            "mean_test_log_likelihood": scores.mean(axis=1),
            "std_test_log_likelihood": scores.std(axis=1),
        }
        for s in range(n_splits):
            columns[f"split{s}_test_log_likelihood"] = scores[:, s]
        order = np.argsort(-columns["mean_test_log_likelihood"], kind="stable")
    rank = np.empty(len(candidates), dtype=np.intp)
    rank[order] = np.arange(1, len(candidates) + 1)
    columns["rank"] = rank
    best = int(order[0])
    if criterion == "cv":
        best_estimator = clone(templates[best]).fit(
            X, y, **_fit_params(estimator, sw if weighted else None)
        )
    else:
        best_estimator = fitted[best]
    results = ResultTable(columns)
    results.criterion = criterion
    results.best_index = best
    results.best_n_experts = int(candidates[best])
    return best_estimator, results
