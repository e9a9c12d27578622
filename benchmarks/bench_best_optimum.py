"""Best optimum: how often skmoe's EM reaches the best known log-likelihood (issue 12).

For each public data set (all load offline) a model is fixed and a REFERENCE
log-likelihood is computed once, as the best of

* R: flexmix (``flexmix()`` called ``--nrep`` times from its own random
  starts: ``stepFlexmix``'s ``nrep``) and/or mixtools (``regmixEM``,
  ``hmeEM``, ``--nrep`` random starts), run through ``Rscript`` with a time
  cap (``benchmarks/best_optimum_reference.R``); statsmodels'
  ``MarkovRegression`` from ``--nrep`` random starts; hmmlearn's
  ``GaussianHMM`` (``--hmm-restarts`` starts per class);
* a direct maximisation of the exact log-likelihood, written here in NumPy
  independently of skmoe, by L-BFGS-B on an unconstrained parametrisation
  (standardised inputs and target; softmax logits against expert 1; log
  scales; log degrees of freedom in skmoe's ``[0.1, 200]``; scales bounded
  below by skmoe's floor ``variance_floor * var(y)``) with an analytic
  gradient (Markov switching: a Numba Hamilton filter and numerical
  gradients), from ``--starts`` random starts (regression lines through
  randomly sampled points, as mixtools' starts, and random partitions, with
  random gates) and from the best R / statsmodels solution.

Every candidate's log-likelihood is recomputed by the NumPy formula from the
parameters the library returns (column "R recomputed - reported" must be ~0:
same model), and the same formula evaluated at skmoe's own fitted parameters
must equal ``log_likelihood(X, y).sum()`` (checked on every data set for the
first fit: "skmoe formula check"); the reference value is therefore a value of
skmoe's own likelihood function.  A candidate is admissible only if it is not
a degenerate spike: every expert keeps an effective share of at least
``p + 1`` rows (p: its mean's coefficients) and, for Gaussian and Student-t
experts, a scale above 10 times skmoe's floor (the floor on the scale is
``sqrt(1e-6 var(y))``, so: above 1 per cent of the standard deviation of y).
The same rule is applied to skmoe's own fits: an inadmissible fit is no hit.
Diverging coefficients are admissible: a gate that sharpens into a step (the
softmax sets' best fits) or an expert that separates its rows (cowles'
reference) approach a finite supremum of the likelihood, which the reference
records where its optimiser stopped.  The references are cached in
``benchmarks/best_optimum_reference.json`` with the command that made them;
a normal run only refits skmoe.

Then skmoe is fitted on every set with ``n_init`` in ``--n-init`` (default
1, 5, 20) and ``--seeds`` random states (fewer on the slow sets), for each
configuration given as ``--config NAME:JSON`` (parameters set on the
estimator after the model's own; default: "today" ``{"init_params":
"kmeans"}`` and "default" ``{}``, the installed defaults).  A configuration
whose parameters the estimator does not accept is reported as skipped.  A
fit HITS when its total log-likelihood is within ``--rtol`` (1e-3) relative of
the reference or above it; fits above the reference by more than the
tolerance are counted apart (they would mean the reference missed an
optimum).  For the HMM classifier a fit hits when every class's model hits
its class's reference.  The fits use ``tol=1e-6``, ``max_iter=1000`` (HMM:
``tol=1e-5``, ``max_iter=500``) so that the hit rate measures basins, not
early stopping, and zero penalties (``alpha=0`` on the gate and the experts)
so that skmoe maximises the same unpenalised likelihood as the references.

Usage::

    python benchmarks/bench_best_optimum.py --reference          # R + scipy + hmmlearn refs (long)
    python benchmarks/bench_best_optimum.py                      # skmoe hit rates (~30 min)
    python benchmarks/bench_best_optimum.py --quick              # 6 sets, 3 seeds, n_init 1, 5
    python benchmarks/bench_best_optimum.py --sets patent tonedata --seeds 5
    python benchmarks/bench_best_optimum.py --config 'new:{"init_params": "portfolio"}' \\
        --config 'today:{"init_params": "kmeans"}' --json out.json

Needs: Rscript with flexmix, mixtools and MASS (the R data sets are exported
by Rscript to a temporary directory, never downloaded), statsmodels (the
fedfunds series of its regime-switching tests), aeon's data files (``pip
install --no-deps aeon``: Japanese Vowels) and hmmlearn for the references.
"""

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from _machine import cpu_model  # benchmarks/ is on sys.path when run as a script
from scipy.optimize import minimize
from scipy.special import digamma, expit, gammaln, log_expit, logsumexp

import skmoe

HERE = Path(__file__).resolve().parent
R_HELPER = HERE / "best_optimum_reference.R"
REFERENCE_FILE = HERE / "best_optimum_reference.json"
DF_BOUNDS = (0.1, 200.0)  # skmoe's StudentTExpert range of the degrees of freedom
VARIANCE_FLOOR = 1e-6  # skmoe regressors' default variance_floor (relative to var(y))
DEFAULT_CONFIGS = ['today:{"init_params": "kmeans"}', "default:{}"]


# --------------------------------------------------------------------------- #
# Data sets and models
# --------------------------------------------------------------------------- #
@dataclass
class Spec:
    """One data set and the model fitted to it."""

    name: str
    data: str  # CSV stem written by the R helper, or "fedfunds", "vowels"
    kind: str  # "moe", "markov" or "hmm"
    family: str  # gaussian, student, poisson, binomial, bernoulli (classifier), hmm
    gate: str  # constant, softmax, hme (depth 2, branching 2), markov, hmm
    K: int
    expert_cols: list = field(default_factory=list)
    gate_cols: list = field(default_factory=list)
    n_trials: int = 1
    r_methods: tuple = ()
    seeds: int = 10
    quick: bool = False
    desc: str = ""


