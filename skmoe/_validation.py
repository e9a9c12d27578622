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
