"""PredictiveDistributionDisplay: the density of y given x as a heat map over (x, y)."""

import numpy as np

from ._utils import (
    as_input,
    cell_edges,
    check_fitted,
    check_regressor,
    check_X,
    design,
    feature_index,
    feature_name,
    grid_values,
    make_ax,
    reference_row,
)

# Default y range: these predictive quantiles (over the whole x grid) and the
# data, so that each column of the map holds all but ~0.2% of its mass.
_Q_LO, _Q_HI = 0.001, 0.999

#: The default colour scale tops out at this percentile of the density map's
#: cells: above it, cells take the top colour.
VMAX_PERCENTILE = 99.0

#: The default colour scale's exponent (``PowerNorm``): 0.5 is a square root.
GAMMA = 0.5


def default_norm(density):
    """The default colour scale of a density map: square root, capped at a percentile.

    A linear scale from 0 to the maximum is taken by the narrowest mode: on
    the motorcycle data, an expert with a noise sd of about 1 g before the
    impact peaks 16-20 times above the density where most points lie, which
    then all take the scale's bottom 5%.  Capping the scale at the
    ``VMAX_PERCENTILE`` percentile of the cells and taking the square
    root (``GAMMA``) keeps the wide, low modes visible; the spike keeps
    the top colour.

    Parameters
    ----------
    density : ndarray
        The density map.

    Returns
    -------
    norm : matplotlib.colors.PowerNorm
        ``PowerNorm(GAMMA, vmin=0, vmax=...)``, clipping above ``vmax``.
    """
    from matplotlib.colors import PowerNorm

    finite = density[np.isfinite(density)]
    vmax = float(np.percentile(finite, VMAX_PERCENTILE)) if finite.size else 1.0
    if not vmax > 0.0:
        vmax = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    return PowerNorm(GAMMA, vmin=0.0, vmax=vmax, clip=True)