SPECS = [
    Spec(
        "patent",
        "patent",
        "moe",
        "poisson",
        "softmax",
        3,
        ["lgRD"],
        ["RDS"],
        r_methods=("flexmix",),
        quick=True,
        desc="flexmix patent (n=70): Patents ~ lgRD, Poisson experts, softmax gate on RDS "
        "(concomitant FLXPmultinom(~RDS))",
    ),
    Spec(
        "tonedata",
        "tonedata",
        "moe",
        "gaussian",
        "constant",
        2,
        ["stretchratio"],
        [],
        r_methods=("regmixEM", "flexmix"),
        quick=True,
        desc="mixtools tonedata (n=150): tuned ~ stretchratio, 2 Gaussian regressions, "
        "constant weights",
    ),
    Spec(
        "NOdata",
        "NOdata",
        "moe",
        "gaussian",
        "constant",
        2,
        ["Equivalence"],
        [],
        r_methods=("regmixEM", "flexmix"),
        desc="mixtools NOdata (n=88): NO ~ Equivalence, 2 Gaussian regressions, constant",
    ),
    Spec(
        "NOdata_softmax",
        "NOdata",
        "moe",
        "gaussian",
        "softmax",
        2,
        ["Equivalence"],
        ["Equivalence"],
        r_methods=("hmeEM", "flexmix"),
        desc="mixtools NOdata: NO ~ Equivalence, 2 Gaussian experts, softmax gate on "
        "Equivalence (mixtools hmeEM's model)",
    ),
    Spec(
        "NPreg",
        "NPreg",
        "moe",
        "gaussian",
        "constant",
        2,
        ["x", "x2"],
        [],
        r_methods=("flexmix", "regmixEM"),
        desc="flexmix NPreg (n=200): yn ~ x + x^2, 2 Gaussian regressions, constant",
    ),
    Spec(
        "fabricfault",
        "fabricfault",
        "moe",
        "poisson",
        "constant",
        2,
        ["logLength"],
        [],
        r_methods=("flexmix",),
        desc="flexmix fabricfault (n=32): Faults ~ log(Length), 2 Poisson regressions",
    ),
    Spec(
        "bioChemists",
        "bioChemists",
        "moe",
        "poisson",
        "constant",
        2,
        ["fem", "mar", "kid5", "phd", "ment"],
        [],
        r_methods=("flexmix",),
        seeds=5,
        desc="flexmix bioChemists (n=915): art ~ fem + mar + kid5 + phd + ment, "
        "2 Poisson regressions",
    ),
    Spec(
        "BregFix",
        "BregFix",
        "moe",
        "binomial",
        "constant",
        3,
        ["x", "w"],
        [],
        n_trials=20,
        r_methods=("flexmix",),
        desc="flexmix BregFix (n=200): cbind(yes, no) ~ x + w, 3 binomial (20 trials) regressions",
    ),
    Spec(
        "mcycle",
        "mcycle",
        "moe",
        "gaussian",
        "softmax",
        3,
        ["times"],
        ["times"],
        r_methods=("flexmix",),
        quick=True,
        desc="MASS mcycle (n=133): accel ~ times, 3 Gaussian experts, softmax gate on times",
    ),
    Spec(
        "mcycle_t",
        "mcycle",
        "moe",
        "student",
        "softmax",
        3,
        ["times"],
        ["times"],
        seeds=5,
        desc="MASS mcycle: 3 Student-t experts (df estimated), softmax gate: a "
        "heteroscedastic series (no R reference: scipy only)",
    ),
    Spec(
        "mcycle_hme",
        "mcycle",
        "moe",
        "gaussian",
        "hme",
        4,
        ["times"],
        ["times"],
        seeds=5,
        quick=True,
        desc="MASS mcycle: 4 Gaussian experts, HierarchicalGate depth 2 x branching 2 (scipy only)",
    ),
    Spec(
        "cowles",
        "cowles",
        "moe",
        "bernoulli",
        "softmax",
        2,
        ["neuroticism", "extraversion", "sex"],
        ["neuroticism", "extraversion"],
        r_methods=("flexmix",),
        quick=True,
        desc="carData Cowles (n=1421): classifier, volunteer ~ neuroticism + extraversion "
        "+ sex, 2 logistic experts, softmax gate on neuroticism + extraversion",
    ),
    Spec(
        "fedfunds",
        "fedfunds",
        "markov",
        "gaussian",
        "markov",
        2,
        ["lag"],
        [],
        seeds=5,
        quick=True,
        desc="statsmodels fedfunds (n=225): rate ~ lagged rate, MarkovSwitchingRegressor "
        "2 regimes, switching variance, steady-state start (MarkovRegression's model)",
    ),
    Spec(
        "vowels",
        "vowels",
        "hmm",
        "hmm",
        "hmm",
        4,
        seeds=3,
        desc="Japanese Vowels (aeon; 270 utterances, 9 classes, 12 features): "
        "GaussianHMMClassifier, 4 states, diagonal covariances",
    ),
]
SPEC = {s.name: s for s in SPECS}


class Data:
    """Arrays of one data set: X (skmoe's input), y (its target) and the model's views."""

    def __init__(self, spec, frame):
        self.spec = spec
        if spec.kind == "hmm":
            self.X, self.y = frame
            return
        cols = list(dict.fromkeys(spec.expert_cols + spec.gate_cols))
        self.cols = cols
        self.X = np.column_stack([frame[c] for c in cols]).astype(float)
        self.Xe = np.column_stack([frame[c] for c in spec.expert_cols]).astype(float)
        self.Z = (
            np.column_stack([frame[c] for c in spec.gate_cols]).astype(float)
            if spec.gate_cols
            else np.zeros((len(self.X), 0))
        )
        y = np.asarray(frame["y"], float)
        self.counts = y  # successes for binomial, the target otherwise
        self.y = y / spec.n_trials if spec.family == "binomial" else y
        if spec.family == "bernoulli":
            self.y = y.astype(int)


def _read_csv(path):
    with open(path) as f:
        names = f.readline().strip().split(",")
    arr = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return {nm: arr[:, j] for j, nm in enumerate(names)}


def load_frames(specs, rscript, tmp):
    """name -> raw frame (dict of columns, or (sequences, labels)); absent ones are skipped."""
    frames, missing = {}, {}
    need_r = {s.data for s in specs if s.data not in ("fedfunds", "vowels")}
    if need_r:
        if rscript is None:
            for s in specs:
                if s.data in need_r:
                    missing[s.name] = "Rscript not found (the R data sets are exported by R)"
        else:
            out = subprocess.run(
                [rscript, str(R_HELPER), "export", tmp], capture_output=True, text=True
            )
            if out.returncode != 0:
                raise SystemExit(f"Rscript export failed:\n{out.stderr}")
    for s in specs:
        if s.name in missing:
            continue
        if s.data == "fedfunds":
            from statsmodels.tsa.regime_switching.tests import test_markov_regression as smd

            fed = np.asarray(smd.fedfunds, float)
            frames[s.name] = {"y": fed[1:], "lag": fed[:-1]}
        elif s.data == "vowels":
            try:
                from bench_hmm_classifier import _aeon_data_dir, load_ts

                frames[s.name] = load_ts(_aeon_data_dir() / "JapaneseVowels_TRAIN.ts")
            except (SystemExit, OSError) as exc:
                missing[s.name] = f"aeon data files not found ({exc})"
        else:
            frames[s.name] = _read_csv(os.path.join(tmp, f"{s.data}.csv"))
    return frames, missing


# --------------------------------------------------------------------------- #
# The exact log-likelihood of a gated mixture, in NumPy (independent of skmoe)
# --------------------------------------------------------------------------- #
def _std(A):
    m = A.mean(axis=0) if A.shape[1] else np.zeros(0)
    s = A.std(axis=0) if A.shape[1] else np.zeros(0)
    return m, np.where(s > 0, s, 1.0)


def _to_internal(b, m, s):
    """Raw linear predictor ``b0 + x b`` -> coefficients on ``(x - m) / s`` (columns of b)."""
    c = b.copy()
    c[1:] = b[1:] * s[:, None]
    c[0] = b[0] + m @ b[1:]
    return c


def _to_raw(c, m, s):
    b = c.copy()
    b[1:] = c[1:] / s[:, None]
    b[0] = c[0] - m @ b[1:]
    return b


