"""ExpertsDisplay: each expert's fit over one feature, data shaded by responsibility."""

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils.validation import check_is_fitted

from ._utils import (
    as_input,
    check_X,
    design,
    estimator_expert_names,
    expert_colors,
    expert_labels,
    feature_index,
    feature_name,
    grid_values,
    make_ax,
    reference_row,
)

#: ``min_gate="auto"``: each expert's curve is drawn where its gate
#: probability is at least this (where the gate uses it at all).
MIN_GATE = 0.05

#: ``ylim="data"``: the y axis spans the data's targets plus this fraction of
#: their range on each side.
Y_MARGIN = 0.1


def _method(estimator, names, caller, what):
    for name in names:
        if callable(getattr(estimator, name, None)):
            return getattr(estimator, name)
    raise TypeError(
        f"{caller} needs {what} ({' or '.join(n + '()' for n in names)}); "
        f"{type(estimator).__name__} has none."
    )


class ExpertsDisplay:
    """Each expert's prediction over one feature, with the data shaded by responsibility.

    For a regressor the curves are the experts' means ``f_k(x)``; for a
    classifier, each expert's probability of one class.  Each data point is
    coloured by the mix of the experts' colours weighted by its
    responsibilities (posterior probability of each expert given ``(x, y)``),
    so the points an expert explains take its colour.  The other features
    are held at a reference value (the median of X by default).  Works with
    :class:`~skmoe.MixtureOfExpertsRegressor`,
    :class:`~skmoe.MixtureOfExpertsClassifier` and the Markov-switching
    models (regimes as experts, points shaded by the smoothed regime
    probabilities).

    Parameters
    ----------
    grid_values : ndarray of shape (n_grid,)
        The plotted feature's grid.
    expert_predictions : ndarray of shape (n_grid, n_experts)
        Each expert's prediction (mean, or class probability) on the grid.
    feature_name : str
        Name of the plotted feature (the x-axis label).
    target_name : str, default="y"
        The y-axis label.
    x : ndarray of shape (n_samples,), default=None
        The data's values of the plotted feature (no points when None).
    y : ndarray of shape (n_samples,), default=None
        Their targets (for a classifier: 1.0 for the chosen class, else 0.0).
    responsibilities : ndarray of shape (n_samples, n_experts), default=None
        Shading of the points; black points when None.
    gate_proba : ndarray of shape (n_grid, n_experts), default=None
        Gate on the grid, used by ``plot(min_gate=...)``: without it every
        curve is drawn over the whole grid.
    expert_names : list of str, default=None
        Legend labels, one per expert; ``"expert k"`` when None.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    lines_ : list of matplotlib Line2D
        One curve per expert.
    scatter_ : matplotlib PathCollection or None
        The data points.
    legend_ : matplotlib Legend or None

    See Also
    --------
    GateDisplay : Where the gate sends each input.
    PredictiveDistributionDisplay : The resulting predictive density.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skmoe import MixtureOfExpertsRegressor
    >>> from skmoe.datasets import load_mcycle
    >>> from skmoe.inspection import ExpertsDisplay
    >>> X, y = load_mcycle(return_X_y=True)
    >>> moe = MixtureOfExpertsRegressor(n_experts=3, random_state=0).fit(X, y)
    >>> disp = ExpertsDisplay.from_estimator(moe, X, y)
    >>> len(disp.lines_)
    3
    """

    def __init__(
        self,
        grid_values,
        expert_predictions,
        *,
        feature_name,
        target_name="y",
        x=None,
        y=None,
        responsibilities=None,
        gate_proba=None,
        expert_names=None,
    ):
        self.grid_values = np.asarray(grid_values)
        self.expert_predictions = np.asarray(expert_predictions)
        self.feature_name = feature_name
        self.target_name = target_name
        self.x = x
        self.y = y
        self.responsibilities = responsibilities
        self.gate_proba = gate_proba
        self.expert_names = expert_names

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y=None,
        *,
        feature=0,
        target=None,
        reference="median",
        grid_resolution=100,
        expert_names=None,
        ax=None,
        **plot_kw,
    ):
        """Compute each expert's prediction over ``feature`` and plot it.

        Parameters
        ----------
        estimator : fitted mixture of experts or Markov-switching model
            A fitted mixture of experts.
        X : array-like of shape (n_samples, n_features)
            Data giving the grid's range and the reference values, and the
            plotted points.
        y : array-like of shape (n_samples,), default=None
            Targets of X; when given, the points are drawn, shaded by their
            responsibilities.
        feature : int or str, default=0
            The plotted column (index, or name for a DataFrame fit).
        target : class label, default=None
            Classifiers: the class whose probability is plotted; the second
            class of a binary problem when None (required with more classes).
        reference : {"median", "mean"} or array-like of shape (n_features,), default="median"
            Values of the other features.
        grid_resolution : int, default=100
            Grid points of the plotted feature (between its min and max in X).
        expert_names : list of str, default=None
            Legend labels; the names of a heterogeneous expert list, else
            ``"expert k"``.
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a new figure and axes.
        **plot_kw
            Passed to :meth:`plot`.

        Returns
        -------
        display : ExpertsDisplay
        """
        caller = f"{cls.__name__}.from_estimator"
        classifier = is_classifier(estimator)
        if classifier:
            predict = _method(
                estimator,
                ["predict_experts", "predict_regimes_proba"],
                caller,
                "per-expert class probabilities",
            )
        else:
            predict = _method(
                estimator, ["predict_experts", "predict_regimes"], caller, "per-expert predictions"
            )
        check_is_fitted(estimator)
        X = check_X(X, estimator, caller)
        col = feature_index(feature, estimator, X.shape[1], caller)
        row = reference_row(X, reference, caller)
        grid = grid_values(X[:, col], grid_resolution, caller)
        Z = as_input(estimator, design(row, [col], [grid]))
        pred = np.asarray(predict(Z))
        target_name = "y"
        class_idx = None
        if classifier:
            classes = estimator.classes_
            if target is None:
                if len(classes) != 2:
                    raise ValueError(
                        f"{caller}: the classifier has {len(classes)} classes "
                        f"{classes.tolist()}; choose the plotted one with target=."
                    )
                target = classes[1]
            hits = np.flatnonzero(classes == target)
            if hits.size != 1:
                raise ValueError(
                    f"{caller}: target={target!r} is not one of the classes {classes.tolist()}."
                )
            class_idx = int(hits[0])
            pred = pred[:, :, class_idx]
            target_name = f"P(y = {target} | x)"
        elif target is not None:
            raise ValueError(f"{caller}: target= is for classifiers only; got target={target!r}.")
        gate = None
        if callable(getattr(estimator, "predict_gate", None)):
            gate = estimator.predict_gate(Z)
        x_pts = y_pts = resp = None
        if y is not None:
            y_arr = np.asarray(y)
            if y_arr.ndim != 1 or y_arr.shape[0] != X.shape[0]:
                raise ValueError(
                    f"{caller}: y must have shape ({X.shape[0]},) to match X; got {y_arr.shape}."
                )
            posterior = _method(
                estimator,
                ["responsibilities", "smoothed_regime_proba"],
                caller,
                "the posterior of the experts given (x, y)",
            )
            resp = np.asarray(posterior(as_input(estimator, X), y_arr))
            x_pts = X[:, col]
            y_pts = (y_arr == target).astype(np.float64) if classifier else y_arr.astype(np.float64)
        if expert_names is None:
            expert_names = estimator_expert_names(estimator)
        disp = cls(
            grid,
            pred,
            feature_name=feature_name(estimator, col),
            target_name=target_name,
            x=x_pts,
            y=y_pts,
            responsibilities=resp,
            gate_proba=gate,
            expert_names=expert_names,
        )
        return disp.plot(ax=ax, **plot_kw)

    def plot(
        self,
        ax=None,
        *,
        colors=None,
        min_gate="auto",
        ylim="data",
        legend=True,
        line_kw=None,
        scatter_kw=None,
    ):
        """Draw the experts' curves and the shaded points.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a new figure and axes.
        colors : list of colors, default=None
            One per expert; ``C0, C1, ...`` when None.
        min_gate : float, "auto" or None, default="auto"
            Draw each expert's curve only where its gate probability is at
            least ``min_gate`` (where it is in use); everywhere when None.
            ``"auto"`` is 0.05 when the display has the
            gate (``gate_proba``), else None.  A linear expert extrapolated
            over the whole range goes far outside the data (on the
            motorcycle data, to -800 and 400 for targets within -134 and 75).
        ylim : "data", (float, float) or None, default="data"
            Limits of the y axis.  ``"data"``: the range of the data's
            targets plus 10% of it on each side, when
            points are drawn (matplotlib's automatic limits otherwise); a
            curve leaving it is cut at the frame.  None: matplotlib's
            automatic limits (which take in the whole curves).
        legend : bool, default=True
            Whether to draw a legend.
        line_kw, scatter_kw : dict, default=None
            Passed to ``ax.plot`` and ``ax.scatter``.

        Returns
        -------
        display : ExpertsDisplay
            The display, with its matplotlib artists stored.
        """
        # make_ax first: it raises the ImportError that names the install command.
        self.figure_, self.ax_ = make_ax(ax, type(self).__name__)
        from matplotlib.colors import to_rgba_array

        ax = self.ax_
        n_experts = self.expert_predictions.shape[1]
        labels = expert_labels(n_experts, self.expert_names)
        colors = expert_colors(n_experts, colors)
        if isinstance(min_gate, str):
            if min_gate != "auto":
                raise ValueError(f'min_gate must be a float, "auto" or None; got {min_gate!r}.')
            min_gate = None if self.gate_proba is None else MIN_GATE
        if min_gate is not None and self.gate_proba is None:
            raise ValueError(
                "min_gate needs the gate on the grid (gate_proba); this display has none."
            )
        self.scatter_ = self.legend_ = None
        if self.x is not None:
            kw = dict(s=12, zorder=1)
            if self.responsibilities is not None:
                # Blend the experts' colours by responsibility (rows sum to 1).
                kw["c"] = np.clip(self.responsibilities @ to_rgba_array(colors), 0.0, 1.0)
            else:
                kw["c"] = "k"
            kw.update(scatter_kw or {})
            self.scatter_ = ax.scatter(self.x, self.y, **kw)
        self.lines_ = []
        for k in range(n_experts):
            yk = self.expert_predictions[:, k].astype(np.float64)
            if min_gate is not None:
                yk = np.where(self.gate_proba[:, k] >= min_gate, yk, np.nan)
            kw = dict(color=colors[k], label=labels[k], lw=2, zorder=2)
            kw.update(line_kw or {})
            self.lines_.append(ax.plot(self.grid_values, yk, **kw)[0])
        if isinstance(ylim, str):
            if ylim != "data":
                raise ValueError(f'ylim must be "data", (low, high) or None; got {ylim!r}.')
            if self.y is not None and np.size(self.y):
                lo, hi = float(np.min(self.y)), float(np.max(self.y))
                pad = Y_MARGIN * (hi - lo) if hi > lo else 0.5
                ax.set_ylim(lo - pad, hi + pad)
        elif ylim is not None:
            ax.set_ylim(*ylim)
        ax.set_xlabel(self.feature_name)
        ax.set_ylabel(self.target_name)
        if legend:
            self.legend_ = ax.legend()
        return self
