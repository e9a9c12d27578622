"""Validation helpers shared by the estimators: written once, imported by all.

This module imports no estimator (held by ``tests/test_imports.py``): the
mixtures, the Markov-switching models and the engines import it, never the
other way round.
"""

import numpy as np
from sklearn.utils.multiclass import check_classification_targets


def resolve_features(spec, param, n_features, feature_names=None):
    """Column indices of a feature subset (``gate_features``, ``expert_features``...).

    Parameters
    ----------
    spec : None, transformer or array-like of int, str or bool
        The subset: column indices (negative ones count from the end), column
        names (when X had feature names), or a boolean mask over the columns.
        ``None`` or an object with ``transform`` (sequence mode) means no
        subset.
    param : str
        Name of the parameter, for the error messages.
    n_features : int
        Number of columns of X.
    feature_names : ndarray of str, default=None
        Names of the columns of X (``feature_names_in_``), if it had any.

    Returns
    -------
    cols : ndarray of shape (n_selected,) of intp, or None
        The selected column indices, in the order given; ``None`` for no
        subset.
    """
    if spec is None or hasattr(spec, "transform"):  # a transformer: sequence mode
        return None
    arr = np.asarray(spec)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"{param} must be a non-empty 1-D list of column indices, names or a boolean "
            f"mask; got {spec!r}."
        )
    if arr.dtype.kind == "b":
        if arr.size != n_features:
            raise ValueError(
                f"{param} is a boolean mask of length {arr.size} but X has {n_features} features."
            )
        cols = np.flatnonzero(arr)
        if cols.size == 0:
            raise ValueError(f"{param} is a boolean mask that selects no column.")
        return cols
    if arr.dtype.kind in "iu":
        bad = arr[(arr < -n_features) | (arr >= n_features)]
        if bad.size:
            raise ValueError(
                f"{param} refers to column(s) {bad.tolist()} but X has {n_features} features."
            )
        cols = np.where(arr < 0, arr + n_features, arr)
    elif arr.dtype.kind in "UO":
        if feature_names is None:
            raise ValueError(
                f"{param} gives column names {arr.tolist()} but X has no feature names; "
                "fit with a pandas DataFrame or give column indices."
            )
        lookup = {str(n): i for i, n in enumerate(feature_names)}
        missing = [str(a) for a in arr if str(a) not in lookup]
        if missing:
            raise ValueError(
                f"{param} names column(s) {missing} that are not in X; its columns are "
                f"{list(map(str, feature_names))}."
            )
        cols = np.array([lookup[str(a)] for a in arr])
    else:
        raise ValueError(
            f"{param} must hold column indices, names or booleans; got dtype {arr.dtype}."
        )
    if np.unique(cols).size != cols.size:
        raise ValueError(f"{param} lists a column more than once: {spec!r}.")
    return cols.astype(np.intp)


def _shown(values, limit=10):
    """``values.tolist()`` for a message, cut to its first ``limit`` entries."""
    values = np.asarray(values)
    if values.size <= limit:
        return str(values.tolist())
    return f"{values[:limit].tolist()} and {values.size - limit} more"


def fit_labels(y, *, estimator=None, what="y"):
    """Classes of the class labels y and the code of each label (fit time).

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels: integers, strings or any sortable values of one kind.
    estimator : str, default=None
        Name of the estimator, for the error message.  When given, a y with
        fewer than 2 classes is an error.
    what : str, default="y"
        What y is, for that error message (e.g. the rows of y with positive
        weight).

    Returns
    -------
    classes : ndarray of shape (n_classes,)
        The distinct labels, sorted (``classes_``, as ``LabelEncoder``).
    codes : ndarray of shape (n_samples,) of intp
        The index of each label in ``classes``.

    Raises
    ------
    ValueError
        If y is not a classification target (continuous values), mixes
        labels of different kinds, or (``estimator`` given) holds one class
        only.
    """
    y = np.asarray(y)
    try:
        check_classification_targets(y)
        classes, codes = np.unique(y, return_inverse=True)
    except TypeError:
        kinds = sorted({type(v).__name__ for v in y.ravel().tolist()})
        raise ValueError(
            f"{what} must hold labels of one kind (all strings or all numbers); got {kinds}."
        ) from None
    if estimator is not None and classes.shape[0] < 2:
        raise ValueError(
            f"{estimator} needs at least 2 classes in {what}; got one class only "
            f"({classes[:1].tolist()[0]!r}): a classifier can't train when only one class is present."
        )
    return classes, codes.reshape(-1).astype(np.intp)


def encode_labels(y, classes, *, where="in fit"):
    """The index in ``classes`` of each label of y (scoring, later chunks).

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels, each one of ``classes``.
    classes : ndarray of shape (n_classes,)
        The sorted classes (``classes_``), as :func:`fit_labels` returns them.
    where : str, default="in fit"
        Where the classes came from, for the error message: a label not in
        ``classes`` is reported as "not seen {where}".

    Returns
    -------
    codes : ndarray of shape (n_samples,) of intp

    Raises
    ------
    ValueError
        If y holds a label that is not one of ``classes``; the message names
        the unseen labels and the classes.
    """
    y = np.asarray(y)
    classes = np.asarray(classes)
    try:
        idx = np.clip(np.searchsorted(classes, y), 0, classes.shape[0] - 1)
        bad = classes[idx] != y
    except TypeError:  # object labels of another kind than the classes
        lookup = {c: i for i, c in enumerate(classes.tolist())}
        flat = y.ravel().tolist()
        idx = np.array([lookup.get(v, 0) for v in flat], dtype=np.intp).reshape(y.shape)
        bad = np.array([v not in lookup for v in flat], dtype=bool).reshape(y.shape)
    if np.any(bad):
        unseen = y[bad]
        try:
            unseen = np.unique(unseen)
        except TypeError:
            unseen = np.array(list(dict.fromkeys(unseen.tolist())), dtype=object)
        raise ValueError(
            f"y contains labels {_shown(unseen)} that are not in classes {_shown(classes)} "
            f"(not seen {where})."
        )
    return idx.astype(np.intp)