class MixtureLikelihood:
    """``sum_i log sum_k g_k(z_i) f_k(y_i | x_i)``: exact value, gradient, parametrisation.

    Internal parameters act on standardised inputs (and a standardised target for the
    Gaussian and Student-t families); ``raw`` dictionaries hold the parameters in the data's
    units as the libraries report them: ``beta`` (1 + d, K) with the intercept first,
    ``sigma`` / ``df`` (K,), ``gate``: log weights (K,) for a constant gate, (1 + q, K)
    softmax coefficients, or (1 + q, 3) logits of the second branch of the root, its first
    and its second child for the depth-2 binary tree (skmoe's breadth-first order: expert
    ``2 b1 + b2`` takes branch ``b1`` at the root and ``b2`` below).
    """

    def __init__(self, spec, data):
        self.family, self.gate, self.K = spec.family, spec.gate, spec.K
        self.n_trials = spec.n_trials
        y = data.counts.astype(float)
        n = len(y)
        self.n = n
        self.xm, self.xs = _std(data.Xe)
        self.zm, self.zs = _std(data.Z)
        self.X1 = np.column_stack([np.ones(n), (data.Xe - self.xm) / self.xs])
        self.Z1 = np.column_stack([np.ones(n), (data.Z - self.zm) / self.zs])
        self.p, self.q = self.X1.shape[1], self.Z1.shape[1]
        self.gaussian_like = self.family in ("gaussian", "student")
        if self.gaussian_like:
            self.ym, self.ys = y.mean(), y.std()
            self.y = (y - self.ym) / self.ys
            self.floor_ls = 0.5 * np.log(VARIANCE_FLOOR * y.var()) - np.log(self.ys)
            self.const = 0.0
        else:
            self.ym, self.ys = 0.0, 1.0
            self.y = y
            m = self.n_trials
            self.const = (
                -gammaln(y + 1).sum()
                if self.family == "poisson"
                else (gammaln(m + 1) - gammaln(y + 1) - gammaln(m - y + 1)).sum()
            )
        K, p, q = self.K, self.p, self.q
        sizes = [("beta", p * K)]
        if self.gaussian_like:
            sizes.append(("ls", K))
        if self.family == "student":
            sizes.append(("lnu", K))
        n_gate = {"constant": K - 1, "softmax": q * (K - 1), "hme": q * 3}[self.gate]
        if self.gate == "hme" and K != 4:
            raise ValueError("the NumPy HME is the depth-2 binary tree: K must be 4")
        sizes.append(("gate", n_gate))
        self.slices, start = {}, 0
        for name, size in sizes:
            self.slices[name] = slice(start, start + size)
            start += size
        self.size = start
        bounds = [(None, None)] * start
        if self.gaussian_like:
            for i in range(*self.slices["ls"].indices(start)):
                bounds[i] = (self.floor_ls, None)
        if self.family == "student":
            for i in range(*self.slices["lnu"].indices(start)):
                bounds[i] = tuple(np.log(DF_BOUNDS))
        self.bounds = bounds

    # -- parameters ------------------------------------------------------ #
    def unpack(self, theta):
        K, p, q = self.K, self.p, self.q
        out = {"beta": theta[self.slices["beta"]].reshape(p, K)}
        if self.gaussian_like:
            out["ls"] = theta[self.slices["ls"]]
        if self.family == "student":
            out["lnu"] = theta[self.slices["lnu"]]
        g = theta[self.slices["gate"]]
        out["gate"] = g if self.gate == "constant" else g.reshape(q, -1)
        return out

    def raw(self, theta):
        P = self.unpack(theta)
        beta = _to_raw(P["beta"], self.xm, self.xs) * self.ys
        beta[0] += self.ym
        out = {"beta": beta}
        if self.gaussian_like:
            out["sigma"] = self.ys * np.exp(P["ls"])
        if self.family == "student":
            out["df"] = np.exp(P["lnu"])
        if self.gate == "constant":
            a = np.r_[0.0, P["gate"]]
            out["gate"] = a - logsumexp(a)
        elif self.gate == "softmax":
            W = np.column_stack([np.zeros(self.q), P["gate"]])
            out["gate"] = _to_raw(W, self.zm, self.zs)
        else:
            out["gate"] = _to_raw(P["gate"], self.zm, self.zs)
        return out

    def from_raw(self, raw):
        beta = np.array(raw["beta"], float).copy()
        beta[0] -= self.ym
        parts = [_to_internal(beta / self.ys, self.xm, self.xs).ravel()]
        if self.gaussian_like:
            parts.append(np.log(np.asarray(raw["sigma"], float) / self.ys))
        if self.family == "student":
            parts.append(np.log(np.asarray(raw["df"], float)))
        g = np.asarray(raw["gate"], float)
        if self.gate == "constant":
            g = g.ravel()
            parts.append(g[1:] - g[0])
        elif self.gate == "softmax":
            g = g - g[:, :1]
            parts.append(_to_internal(g, self.zm, self.zs)[:, 1:].ravel())
        else:
            parts.append(_to_internal(g, self.zm, self.zs).ravel())
        theta = np.concatenate(parts)
        lo = np.array([b[0] if b[0] is not None else -np.inf for b in self.bounds])
        hi = np.array([b[1] if b[1] is not None else np.inf for b in self.bounds])
        return np.clip(theta, lo, hi)

    # -- value and gradient ---------------------------------------------- #
    def _gate(self, G):
        n, K, Z1 = self.n, self.K, self.Z1
        if self.gate == "constant":
            a = np.r_[0.0, G]
            lg = np.broadcast_to(a - logsumexp(a), (n, K))
            return lg, ("constant", np.exp(a - logsumexp(a)))
        if self.gate == "softmax":
            eta = Z1 @ np.column_stack([np.zeros(self.q), G])
            lg = eta - logsumexp(eta, axis=1, keepdims=True)
            return lg, ("softmax", np.exp(lg))
        ell = Z1 @ G
        lp, lm = log_expit(ell), log_expit(-ell)
        lg = np.column_stack(
            [lm[:, 0] + lm[:, 1], lm[:, 0] + lp[:, 1], lp[:, 0] + lm[:, 2], lp[:, 0] + lp[:, 2]]
        )
        return lg, ("hme", expit(ell))

    def _gate_grad(self, info, R):
        kind, val = info
        if kind == "constant":
            return (R.sum(axis=0) - self.n * val)[1:]
        if kind == "softmax":
            return (self.Z1.T @ (R - val)[:, 1:]).ravel()
        s = val
        cols = [
            R[:, 2] + R[:, 3] - s[:, 0],
            R[:, 1] - s[:, 1] * (R[:, 0] + R[:, 1]),
            R[:, 3] - s[:, 2] * (R[:, 2] + R[:, 3]),
        ]
        return (self.Z1.T @ np.column_stack(cols)).ravel()

    def _experts(self, P):
        y = self.y[:, None]
        eta = self.X1 @ P["beta"]
        d = {}
        if self.family == "gaussian":
            s = np.exp(P["ls"])
            r = (y - eta) / s
            lf = -0.5 * np.log(2 * np.pi) - P["ls"] - 0.5 * r**2
            d["eta"], d["ls"] = r / s, r**2 - 1
        elif self.family == "student":
            s, nu = np.exp(P["ls"]), np.exp(P["lnu"])
            r = (y - eta) / s
            r2 = r**2
            lf = (
                gammaln((nu + 1) / 2)
                - gammaln(nu / 2)
                - 0.5 * np.log(nu * np.pi)
                - P["ls"]
                - (nu + 1) / 2 * np.log1p(r2 / nu)
            )
            w = (nu + 1) / (nu + r2)
            d["eta"], d["ls"] = w * r / s, w * r2 - 1
            d["lnu"] = nu * (
                0.5 * digamma((nu + 1) / 2)
                - 0.5 * digamma(nu / 2)
                - 0.5 / nu
                - 0.5 * np.log1p(r2 / nu)
                + 0.5 * w * r2 / nu
            )
        elif self.family == "poisson":
            eta = np.minimum(eta, 700.0)
            lam = np.exp(eta)
            lf = y * eta - lam
            d["eta"] = y - lam
        else:  # binomial / bernoulli: y are successes out of n_trials
            m = self.n_trials
            lf = y * eta - m * np.logaddexp(0.0, eta)
            d["eta"] = y - m * expit(eta)
        return lf, d

    def value_and_grad(self, theta):
        P = self.unpack(theta)
        lg, info = self._gate(P["gate"])
        lf, d = self._experts(P)
        J = lg + lf
        L = logsumexp(J, axis=1)
        R = np.exp(J - L[:, None])
        grad = [(self.X1.T @ (R * d["eta"])).ravel()]
        if self.gaussian_like:
            grad.append((R * d["ls"]).sum(axis=0))
        if self.family == "student":
            grad.append((R * d["lnu"]).sum(axis=0))
        grad.append(self._gate_grad(info, R))
        return L.sum(), np.concatenate(grad), R

    def loglik(self, theta):
        """The log-likelihood in the data's units (what the libraries report)."""
        return float(self.value_and_grad(theta)[0] - self.n * np.log(self.ys) + self.const)

    def describe(self, theta):
        """Effective rows per expert, scales relative to std(y), and admissibility."""
        R = self.value_and_grad(theta)[2]
        nk = R.sum(axis=0)
        out = {"n_k": nk.round(2).tolist()}
        ok = bool(np.all(nk >= self.p + 1))
        if self.gaussian_like:
            rel = np.exp(self.unpack(theta)["ls"])  # sigma / std(y)
            out["sigma_over_sd_y"] = rel.round(5).tolist()
            ok = ok and bool(np.all(np.log(rel) >= self.floor_ls + np.log(10.0)))
        out["admissible"] = ok
        return out

    # -- optimisation ---------------------------------------------------- #
    def _link(self, y):
        if self.family == "poisson":
            return np.log(y + 0.5)
        if self.family in ("binomial", "bernoulli"):
            m = self.n_trials
            return np.log((y + 0.5) / (m - y + 0.5))
        return y

    def random_start(self, rng):
        n, K, p = self.n, self.K, self.p
        t = self._link(self.y)
        beta = np.empty((p, K))
        if rng.rand() < 0.5:  # lines through p random points (mixtools' starts)
            for k in range(K):
                rows = rng.choice(n, size=p, replace=False)
                beta[:, k] = np.linalg.lstsq(self.X1[rows], t[rows], rcond=None)[0]
        else:  # a random partition, a least-squares line per part
            lab = rng.randint(K, size=n)
            for k in range(K):
                rows = np.flatnonzero(lab == k)
                if len(rows) < p:
                    rows = rng.choice(n, size=p, replace=False)
                beta[:, k] = np.linalg.lstsq(self.X1[rows], t[rows], rcond=None)[0]
        parts = [beta.ravel()]
        if self.gaussian_like:
            parts.append(np.log(rng.uniform(0.05, 1.0, size=K)))
        if self.family == "student":
            parts.append(np.log(rng.uniform(1.0, 30.0, size=K)))
        n_gate = self.slices["gate"].stop - self.slices["gate"].start
        scale = 0.5 if self.gate == "constant" else 2.0
        parts.append(rng.normal(scale=scale, size=n_gate))
        theta = np.concatenate(parts)
        lo = np.array([b[0] if b[0] is not None else -np.inf for b in self.bounds])
        hi = np.array([b[1] if b[1] is not None else np.inf for b in self.bounds])
        return np.clip(theta, lo, hi)

    def maximise(self, theta0, maxiter=5000):
        def f(th):
            v, g, _ = self.value_and_grad(th)
            if not np.isfinite(v):
                return 1e300, np.zeros_like(th)
            return -v / self.n, -g / self.n

        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            res = minimize(
                f,
                theta0,
                jac=True,
                method="L-BFGS-B",
                bounds=self.bounds,
                options=dict(maxiter=maxiter, maxfun=4 * maxiter, ftol=1e-15, gtol=1e-9),
            )
        return res.x, self.loglik(res.x)


