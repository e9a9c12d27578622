"""
=======================================================
Heterogeneous experts: a line, an SVR and a tree
=======================================================

Any scikit-learn regressor whose ``fit`` takes ``sample_weight`` can be an
expert, and the experts need not be alike.  Their parameters are tuned like
those of any nested estimator: ``experts__<name>__<param>``.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV
from sklearn.svm import SVR
from sklearn.tree import DecisionTreeRegressor

from skmoe import MixtureOfExpertsRegressor

rng = np.random.RandomState(0)
X = np.sort(rng.uniform(-3, 3, 300))[:, None]
y = np.where(X[:, 0] < -1, 2 * X[:, 0] + 5, np.where(X[:, 0] < 1, np.sin(3 * X[:, 0]), 3.0))
y = y + 0.15 * rng.randn(len(y))

moe = MixtureOfExpertsRegressor(
    [("line", LinearRegression()), ("svr", SVR()), ("tree", DecisionTreeRegressor())],
    max_iter=30,
    random_state=0,
)
search = GridSearchCV(moe, {"experts__svr__C": [1, 10], "experts__tree__max_depth": [1, 2]}, cv=3)
search.fit(X, y)
print("best parameters:", search.best_params_)
best = search.best_estimator_

gate = best.predict_gate(X)
fig, ax = plt.subplots(figsize=(7, 4))
ax.scatter(X[:, 0], y, s=8, c="0.6")
ax.plot(X[:, 0], best.predict(X), "k", lw=2, label="mixture mean")
for k, name in enumerate(["line", "svr", "tree"]):
    ax.plot(X[:, 0], np.where(gate[:, k] > 0.3, best.predict_experts(X)[:, k], np.nan), lw=1,
            label=f"{name} (where its gate > 0.3)")
ax.legend()
plt.show()
