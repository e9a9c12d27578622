"""
================================================
Softmax gate versus constant gate
================================================

With ``gate="constant"`` the mixture of experts is the classical finite
mixture of regressions (flexmix, mixtools' ``regmixEM``): the probability of
each line does not depend on x.  When the regime does depend on x, the softmax
gate recovers it and the held-out log-likelihood shows the difference.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from skmoe import MixtureOfExpertsRegressor
from skmoe.datasets import make_moe_regression

X, y, truth = make_moe_regression(1500, n_features=1, n_experts=2, noise=0.4, random_state=2)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

fig, axes = plt.subplots(1, 2, figsize=(9, 4), sharey=True)
grid = np.linspace(X.min(), X.max(), 200)[:, None]
for ax, gate in zip(axes, ["softmax", "constant"]):
    moe = MixtureOfExpertsRegressor(n_experts=2, gate=gate, n_init=3, random_state=0)
    moe.fit(X_train, y_train)
    held_out = moe.log_likelihood(X_test, y_test).mean()
    resp = moe.responsibilities(X_train, y_train)
    ax.scatter(X_train[:, 0], y_train, s=6, c=resp[:, 0], cmap="coolwarm")
    ax.plot(grid[:, 0], moe.predict_experts(grid), "k--", lw=1)
    ax.set_title(f'gate="{gate}": held-out log-lik/row {held_out:.3f}')
    ax.set_xlabel("x")
axes[0].set_ylabel("y")
fig.tight_layout()
plt.show()