# --------------------------------------------------------------------------- #
# Markov switching: Hamilton filter (Numba) and its parametrisation
# --------------------------------------------------------------------------- #
def _make_filter():
    from numba import njit

    @njit(cache=True)
    def hamilton(logf, P, pi0):
        n, K = logf.shape
        alpha = pi0.copy()
        ll = 0.0
        pred = np.empty(K)
        for t in range(n):
            if t > 0:
                for j in range(K):
                    acc = 0.0
                    for i in range(K):
                        acc += alpha[i] * P[i, j]
                    pred[j] = acc
            else:
                pred[:] = alpha
            m = logf[t].max()
            c = 0.0
            for j in range(K):
                alpha[j] = pred[j] * np.exp(logf[t, j] - m)
                c += alpha[j]
            for j in range(K):
                alpha[j] /= c
            ll += m + np.log(c)
        return ll

    return hamilton


_HAMILTON = None


def steady_state(P):
    K = P.shape[0]
    A = np.vstack([P.T - np.eye(K), np.ones(K)])
    return np.linalg.lstsq(A, np.r_[np.zeros(K), 1.0], rcond=None)[0]


class MarkovLikelihood:
    """Markov-switching Gaussian regression with switching variances, steady-state start.

    Raw parameters: ``beta`` (1 + d, K), ``sigma`` (K,), ``P`` (K, K) row-stochastic.
    Internal: standardised x and y, log scales, each row of P a softmax with its diagonal
    entry as the reference.
    """

    def __init__(self, spec, data):
        global _HAMILTON
        if _HAMILTON is None:
            _HAMILTON = _make_filter()
        self.K = spec.K
        y = data.y
        self.n = len(y)
        self.xm, self.xs = _std(data.Xe)
        self.X1 = np.column_stack([np.ones(self.n), (data.Xe - self.xm) / self.xs])
        self.p = self.X1.shape[1]
        self.ym, self.ys = y.mean(), y.std()
        self.y = (y - self.ym) / self.ys
        self.floor_ls = 0.5 * np.log(VARIANCE_FLOOR * y.var()) - np.log(self.ys)
        K, p = self.K, self.p
        self.size = p * K + K + K * (K - 1)
        self.bounds = [(None, None)] * (p * K) + [(self.floor_ls, None)] * K
        self.bounds += [(None, None)] * (K * (K - 1))

    def unpack(self, theta):
        K, p = self.K, self.p
        beta = theta[: p * K].reshape(p, K)
        ls = theta[p * K : p * K + K]
        a = theta[p * K + K :].reshape(K, K - 1)
        P = np.empty((K, K))
        for i in range(K):
            logits = np.insert(a[i], i, 0.0)
            P[i] = np.exp(logits - logsumexp(logits))
        return beta, ls, P

    def loglik_internal(self, theta):
        beta, ls, P = self.unpack(theta)
        r = (self.y[:, None] - self.X1 @ beta) / np.exp(ls)
        logf = -0.5 * np.log(2 * np.pi) - ls - 0.5 * r**2
        return _HAMILTON(np.ascontiguousarray(logf), P, steady_state(P))

    def loglik(self, theta):
        return float(self.loglik_internal(theta) - self.n * np.log(self.ys))

    def raw(self, theta):
        beta, ls, P = self.unpack(theta)
        b = _to_raw(beta, self.xm, self.xs) * self.ys
        b[0] += self.ym
        return {"beta": b, "sigma": self.ys * np.exp(ls), "P": P}

    def from_raw(self, raw):
        beta = np.array(raw["beta"], float).copy()
        beta[0] -= self.ym
        c = _to_internal(beta / self.ys, self.xm, self.xs)
        ls = np.maximum(np.log(np.asarray(raw["sigma"], float) / self.ys), self.floor_ls)
        P = np.clip(np.asarray(raw["P"], float), 1e-300, None)
        a = [np.delete(np.log(P[i]) - np.log(P[i, i]), i) for i in range(self.K)]
        return np.concatenate([c.ravel(), ls, np.concatenate(a)])

    def random_start(self, rng):
        K, p, n = self.K, self.p, self.n
        beta = np.empty((p, K))
        for k in range(K):
            rows = rng.choice(n, size=p, replace=False)
            beta[:, k] = np.linalg.lstsq(self.X1[rows], self.y[rows], rcond=None)[0]
        ls = np.log(rng.uniform(0.05, 1.0, size=K))
        a = rng.normal(-2.0, 1.5, size=K * (K - 1))
        return np.concatenate([beta.ravel(), ls, a])

    def describe(self, theta):
        beta, ls, P = self.unpack(theta)
        rel = np.exp(ls)
        ok = bool(np.all(ls >= self.floor_ls + np.log(10.0)))
        return {
            "sigma_over_sd_y": rel.round(5).tolist(),
            "P": P.round(5).tolist(),
            "admissible": ok,
        }

    def maximise(self, theta0, maxiter=3000):
        def f(th):
            v = self.loglik_internal(th)
            return -v / self.n if np.isfinite(v) else 1e300

        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            res = minimize(
                f,
                theta0,
                method="L-BFGS-B",
                bounds=self.bounds,
                options=dict(maxiter=maxiter, ftol=1e-15, gtol=1e-8, eps=1e-8),
            )
        return res.x, self.loglik(res.x)


# --------------------------------------------------------------------------- #
# Gaussian HMM (diagonal covariances): the forward algorithm, for the formula check
# --------------------------------------------------------------------------- #
def hmm_loglik(seqs, startprob, transmat, means, covars):
    """Sum over sequences of ``log p(sequence)`` under one diagonal Gaussian HMM."""
    total = 0.0
    logA = np.log(np.clip(transmat, 1e-300, None))
    for s in seqs:
        lf = -0.5 * (
            np.log(2 * np.pi * covars).sum(axis=1)[None, :]
            + (((s[:, None, :] - means[None]) ** 2) / covars[None]).sum(axis=2)
        )
        la = np.log(np.clip(startprob, 1e-300, None)) + lf[0]
        for t in range(1, len(s)):
            la = logsumexp(la[:, None] + logA, axis=0) + lf[t]
        total += logsumexp(la)
    return float(total)


