"""
======================================================
Inspecting a mixture of experts on the motorcycle data
======================================================

The four displays of :mod:`skmoe.inspection` on one fitted model of the
motorcycle crash data (head acceleration against time after impact):

- :class:`~skmoe.inspection.ConvergenceDisplay`: the mean log-likelihood at
  every EM iteration of every restart; the selected restart is drawn thick.
- :class:`~skmoe.inspection.GateDisplay`: which expert the gate trusts at
  each time, as probabilities and as hard regions.
- :class:`~skmoe.inspection.ExpertsDisplay`: each expert's line, drawn where
  its gate probability is at least 0.05 (by default), with every observation
  coloured by its responsibilities (the posterior probability of each expert
  given the point); the y axis spans the data.
- :class:`~skmoe.inspection.PredictiveDistributionDisplay`: the predictive
  density ``p(y | x)`` as a heat map.  Where two experts share a time window
  (around the rebound) a column of the map has two bright bands: the
  predictive law is bimodal, which a mean and a standard deviation hide.
  The default colour scale (a square root, capped at the 99th percentile of
  the map) keeps the wide, low-density modes visible next to the narrow one
  before the impact.
"""

import matplotlib.pyplot as plt

from skmoe import MixtureOfExpertsRegressor, SoftmaxGate
from skmoe.datasets import load_mcycle
from skmoe.inspection import (
    ConvergenceDisplay,
    ExpertsDisplay,
    GateDisplay,
    PredictiveDistributionDisplay,
)

X, y = load_mcycle(return_X_y=True)
moe = MixtureOfExpertsRegressor(
    n_experts=4, gate=SoftmaxGate(alpha=1e-2), n_init=4, max_iter=300, random_state=0
).fit(X, y)

fig, axes = plt.subplots(2, 2, figsize=(11, 8), layout="constrained")

ConvergenceDisplay.from_estimator(moe, ax=axes[0, 0])

gate = GateDisplay.from_estimator(moe, X, grid_resolution=300, ax=axes[0, 1])
# The hard regions (argmax of the gate) as a band under the curves.
regions = GateDisplay.from_estimator(
    moe, X, kind="regions", grid_resolution=300, ax=axes[0, 1], legend=False, alpha=0.15
)
axes[0, 1].set_xlabel("time after impact (ms)")
axes[0, 1].set_title("gate")

ExpertsDisplay.from_estimator(moe, X, y, grid_resolution=300, ax=axes[1, 0])
axes[1, 0].set_xlabel("time after impact (ms)")
axes[1, 0].set_ylabel("head acceleration (g)")
axes[1, 0].set_title("experts, points shaded by responsibility")

PredictiveDistributionDisplay.from_estimator(
    moe, X, y, grid_resolution=200, y_resolution=200, ax=axes[1, 1]
)
axes[1, 1].set_xlabel("time after impact (ms)")
axes[1, 1].set_ylabel("head acceleration (g)")
axes[1, 1].set_title("predictive density p(y | x)")

plt.show()
