"""Standard errors of Poisson and binomial mixtures against R flexmix's ``refit()``.

flexmix's ``refit()`` maximises the observed-data log-likelihood again from
the EM estimate with ``optim`` (BFGS) and reports the inverse of the Hessian
``optim`` returns; ``summary`` here uses the inverse observed information of
the same log-likelihood (central differences of its analytic gradient).  On
flexmix's own data sets, at the same optimum (checked: equal
log-likelihoods), the two must agree.  A third column, "oracle", is the
inverse of central second differences (steps of 1e-3 standard errors) of a
log-likelihood written here from SciPy's densities: it says which of the two
is closer to the exact curvature where they differ.

Problems (public data shipped with flexmix):

* ``patent-constant``: ``data(patent)`` (70 firms), ``Patents ~ lgRD``,
  ``k=2``, ``FLXMRglm(family="poisson")``, constant mixing weights;
  skmoe ``PoissonExpert(alpha=0)``, ``gate="constant"``.
* ``patent-softmax``: the same with ``concomitant=FLXPmultinom(~ RDS)``;
  skmoe ``SoftmaxGate(alpha=0)`` with ``gate_features=["RDS"]`` and
  ``expert_features=["lgRD"]``.
* ``tribolium-constant``: ``data(tribolium)`` (27 rows, 50 beetles each),
  ``cbind(Remaining, Total - Remaining) ~ Species``, ``k=2``,
  ``FLXMRglm(family="binomial")``; skmoe ``BinomialExpert(n_trials=50,
  alpha=0)`` on ``y = Remaining / 50`` and the Species dummies.

flexmix runs ``stepFlexmix(nrep=20)`` with ``tolerance=1e-12``,
``minprior=0``; skmoe ``n_init=20``, ``tol=1e-12``.  Components are matched
by their coefficients; the gate's contrasts change sign when the reference
differs.

Usage::

    python benchmarks/bench_flexmix_se.py            # needs Rscript with flexmix
"""

import datetime
import json
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model  # noqa: E402

R_SCRIPT = r"""
suppressMessages(library(flexmix))
out <- commandArgs(TRUE)[1]
ctl <- list(tolerance = 1e-12, iter.max = 10000, minprior = 0)
res <- list()
fit <- function(name, formula, data, model, concomitant = FLXPconstant()) {
  set.seed(1)
  m <- stepFlexmix(formula, k = 2, data = data, model = model, concomitant = concomitant,
                   nrep = 20, control = ctl, verbose = FALSE)
  r <- refit(m)
  res[[name]] <<- list(coef = as.list(r@coef), se = as.list(sqrt(diag(r@vcov))),
                       loglik = as.numeric(logLik(m)))
}
data(patent)
write.csv(patent, file.path(out, "patent.csv"), row.names = FALSE)
fit("patent-constant", Patents ~ lgRD, patent, FLXMRglm(family = "poisson"))
fit("patent-softmax", Patents ~ lgRD, patent, FLXMRglm(family = "poisson"),
    FLXPmultinom(~ RDS))
data(tribolium)
write.csv(tribolium, file.path(out, "tribolium.csv"), row.names = FALSE)
fit("tribolium-constant", cbind(Remaining, Total - Remaining) ~ Species, tribolium,
    FLXMRglm(family = "binomial"))
writeLines(jsonlite::toJSON(res, digits = NA, auto_unbox = TRUE), file.path(out, "res.json"))
"""


def run_r(tmp):
    script = Path(tmp) / "fit.R"
    script.write_text(R_SCRIPT)
    subprocess.run(["Rscript", str(script), tmp], check=True, capture_output=True, text=True)
    return json.loads((Path(tmp) / "res.json").read_text())