# --------------------------------------------------------------------------- #
# Experts: the list of (name, estimator) pairs
# --------------------------------------------------------------------------- #
def check_expert_kind(est, name, classifier, owner=None):
    """Reject an expert of the wrong kind (a classifier in a regressor...).

    ``owner`` names the estimator in the message (default: "the mixture").
    """
    from sklearn.base import is_classifier

    owner = owner or "the mixture"
    if classifier and not is_classifier(est):
        if not hasattr(est, "predict_proba"):
            raise ValueError(
                f"Expert {name!r} ({type(est).__name__}) is not a classifier: "
                f"{owner} needs experts with predict_proba."
            )
    if not classifier and is_classifier(est):
        raise ValueError(
            f"Expert {name!r} ({type(est).__name__}) is a classifier: "
            f"{owner} needs regressors as experts."
        )


def named_experts(
    experts,
    n_experts,
    default,
    *,
    classifier,
    owner=None,
    prefix="expert",
    sample_weight_hint=None,
    n_required=None,
    count_message=None,
):
    """The ``(name, estimator)`` pairs of a mixture's or a regime model's experts.

    Parameters
    ----------
    experts : None, estimator or list of (str, estimator)
        The ``experts`` parameter.
    n_experts : int
        Number of experts when one estimator (or None) is repeated.
    default : callable
        Makes the default expert (``experts=None``).
    classifier : bool
        Whether the experts must be classifiers.
    owner : str, default=None
        The estimator's class name, for the messages.
    prefix : str, default="expert"
        Names of repeated experts: ``prefix0``, ``prefix1``...
    sample_weight_hint : str or None, default=None
        When given, an expert whose ``fit`` takes no ``sample_weight`` is an
        error, with this explanation appended.
    n_required, count_message : int and str, default=None
        When given, a list of another length is an error with this message.

    Returns
    -------
    named : list of (str, estimator)
    """
    from sklearn.utils.validation import has_fit_parameter

    if experts is None:
        named = [(f"{prefix}{k}", default()) for k in range(n_experts)]
    elif isinstance(experts, list):
        if len(experts) == 0:
            raise ValueError("experts is an empty list; give at least one (name, estimator) pair.")
        named = []
        for item in experts:
            if not (
                isinstance(item, tuple)
                and len(item) == 2
                and isinstance(item[0], str)
                and hasattr(item[1], "fit")
            ):
                raise ValueError(
                    "experts must be None, an estimator, or a list of (name, estimator) "
                    f"tuples with string names; got the item {item!r}."
                )
            if "__" in item[0]:
                raise ValueError(f"Expert names may not contain '__'; got {item[0]!r}.")
            named.append(item)
        names = [n for n, _ in named]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"Expert names must be unique; repeated: {dup}.")
        if n_required is not None and len(named) != n_required:
            raise ValueError(count_message)
    else:
        named = [(f"{prefix}{k}", experts) for k in range(n_experts)]
    for name, est in named:
        check_expert_kind(est, name, classifier, owner)
        if sample_weight_hint is not None and not has_fit_parameter(est, "sample_weight"):
            raise ValueError(
                f"Expert {name!r} ({type(est).__name__}) does not accept sample_weight in "
                f"fit; {sample_weight_hint}"
            )
    return named


# Fitting forms squares of the inputs' values (variances, Gram matrices,
# squared residuals): beyond about 1e150 in magnitude they overflow to inf
# (float64 holds 1.8e308), and the fit would end in a NaN or a
# ZeroDivisionError far from the cause.
MAX_MAGNITUDE = 1e150


def check_magnitude(a, name, limit=MAX_MAGNITUDE):
    """Raise a ValueError naming ``name`` when a finite value exceeds ``limit``.

    Parameters
    ----------
    a : ndarray of float
        Validated (finite) values.
    name : str
        The argument, for the message (``"X"``, ``"y"``).
    limit : float, default=MAX_MAGNITUDE
        The largest magnitude accepted.
    """
    if a.size == 0:
        return
    # max and min, not abs: no temporary copy of a large X.
    big = max(abs(float(np.max(a))), abs(float(np.min(a))))
    if big > limit:
        raise ValueError(
            f"{name} has values of magnitude up to {big:.3g}; fitting needs them below "
            f"{limit:.0e} (it forms their squares: variances and Gram matrices, which "
            f"overflow beyond that). Rescale {name}, e.g. divide it by a power of ten."
        )


def feature_names(est, cols=None):
    """The names of a fitted estimator's input columns ``cols`` (all when None), as str.

    ``feature_names_in_`` when it was fitted on a DataFrame, else ``x0``,
    ``x1``, ... (what summaries and result tables print).
    """
    names = getattr(est, "feature_names_in_", None)
    if names is None:
        names = [f"x{j}" for j in range(est.n_features_in_)]
    names = [str(v) for v in names]
    return names if cols is None else [names[j] for j in cols]
