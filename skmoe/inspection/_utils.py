"""Shared helpers of the Display objects: lazy matplotlib, input checks, grids."""

import numbers

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils.validation import check_array, check_is_fitted

_INSTALL = "pip install matplotlib"


def check_matplotlib(caller):
    """Import and return ``matplotlib.pyplot``; an ImportError naming the install command if missing.

    Called only when something is drawn, so ``import skmoe.inspection``
    works without matplotlib.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{caller} needs matplotlib, which is not installed. Install it with `{_INSTALL}`."
        ) from exc
    return plt


def make_ax(ax, caller):
    """``(figure, ax)``: a new figure and axes when ``ax`` is None, else ``ax`` and its figure."""
    plt = check_matplotlib(caller)
    if ax is None:
        _, ax = plt.subplots()
    return ax.figure, ax


def check_fitted(estimator, methods, caller, why=None):
    """NotFittedError if ``estimator`` is not fitted; TypeError if it lacks one of ``methods``."""
    missing = [m for m in methods if not callable(getattr(estimator, m, None))]
    if missing:
        extra = f" {why}" if why else ""
        raise TypeError(
            f"{caller} needs an estimator with {', '.join(m + '()' for m in methods)}; "
            f"{type(estimator).__name__} has no {', '.join(missing)}.{extra}"
        )
    check_is_fitted(estimator)


def check_regressor(estimator, caller):
    if is_classifier(estimator) or getattr(estimator, "_is_classifier", False):
        raise ValueError(
            f"{caller} works with regressors only (a predictive density of a real y); "
            f"got the classifier {type(estimator).__name__}."
        )


def check_X(X, estimator, caller):
    """X as a 2-D float array with the estimator's number of columns."""
    if isinstance(X, list) and X and np.ndim(X[0]) == 2:
        raise ValueError(
            f"{caller} plots against columns of a 2-D X; sequence inputs (a list of arrays) are "
            "not supported."
        )
    X = check_array(X, dtype=np.float64, ensure_all_finite=True)
    n_features = getattr(estimator, "n_features_in_", X.shape[1])
    if X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(estimator).__name__} was fitted with "
            f"{n_features}."
        )
    return X


def feature_index(feature, estimator, n_features, caller):
    """Column index of ``feature`` (an int, negative allowed, or a column name)."""
    if isinstance(feature, (numbers.Integral, np.integer)) and not isinstance(feature, bool):
        if not -n_features <= feature < n_features:
            raise ValueError(
                f"{caller}: feature index {feature} is out of range; X has {n_features} "
                f"feature(s) (indices 0 to {n_features - 1})."
            )
        return int(feature) % n_features
    if isinstance(feature, str):
        names = getattr(estimator, "feature_names_in_", None)
        if names is None:
            raise ValueError(
                f"{caller}: feature {feature!r} is a name but {type(estimator).__name__} was "
                "fitted without feature names; give a column index."
            )
        names = [str(n) for n in names]
        if feature not in names:
            raise ValueError(f"{caller}: feature {feature!r} is not one of the columns {names}.")
        return names.index(feature)
    raise TypeError(f"{caller}: a feature is a column index or name; got {feature!r}.")


def feature_name(estimator, index):
    names = getattr(estimator, "feature_names_in_", None)
    return str(names[index]) if names is not None else f"x{index}"


def reference_row(X, reference, caller):
    """Values of the features not on the plot's axes: a row of length n_features."""
    if isinstance(reference, str):
        if reference == "median":
            return np.median(X, axis=0)
        if reference == "mean":
            return X.mean(axis=0)
        raise ValueError(
            f"{caller}: reference must be 'median', 'mean' or an array of length "
            f"{X.shape[1]}; got {reference!r}."
        )
    row = np.asarray(reference, dtype=np.float64)
    if row.shape != (X.shape[1],):
        raise ValueError(
            f"{caller}: reference must be 'median', 'mean' or an array of shape ({X.shape[1]},); "
            f"got shape {row.shape}."
        )
    return row


def grid_values(column, grid_resolution, caller):
    if not isinstance(grid_resolution, numbers.Integral) or grid_resolution < 2:
        raise ValueError(
            f"{caller}: grid_resolution must be an integer >= 2; got {grid_resolution!r}."
        )
    return np.linspace(column.min(), column.max(), int(grid_resolution))


def design(row, columns, values):
    """Rows equal to ``row`` except in ``columns``, which take ``values`` (one array per column)."""
    Z = np.tile(row, (values[0].shape[0], 1))
    for c, v in zip(columns, values, strict=True):
        Z[:, c] = v
    return Z


def as_input(estimator, Z):
    """``Z`` as the estimator expects it: a DataFrame when it was fitted with column names."""
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        return Z
    import pandas as pd

    return pd.DataFrame(Z, columns=names)


def cell_edges(centres):
    """Edges of the cells centred on sorted ``centres`` (for pcolormesh's flat shading)."""
    centres = np.asarray(centres, dtype=np.float64)
    if centres.size == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    mid = 0.5 * (centres[1:] + centres[:-1])
    return np.concatenate([[2 * centres[0] - mid[0]], mid, [2 * centres[-1] - mid[-1]]])


def expert_labels(n_experts, expert_names):
    if expert_names is None:
        return [f"expert {k}" for k in range(n_experts)]
    if len(expert_names) != n_experts:
        raise ValueError(f"expert_names has {len(expert_names)} names for {n_experts} experts.")
    return [str(n) for n in expert_names]


def expert_colors(n_experts, colors):
    if colors is None:
        return [f"C{k % 10}" for k in range(n_experts)]
    if len(colors) < n_experts:
        raise ValueError(f"colors has {len(colors)} entries for {n_experts} experts.")
    return list(colors)[:n_experts]


def estimator_expert_names(estimator):
    """Names of the fitted experts when the estimator was given a named list, else None."""
    experts = getattr(estimator, "experts", None)
    if isinstance(experts, list) and all(isinstance(e, tuple) and len(e) == 2 for e in experts):
        return [name for name, _ in experts]
    return None