def class_sequences(data):
    classes = np.unique(data.y)
    return classes, [[s for s, c in zip(data.X, data.y, strict=True) if c == k] for k in classes]


# --------------------------------------------------------------------------- #
# skmoe estimators for each model, and their parameters in the raw form above
# --------------------------------------------------------------------------- #
def make_estimator(spec, data):
    """The model of the set with skmoe's defaults for everything the model does not fix."""
    if spec.kind == "hmm":
        from skmoe.sequence import GaussianHMMClassifier

        return GaussianHMMClassifier(
            n_states=spec.K, covariance_type="diag", tol=1e-5, max_iter=500
        )
    if spec.kind == "markov":
        from skmoe import MarkovSwitchingRegressor

        return MarkovSwitchingRegressor(
            n_regimes=spec.K, start="steady-state", tol=1e-6, max_iter=1000
        )
    from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor
    from skmoe.experts import BinomialExpert, LogisticExpert, PoissonExpert, StudentTExpert
    from skmoe.gating import HierarchicalGate, SoftmaxGate

    experts = {
        "gaussian": None,  # the built-in LinearExpert (ridge 1e-10 on standardised slopes)
        "student": StudentTExpert(alpha=0.0),
        "poisson": PoissonExpert(alpha=0.0),
        "binomial": BinomialExpert(n_trials=spec.n_trials, alpha=0.0),
        "bernoulli": LogisticExpert(alpha=0.0),
    }[spec.family]
    gate = {
        "constant": "constant",
        "softmax": SoftmaxGate(alpha=0.0),
        "hme": HierarchicalGate(depth=2, branching=2, alpha=0.0),
    }[spec.gate]
    cls = MixtureOfExpertsClassifier if spec.family == "bernoulli" else MixtureOfExpertsRegressor
    kw = dict(n_experts=spec.K, gate=gate, tol=1e-6, max_iter=1000)
    idx = {c: j for j, c in enumerate(data.cols)}
    if spec.expert_cols != data.cols:
        kw["expert_features"] = [idx[c] for c in spec.expert_cols]
    if spec.gate != "constant" and spec.gate_cols != data.cols:
        kw["gate_features"] = [idx[c] for c in spec.gate_cols]
    return cls(experts, **kw)


def skmoe_loglik(spec, data, est):
    """Total log-likelihood, and the per-class parts of an HMM classifier."""
    if spec.kind == "hmm":
        classes, _ = class_sequences(data)
        L = est.class_log_likelihood(data.X)
        parts = [float(L[data.y == c, j].sum()) for j, c in enumerate(classes)]
        return float(sum(parts)), parts
    return float(est.log_likelihood(data.X, data.y).sum()), None


def skmoe_raw(spec, est):
    """skmoe's fitted parameters in the raw form of MixtureLikelihood / MarkovLikelihood."""
    ex = est.experts_
    if spec.family == "bernoulli":
        beta = np.array(
            [[e.intercept_[1] - e.intercept_[0], *(e.coef_[:, 1] - e.coef_[:, 0])] for e in ex]
        ).T
    else:
        beta = np.array([[e.intercept_, *np.atleast_1d(e.coef_)] for e in ex]).T
    raw = {"beta": beta}
    if spec.family == "gaussian":
        raw["sigma"] = np.sqrt(est.noise_variance_)
    if spec.family == "student":
        raw["sigma"] = np.array([e.scale_ for e in ex])
        raw["df"] = np.array([e.df_ for e in ex])
    if spec.kind == "markov":
        raw["P"] = est.transition_matrix_
        return raw
    g = est.gate_
    if spec.gate == "constant":
        raw["gate"] = np.log(g.weights_)
    elif spec.gate == "softmax":
        raw["gate"] = np.vstack([g.intercept_[None, :], g.coef_])
    else:
        raw["gate"] = np.column_stack(
            [
                np.r_[g.intercept_[m, 1] - g.intercept_[m, 0], g.coef_[m, :, 1] - g.coef_[m, :, 0]]
                for m in range(3)
            ]
        )
    return raw


def fit_admissible(spec, data, est):
    """Whether skmoe's fit passes the references' admissibility rule (no spike, no separation)."""
    if spec.kind == "hmm":
        return True
    model = MarkovLikelihood(spec, data) if spec.kind == "markov" else MixtureLikelihood(spec, data)
    return bool(model.describe(model.from_raw(skmoe_raw(spec, est)))["admissible"])


def formula_check(spec, data, est):
    """NumPy formula at skmoe's own fitted parameters minus skmoe's log_likelihood (total)."""
    ll, parts = skmoe_loglik(spec, data, est)
    if spec.kind == "hmm":
        classes, seqs = class_sequences(data)
        mine = [
            hmm_loglik(seqs[j], est.startprob_[j], est.transmat_[j], est.means_[j], est.covars_[j])
            for j in range(len(classes))
        ]
        return float(np.max(np.abs(np.subtract(mine, parts))))
    model = MarkovLikelihood(spec, data) if spec.kind == "markov" else MixtureLikelihood(spec, data)
    raw = skmoe_raw(spec, est)
    theta = model.from_raw(raw)
    return model.loglik(theta) - ll