def skmoe_fit(problem, tmp):
    from skmoe import MixtureOfExpertsRegressor
    from skmoe.experts import BinomialExpert, PoissonExpert
    from skmoe.gating import SoftmaxGate

    kw = dict(n_experts=2, n_init=20, tol=1e-12, max_iter=10000, random_state=0)
    if problem.startswith("patent"):
        df = pd.read_csv(Path(tmp) / "patent.csv")
        y = df["Patents"].to_numpy(float)
        if problem == "patent-constant":
            X = df[["lgRD"]]
            moe = MixtureOfExpertsRegressor(PoissonExpert(alpha=0.0), gate="constant", **kw)
        else:
            X = df[["lgRD", "RDS"]]
            moe = MixtureOfExpertsRegressor(
                PoissonExpert(alpha=0.0),
                gate=SoftmaxGate(alpha=0.0, max_iter=200, tol=1e-12),
                gate_features=["RDS"],
                expert_features=["lgRD"],
                **kw,
            )
    else:
        df = pd.read_csv(Path(tmp) / "tribolium.csv")
        X = pd.get_dummies(df["Species"], drop_first=True, dtype=float)
        y = df["Remaining"].to_numpy(float) / 50
        moe = MixtureOfExpertsRegressor(
            BinomialExpert(n_trials=50, alpha=0.0), gate="constant", **kw
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        moe.fit(X, y)
    return moe, X, y


def r_vector(r, names_sk):
    """flexmix's estimates and standard errors in skmoe's order, for both labellings."""
    coef, se = r["coef"], r["se"]
    expert = {}
    for key, val in coef.items():
        if key.startswith("model.1_Comp."):
            comp = int(key.split("_Comp.")[1].split("_")[0]) - 1
            term = key.split("_coef.")[1]
            expert[(comp, term)] = (val, se[key])
    gate = {}
    for key, val in coef.items():
        if key.startswith("concomitant_Comp.2."):
            term = key[len("concomitant_Comp.2.") :]
            gate["(Intercept)" if term == "alpha" else term] = (val, se[key])
    out = {}
    for swap in (False, True):
        est, err = [], []
        for name in names_sk:
            base, k = name[:-3], int(name[-2])
            if base.startswith("gate:"):
                term = base[5:]
                v, s = gate["(Intercept)" if term == "const" else term]
                est.append(-v if swap else v)
                err.append(s)
            else:
                comp = 1 - k if swap else k
                term = "(Intercept)" if base == "const" else base
                if term not in [t for (_, t) in expert]:
                    term = next(t for (_, t) in expert if t.endswith(base))
                v, s = expert[(comp, term)]
                est.append(v)
                err.append(s)
        out[swap] = (np.array(est), np.array(err))
    return out


def oracle_se(moe, X, y, res, problem):
    """From-scratch log-likelihood (SciPy densities) and its central second differences."""
    from scipy import stats
    from scipy.special import log_softmax, logsumexp

    Xa = np.asarray(X, dtype=float)
    n = Xa.shape[0]
    softmax = problem == "patent-softmax"
    Xe = Xa[:, :1] if softmax else Xa
    Zg = np.column_stack([Xa[:, 1], np.ones(n)]) if softmax else np.ones((n, 1))
    q, p = Zg.shape[1], Xe.shape[1] + 1

    def loglik(t):
        A = log_softmax(np.column_stack([np.zeros(n), Zg @ t[:q]]), axis=1)
        L = []
        for k in range(2):
            b = t[q + k * p : q + (k + 1) * p]
            eta = Xe @ b[:-1] + b[-1]
            if problem.startswith("patent"):
                L.append(stats.poisson.logpmf(y, np.exp(eta)))
            else:
                L.append(stats.binom.logpmf(np.rint(50 * y), 50, 1 / (1 + np.exp(-eta))))
        return float(logsumexp(A + np.column_stack(L), axis=1).sum())

    t, P = res.params, res.params.size
    h = 1e-3 * res.bse
    H = np.empty((P, P))
    for a in range(P):
        for b in range(P):
            ea, eb = np.eye(P)[a] * h[a], np.eye(P)[b] * h[b]
            H[a, b] = (
                loglik(t + ea + eb)
                - loglik(t + ea - eb)
                - loglik(t - ea + eb)
                + loglik(t - ea - eb)
            ) / (4 * h[a] * h[b])
    return np.sqrt(np.diag(np.linalg.inv(-H)))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        r_all = run_r(tmp)
        print("# skmoe summary() vs flexmix refit(): standard errors at the same optimum")
        print(f"# machine: {cpu_model()}; {datetime.date.today()}")
        for problem, r in r_all.items():
            moe, X, y = skmoe_fit(problem, tmp)
            res = moe.summary(X, y)
            cands = r_vector(r, res.param_names)
            swap = min(cands, key=lambda s: np.sum((cands[s][0] - res.params) ** 2))
            est_r, se_r = cands[swap]
            print(
                f"\n## {problem}: loglik skmoe {res.llf:.6f}, flexmix {r['loglik']:.6f}; "
                f"max |coef diff| {np.max(np.abs(est_r - res.params)):.1e}"
            )
            se_o = oracle_se(moe, X, y, res, problem)
            print(
                "| parameter | coef | se skmoe | se flexmix | rel. diff | se oracle "
                "| skmoe vs oracle | flexmix vs oracle |"
            )
            print("|---|---:|---:|---:|---:|---:|---:|---:|")
            rows = zip(res.param_names, res.params, res.bse, se_r, se_o, strict=True)
            for name, c, a, b, o in rows:
                print(
                    f"| {name} | {c:.5f} | {a:.6f} | {b:.6f} | {abs(a - b) / b:.1e} | {o:.6f} "
                    f"| {abs(a - o) / o:.1e} | {abs(b - o) / o:.1e} |"
                )


if __name__ == "__main__":
    main()
