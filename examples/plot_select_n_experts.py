"""
==========================================================
Choosing the number of experts
==========================================================

How many experts do the motorcycle crash data (Silverman 1985) support?
:func:`~skmoe.model_selection.select_n_experts` fits one mixture per candidate
and ranks them by an information criterion or by cross-validation:

* BIC, ``-2 log L + p log n``: a penalised fit, consistent for the number of
  components when the model is right;
* ICL, BIC plus twice the entropy of the responsibilities: it also penalises
  experts that overlap, so it prefers fewer, well-separated experts;
* AIC, ``-2 log L + 2 p``: a lighter penalty, aimed at prediction;
* ``criterion="cv"``: the mean held-out log-likelihood over folds, which
  needs no parameter count and is what prediction cares about.

All four are computed below for one to eight linear experts with a softmax
gate; the chosen model is the refit on all the data.  With eight experts
some fits warn (:class:`~skmoe.exceptions.DegenerateExpertWarning`) that
experts lost their data and were re-seeded: a sign of its own that the data
do not support that many.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import KFold

from skmoe import MixtureOfExpertsRegressor, SoftmaxGate
from skmoe.datasets import load_mcycle
from skmoe.model_selection import select_n_experts

X, y = load_mcycle(return_X_y=True)
template = MixtureOfExpertsRegressor(
    gate=SoftmaxGate(alpha=1e-2), n_init=3, max_iter=300, random_state=0
)
candidates = range(1, 9)

best_bic, table = select_n_experts(template, X, y, n_experts=candidates, criterion="bic")
frame = table.to_frame()
print(frame[["n_experts", "log_likelihood", "n_parameters", "bic", "icl", "aic"]].round(1))
for criterion in ("bic", "icl", "aic"):
    print(
        f"{criterion.upper()} chooses {int(frame.loc[frame[criterion].idxmin(), 'n_experts'])} "
        "experts"
    )

# %%
# Ten-fold cross-validation of the held-out log-likelihood (shuffled folds:
# the rows are sorted by time).
best_cv, cv_table = select_n_experts(
    template,
    X,
    y,
    n_experts=candidates,
    criterion="cv",
    cv=KFold(10, shuffle=True, random_state=0),
)
cv_frame = cv_table.to_frame()
print(f"cross-validation chooses {best_cv.n_experts} experts")

# %%
# The criteria against the number of experts (left; lower is better) and the
# held-out log-likelihood (right; higher is better), then the model BIC chose.
fig, axes = plt.subplots(1, 3, figsize=(13, 4))
for criterion in ("bic", "icl", "aic"):
    axes[0].plot(frame["n_experts"], frame[criterion], "o-", label=criterion.upper())
axes[0].set_xlabel("number of experts")
axes[0].set_ylabel("criterion")
axes[0].legend()
axes[1].errorbar(
    cv_frame["n_experts"],
    cv_frame["mean_test_log_likelihood"],
    yerr=cv_frame["std_test_log_likelihood"] / np.sqrt(10),
    fmt="o-",
)
axes[1].set_xlabel("number of experts")
axes[1].set_ylabel("held-out log-likelihood per point")
grid = np.linspace(X.min(), X.max(), 400)[:, None]
low, high = best_bic.predict_quantiles(grid, [0.05, 0.95]).T
axes[2].scatter(X[:, 0], y, s=8, c="0.5")
axes[2].plot(grid[:, 0], best_bic.predict(grid), "k")
axes[2].fill_between(grid[:, 0], low, high, alpha=0.2)
axes[2].set_title(f"BIC's choice: {best_bic.n_experts} experts")
axes[2].set_xlabel("time after impact (ms)")
axes[2].set_ylabel("head acceleration (g)")
fig.tight_layout()
plt.show()
