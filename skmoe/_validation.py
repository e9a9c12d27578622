"""Validation helpers shared by the estimators: written once, imported by all.

This module imports no estimator (held by ``tests/test_imports.py``): the
mixtures, the Markov-switching models and the engines import it, never the
other way round.
"""

import numpy as np


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
