"""
=====================================================
Reading a fitted model: summaries next to statsmodels
=====================================================

``summary(X, y)`` returns a :class:`~skmoe.SummaryResults`: estimates, standard
errors from the observed information, z tests and confidence intervals under
a header with the log-likelihood and information criteria, with statsmodels'
names (``params``, ``bse``, ``conf_int()``, ``cov_params()``, ``llf``,
``nobs``) and a pandas view (``to_frame()``).  This example puts two such
summaries next to statsmodels' on real data that ship with skmoe and
statsmodels (no download):

* Hamilton's Markov-switching model of US real GDP growth (statsmodels'
  ``macrodata``), against statsmodels' ``MarkovRegression`` at the same
  optimum;
* linear experts on the motorcycle data: one expert is ordinary least
  squares, so its summary is statsmodels' ``OLS`` up to the degrees-of-freedom
  correction of the noise variance; two experts under a softmax gate, with
  their intervals.

See :ref:`guide_reading` for what each line of a summary holds.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

from skmoe import MarkovSwitchingRegressor, MixtureOfExpertsRegressor
from skmoe.datasets import load_mcycle

# %%
# A Markov-switching model of GDP growth
# --------------------------------------
# Quarterly growth of US real GDP in percent, 1959Q2-2009Q3.  Two regimes with
# their own mean growth and one noise variance (``switching_variance=False``),
# fitted on ``y`` alone, with the stationary start distribution that
# statsmodels uses.
macro = sm.datasets.macrodata.load_pandas().data
growth = 100 * np.diff(np.log(macro["realgdp"].to_numpy()))

ms = MarkovSwitchingRegressor(
    start="steady-state", switching_variance=False, n_init=5, random_state=0
).fit(y=growth)
ms_res = ms.summary(None, growth)
print(ms_res)

# %%
# statsmodels' ``MarkovRegression`` is the same model.  Started from skmoe's
# estimate (in statsmodels' parameter order, so the regimes keep their labels)
# and with ``em_iter=0`` (statsmodels' EM steps ignore the stationary start in
# the transition update and would first move off the optimum), its optimiser
# finds its own score already zero there and stays: the two summaries are of
# one optimum.
mod = MarkovRegression(growth, k_regimes=2, switching_variance=False)
ours = ms_res.to_frame()
start = ours.loc[mod.param_names, "coef"].to_numpy()
print(
    f"largest |score| of statsmodels' log-likelihood at skmoe's estimate: "
    f"{np.max(np.abs(mod.score(start))):.1e}"
)
sm_res = mod.fit(start_params=start, em_iter=0)
print(sm_res.summary())

# %%
# Side by side, with the relative differences: the standard errors (skmoe: a
# central-difference Hessian of the analytic score; statsmodels: a
# complex-step Hessian), the log-likelihood, the expected durations.  The
# last column is statsmodels' default fit from its own start, with no help from
# skmoe (its regime labels put in skmoe's order): the same optimum, to its
# optimiser's tolerance.  statsmodels also prints z tests of the variance and
# of the transition probabilities against zero; skmoe leaves them NaN, as a
# test of zero means nothing there.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # statsmodels' optimiser warnings, if any
    own_fit = mod.fit()
own = pd.Series(own_fit.params, index=mod.param_names)
if own["const[0]"] < own["const[1]"]:  # its regime 0 is the contraction: swap
    own = pd.Series(
        {
            "const[0]": own["const[1]"],
            "const[1]": own["const[0]"],
            "sigma2": own["sigma2"],
            "p[0->0]": 1 - own["p[1->0]"],
            "p[1->0]": 1 - own["p[0->0]"],
        }
    )
sm_params = pd.Series(sm_res.params, index=mod.param_names)
sm_bse = pd.Series(sm_res.bse, index=mod.param_names)
side = pd.DataFrame(
    {
        "skmoe coef": ours["coef"],
        "statsmodels coef": sm_params[ours.index],
        "skmoe std err": ours["std err"],
        "statsmodels std err": sm_bse[ours.index],
        "std err rel. diff": (ours["std err"] / sm_bse[ours.index] - 1).abs(),
        "statsmodels own fit coef": own[ours.index],
    }
)
print(side.to_string(float_format="{:.6g}".format))


def max_rel(a, b):
    return np.max(np.abs(np.asarray(a) / np.asarray(b) - 1))


print(
    f"max relative difference, from skmoe's start: "
    f"coef {max_rel(side['skmoe coef'], side['statsmodels coef']):.1e}, "
    f"std err {side['std err rel. diff'].max():.1e}; "
    f"statsmodels' own fit: coef {max_rel(side['skmoe coef'], own[ours.index]):.1e}"
)
print(
    f"log-likelihood: skmoe {ms_res.llf:.9f}, statsmodels from skmoe's start "
    f"{sm_res.llf:.9f}, statsmodels' own fit {own_fit.llf:.9f}"
)
print(
    f"expected durations (quarters): skmoe {np.round(ms_res.expected_durations, 2)}, "
    f"statsmodels {np.round(sm_res.expected_durations, 2)}"
)

# %%
# An expansion with mean growth 1.01% a quarter, expected to last
# ``1 / (1 - p[0->0])``, about 18 quarters, and a contraction (-0.27%), about 4.
#
# One linear expert is ordinary least squares
# --------------------------------------------
# The motorcycle data: head acceleration (g) against time after a simulated
# impact (ms).  A mixture with one linear-Gaussian expert is the linear
# regression, fitted by maximum likelihood.
X, y = load_mcycle(return_X_y=True)
X = pd.DataFrame({"times": X[:, 0]})
n = len(y)

one = MixtureOfExpertsRegressor(n_experts=1).fit(X, y)
one_res = one.summary(X, y)
print(one_res)

ols = sm.OLS(y, sm.add_constant(X)).fit()
print(ols.summary().tables[1])

# %%
# The coefficients are the same.  The standard errors differ by one factor:
# maximum likelihood estimates the noise variance by ``RSS / n``, OLS by
# ``RSS / (n - p)`` (``p = 2`` coefficients), and both standard errors are
# ``sqrt(sigma2 * diag((X'X)^-1))``, so skmoe's are OLS's times
# ``sqrt((n - p) / n)``.  The log-likelihoods are equal (statsmodels' OLS
# evaluates it at ``RSS / n`` too); the AICs differ by 2 because OLS does not
# count the noise variance as a parameter.  OLS's intervals use Student's t
# with ``n - p`` degrees of freedom, skmoe's the normal distribution.  The
# standard error of ``sigma2`` is the maximum-likelihood one,
# ``sigma2 * sqrt(2 / n)``.
p = 2
one_frame = one_res.to_frame()
names = {"const[0]": "const", "times[0]": "times"}
ols_side = pd.DataFrame(
    {
        "skmoe coef": one_frame.loc[list(names), "coef"].to_numpy(),
        "OLS coef": ols.params[list(names.values())].to_numpy(),
        "skmoe std err": one_frame.loc[list(names), "std err"].to_numpy(),
        "OLS std err": ols.bse[list(names.values())].to_numpy(),
    },
    index=list(names.values()),
)
ols_side["OLS std err * sqrt((n-p)/n)"] = ols_side["OLS std err"] * np.sqrt((n - p) / n)
print(ols_side.to_string(float_format="{:.6g}".format))
print(
    f"max relative difference: coef {max_rel(ols_side['skmoe coef'], ols_side['OLS coef']):.1e}, "
    f"std err {max_rel(ols_side['skmoe std err'], ols_side['OLS std err * sqrt((n-p)/n)']):.1e}"
)
sigma2 = one_frame.loc["sigma2[0]", "coef"]
print(
    f"sigma2: skmoe {sigma2:.2f} = RSS/n, OLS scale {ols.scale:.2f} = RSS/(n-p); "
    f"ratio {ols.scale / sigma2:.6f}, n/(n-p) = {n / (n - p):.6f}"
)
print(
    f"log-likelihood: skmoe {one_res.llf:.4f}, OLS {ols.llf:.4f}; "
    f"AIC: skmoe {one_res.aic:.2f}, OLS {ols.aic:.2f}"
)
print(
    f"std err of sigma2: skmoe {one_frame.loc['sigma2[0]', 'std err']:.4f}, "
    f"sigma2 * sqrt(2 / n) = {sigma2 * np.sqrt(2 / n):.4f}"
)

# %%
# Two experts under a softmax gate
# --------------------------------
# For about 14 ms the acceleration stays flat and nearly noiseless; then the
# head whips and it swings widely.  Two linear experts and a softmax gate on
# time separate the two phases (a line is a crude description of the swings,
# whence expert 1's large variance; the user guide's three experts do better).
# statsmodels has no mixture of experts; the numbers are read as above, the
# covariance being that of the estimate penalised by the softmax gate's default
# ridge (the notes say so).  ``conf_int`` gives intervals at any level and
# ``cov_params`` the covariance for functions of the parameters: the time at
# which the gate hands over, ``-const / slope`` of its logit, with a
# delta-method standard error.
moe = MixtureOfExpertsRegressor(n_experts=2, n_init=5, random_state=0).fit(X, y)
res = moe.summary(X, y)
print(res)
frame = res.to_frame()
ci90 = pd.DataFrame(res.conf_int(0.10), index=res.param_names, columns=["[0.05", "0.95]"])
print(pd.concat([frame[["coef", "std err", "[0.025", "0.975]"]], ci90], axis=1).round(4))

i, j = res.param_names.index("gate:times[1]"), res.param_names.index("gate:const[1]")
b, c = res.params[i], res.params[j]
switch = -c / b
grad = np.array([c / b**2, -1 / b])  # d(-c/b) / d(b, c)
cov = res.cov_params()[np.ix_([i, j], [i, j])]
switch_se = np.sqrt(grad @ cov @ grad)
print(f"the gate hands over at {switch:.2f} ms (std err {switch_se:.2f} ms)")

# %%
# Each expert's line with its pointwise 95% interval, ``x' b -/+ 1.96 sqrt(x'
# C x)`` where ``C`` is the covariance of its slope and intercept, drawn where
# the gate gives that expert more than half the weight.
t = np.linspace(X["times"].min(), X["times"].max(), 300)
grid = pd.DataFrame({"times": t})
gate = moe.predict_gate(grid)
fig, ax = plt.subplots(figsize=(8, 4.5))
ax.scatter(X["times"], y, s=10, color="0.4", label="data")
for k in range(2):
    idx = [res.param_names.index(f"times[{k}]"), res.param_names.index(f"const[{k}]")]
    Z = np.column_stack([t, np.ones_like(t)])
    line = Z @ res.params[idx]
    half = 1.96 * np.sqrt(np.einsum("ij,jk,ik->i", Z, res.cov_params()[np.ix_(idx, idx)], Z))
    on = gate[:, k] > 0.5
    ax.plot(t[on], line[on], color=f"C{k}", label=f"expert {k}")
    ax.fill_between(t[on], (line - half)[on], (line + half)[on], color=f"C{k}", alpha=0.3)
ax.axvline(switch, color="k", lw=0.8, ls="--", label="gate hands over")
ax.set_xlabel("time after impact (ms)")
ax.set_ylabel("head acceleration (g)")
ax.legend()
fig.tight_layout()
plt.show()
