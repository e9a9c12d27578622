"""ConvergenceDisplay: the EM objective per iteration for every restart (or a training loss)."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._utils import make_ax


class ConvergenceDisplay:
    """The fit's objective against the iteration, one curve per restart.

    For the EM estimators (:class:`~skmoe.MixtureOfExpertsRegressor`,
    :class:`~skmoe.MixtureOfExpertsClassifier`) the curves are
    ``lower_bounds_all_``, the mean log-likelihood of every restart, with the
    selected restart drawn thicker; for the Markov-switching models the
    selected restart's ``lower_bounds_``; for the neural
    :class:`~skmoe.neural.SparseMoERegressor` / ``SparseMoEClassifier`` the
    training ``loss_curve_`` per epoch (and the validation loss when it was
    recorded).

    Parameters
    ----------
    curves : list of array-like
        One objective history per restart.
    best_index : int, default=None
        The selected restart (highlighted).
    validation_curve : array-like, default=None
        A validation loss per epoch (neural estimators).
    ylabel : str, default="mean log-likelihood"
        Label of the y axis (``"loss"`` for a neural estimator's curves).
    xlabel : str, default="EM iteration"
        Label of the x axis (``"epoch"`` for a neural estimator's curves).
    title : str, default=None
        Title of the axes (the estimator's class name when built by
        :meth:`from_estimator`); no title when None.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    lines_ : list of matplotlib Line2D
        One per curve, in order.
    validation_line_ : matplotlib Line2D or None
    legend_ : matplotlib Legend or None

    See Also
    --------
    ExpertsDisplay : Each expert's fit, to look at the selected solution.
    GateDisplay : Where the gate sends each input.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skmoe import MixtureOfExpertsRegressor
    >>> from skmoe.datasets import load_mcycle
    >>> from skmoe.inspection import ConvergenceDisplay
    >>> X, y = load_mcycle(return_X_y=True)
    >>> moe = MixtureOfExpertsRegressor(n_experts=3, n_init=3, random_state=0).fit(X, y)
    >>> len(ConvergenceDisplay.from_estimator(moe).lines_)
    3
    """

    def __init__(
        self,
        curves,
        *,
        best_index=None,
        validation_curve=None,
        ylabel="mean log-likelihood",
        xlabel="EM iteration",
        title=None,
    ):
        self.curves = [np.asarray(c, dtype=np.float64) for c in curves]
        self.best_index = best_index
        self.validation_curve = validation_curve
        self.ylabel = ylabel
        self.xlabel = xlabel
        self.title = title

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, **plot_kw):
        """Read the fitted estimator's histories and plot them.

        Parameters
        ----------
        estimator : fitted estimator
            With ``lower_bounds_all_`` (EM mixtures), ``lower_bounds_``
            (Markov switching) or ``loss_curve_`` (neural).
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a new figure and axes.
        **plot_kw
            Passed to :meth:`plot`.

        Returns
        -------
        display : ConvergenceDisplay
        """
        check_is_fitted(estimator)
        name = type(estimator).__name__
        current = getattr(estimator, "lower_bounds_", None)
        curves = list(getattr(estimator, "lower_bounds_all_", None) or [])
        # The selected restart is the one whose history is lower_bounds_.  A
        # fit path that records no restarts (partial_fit, say) may leave an
        # older fit's lower_bounds_all_ behind: then only lower_bounds_ holds.
        selected = [
            i for i, c in enumerate(curves) if current is not None and np.array_equal(c, current)
        ]
        if selected:
            disp = cls(curves, best_index=selected[0], title=name)
        elif current is not None:
            disp = cls([estimator.lower_bounds_], best_index=0, title=name)
        elif getattr(estimator, "loss_curve_", None) is not None:
            disp = cls(
                [estimator.loss_curve_],
                best_index=0,
                validation_curve=getattr(estimator, "validation_loss_curve_", None),
                ylabel="loss",
                xlabel="epoch",
                title=name,
            )
        else:
            raise TypeError(
                f"{cls.__name__} needs a fitted estimator that records its objective "
                f"(lower_bounds_all_, lower_bounds_ or loss_curve_); {name} has none."
            )
        return disp.plot(ax=ax, **plot_kw)

    def plot(self, ax=None, *, legend=True, line_kw=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; None creates a new figure and axes.
        legend : bool, default=True
            Whether to draw a legend.
        line_kw : dict, default=None
            Passed to every ``ax.plot``.

        Returns
        -------
        display : ConvergenceDisplay
            The display, with its matplotlib artists stored.
        """
        self.figure_, self.ax_ = make_ax(ax, type(self).__name__)
        ax = self.ax_
        several = len(self.curves) > 1
        self.lines_ = []
        for i, curve in enumerate(self.curves):
            best = i == self.best_index
            if several:
                label = f"restart {i}" + (" (selected)" if best else "")
            else:
                label = "training" if self.validation_curve is not None else "fit"
            kw = dict(
                lw=2.0 if best else 1.0,
                alpha=1.0 if best or not several else 0.6,
                zorder=3 if best else 2,
                label=label,
            )
            kw.update(line_kw or {})
            self.lines_.append(ax.plot(np.arange(1, curve.size + 1), curve, **kw)[0])
        self.validation_line_ = self.legend_ = None
        if self.validation_curve is not None:
            v = np.asarray(self.validation_curve, dtype=np.float64)
            kw = dict(ls="--", label="validation")
            kw.update(line_kw or {})
            self.validation_line_ = ax.plot(np.arange(1, v.size + 1), v, **kw)[0]
        ax.set_xlabel(self.xlabel)
        ax.set_ylabel(self.ylabel)
        if self.title:
            ax.set_title(self.title)
        if legend and (several or self.validation_curve is not None):
            self.legend_ = ax.legend()
        return self
