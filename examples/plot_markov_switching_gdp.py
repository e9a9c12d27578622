"""
=============================================================
Markov switching on US output growth: expansions, recessions
=============================================================

Hamilton (1989) modelled US output growth as switching between two regimes,
expansion and recession, that follow a hidden Markov chain.
:class:`~skmoe.MarkovSwitchingRegressor` is that model with the regimes as
experts: each regime has its own mean growth and its own noise level, and
the regimes persist from one quarter to the next with the probabilities of a
fitted transition matrix.  The model is fitted without any knowledge of the
business cycle; we then shade the recessions dated by the NBER and compare
them with the smoothed probability of the low-growth regime,
``smoothed_regime_proba``.

Two data sets, both shipped with statsmodels, so the example runs offline:

* Hamilton's own series, US real GNP growth (quarterly percent change),
  1951Q2 to 1984Q4, with the NBER recession indicator for the same quarters
  (the arrays of statsmodels' Markov-switching tests,
  ``statsmodels/tsa/regime_switching/tests/test_markov_autoregression.py``).
* US real GDP growth (annualised), 1959Q2 to 2009Q3, from
  ``statsmodels.datasets.macrodata``.

On the second series the two regimes no longer separate booms from
recessions: with regime-specific variances they split the sample at the
"Great Moderation" of the mid-1980s, when output growth became much less
volatile.  A third regime gives the recessions back, although BIC (printed
below) prefers two: the criterion judges the fit of the growth rates, not
whether a regime reads as a recession.
"""

import matplotlib.pyplot as plt
import numpy as np
import statsmodels.api as sm
from statsmodels.tsa.regime_switching.tests import test_markov_autoregression as hamilton

from skmoe import MarkovSwitchingRegressor


def fit_switching_means(y, n_regimes):
    """Regimes with their own constant mean and variance (no regressors)."""
    # The experts see no column of X (``expert_features=[]``), so each is a
    # regime-specific constant; X only sets the number of rows.
    X = np.zeros((len(y), 1))
    ms = MarkovSwitchingRegressor(
        n_regimes=n_regimes, expert_features=[], n_init=5, random_state=0
    ).fit(X, y)
    # Order the regimes by their mean growth, lowest first.
    order = np.argsort([expert.intercept_ for expert in ms.experts_])
    means = np.array([ms.experts_[k].intercept_ for k in order])
    proba = ms.smoothed_regime_proba(X, y)[:, order]
    return ms, order, means, proba


# %%
# Hamilton's GNP data
# -------------------
gnp = np.asarray(hamilton.rgnp)
nber = np.asarray(hamilton.rec, dtype=bool)
t_gnp = 1951.25 + np.arange(len(gnp)) / 4

ms, order, means, proba = fit_switching_means(gnp, 2)
P = ms.transition_matrix_[np.ix_(order, order)]
print(f"mean growth per quarter: recession {means[0]:.2f}%, expansion {means[1]:.2f}%")
print(
    f"expected duration: recession {1 / (1 - P[0, 0]):.1f} quarters, "
    f"expansion {1 / (1 - P[1, 1]):.1f} quarters"
)
print(
    f"quarters where P(recession) > 0.5 agrees with the NBER dating: "
    f"{np.mean((proba[:, 0] > 0.5) == nber):.0%}"
)


def shade(ax, t, flag):
    """Grey bands over the quarters where ``flag`` is true."""
    edges = np.flatnonzero(np.diff(np.r_[0, flag.astype(int), 0]))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        ax.axvspan(t[start] - 0.125, t[stop - 1] + 0.125, color="0.85", lw=0)


fig, axes = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True)
for ax in axes:
    shade(ax, t_gnp, nber)
axes[0].plot(t_gnp, gnp, lw=1)
axes[0].axhline(0, color="k", lw=0.5)
axes[0].set_ylabel("real GNP growth (%)")
axes[0].set_title("Hamilton's data; grey: NBER recessions")
axes[1].plot(t_gnp, proba[:, 0], color="C3")
axes[1].set_ylabel("P(recession | all data)")
axes[1].set_xlabel("year")
fig.tight_layout()

# %%
# GDP growth to 2009: two regimes, then three
# -------------------------------------------
# NBER peaks and troughs (as fractional years of their quarters) in 1959-2009.
peaks_troughs = [
    (1960.25, 1961.0),
    (1969.75, 1970.75),
    (1973.75, 1975.0),
    (1980.0, 1980.5),
    (1981.5, 1982.75),
    (1990.5, 1991.0),
    (2001.0, 2001.75),
    (2007.75, 2009.25),
]
macro = sm.datasets.macrodata.load_pandas().data
gdp = 400 * np.diff(np.log(macro["realgdp"].to_numpy()))
t_gdp = (macro["year"] + (macro["quarter"] - 1) / 4).to_numpy()[1:]
recession = np.zeros(len(gdp), dtype=bool)
for peak, trough in peaks_troughs:
    recession |= (t_gdp > peak) & (t_gdp <= trough)

fig, axes = plt.subplots(3, 1, figsize=(9, 7), sharex=True)
for ax in axes:
    shade(ax, t_gdp, recession)
axes[0].plot(t_gdp, gdp, lw=1)
axes[0].axhline(0, color="k", lw=0.5)
axes[0].set_ylabel("GDP growth (%, annual rate)")
for ax, n_regimes in zip(axes[1:], [2, 3], strict=True):
    ms, order, means, proba = fit_switching_means(gdp, n_regimes)
    sd = np.sqrt(ms.noise_variance_[order])
    print(
        f"{n_regimes} regimes: means {np.round(means, 2)}, standard deviations "
        f"{np.round(sd, 2)}, BIC {ms.bic(np.zeros((len(gdp), 1)), gdp):.1f}"
    )
    for k in range(n_regimes):
        ax.plot(t_gdp, proba[:, k], label=f"mean {means[k]:.1f}%, sd {sd[k]:.1f}")
    ax.set_ylabel(f"{n_regimes} regimes:\nsmoothed probability")
    ax.legend(loc="center left", fontsize="small")
print(
    f"3 regimes: quarters where P(lowest-mean regime) > 0.5 agrees with the NBER "
    f"dating: {np.mean((proba[:, 0] > 0.5) == recession):.0%}"
)
axes[-1].set_xlabel("year")
fig.tight_layout()
plt.show()
