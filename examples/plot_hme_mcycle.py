"""
===========================================================
Hierarchical mixture of experts on the motorcycle data
===========================================================

A hierarchical mixture of experts (HME, Jordan & Jacobs 1994) routes each
input down a tree of softmax gates: here a binary tree of depth 2, whose
root splits the time axis in two and whose two children split each half
again, so that four linear experts each own a regime of the motorcycle crash
data (Silverman 1985).  An expert's gate probability is the product of the
branch probabilities on its root-to-leaf path.

The top panel shows the data, the predictive mean and 90% interval, and each
expert's line where its gate exceeds 0.2.  The middle panel shows the
probability that each internal node sends a time to its right branch (the
fitted ``coef_`` and ``intercept_`` of the three nodes); the bottom panel the
resulting leaf (expert) gate probabilities.
"""

import matplotlib.pyplot as plt
import numpy as np
from scipy.special import softmax

from skmoe import HierarchicalGate, MixtureOfExpertsRegressor
from skmoe.datasets import load_mcycle

X, y = load_mcycle(return_X_y=True)
moe = MixtureOfExpertsRegressor(
    gate=HierarchicalGate(depth=2, branching=2, alpha=1e-2),
    n_init=5,
    max_iter=300,
    random_state=0,
).fit(X, y)
gate = moe.gate_
print(f"{moe.n_experts_} experts, {gate.n_nodes_} gating nodes")
print(f"EM iterations: {moe.n_iter_}, mean log-likelihood: {moe.log_likelihood(X, y).mean():.3f}")

grid = np.linspace(X.min(), X.max(), 400)[:, None]
mean = moe.predict(grid)
q = moe.predict_quantiles(grid, [0.05, 0.95])
leaf_gate = moe.predict_gate(grid)
experts = moe.predict_experts(grid)
# Each node's probability of its right branch, from its exposed parameters.
node_right = np.column_stack(
    [softmax(grid @ gate.coef_[j] + gate.intercept_[j], axis=1)[:, 1] for j in range(gate.n_nodes_)]
)

fig, (ax, ax_nodes, ax_gate) = plt.subplots(
    3, 1, figsize=(7, 7.5), sharex=True, height_ratios=[3, 1, 1]
)
ax.scatter(X[:, 0], y, s=10, c="k", label="data")
ax.plot(grid[:, 0], mean, "C3", lw=2, label="predictive mean")
ax.fill_between(grid[:, 0], q[:, 0], q[:, 1], color="C3", alpha=0.15, label="90% interval")
for k in range(moe.n_experts_):
    active = leaf_gate[:, k] > 0.2
    ax.plot(grid[active, 0], experts[active, k], "--", lw=1.5, color=f"C{k}", label=f"expert {k}")
ax.set_ylabel("head acceleration (g)")
ax.legend(loc="lower right", fontsize=8, ncol=2)
for j, name in enumerate(["root", "node 1 (experts 0, 1)", "node 2 (experts 2, 3)"]):
    ax_nodes.plot(
        grid[:, 0], node_right[:, j], lw=1.5, ls=["-", "--", ":"][j], color="k", label=name
    )
ax_nodes.set_ylabel("P(right)")
ax_nodes.legend(loc="center right", fontsize=7)
ax_gate.stackplot(
    grid[:, 0], leaf_gate.T, colors=[f"C{k}" for k in range(moe.n_experts_)], alpha=0.6
)
ax_gate.set_xlabel("time after impact (ms)")
ax_gate.set_ylabel("expert gate")
fig.tight_layout()
plt.show()
