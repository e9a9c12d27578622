"""
=====================================================
Localized (Gaussian) gate on the motorcycle data
=====================================================

The localized gate of Xu, Jordan & Hinton (1995) models the inputs too: each
expert owns a Gaussian bump ``pi_k N(x; mu_k, sigma_k^2)`` in input space, and
the gate is the posterior ``g_k(x) ∝ pi_k N(x; mu_k, sigma_k^2)``.  Its M-step
is closed form (that of :class:`~sklearn.mixture.GaussianMixture`), and EM
then increases the *joint* log-likelihood ``log p(x, y)``.

The top panel shows the motorcycle crash data, the predictive mean and 90%
interval, and each expert's line where its gate exceeds 0.2; the middle
panel the weighted Gaussian components over time (``weights_``, ``means_``,
``covariances_`` of the fitted gate); the bottom panel the gate itself.
Unlike a softmax gate, whose regions are half-lines cut by hyperplanes,
each expert here has a window centred on its own mean.
"""

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm

from skmoe import GaussianGate, MixtureOfExpertsRegressor
from skmoe.datasets import load_mcycle

X, y = load_mcycle(return_X_y=True)
moe = MixtureOfExpertsRegressor(
    n_experts=5,
    gate=GaussianGate(covariance_type="full"),
    n_init=5,
    max_iter=300,
    random_state=0,
).fit(X, y)
gate = moe.gate_
print(f"EM iterations: {moe.n_iter_}")
print(f"mean joint log-likelihood log p(x, y) (the EM objective): {moe.lower_bound_:.3f}")
print(f"mean conditional log-likelihood log p(y | x): {moe.log_likelihood(X, y).mean():.3f}")

grid = np.linspace(X.min() - 2, X.max() + 2, 400)[:, None]
mean = moe.predict(grid)
q = moe.predict_quantiles(grid, [0.05, 0.95])
g = moe.predict_gate(grid)
experts = moe.predict_experts(grid)
sd = np.sqrt(gate.covariances_.reshape(moe.n_experts_))
bumps = gate.weights_ * norm.pdf(grid, loc=gate.means_[:, 0], scale=sd)

fig, (ax, ax_px, ax_gate) = plt.subplots(
    3, 1, figsize=(7, 7.5), sharex=True, height_ratios=[3, 1, 1]
)
ax.scatter(X[:, 0], y, s=10, c="k", label="data")
ax.plot(grid[:, 0], mean, "C3", lw=2, label="predictive mean")
ax.fill_between(grid[:, 0], q[:, 0], q[:, 1], color="C3", alpha=0.15, label="90% interval")
for k in range(moe.n_experts_):
    active = g[:, k] > 0.2
    ax.plot(grid[active, 0], experts[active, k], "--", lw=1.5, color=f"C{k}")
ax.set_ylabel("head acceleration (g)")
ax.legend(loc="lower right", fontsize=8)
for k in range(moe.n_experts_):
    ax_px.plot(grid[:, 0], bumps[:, k], color=f"C{k}")
ax_px.plot(grid[:, 0], bumps.sum(axis=1), "k:", lw=1, label="p(x)")
ax_px.plot(X[:, 0], np.zeros(len(X)), "|", color="k", ms=6)
ax_px.set_ylabel(r"$\pi_k N(x)$")
ax_px.legend(loc="upper right", fontsize=8)
ax_gate.stackplot(grid[:, 0], g.T, colors=[f"C{k}" for k in range(moe.n_experts_)], alpha=0.6)
ax_gate.set_xlabel("time after impact (ms)")
ax_gate.set_ylabel("gate")
fig.tight_layout()
plt.show()
