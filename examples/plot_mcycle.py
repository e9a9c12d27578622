"""
===================================================
Mixture of linear experts on the motorcycle data
===================================================

The motorcycle crash data (Silverman 1985) are flat, then dive, rebound and
decay, and their noise level changes sharply over time.  A mixture of linear
experts with a softmax gate splits the time axis into regimes, fits a line
and a noise level in each, and gives a predictive law whose spread follows
the data.
"""

import matplotlib.pyplot as plt
import numpy as np

from skmoe import MixtureOfExpertsRegressor, SoftmaxGate
from skmoe.datasets import load_mcycle

X, y = load_mcycle(return_X_y=True)
moe = MixtureOfExpertsRegressor(
    n_experts=5, gate=SoftmaxGate(alpha=1e-2), n_init=5, max_iter=300, random_state=0
).fit(X, y)
print(f"EM iterations: {moe.n_iter_}, mean log-likelihood: {moe.lower_bound_:.3f}")

grid = np.linspace(X.min(), X.max(), 400)[:, None]
mean = moe.predict(grid)
q = moe.predict_quantiles(grid, [0.05, 0.95])
gate = moe.predict_gate(grid)
experts = moe.predict_experts(grid)

fig, (ax, ax_gate) = plt.subplots(2, 1, figsize=(7, 6), sharex=True, height_ratios=[3, 1])
ax.scatter(X[:, 0], y, s=10, c="k", label="data")
ax.plot(grid[:, 0], mean, "C3", lw=2, label="predictive mean")
ax.fill_between(grid[:, 0], q[:, 0], q[:, 1], color="C3", alpha=0.2, label="90% interval")
for k in range(moe.n_experts_):
    active = gate[:, k] > 0.2
    ax.plot(grid[active, 0], experts[active, k], "--", lw=1, color=f"C{k}")
ax.set_ylabel("head acceleration (g)")
ax.legend(loc="lower right")
ax_gate.stackplot(grid[:, 0], gate.T, colors=[f"C{k}" for k in range(moe.n_experts_)], alpha=0.6)
ax_gate.set_xlabel("time after impact (ms)")
ax_gate.set_ylabel("gate")
fig.tight_layout()
plt.show()
