"""
==========================================================
Tuning experts and gates with GridSearchCV
==========================================================

The experts, the gate and their parameters are ordinary estimator parameters,
so :class:`~sklearn.model_selection.GridSearchCV` searches over them like over
any other: ``experts`` may be ``None`` (the built-in closed-form linear
expert) or any regressor, ``gate`` a string or a gate object, and nested
parameters are reached as ``gate__alpha`` or ``experts__alpha``.

The data are scikit-learn's diabetes data (442 patients, 10 baseline
variables, disease progression after one year).  The search is scored by the
held-out log-likelihood (:func:`~skmoe.model_selection.log_likelihood_scorer`),
which judges the whole predictive distribution, and R² is recorded as well.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

from skmoe import GaussianGate, MixtureOfExpertsRegressor, SoftmaxGate
from skmoe.model_selection import log_likelihood_scorer

X, y = load_diabetes(return_X_y=True)

param_grid = [
    # One expert: the gate does not matter; the expert does.
    {"n_experts": [1], "experts": [None, Ridge(alpha=0.1), Ridge(alpha=1.0)]},
    # Two or three experts, with gates that do and do not look at the inputs.
    {
        "n_experts": [2, 3],
        "experts": [None, Ridge(alpha=0.1)],
        "gate": ["constant", SoftmaxGate(alpha=1e-2), GaussianGate(covariance_type="diag")],
    },
]
cv = KFold(5, shuffle=True, random_state=0)
search = GridSearchCV(
    MixtureOfExpertsRegressor(n_init=3, max_iter=300, random_state=0),
    param_grid,
    scoring={"log_likelihood": log_likelihood_scorer, "r2": "r2"},
    refit="log_likelihood",
    cv=cv,
)
search.fit(X, y)
print("best parameters:", search.best_params_)
print(f"best held-out log-likelihood per patient: {search.best_score_:.3f}")

# %%
# The ten best settings, and a plain ridge regression for reference.
results = search.cv_results_
order = np.argsort(results["rank_test_log_likelihood"])
for i in order[:10]:
    params = ", ".join(f"{k}={v!r}" for k, v in results["params"][i].items())
    print(
        f"log-lik {results['mean_test_log_likelihood'][i]:7.3f}  "
        f"R2 {results['mean_test_r2'][i]:.3f}  {params}"
    )
ridge_r2 = cross_val_score(Ridge(alpha=0.1), X, y, cv=cv, scoring="r2").mean()
print(f"Ridge(alpha=0.1) alone: R2 {ridge_r2:.3f}")

# %%
# Held-out log-likelihood against R² for every setting, coloured by the
# number of experts: the predictive distribution can improve when the mean
# does not, because each expert has its own noise level.
fig, ax = plt.subplots(figsize=(6.5, 4.5))
n_exp = np.array([p["n_experts"] for p in results["params"]])
for k in (1, 2, 3):
    sel = n_exp == k
    ax.scatter(
        results["mean_test_r2"][sel],
        results["mean_test_log_likelihood"][sel],
        label=f"{k} expert{'s' if k > 1 else ''}",
    )
ax.axvline(ridge_r2, color="k", ls="--", lw=1, label="Ridge alone (R²)")
ax.set_xlabel("mean held-out R²")
ax.set_ylabel("mean held-out log-likelihood per patient")
ax.legend()
fig.tight_layout()
plt.show()
