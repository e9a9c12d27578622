"""Validation helpers shared by the estimators: written once, imported by all.

This module imports no estimator (held by ``tests/test_imports.py``): the
mixtures, the Markov-switching models and the engines import it, never the
other way round.
"""

import datetime

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, validate_data


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


# Kinds of dtype (NumPy's letters, which pandas' extension dtypes share) that
# are not numbers.  A cast to float64 turns timestamps into counts of their
# unit since 1970 (nanoseconds for pandas, seconds or days for a NumPy
# datetime64 of that unit): a model fitted on one unit would predict
# silently wrong from another, so they are refused, never cast.
_NOT_NUMBERS = {"M": "timestamps", "m": "durations", "c": "complex numbers", "V": "raw records"}

_HINTS = {
    "timestamps": (
        "convert timestamps and durations to numbers in the unit you mean, e.g. seconds "
        "since the first one: (t - t.min()).dt.total_seconds() for a pandas column, "
        "(t - t.min()) / np.timedelta64(1, 's') for a NumPy array"
    ),
    "text": (
        "encode text and categories as numbers, e.g. with "
        "sklearn.preprocessing.OneHotEncoder in a sklearn.compose.ColumnTransformer"
    ),
    "complex numbers": "split complex numbers into their real and imaginary parts",
    "raw records": "give the fields of structured records as separate columns",
}
_HINTS["durations"] = _HINTS["timestamps"]
_HINTS["categories"] = _HINTS["text"]


def _not_a_number(values):
    """The first entry of an object array that ``float`` refuses, or None."""
    for v in values.ravel():
        try:
            float(v)
        except (TypeError, ValueError):
            return v
    return None


def _kind_of(example, dtype):
    """What an entry that ``float`` refuses is, for the message and its hint."""
    if isinstance(example, (datetime.date, datetime.time)) or hasattr(example, "to_timestamp"):
        return "timestamps"  # datetime objects, pandas Timestamps and Periods
    if isinstance(example, datetime.timedelta):
        return "durations"
    if str(dtype) == "category":
        return "categories"
    return "text" if isinstance(example, (str, bytes, np.str_, np.bytes_)) else "objects"


def _problem(values, dtype):
    """What the values of one column (or array) are if not numbers, and the
    first entry that shows it; None when they are numbers.

    ``values`` is only read for text and object columns (kinds O, U, S):
    those are numbers when every entry converts, as scikit-learn's own
    validation allows (``"1.5"``, a categorical of numbers).  Arrays that are
    not in memory (Dask, sparse) are judged by their dtype alone.
    """
    kind = getattr(dtype, "kind", None)
    if kind in _NOT_NUMBERS:
        return _NOT_NUMBERS[kind], None
    if kind in ("O", "U", "S"):
        try:
            arr = np.asarray(values) if hasattr(values, "iloc") else values
        except (TypeError, ValueError):
            return None
        if not isinstance(arr, np.ndarray):
            return None
        try:
            arr.astype(np.float64)
        except (TypeError, ValueError):
            example = _not_a_number(arr)
            kind = _kind_of(example, dtype)
            # Other objects (a dict, say) are left to scikit-learn's own
            # TypeError, whose words its common checks look for.
            return None if kind == "objects" else (kind, example)
    return None


def check_numeric(a, name, need):
    """Raise a ValueError naming the columns of ``a`` that are not numbers.

    Timestamps (datetime64, datetime objects, pandas Periods), durations,
    complex numbers, structured records, and text or categories of text that
    do not all convert to float (other objects, a dict say, are left to the
    TypeError of scikit-learn's cast).  Checked
    before scikit-learn's validation, which casts timestamps to counts of
    their unit without a word, and whose other failures are NumPy's own
    messages (a promotion error for a DataFrame that mixes timestamps and
    numbers, say) that name neither the argument nor the column.

    Parameters
    ----------
    a : array-like
        The argument as given: a pandas DataFrame or Series, an array, a
        list.
    name : str
        The argument (``"X"``, ``"y"``, ``"sample_weight"``).
    need : str
        What is needed instead, the message's second sentence
        (``"LinearExpert needs a numeric target"``).
    """
    found = []  # (column label or None, dtype, kind of problem, example)
    dtypes = getattr(a, "dtypes", None)
    if dtypes is not None and hasattr(dtypes, "items") and hasattr(type(a), "iloc"):
        for j, (label, dtype) in enumerate(dtypes.items()):
            if getattr(dtype, "kind", None) in ("b", "i", "u", "f"):
                continue  # numbers: no column is taken out
            problem = _problem(a.iloc[:, j], dtype)
            if problem is not None:
                found.append((label, dtype, *problem))
    else:
        dtype = getattr(a, "dtype", None)
        values = a
        if dtype is None and isinstance(a, (list, tuple)):
            try:
                values = np.asarray(a)
            except (TypeError, ValueError):  # ragged: scikit-learn says so
                return
            dtype = values.dtype
        problem = _problem(values, dtype) if dtype is not None else None
        if problem is not None:
            found.append((None, dtype, *problem))
    if not found:
        return
    parts = []
    for label, dtype, problem, example in found:
        detail = f"{dtype}: {problem}"
        if example is not None:
            detail += f" such as {example!r}"
        parts.append(detail if label is None else f"{label!r} ({detail})")
    if found[0][0] is None:
        head = f"{name} holds values that are not numbers ({parts[0]})"
    else:
        head = f"{name} has columns that are not numbers: {', '.join(parts)}"
    hints = list(dict.fromkeys(_HINTS[problem] for _, _, problem, _ in found))
    # scikit-learn's words for complex input first (its common checks look for them).
    lead = "Complex data not supported. " if any(f[2] == "complex numbers" for f in found) else ""
    raise ValueError(f"{lead}{head}. {need}: {'; '.join(hints)}.")


def validate_numeric_data(estimator, X, *args, **kwargs):
    """scikit-learn's ``validate_data`` after :func:`check_numeric` on X (and
    on y when ``y_numeric=True``): the one entry of every estimator's inputs."""
    owner = type(estimator).__name__
    check_numeric(X, "X", f"{owner} needs numeric features")
    if args and kwargs.get("y_numeric", False):
        check_numeric(args[0], "y", f"{owner} needs a numeric target")
    return validate_data(estimator, X, *args, **kwargs)


def check_sample_weight(sample_weight, X, **kwargs):
    """scikit-learn's ``_check_sample_weight`` after :func:`check_numeric` on the weights."""
    if sample_weight is not None:
        check_numeric(sample_weight, "sample_weight", "Sample weights must be non-negative numbers")
    return _check_sample_weight(sample_weight, X, **kwargs)