class PredictiveDistributionDisplay:
    """Predictive density ``p(y | x)`` of a mixture regressor as a heat map over ``(x, y)``.

    Each column of the map is the mixture ``sum_k g_k(x) p_k(y | x)`` at one
    value of the plotted feature (the others held at a reference value): two
    bright bands in a column mean a bimodal prediction, which a mean and a
    standard deviation would hide.  The data can be overlaid.  For
    :class:`~skmoe.MixtureOfExpertsRegressor` with continuous experts
    (Gaussian, Student-t); counts and proportions (Poisson, binomial experts)
    have no density and are refused, and so are classifiers.  The density is
    that of :meth:`~skmoe.MixtureOfExpertsRegressor.log_likelihood`: the full
    gate, without ``top_k`` truncation.

    Parameters
    ----------
    x_values : ndarray of shape (n_x,)
        Grid of the plotted feature.
    y_values : ndarray of shape (n_y,)
        Grid of the target.
    density : ndarray of shape (n_y, n_x)
        ``p(y_values[i] | x_values[j])``.
    feature_name : str
        Name of the plotted feature (the x-axis label).
    target_name : str, default="y"
        The y-axis label.
    x, y : ndarray of shape (n_samples,), default=None
        Data points to overlay.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    surface_ : matplotlib QuadMesh
        The heat map; its array is ``density``.
    scatter_ : matplotlib PathCollection or None
    colorbar_ : matplotlib Colorbar or None

    See Also
    --------
    skmoe.MixtureOfExpertsRegressor.predict_quantiles : Quantiles of the same law.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skmoe import MixtureOfExpertsRegressor
    >>> from skmoe.datasets import load_mcycle
    >>> from skmoe.inspection import PredictiveDistributionDisplay
    >>> X, y = load_mcycle(return_X_y=True)
    >>> moe = MixtureOfExpertsRegressor(n_experts=3, random_state=0).fit(X, y)
    >>> disp = PredictiveDistributionDisplay.from_estimator(moe, X, y, y_resolution=50)
    >>> disp.density.shape
    (50, 100)
    """

    def __init__(
        self, x_values, y_values, density, *, feature_name, target_name="y", x=None, y=None
    ):
        self.x_values = np.asarray(x_values)
        self.y_values = np.asarray(y_values)
        self.density = np.asarray(density)
        self.feature_name = feature_name
        self.target_name = target_name
        self.x = x
        self.y = y

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y=None,
        *,
        feature=0,
        reference="median",
        grid_resolution=100,
        y_resolution=100,
        y_range=None,
        ax=None,
        **plot_kw,
    ):
        """Evaluate ``p(y | x)`` on an (x, y) grid and plot it.

        Parameters
        ----------
        estimator : fitted MixtureOfExpertsRegressor
            A fitted mixture of experts.
        X : array-like of shape (n_samples, n_features)
            Data giving the x grid's range and the reference values.
        y : array-like of shape (n_samples,), default=None
            Targets of X: overlaid as points, and included in the default
            y range.
        feature : int or str, default=0
            The plotted column (index, or name for a DataFrame fit).
        reference : {"median", "mean"} or array-like of shape (n_features,), default="median"
            Values of the other features.
        grid_resolution : int, default=100
            Points of the x grid.
        y_resolution : int, default=100
            Points of the y grid.
        y_range : (float, float), default=None
            Limits of the y grid; by default from the 0.1% to the 99.9%
            predictive quantile over the x grid, widened to the data's y.
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a new figure and axes.
        **plot_kw
            Passed to :meth:`plot`.

        Returns
        -------
        display : PredictiveDistributionDisplay
        """
        caller = f"{cls.__name__}.from_estimator"
        check_regressor(estimator, caller)
        check_fitted(
            estimator,
            ["predict_gate", "log_likelihood", "predict_quantiles"],
            caller,
            why="It needs the conditional law p(y | x) of each row on its own.",
        )
        X = check_X(X, estimator, caller)
        col = feature_index(feature, estimator, X.shape[1], caller)
        row = reference_row(X, reference, caller)
        xs = grid_values(X[:, col], grid_resolution, caller)
        Z = design(row, [col], [xs])
        law = estimator._mixture(as_input(estimator, Z[:1]))[3]
        if getattr(law, "lattice", None) is not None:
            raise ValueError(
                f"{caller}: the experts ({type(estimator.experts_[0]).__name__}) have a discrete "
                "law, which has no density to map; plot predict_quantiles or sample_y instead."
            )
        y_pts = None
        if y is not None:
            y_pts = np.asarray(y, dtype=np.float64)
            if y_pts.ndim != 1 or y_pts.shape[0] != X.shape[0]:
                raise ValueError(
                    f"{caller}: y must have shape ({X.shape[0]},) to match X; got {y_pts.shape}."
                )
        if y_range is None:
            q = estimator.predict_quantiles(as_input(estimator, Z), [_Q_LO, _Q_HI])
            lo, hi = float(q[:, 0].min()), float(q[:, 1].max())
            if y_pts is not None:
                lo, hi = min(lo, float(y_pts.min())), max(hi, float(y_pts.max()))
        else:
            lo, hi = (float(v) for v in y_range)
            if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
                raise ValueError(
                    f"{caller}: y_range must be two finite numbers lo < hi; got {y_range!r}."
                )
        ys = grid_values(np.array([lo, hi]), y_resolution, caller)
        # One row per (x, y) cell: log p(y | x) of the fitted mixture.
        cells = np.repeat(Z, ys.size, axis=0)
        log_p = estimator.log_likelihood(as_input(estimator, cells), np.tile(ys, xs.size))
        density = np.exp(log_p).reshape(xs.size, ys.size).T
        disp = cls(
            xs,
            ys,
            density,
            feature_name=feature_name(estimator, col),
            target_name="y",
            x=None if y_pts is None else X[:, col],
            y=y_pts,
        )
        return disp.plot(ax=ax, **plot_kw)

    def plot(self, ax=None, *, cmap="viridis", colorbar=True, scatter_kw=None, **kw):
        """Draw the heat map (and the data).

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a new figure and axes.
        cmap : str or Colormap, default="viridis"
            Colour map of the density.
        colorbar : bool, default=True
            Whether to draw a colour bar of the density scale.
        scatter_kw : dict, default=None
            Passed to ``ax.scatter`` for the data points.
        **kw
            Passed to ``ax.pcolormesh``.  Without ``norm``, ``vmin`` or
            ``vmax``, the colour scale is a square
            root capped at the 99th percentile of the map, so that a narrow
            spike does not take the whole scale (the colour bar's arrow
            marks the capped cells); ``norm=matplotlib.colors.LogNorm(...)``
            is another choice, ``norm=None`` gives matplotlib's linear one.

        Returns
        -------
        display : PredictiveDistributionDisplay
            The display, with its matplotlib artists stored.
        """
        self.figure_, self.ax_ = make_ax(ax, type(self).__name__)
        ax = self.ax_
        capped = not any(k in kw for k in ("norm", "vmin", "vmax"))
        if capped:
            kw["norm"] = default_norm(self.density)
        self.surface_ = ax.pcolormesh(
            cell_edges(self.x_values),
            cell_edges(self.y_values),
            self.density,
            cmap=cmap,
            shading="flat",
            **kw,
        )
        self.scatter_ = self.colorbar_ = None
        if self.x is not None:
            skw = dict(s=8, c="w", edgecolors="k", linewidths=0.3)
            skw.update(scatter_kw or {})
            self.scatter_ = ax.scatter(self.x, self.y, **skw)
        if colorbar:
            self.colorbar_ = self.figure_.colorbar(
                self.surface_,
                ax=ax,
                label="density",
                extend="max" if capped and self.density.max() > kw["norm"].vmax else "neither",
            )
        ax.set_xlabel(self.feature_name)
        ax.set_ylabel(self.target_name)
        return self
