"""GateDisplay: the gate's probabilities or hard regions over one or two features."""

import warnings

import numpy as np

from ._utils import (
    as_input,
    cell_edges,
    check_fitted,
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

_KINDS = ("probability", "regions")


class GateDisplay:
    """Gate probabilities ``g_k(x)`` over one or two features.

    With one feature: a curve per expert (``kind="probability"``) or a
    coloured band of the most probable expert (``kind="regions"``).  With two
    features: each expert's probability contours, or the plane coloured by
    the most probable expert.  The other features are held at a reference
    value (the median of X by default).  Build it with
    :meth:`from_estimator`; works with every gate and any estimator with
    ``predict_gate`` (:class:`~skmoe.MixtureOfExpertsRegressor`,
    :class:`~skmoe.MixtureOfExpertsClassifier`, the neural
    :class:`~skmoe.neural.SparseMoERegressor`...).  The Markov-switching
    models have no gate of x alone (their regime probabilities depend on the
    observed past) and are refused.

    Parameters
    ----------
    grid_values : list of 1 or 2 ndarray
        The grid of each plotted feature.
    gate_proba : ndarray of shape (n_grid, n_experts) or (n_grid_1, n_grid_0, n_experts)
        Gate probabilities on the grid (one feature), or on the mesh
        ``meshgrid(grid_values[0], grid_values[1])`` (two features).
    feature_names : list of str
        Names of the plotted features (axis labels).
    expert_names : list of str, default=None
        Legend labels; ``"expert k"`` when None.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    lines_ : list of matplotlib Line2D or None
        One curve per expert (one feature, ``kind="probability"``).
    contours_ : list of matplotlib ContourSet or None
        One set of contour lines per expert (two features,
        ``kind="probability"``).
    contour_labels_ : list of list of matplotlib Text or None
        Per expert, the probability labels on its contour lines (two
        features, ``kind="probability"``, ``clabel=True``).
    surface_ : matplotlib QuadMesh or None
        The most probable expert, coloured (``kind="regions"``); its array
        holds the expert indices.
    legend_ : matplotlib Legend or None

    See Also
    --------
    ExpertsDisplay : Each expert's fit.
    sklearn.inspection.DecisionBoundaryDisplay : The same idea for predictions.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skmoe import MixtureOfExpertsRegressor
    >>> from skmoe.datasets import load_mcycle
    >>> from skmoe.inspection import GateDisplay
    >>> X, y = load_mcycle(return_X_y=True)
    >>> moe = MixtureOfExpertsRegressor(n_experts=3, random_state=0).fit(X, y)
    >>> disp = GateDisplay.from_estimator(moe, X)
    >>> len(disp.lines_)
    3
    """

    def __init__(self, grid_values, gate_proba, *, feature_names, expert_names=None):
        self.grid_values = [np.asarray(g) for g in grid_values]
        self.gate_proba = np.asarray(gate_proba)
        self.feature_names = list(feature_names)
        self.expert_names = expert_names

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        *,
        features=(0,),
        kind="probability",
        reference="median",
        grid_resolution=100,
        expert_names=None,
        ax=None,
        **plot_kw,
    ):
        """Compute the gate on a grid over ``features`` of X and plot it.

        Parameters
        ----------
        estimator : fitted estimator with ``predict_gate``
            A fitted mixture of experts.
        X : array-like of shape (n_samples, n_features)
            Data giving the range of the grid and the reference values.
        features : int, str or sequence of 1 or 2 of them, default=(0,)
            Column indices (or names, for an estimator fitted on a DataFrame).
        kind : {"probability", "regions"}, default="probability"
            Curves / contours of every ``g_k``, or the ``argmax_k g_k`` regions.
        reference : {"median", "mean"} or array-like of shape (n_features,), default="median"
            Values of the features that are not plotted.
        grid_resolution : int, default=100
            Grid points per plotted feature (between the feature's min and
            max in X).
        expert_names : list of str, default=None
            Legend labels; the names of a heterogeneous expert list, else
            ``"expert k"``.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        **plot_kw
            Passed to :meth:`plot`.

        Returns
        -------
        display : GateDisplay
        """
        caller = f"{cls.__name__}.from_estimator"
        check_fitted(
            estimator,
            ["predict_gate"],
            caller,
            why="(Markov-switching models have no gate of x alone: their regime probabilities "
            "depend on the observed history, see smoothed_regime_proba.)",
        )
        X = check_X(X, estimator, caller)
        if np.ndim(features) == 0:
            features = (features,)
        features = list(features)
        if len(features) not in (1, 2):
            raise ValueError(f"{caller}: features must name 1 or 2 columns; got {len(features)}.")
        cols = [feature_index(f, estimator, X.shape[1], caller) for f in features]
        if len(cols) == 2 and cols[0] == cols[1]:
            raise ValueError(f"{caller}: the two features are the same column ({cols[0]}).")
        row = reference_row(X, reference, caller)
        grids = [grid_values(X[:, c], grid_resolution, caller) for c in cols]
        if len(cols) == 1:
            gate = estimator.predict_gate(as_input(estimator, design(row, cols, grids)))
        else:
            xx, yy = np.meshgrid(grids[0], grids[1])
            Z = design(row, cols, [xx.ravel(), yy.ravel()])
            gate = estimator.predict_gate(as_input(estimator, Z))
            gate = gate.reshape(xx.shape + (gate.shape[1],))
        if expert_names is None:
            expert_names = estimator_expert_names(estimator)
        disp = cls(
            grids,
            gate,
            feature_names=[feature_name(estimator, c) for c in cols],
            expert_names=expert_names,
        )
        return disp.plot(ax=ax, kind=kind, **plot_kw)

    def plot(
        self,
        ax=None,
        *,
        kind="probability",
        levels=(0.5,),
        colors=None,
        legend=True,
        clabel=True,
        **kw,
    ):
        """Draw the gate.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a new figure and axes.
        kind : {"probability", "regions"}, default="probability"
        levels : sequence of float, default=(0.5,)
            Probability levels of each expert's contour lines (two features,
            ``kind="probability"``).
        colors : list of colors, default=None
            One per expert; matplotlib's cycle ``C0, C1, ...`` when None.
        legend : bool, default=True
            Whether to draw a legend.
        clabel : bool, default=True
            Whether to write its probability level on each contour line (two
            features, ``kind="probability"``; ``ax.clabel``).
        **kw
            Passed to ``ax.plot`` (one feature, probability), ``ax.contour``
            (two features, probability) or ``ax.pcolormesh`` (regions).

        Returns
        -------
        display : GateDisplay
            The display, with its matplotlib artists stored.
        """
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {_KINDS}; got {kind!r}.")
        # make_ax first: it raises the ImportError that names the install command.
        new_ax = ax is None
        self.figure_, self.ax_ = make_ax(ax, type(self).__name__)
        from matplotlib.colors import BoundaryNorm, ListedColormap
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        ax = self.ax_
        n_experts = self.gate_proba.shape[-1]
        labels = expert_labels(n_experts, self.expert_names)
        colors = expert_colors(n_experts, colors)
        self.lines_ = self.contours_ = self.contour_labels_ = self.surface_ = None
        self.legend_ = None
        one = len(self.grid_values) == 1
        handles = None
        if kind == "regions":
            cmap = ListedColormap(colors)
            norm = BoundaryNorm(np.arange(n_experts + 1) - 0.5, n_experts)
            hard = np.argmax(self.gate_proba, axis=-1)
            x_edges = cell_edges(self.grid_values[0])
            if one:
                y_edges, hard = np.array([0.0, 1.0]), hard[None, :]
            else:
                y_edges = cell_edges(self.grid_values[1])
            self.surface_ = ax.pcolormesh(
                x_edges, y_edges, hard, cmap=cmap, norm=norm, shading="flat", **kw
            )
            handles = [Patch(color=c, label=lab) for c, lab in zip(colors, labels, strict=True)]
            if one and new_ax:
                # The band's height means nothing; keep the ticks of an axes
                # the caller gave (it may also hold the probability curves).
                ax.set_yticks([])
        elif one:
            x = self.grid_values[0]
            self.lines_ = [
                ax.plot(x, self.gate_proba[:, k], color=colors[k], label=labels[k], **kw)[0]
                for k in range(n_experts)
            ]
            ax.set_ylabel("gate probability")
            ax.set_ylim(-0.02, 1.02)
        else:
            xx, yy = np.meshgrid(self.grid_values[0], self.grid_values[1])
            levels = sorted(float(v) for v in np.atleast_1d(levels))
            self.contours_ = []
            self.contour_labels_ = [] if clabel else None
            for k in range(n_experts):
                with warnings.catch_warnings():
                    # A constant gate has no contour at these levels: say nothing.
                    warnings.filterwarnings("ignore", message="No contour levels were found")
                    cs = ax.contour(
                        xx, yy, self.gate_proba[:, :, k], levels=levels, colors=[colors[k]], **kw
                    )
                self.contours_.append(cs)
                if clabel:
                    texts = ax.clabel(cs, fmt=lambda v: f"{v:g}") if len(cs.levels) else []
                    self.contour_labels_.append(list(texts))
            handles = [
                Line2D([], [], color=c, label=lab) for c, lab in zip(colors, labels, strict=True)
            ]
        ax.set_xlabel(self.feature_names[0])
        if not one:
            ax.set_ylabel(self.feature_names[1])
        if legend:
            self.legend_ = ax.legend(handles=handles) if handles is not None else ax.legend()
        return self
