"""
=======================================================
Heterogeneous experts: a line, an SVR and a tree
=======================================================

Any scikit-learn regressor whose ``fit`` takes ``sample_weight`` can be an
expert, and the experts need not be alike: here a linear regression, a
support-vector regression and a regression tree share the motorcycle crash
data (Silverman 1985), head acceleration against time after impact.  Their
parameters are tuned like those of any nested estimator,
``experts__<name>__<param>``, here by a grid search on the held-out
log-likelihood.

The plot shows where the softmax gate sends each expert (its line is drawn
where its gate probability exceeds 0.3) and the mixture's 90% predictive
interval: each expert has its own noise level, so the interval is narrow
before the impact and wide during the oscillation.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.svm import SVR
from sklearn.tree import DecisionTreeRegressor

from skmoe import MixtureOfExpertsRegressor
from skmoe.datasets import load_mcycle
from skmoe.model_selection import log_likelihood_scorer

X, y = load_mcycle(return_X_y=True)

moe = MixtureOfExpertsRegressor(
    [
        ("line", LinearRegression()),
        ("svr", SVR(C=100.0)),
        ("tree", DecisionTreeRegressor(random_state=0)),
    ],
    max_iter=300,
    random_state=0,
)
search = GridSearchCV(
    moe,
    {"experts__svr__C": [100.0, 1000.0], "experts__tree__max_depth": [2, 4]},
    scoring=log_likelihood_scorer,
    cv=KFold(5, shuffle=True, random_state=0),
)
search.fit(X, y)
print("best parameters:", search.best_params_)
print(f"held-out log-likelihood per point: {search.best_score_:.3f}")
best = search.best_estimator_

# %%
grid = np.linspace(X.min(), X.max(), 400)[:, None]
gate = best.predict_gate(grid)
experts = best.predict_experts(grid)
low, high = best.predict_quantiles(grid, [0.05, 0.95]).T

fig, ax = plt.subplots(figsize=(8, 4.5))
ax.scatter(X[:, 0], y, s=8, c="0.6")
ax.fill_between(grid[:, 0], low, high, color="C0", alpha=0.15, label="90% interval")
ax.plot(grid[:, 0], best.predict(grid), "k", lw=2, label="mixture mean")
for k, name in enumerate(["line", "svr", "tree"]):
    ax.plot(
        grid[:, 0],
        np.where(gate[:, k] > 0.3, experts[:, k], np.nan),
        lw=1.5,
        color=f"C{k + 1}",
        label=f"{name} (where its gate > 0.3)",
    )
ax.set_xlabel("time after impact (ms)")
ax.set_ylabel("head acceleration (g)")
ax.legend(loc="lower right")
fig.tight_layout()
plt.show()