# --------------------------------------------------------------------------- #
# References
# --------------------------------------------------------------------------- #
def _tojson(obj):
    if isinstance(obj, dict):
        return {k: _tojson(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_tojson(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.floating | np.integer | np.bool_):
        return obj.item()
    return obj


def run_r(rscript, spec, method, nrep, seed, timeout, tmp):
    out = os.path.join(tmp, f"{spec.name}_{method}.json")
    # R stops starting new fits at 90% of the cap, so a slow method still reports its best.
    cmd = [
        rscript,
        str(R_HELPER),
        "fit",
        spec.name,
        method,
        str(nrep),
        str(seed),
        out,
        repr(0.9 * timeout),
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        log, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {"status": f"timeout after {timeout:.0f} s"}
    if proc.returncode != 0 or not os.path.exists(out):
        return {"status": "error", "message": log.strip()[-300:]}
    with open(out) as f:
        res = json.load(f)
    res["status"] = "ok" if res.get("best") else "no successful start"
    return res


def r_to_raw(spec, best):
    beta = np.array(best["beta"], float)
    if beta.ndim == 1:
        beta = beta[:, None]
    raw = {"beta": beta}
    if spec.family == "gaussian":
        raw["sigma"] = np.atleast_1d(np.array(best["sigma"], float))
    gate = np.array(best["gate"], float)
    raw["gate"] = gate.ravel() if spec.gate == "constant" else gate
    return raw


def statsmodels_reference(spec, data, nrep, seed, timeout):
    """MarkovRegression from nrep random starts (each: 5 EM steps then BFGS)."""
    from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

    mod = MarkovRegression(data.y, k_regimes=spec.K, exog=data.Xe, switching_variance=True)
    names = mod.param_names
    rng = np.random.RandomState(seed)
    lls, spikes, best, t0 = [], [], None, time.perf_counter()
    for _ in range(nrep):
        if time.perf_counter() - t0 > timeout:
            break
        sp = np.array(mod.start_params, float)
        for j, nm in enumerate(names):
            if nm.startswith("p["):
                sp[j] = rng.uniform(0.05, 0.95) / (spec.K - 1)
            elif nm.startswith("sigma2"):
                sp[j] = data.y.var() * rng.uniform(0.01, 1.0)
            else:
                sp[j] = sp[j] + rng.normal(scale=2.0) * (
                    data.y.std() if nm.startswith("const") else 1.0
                )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                res = mod.fit(start_params=sp, disp=False, maxiter=500)
            except Exception:  # noqa: BLE001 - a failed start is just a failed start
                continue
        ll = float(res.llf)
        if not np.isfinite(ll):
            continue
        sig2 = [res.params[j] for j, nm in enumerate(names) if nm.startswith("sigma2")]
        if min(sig2) < 100 * VARIANCE_FLOOR * data.y.var():
            # a variance collapsed on a few observations (a spike: the likelihood is
            # unbounded there); not admissible, recorded apart
            spikes.append(ll)
            continue
        lls.append(ll)
        if best is None or ll > best[0]:
            best = (ll, res.params)
    out = {
        "status": "ok" if best else "no successful start",
        "nrep": nrep,
        "lls": lls,
        "spike_lls": spikes,
        "elapsed": time.perf_counter() - t0,
    }
    if best:
        K, params = spec.K, dict(zip(names, best[1], strict=True))
        P = np.zeros((K, K))
        for i in range(K):  # statsmodels: p[i->j] is P(s_t = j | s_{t-1} = i), last j implied
            for j in range(K - 1):
                P[i, j] = params[f"p[{i}->{j}]"]
            P[i, K - 1] = 1 - P[i, : K - 1].sum()
        beta = np.array(
            [
                [params[f"const[{k}]"]]
                + [params[f"x{j + 1}[{k}]"] for j in range(data.Xe.shape[1])]
                for k in range(K)
            ]
        ).T
        sigma = np.sqrt([params[f"sigma2[{k}]"] for k in range(K)])
        out["best"] = {"ll": best[0], "raw": {"beta": beta, "sigma": sigma, "P": P}}
    return out


def hmmlearn_reference(spec, data, restarts, seed, timeout):
    """Per class: GaussianHMM (ML: covars_prior=0) from many starts, best kept."""
    from hmmlearn.hmm import GaussianHMM

    classes, seqs = class_sequences(data)
    rng = np.random.RandomState(seed)
    parts, lls_all, dropped, t0 = [], [], [], time.perf_counter()
    per_class_budget = timeout / len(classes)
    for j in range(len(classes)):
        Xc = np.concatenate(seqs[j])
        lengths = [len(s) for s in seqs[j]]
        best, lls, tc = None, [], time.perf_counter()
        failed = spikes = 0
        for r in range(restarts):
            if time.perf_counter() - tc > per_class_budget:
                break
            random_means = r % 2 == 1
            m = GaussianHMM(
                n_components=spec.K,
                covariance_type="diag",
                n_iter=1000,
                tol=1e-4,
                covars_prior=0.0,
                min_covar=1e-6,
                random_state=int(rng.randint(2**31 - 1)),
                init_params="stc" if random_means else "stmc",
                params="stmc",
            )
            if random_means:
                m.means_ = Xc[rng.choice(len(Xc), size=spec.K, replace=False)]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    m.fit(Xc, lengths)
                    # hmmlearn's covars_ property gives (S, d, d) matrices even for "diag"
                    cv = np.diagonal(m.covars_, axis1=1, axis2=2)
                    ll = hmm_loglik(seqs[j], m.startprob_, m.transmat_, m.means_, cv)
                except Exception:  # noqa: BLE001 - a failed start is just a failed start
                    failed += 1
                    continue
            if not np.isfinite(ll) or np.min(cv / Xc.var(axis=0)) < 1e-4:
                spikes += 1  # a state collapsed on a few frames: not admissible
                continue
            lls.append(ll)
            if best is None or ll > best:
                best = ll
        parts.append(best)
        lls_all.append(lls)
        dropped.append({"failed": failed, "collapsed_state": spikes})
    if any(b is None for b in parts):
        return {"status": "a class had no admissible start", "dropped": dropped}
    return {
        "status": "ok",
        "restarts": restarts,
        "dropped": dropped,
        "parts": parts,
        "lls": lls_all,
        "elapsed": time.perf_counter() - t0,
    }


def compute_reference(spec, data, args, rscript, tmp):
    rec = {"model": spec.desc, "candidates": {}}
    print(f"[{spec.name}] {spec.desc}", flush=True)
    if spec.kind == "hmm":
        res = hmmlearn_reference(spec, data, args.hmm_restarts, args.ref_seed, args.r_timeout)
        if res["status"] != "ok":
            print(f"  hmmlearn: {res['status']} {res['dropped']}", flush=True)
            rec["candidates"]["hmmlearn"] = res
            rec.update(reference=None, source="none")
            return rec
        parts = res["parts"]
        hits = [
            int(np.sum(np.abs(np.subtract(lls, b)) <= 1e-6 * abs(b)))
            for lls, b in zip(res["lls"], parts, strict=True)
        ]
        rec["candidates"]["hmmlearn"] = {
            "ll": float(np.sum(parts)),
            "parts": parts,
            "starts_per_class": [len(v) for v in res["lls"]],
            "starts_at_best_per_class": hits,
            "dropped_starts_per_class": res["dropped"],
            "elapsed": res["elapsed"],
            "admissible": True,
        }
        rec.update(reference=float(np.sum(parts)), parts=parts, source="hmmlearn")
        print(f"  hmmlearn: {rec['reference']:.6f} ({res['elapsed']:.0f} s)", flush=True)
        return rec
    model = MarkovLikelihood(spec, data) if spec.kind == "markov" else MixtureLikelihood(spec, data)
    lib_starts = []
    # (a) R / statsmodels from many starts
    if spec.kind == "markov":
        res = statsmodels_reference(spec, data, args.nrep, args.ref_seed, args.r_timeout)
        lib = {"statsmodels": res}
    else:
        lib = {}
        for method in spec.r_methods:
            cached = (args.reuse_library or {}).get(method)
            if cached is not None and "raw" in cached:
                # A library's solution from the cache (--reuse-library): its
                # best start is re-described, not re-run.
                lib[method] = {"status": "cached", "cand": cached}
                continue
            if rscript is None:
                lib[method] = {"status": "Rscript not found"}
                continue
            lib[method] = run_r(
                rscript, spec, method, args.nrep, args.ref_seed, args.r_timeout, tmp
            )
    for method, res in lib.items():
        cand = {"status": res["status"]}
        if res["status"] == "cached":
            cand = dict(res["cand"])
            theta = model.from_raw(cand["raw"])
            cand.update(ll=model.loglik(theta), **model.describe(theta))
            lib_starts.append((method, theta))
            print(f"  {method}: cached {cand['ll']:.6f} (admissible {cand['admissible']})")
        elif res["status"] == "ok":
            raw = res["best"]["raw"] if spec.kind == "markov" else r_to_raw(spec, res["best"])
            theta = model.from_raw(raw)
            lls = [v for v in res["lls"] if v is not None]
            best_reported = float(res["best"]["ll"])
            cand.update(
                ll_reported=best_reported,
                ll=model.loglik(theta),
                starts=res.get("starts_run", res.get("nrep")),
                successful_starts=len(lls),
                **{
                    "starts_within_1e-6_of_best": int(
                        np.sum(np.abs(np.subtract(lls, best_reported)) <= 1e-6 * abs(best_reported))
                    )
                },
                elapsed=res.get("elapsed"),
                raw=_tojson(raw),
                **model.describe(theta),
            )
            if "versions" in res:
                cand["versions"] = res["versions"]
            if res.get("spike_lls"):
                cand["starts_ending_at_a_variance_spike"] = len(res["spike_lls"])
                cand["best_spike_ll"] = max(res["spike_lls"])
            lib_starts.append((method, theta))
            print(
                f"  {method}: reported {best_reported:.6f}, recomputed {cand['ll']:.6f} "
                f"({cand['successful_starts']} ok starts, "
                f"{cand['starts_within_1e-6_of_best']} at the best; {cand['elapsed']:.0f} s)",
                flush=True,
            )
        else:
            print(f"  {method}: {res['status']} {res.get('message', '')}", flush=True)
        rec["candidates"][method] = cand
    # (b) direct maximisation: from every library's best, then random starts
    t0 = time.perf_counter()
    for method, theta in lib_starts:
        th, ll = model.maximise(theta)
        rec["candidates"][f"scipy from {method}"] = {
            "ll": ll,
            "raw": _tojson(model.raw(th)),
            **model.describe(th),
        }
        print(f"  L-BFGS from {method}'s best: {ll:.6f}", flush=True)
    rng = np.random.RandomState(args.ref_seed)
    best, lls, n_adm = None, [], 0
    for _ in range(args.starts):
        th, ll = model.maximise(model.random_start(rng))
        if not np.isfinite(ll):
            continue
        d = model.describe(th)
        lls.append(ll)
        if not d["admissible"]:
            continue
        n_adm += 1
        if best is None or ll > best[1]:
            best = (th, ll)
    if best is not None:
        at_best = int(np.sum(np.abs(np.subtract(lls, best[1])) <= 1e-6 * abs(best[1])))
        top = sorted({round(v, 4) for v in lls}, reverse=True)[:6]
        rec["candidates"]["scipy random starts"] = {
            "ll": best[1],
            "starts": args.starts,
            "admissible_starts": n_adm,
            "starts_within_1e-6_of_best": at_best,
            "best_lls_any_start": top,
            "elapsed": time.perf_counter() - t0,
            "raw": _tojson(model.raw(best[0])),
            **model.describe(best[0]),
        }
        print(
            f"  L-BFGS from {args.starts} random starts: best admissible {best[1]:.6f} "
            f"({at_best} starts there, {n_adm} admissible); best values any start: {top} "
            f"({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
    adm = {k: c for k, c in rec["candidates"].items() if c.get("admissible") and "ll" in c}
    if not adm:
        rec.update(reference=None, source="none")
        return rec
    top_ll = max(c["ll"] for c in adm.values())
    tol = 1e-6 * abs(top_ll)
    reached = [k for k, c in adm.items() if c["ll"] >= top_ll - tol]
    rec.update(reference=top_ll, source=" = ".join(reached))
    for c in adm.values():
        c["minus_reference"] = c["ll"] - top_ll
    print(f"  REFERENCE {top_ll:.6f} from {rec['source']}", flush=True)
    return rec


# --------------------------------------------------------------------------- #
# skmoe fits
# --------------------------------------------------------------------------- #
def parse_configs(items):
    out = []
    for item in items:
        name, sep, params = item.partition(":")
        if not sep:
            raise SystemExit(f"--config {item!r}: expected NAME:JSON")
        try:
            out.append((name, json.loads(params)))
        except json.JSONDecodeError as exc:
            raise SystemExit(f"--config {item!r}: {exc}") from None
    return out


def fit_one(spec, data, base, params, n_init, seed):
    from sklearn.base import clone

    est = clone(base)
    est.set_params(**params, n_init=n_init, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        est.fit(data.X, data.y)
        elapsed = time.perf_counter() - t0
    ll, parts = skmoe_loglik(spec, data, est)
    return est, elapsed, ll, parts


def is_hit(ll, ref, rtol):
    return ll >= ref - rtol * abs(ref)


def bench_set(spec, data, ref, configs, args):
    from sklearn.utils._param_validation import InvalidParameterError

    base = make_estimator(spec, data)
    n_seeds = min(args.seeds, spec.seeds) if not args.all_seeds else args.seeds
    rows, check = [], None
    for cname, params in configs:
        try:
            valid = set(base.get_params())
            unknown = [k for k in params if k.split("__")[0] not in valid]
            if unknown:
                raise ValueError(f"{type(base).__name__} has no parameter {unknown}")
            # warm-up (Numba compilation, caches): not timed
            est, *_ = fit_one(spec, data, base, params, 1, 12345)
        except (ValueError, TypeError, InvalidParameterError) as exc:
            rows.append(dict(set=spec.name, config=cname, status="skipped", reason=str(exc)[:200]))
            print(f"  {spec.name} [{cname}] skipped: {exc}", flush=True)
            continue
        if check is None:
            check = formula_check(spec, data, est)
        for n_init in args.n_init:
            lls, parts_all, times, errors, admissible = [], [], [], [], []
            for seed in range(n_seeds):
                try:
                    fitted, elapsed, ll, parts = fit_one(spec, data, base, params, n_init, seed)
                except Exception as exc:  # noqa: BLE001 - reported, the bench goes on
                    errors.append(f"seed {seed}: {type(exc).__name__}: {exc}"[:200])
                    continue
                lls.append(ll)
                parts_all.append(parts)
                times.append(elapsed)
                admissible.append(fit_admissible(spec, data, fitted))
            row = dict(
                set=spec.name,
                config=cname,
                n_init=n_init,
                seeds=n_seeds,
                lls=lls,
                parts=parts_all if spec.kind == "hmm" else None,
                times=times,
                errors=errors,
                status="ok" if lls else "error",
            )
            if ref is not None and lls:
                if spec.kind == "hmm":
                    hits = [
                        all(is_hit(v, r, args.rtol) for v, r in zip(p, ref["parts"], strict=True))
                        for p in parts_all
                    ]
                else:
                    # The reference's rule holds for skmoe's fits too: a fit
                    # at a spike or a separation is no hit, however high.
                    hits = [
                        is_hit(v, ref["reference"], args.rtol) and a
                        for v, a in zip(lls, admissible, strict=True)
                    ]
                above = [v > ref["reference"] + args.rtol * abs(ref["reference"]) for v in lls]
                row.update(
                    inadmissible=int(len(admissible) - np.sum(admissible)),
                    hits=int(np.sum(hits)),
                    above=int(np.sum(above)),
                    hit_rate=float(np.mean(hits)),
                    best_minus_ref=max(lls) - ref["reference"],
                )
            row["median_time"] = float(np.median(times)) if times else None
            rows.append(row)
            hr = f"{row['hits']}/{len(lls)}" if "hits" in row else "n/a"
            print(
                f"  {spec.name} [{cname}] n_init={n_init}: hits {hr}, median "
                f"{row['median_time'] or float('nan'):.3f} s, best ll "
                f"{max(lls) if lls else float('nan'):.4f}"
                + (f", {len(errors)} errors" if errors else "")
                + (f", {row['inadmissible']} inadmissible" if row.get("inadmissible") else ""),
                flush=True,
            )
    return rows, check


# --------------------------------------------------------------------------- #
# Header, tables
# --------------------------------------------------------------------------- #
def _git_head():
    """The commit of the imported skmoe's checkout, if it is one."""
    try:
        out = subprocess.run(
            ["git", "-C", os.path.dirname(skmoe.__file__), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if out.returncode == 0:
            dirty = subprocess.run(
                ["git", "-C", os.path.dirname(skmoe.__file__), "status", "--porcelain", "."],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
            return f", commit {out.stdout.strip()}{' + local changes' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        pass
    return ""


def machine_info(rscript):
    import numba
    import sklearn

    info = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
        "nproc": os.cpu_count(),
        "cpus_available": len(os.sched_getaffinity(0)),
        "cpu": cpu_model(),
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "numba": numba.__version__,
        "skmoe": f"{skmoe.__version__} ({os.path.dirname(skmoe.__file__)}{_git_head()})",
        "threads": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")},
    }
    if rscript:
        try:
            code = (
                'cat(R.version.string, "| flexmix", format(packageVersion("flexmix")), '
                '"| mixtools", format(packageVersion("mixtools")))'
            )
            out = subprocess.run([rscript, "-e", code], capture_output=True, text=True, timeout=120)
            info["R"] = out.stdout.strip()
        except (OSError, subprocess.SubprocessError) as exc:
            info["R"] = f"unknown ({exc})"
    for key, val in info.items():
        print(f"{key}: {val}")
    return info


def print_reference_table(refs, names):
    print(
        "\n| data set | model | reference log-lik | source | R / statsmodels / hmmlearn best "
        "(recomputed) | scipy, random starts (admissible starts at the best) |"
    )
    print("|---|---|---|---|---|---|")
    for name in names:
        rec = refs.get(name)
        if rec is None:
            continue
        lib, sci = [], ""
        for k, c in rec["candidates"].items():
            if k.startswith("scipy from"):
                continue
            if k == "scipy random starts":
                sci = f"{c['ll']:.4f} ({c['starts_within_1e-6_of_best']}/{c['starts']})"
            elif "ll" in c:
                extra = (
                    f", {c['starts_within_1e-6_of_best']}/{c['successful_starts']} starts"
                    if "successful_starts" in c
                    else ""
                )
                lib.append(f"{k} {c['ll']:.4f}{extra}")
            else:
                lib.append(f"{k}: {c.get('status')}")
        ref = rec["reference"]
        print(
            f"| {name} | {rec['model']} | {ref:.4f} | {rec['source']} | {'; '.join(lib)} | {sci} |"
            if ref is not None
            else f"| {name} | {rec['model']} | none | | | |"
        )


def short_source(rec):
    """Who reached the reference: a library directly, a library's best polished by L-BFGS,
    or scipy's random starts."""
    reached = rec["source"].split(" = ")
    out = [k for k in reached if not k.startswith("scipy")]
    out += [
        f"{k[len('scipy from ') :]} + L-BFGS"
        for k in reached
        if k.startswith("scipy from ") and k[len("scipy from ") :] not in out
    ]
    if "scipy random starts" in reached:
        out.append("scipy")
    return ", ".join(out)


def print_hit_table(rows, refs, names, configs, n_inits, checks):
    head = "| data set | reference (reached by) | skmoe formula check |"
    for cname, _ in configs:
        for m in n_inits:
            head += f" {cname} n_init={m}: hits (time s) |"
    head += " best skmoe - reference |"
    print("\n" + head)
    print("|" + "---|" * (head.count("|") - 1))
    for name in names:
        ref = refs.get(name)
        has_ref = ref is not None and ref.get("reference") is not None
        cells = [
            name,
            f"{ref['reference']:.4f} ({short_source(ref)})" if has_ref else "none",
            f"{checks[name]:+.1e}" if checks.get(name) is not None else "n/a",
        ]
        best = []
        for cname, _ in configs:
            for m in n_inits:
                r = [
                    x
                    for x in rows
                    if x["set"] == name and x["config"] == cname and x.get("n_init", m) == m
                ]
                if not r:
                    cells.append("")
                    continue
                r = r[0]
                if r["status"] == "skipped":
                    cells.append("skipped")
                    continue
                if r["status"] == "error":
                    cells.append("error")
                    continue
                hit = f"{r['hits']}/{len(r['lls'])}" if "hits" in r else "n/a"
                if r.get("above"):
                    hit += f" ({r['above']} above)"
                cells.append(f"{hit} ({r['median_time']:.2f})")
                if "best_minus_ref" in r:
                    best.append(r["best_minus_ref"])
        cells.append(f"{max(best):+.2e}" if best else "")
        print("| " + " | ".join(cells) + " |")
    for cname, _ in configs:
        for m in n_inits:
            rr = [x for x in rows if x["config"] == cname and x.get("n_init") == m and "hits" in x]
            if rr:
                full = sum(x["hits"] == len(x["lls"]) for x in rr)
                anyhit = sum(x["hits"] > 0 for x in rr)
                print(
                    f"{cname} n_init={m}: every seed hits on {full}/{len(rr)} sets, "
                    f"some seed hits on {anyhit}/{len(rr)}; mean hit rate "
                    f"{np.mean([x['hit_rate'] for x in rr]):.2f}"
                )


# --------------------------------------------------------------------------- #
def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--reference",
        action="store_true",
        help="compute the references (R, statsmodels, hmmlearn, scipy) and "
        "update the JSON cache; no skmoe fits",
    )
    parser.add_argument("--sets", nargs="+", choices=list(SPEC), default=None)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="6 sets, 3 seeds, n_init 1 and 5 (about a minute)",
    )
    parser.add_argument("--config", action="append", default=None, metavar="NAME:JSON")
    parser.add_argument("--n-init", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument(
        "--seeds",
        type=int,
        default=10,
        help="random states 0..seeds-1 (capped per set on the slow sets)",
    )
    parser.add_argument("--all-seeds", action="store_true", help="no per-set cap on --seeds")
    parser.add_argument("--rtol", type=float, default=1e-3)
    parser.add_argument("--reference-file", default=str(REFERENCE_FILE))
    parser.add_argument("--nrep", type=int, default=200, help="R / statsmodels starts")
    parser.add_argument("--starts", type=int, default=200, help="scipy random starts")
    parser.add_argument("--hmm-restarts", type=int, default=100, help="hmmlearn starts per class")
    parser.add_argument("--ref-seed", type=int, default=0)
    parser.add_argument(
        "--r-timeout",
        type=float,
        default=1200.0,
        help="cap per R method / statsmodels / hmmlearn reference (s)",
    )
    parser.add_argument("--json", help="write the raw results here")
    parser.add_argument(
        "--reuse-library",
        action="store_true",
        help="with --reference: take R's solutions from the cache (re-described, not "
        "re-run); the direct maximisation is redone",
    )
    args = parser.parse_args()
    configs = parse_configs(args.config or DEFAULT_CONFIGS)
    names = args.sets or [s.name for s in SPECS if s.quick or not args.quick]
    if args.quick:
        args.seeds = min(args.seeds, 3)
        args.n_init = [m for m in args.n_init if m <= 5] or [1]

    rscript = shutil.which("Rscript")
    info = machine_info(rscript)
    specs = [SPEC[n] for n in names]
    with tempfile.TemporaryDirectory(prefix="skmoe_best_") as tmp:
        frames, missing = load_frames(specs, rscript, tmp)
        for name, why in missing.items():
            print(f"{name}: skipped, {why}")
        datas = {n: Data(SPEC[n], frames[n]) for n in names if n in frames}

        if args.reference:
            cache = {"sets": {}}
            if os.path.exists(args.reference_file):
                with open(args.reference_file) as f:
                    cache = json.load(f)
            reuse = args.reuse_library
            for name, data in datas.items():
                if reuse:
                    args.reuse_library = cache["sets"].get(name, {}).get("candidates", {})
                rec = compute_reference(SPEC[name], data, args, rscript, tmp)
                rec.update(
                    command=info["command"], date=info["date"], machine=info["cpu"], R=info.get("R")
                )
                # Re-read before writing: after every set (resumable), and two processes
                # computing different sets can share the file.
                if os.path.exists(args.reference_file):
                    with open(args.reference_file) as f:
                        cache = json.load(f)
                cache["sets"][name] = _tojson(rec)
                with open(args.reference_file, "w") as f:
                    json.dump(cache, f, indent=1)
            print_reference_table(cache["sets"], list(datas))
            return

    if not os.path.exists(args.reference_file):
        raise SystemExit(f"{args.reference_file} not found: run with --reference first")
    with open(args.reference_file) as f:
        refs = json.load(f)["sets"]
    print(f"references: {args.reference_file}")
    print(
        f"configs: {configs}; n_init {args.n_init}; seeds 0..{args.seeds - 1} "
        f"(capped per set); rtol {args.rtol}"
    )
    rows, checks = [], {}
    t0 = time.perf_counter()
    for name, data in datas.items():
        ref = refs.get(name)
        if ref is None or ref.get("reference") is None:
            print(f"  {name}: no reference cached (run --reference --sets {name})")
            ref = None
        r, check = bench_set(SPEC[name], data, ref, configs, args)
        rows += r
        checks[name] = check
    print(f"\nskmoe fits: {time.perf_counter() - t0:.0f} s")
    print_reference_table(refs, list(datas))
    print_hit_table(rows, refs, list(datas), configs, args.n_init, checks)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                _tojson(
                    dict(
                        machine=info,
                        args=vars(args),
                        configs=configs,
                        rows=rows,
                        formula_checks=checks,
                    )
                ),
                f,
                indent=1,
            )


if __name__ == "__main__":
    main()
