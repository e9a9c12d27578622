"""Side by side with R's flexmix and mixtools: fit time and final log-likelihood.

Three simulated problems, each drawn once from a known linear-Gaussian
mixture of experts (:func:`skmoe.datasets.make_moe_regression`, 10^6 rows,
seed 0); a fit at size n uses the first n rows, so every n is a sample of the
same model:

* ``softmax``: d=2, K=3, softmax gate.  flexmix
  ``flexmix(y ~ x1 + x2, k=3, model=FLXMRglm(),
  concomitant=FLXPmultinom(~ x1 + x2))`` against
  ``MixtureOfExpertsRegressor(n_experts=3, gate="softmax")``.
* ``constant``: d=2, K=3, constant mixing proportions.  mixtools
  ``regmixEM(y, X, k=3)`` and flexmix with ``FLXPconstant()`` (its default
  concomitant model) against ``gate="constant"``.
* ``hme``: d=1, K=2, softmax gate.  mixtools ``hmeEM(y, x, k=2)`` (which
  supports K=2 and a gate on one covariate only) against ``gate="softmax"``
  with K=2.

Each R fit runs in its own ``Rscript`` process on the CSV file of the data
(written with 17 significant digits, so both sides see the same numbers);
only the fit call is timed, with ``system.time`` (elapsed).  skmoe's fits run
in this process after a warm-up fit on a tiny problem (so Numba's compilation
is not timed) and are timed with ``time.perf_counter``, once on all CPUs and
once with this thread pinned to one CPU (R is single-threaded here).

Every library's log-likelihood is checked against the observed-data
log-likelihood recomputed here, in NumPy/SciPy, from the parameters the
library returns (``sum_i log sum_k g_k(x_i) N(y_i; x_i b_k, s_k^2)``, with
the Gaussian constants): the column ``ll recomputed - reported`` must be
~0 for the comparison to be fair.

Stopping rules (one start each, see ``--n-init``):

* flexmix (defaults): ``|L_t - L_{t-1}| / (|L_t| + 0.1) < 1e-6`` on the total
  log-likelihood L, ``iter.max=200``, random initial hard assignment
  (posterior 0.9/0.1), components with mean prior below ``minprior=0.05``
  removed; the noise s.d. is the weighted residual s.d. with a ``n - rank``
  degrees-of-freedom correction (not the ML one).  Its gate M-step fits
  ``nnet`` from zero weights to convergence (BFGS, maxit=100) every
  iteration.
* mixtools: ``L_t - L_{t-1} < epsilon`` (absolute, on the total
  log-likelihood; a decrease triggers a random restart); its default
  ``epsilon=1e-8`` would be 1e-14 per row at n=10^6, so ``epsilon`` is set to
  ``tol * n`` (``--tol``), the same per-row rule as skmoe, capped at 0.5
  (mixtools enters its loop with ``diff = 1``, so an epsilon of 1 or more
  would stop it before the first iteration); ``maxit=10000``;
  random initial parameters from ``regmix.init``.
* skmoe: ``|L_t - L_{t-1}| / n < tol`` with ``tol=1e-6`` (``--tol``; its
  default is 1e-4), which is flexmix's rule when the mean log-likelihood
  is about 1 in absolute value (it is 1.1-1.5 here); ``max_iter=1000``;
  the default starts (``n_init=1``: two starts of the portfolio, k-means on
  (X, y) and consensus lines, screened; from 65,536 rows on, screened and
  converged on a subsample of 16,384 rows before the kept one continues on
  all rows, ``subsample="auto"``); default softmax gate (a generalised EM
  step of at most 2 L-BFGS iterations, L2 penalty ``alpha=1e-2`` on the
  standardised gate coefficients).

Usage::

    python benchmarks/bench_flexmix.py                 # n = 10^3 .. 10^6 (about an hour)
    python benchmarks/bench_flexmix.py --quick         # n = 1000, one start: under a minute
    python benchmarks/bench_flexmix.py --n 1000 100000 --problems softmax --r-timeout 600
    python benchmarks/bench_flexmix.py --json out.json # also save the raw results

R fits that exceed ``--r-timeout`` seconds (the whole Rscript run) are
killed and reported as such; a fit is not started when the same fit at the
previous n, scaled linearly in n, predicts more than three times the cap.
Without ``Rscript`` on the PATH only skmoe runs, with a message.
Needs: Debian packages r-base-core, r-cran-flexmix, r-cran-mixtools.
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

import numpy as np
from _machine import cpu_model  # benchmarks/ is on sys.path when run as a script
from scipy.special import logsumexp
from scipy.stats import norm
from sklearn.exceptions import ConvergenceWarning

import skmoe
from skmoe import MixtureOfExpertsRegressor
from skmoe.datasets import make_moe_regression

N_GEN = 10**6

PROBLEMS = {
    # name: (n_features, n_experts, generating gate, R methods, skmoe gate)
    "softmax": (2, 3, "softmax", ["flexmix_multinom"], "softmax"),
    "constant": (2, 3, "constant", ["flexmix_constant", "regmixEM"], "constant"),
    "hme": (1, 2, "softmax", ["hmeEM"], "softmax"),
}

R_SCRIPT = r"""
args <- commandArgs(trailingOnly = TRUE)
method <- args[1]; csv <- args[2]; K <- as.integer(args[3]); seed <- as.integer(args[4])
out <- args[5]; tol <- as.numeric(args[6])
d <- read.csv(csv)
xcols <- setdiff(names(d), "y")
X <- as.matrix(d[, xcols, drop = FALSE]); y <- d$y; n <- length(y)
rhs <- paste(xcols, collapse = " + ")
set.seed(seed)
if (method %in% c("flexmix_multinom", "flexmix_constant")) {
  suppressMessages(library(flexmix))
  conc <- if (method == "flexmix_multinom") FLXPmultinom(as.formula(paste("~", rhs))) else FLXPconstant()
  tm <- system.time(fit <- flexmix(as.formula(paste("y ~", rhs)), data = d, k = K,
                                   model = FLXMRglm(), concomitant = conc))
  P <- parameters(fit)
  beta <- P[-nrow(P), , drop = FALSE]; sigma <- P[nrow(P), ]
  G <- if (method == "flexmix_multinom") parameters(fit, which = "concomitant") else
       matrix(log(prior(fit)), nrow = 1)
  res <- list(ll = as.numeric(logLik(fit)), iter = fit@iter, converged = as.numeric(fit@converged),
              k = fit@k, restarts = 0)
} else {
  suppressMessages(library(mixtools))
  # mixtools starts its loop with diff = 1 and runs while diff > epsilon, so
  # epsilon must stay below 1 (at n = 10^6, tol * n would be 1: no iteration).
  eps <- min(tol * n, 0.5)
  if (method == "regmixEM") {
    tm <- system.time(fit <- regmixEM(y, X, k = K, epsilon = eps))
    G <- matrix(log(fit$lambda), nrow = 1)
  } else {
    tm <- system.time(fit <- hmeEM(y, X, k = 2, epsilon = eps))
    # hmeEM: P(component 1 | x) = inv.logit(w0 + w1 x[, 1]); component 2 is the reference.
    G <- rbind(c(fit$w[1], 0), c(fit$w[2], 0))
    if (ncol(X) > 1) G <- rbind(G, matrix(0, ncol(X) - 1, 2))
  }
  beta <- fit$beta; sigma <- fit$sigma
  iter <- length(fit$all.loglik) - 1
  res <- list(ll = fit$loglik, iter = iter, converged = as.numeric(iter < 10000),
              k = ncol(beta), restarts = fit$restarts)
}
res$time <- tm[["elapsed"]]
res$cpu <- tm[["user.self"]] + tm[["sys.self"]]
con <- file(out, "w")
for (nm in names(res)) writeLines(paste(nm, format(res[[nm]], digits = 17)), con)
wm <- function(nm, M) writeLines(paste(nm, nrow(M), ncol(M),
                                        paste(format(as.vector(t(M)), digits = 17), collapse = " ")), con)
wm("beta", as.matrix(beta)); wm("sigma", matrix(sigma, nrow = 1)); wm("gate", as.matrix(G))
close(con)
"""


# --------------------------------------------------------------------------- #
# Machine
# --------------------------------------------------------------------------- #
def _r_versions(rscript):
    if rscript is None:
        return None
    code = (
        'cat(R.version.string, "| flexmix", format(packageVersion("flexmix")), '
        '"| mixtools", format(packageVersion("mixtools")), "| BLAS", extSoftVersion()[["BLAS"]])'
    )
    try:
        out = subprocess.run([rscript, "-e", code], capture_output=True, text=True, timeout=120)
        return out.stdout.strip() or out.stderr.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return f"R version unknown ({exc})"


def machine_info(rscript):
    import numba
    import sklearn

    info = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "nproc": os.cpu_count(),
        "cpus_available": len(os.sched_getaffinity(0)),
        "cpu": cpu_model(),
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "numba": numba.__version__,
        "skmoe": skmoe.__version__,
        "R": _r_versions(rscript),
    }
    for key, val in info.items():
        print(f"{key}: {val}")
    return info


# --------------------------------------------------------------------------- #
# The observed-data log-likelihood, recomputed from each library's parameters
# --------------------------------------------------------------------------- #
def mixture_loglik(X, y, beta, sigma, gate):
    """``sum_i log sum_k softmax(x1_i G)_k N(y_i; x1_i beta_k, sigma_k^2)``.

    ``beta`` is (d+1, K) and ``gate`` (d+1, K) or (1, K) (constant: log
    weights), both with the intercept in row 0; ``x1 = [1, x]``.
    """
    X1 = np.column_stack([np.ones(X.shape[0]), X])
    log_gate = X1[:, : gate.shape[0]] @ gate
    log_gate -= logsumexp(log_gate, axis=1, keepdims=True)
    log_dens = norm.logpdf(y[:, None], loc=X1 @ beta, scale=np.asarray(sigma)[None, :])
    return float(logsumexp(log_gate + log_dens, axis=1).sum())


def skmoe_params(est):
    beta = np.array([[e.intercept_, *np.atleast_1d(e.coef_)] for e in est.experts_]).T
    sigma = np.sqrt(est.noise_variance_)
    g = est.gate_
    if hasattr(g, "weights_"):
        gate = np.log(g.weights_)[None, :]
    else:
        gate = np.vstack([g.intercept_[None, :], g.coef_])
    return beta, sigma, gate


# --------------------------------------------------------------------------- #
# Fits
# --------------------------------------------------------------------------- #
class _Pinned:
    """Pin every thread of this process to one CPU (skmoe's thread pool then runs serially).

    ``sched_setaffinity(0, ...)`` pins only the calling thread on Linux; the
    thread pool's workers, started by the warm-up fit, keep their own
    affinity, so each thread listed in ``/proc/self/task`` is pinned.
    """

    def __init__(self, one_cpu):
        self.one_cpu = one_cpu

    @staticmethod
    def _threads():
        try:
            return [int(t) for t in os.listdir("/proc/self/task")]
        except OSError:  # not Linux: the calling thread only
            return [0]

    def __enter__(self):
        self.saved = os.sched_getaffinity(0)
        if self.one_cpu:
            for tid in self._threads():
                os.sched_setaffinity(tid, {min(self.saved)})

    def __exit__(self, *exc):
        for tid in self._threads():
            os.sched_setaffinity(tid, self.saved)


def fit_skmoe(X, y, K, gate, args, one_cpu, n_init):
    est = MixtureOfExpertsRegressor(
        n_experts=K,
        gate=gate,
        tol=args.tol,
        max_iter=1000,
        n_init=n_init,
        random_state=args.seed,
    )
    with _Pinned(one_cpu):
        t0, c0 = time.perf_counter(), time.process_time()
        est.fit(X, y)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    ll = float(est.log_likelihood(X, y).sum())
    beta, sigma, g = skmoe_params(est)
    return dict(
        status="ok",
        time=elapsed,
        cpu=cpu,
        ll=ll,
        ll_py=mixture_loglik(X, y, beta, sigma, g),
        iter=int(est.n_iter_),
        converged=bool(est.converged_),
        k=K,
    )


def _parse_r_output(path):
    res = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if parts[0] in ("beta", "sigma", "gate"):
                r, c = int(parts[1]), int(parts[2])
                res[parts[0]] = np.array([float(v) for v in parts[3:]]).reshape(r, c)
            else:
                res[parts[0]] = float(parts[1])
    return res


def fit_r(rscript, script, method, csv, K, X, y, args, tmp):
    out = os.path.join(tmp, f"{method}.out")
    if os.path.exists(out):
        os.remove(out)
    cmd = [rscript, script, method, csv, str(K), str(args.seed), out, repr(args.tol)]
    # Own process group: on time-out the whole R process tree is killed.
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        log, _ = proc.communicate(timeout=args.r_timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return dict(status="timeout", time=float(args.r_timeout))
    if proc.returncode != 0 or not os.path.exists(out):
        lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith("Error")] or lines[-1:]
        return dict(status="error", message=" ".join(errors)[:200])
    r = _parse_r_output(out)
    return dict(
        status="ok",
        time=r["time"],
        cpu=r["cpu"],
        ll=r["ll"],
        ll_py=mixture_loglik(X, y, r["beta"], r["sigma"][0], r["gate"]),
        iter=int(r["iter"]),
        converged=bool(r["converged"]),
        k=int(r["k"]),
        restarts=int(r["restarts"]),
    )


def warm_up(args):
    """Compile (or load from Numba's cache) the kernels outside the timings.

    5000 rows: fits from 4096 rows on take the fused E-step, whose kernels a
    smaller warm-up would leave to be loaded inside the first timed fit.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # small problems, tight tol
        for gate in ("softmax", "constant"):
            X, y, _ = make_moe_regression(5000, 2, 3, gate=gate, random_state=1)
            MixtureOfExpertsRegressor(n_experts=3, gate=gate, tol=args.tol, random_state=0).fit(
                X, y
            )
            MixtureOfExpertsRegressor(n_experts=2, gate=gate, tol=args.tol, random_state=0).fit(
                X[:, :1], y
            )


# --------------------------------------------------------------------------- #
# Report
# --------------------------------------------------------------------------- #
def _fmt_time(res):
    if res["status"] == "ok":
        return f"{res['time']:.3f}"
    if res["status"] == "timeout":
        return f"> {res['time']:.0f} (killed)"
    if res["status"] == "skipped":
        return f"not run ({res['reason']})"
    return "error"


def print_table(rows):
    head = (
        "| problem | n | fit | time (s) | CPU time (s) | iters | conv | log-likelihood | "
        "ll recomputed - reported | vs R: time ratios R / skmoe (wall, CPU), ll difference skmoe - R |"
    )
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for row in rows:
        res = row["result"]
        lead = f"| {row['problem']} | {row['n']} | {row['label']} | {_fmt_time(res)} |"
        if res["status"] != "ok":
            print(f"{lead} | | | {res.get('message', '')} | | |")
            continue
        versus = []
        for method, other in row.get("versus", {}).items():
            if other["status"] == "ok":
                versus.append(
                    f"{method}: {other['time'] / res['time']:.1f}x wall, "
                    f"{other['cpu'] / res['cpu']:.1f}x CPU, ll {res['ll'] - other['ll']:+.2e}"
                )
            elif other["status"] in ("timeout", "skipped"):
                versus.append(f"{method}: > {other['time'] / res['time']:.0f}x wall, ll n/a")
            else:
                versus.append(f"{method}: failed")
        print(
            f"{lead} {res['cpu']:.3f} | {res['iter']} | {'yes' if res['converged'] else 'no'} | {res['ll']:.6f} | "
            f"{res['ll_py'] - res['ll']:+.1e} | {'; '.join(versus)} |"
        )


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, nargs="+", default=[10**3, 10**4, 10**5, 10**6])
    parser.add_argument("--quick", action="store_true", help="n = 1000, n_init=1 only, 30 s R cap")
    parser.add_argument("--problems", nargs="+", choices=list(PROBLEMS), default=list(PROBLEMS))
    parser.add_argument("--tol", type=float, default=1e-6, help="per-row stopping tolerance")
    parser.add_argument(
        "--n-init",
        type=int,
        nargs="+",
        default=[1, 3],
        help="skmoe restarts: n_init=1 is timed on all CPUs and on one; larger values add rows "
        "(R: one start each)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--r-timeout", type=float, default=600.0, help="cap per Rscript run (s)")
    parser.add_argument("--no-r", action="store_true", help="skip the R fits")
    parser.add_argument(
        "--r-methods",
        nargs="+",
        default=None,
        choices=sorted({m for p in PROBLEMS.values() for m in p[3]}),
        help="run only these R fits (default: all of each problem's)",
    )
    parser.add_argument("--json", help="also write the raw results to this file")
    args = parser.parse_args()
    if args.quick:
        args.n = [1000]
        args.n_init = [1]
        args.r_timeout = min(args.r_timeout, 30.0)
    if max(args.n) > N_GEN:
        parser.error(f"--n must be at most {N_GEN}")

    rscript = None if args.no_r else shutil.which("Rscript")
    if rscript is None and not args.no_r:
        print(
            "Rscript not found: the R fits are skipped (install the Debian packages "
            "r-base-core, r-cran-flexmix and r-cran-mixtools to run them)."
        )
    info = machine_info(rscript)
    print(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    warm_up(args)

    rows = []
    with tempfile.TemporaryDirectory(prefix="skmoe_bench_") as tmp:
        script = os.path.join(tmp, "fit.R")
        with open(script, "w") as f:
            f.write(R_SCRIPT)
        for problem in args.problems:
            d, K, gen_gate, methods, skmoe_gate = PROBLEMS[problem]
            X_all, y_all, _ = make_moe_regression(
                N_GEN, d, K, gate=gen_gate, random_state=args.seed
            )
            last = {}  # method -> (n, time) of its last completed fit
            for n in sorted(args.n):
                X, y = X_all[:n], y_all[:n]
                csv = os.path.join(tmp, f"{problem}_{n}.csv")
                if rscript is not None:
                    cols = ",".join(["y"] + [f"x{j + 1}" for j in range(d)])
                    np.savetxt(
                        csv,
                        np.column_stack([y, X]),
                        delimiter=",",
                        fmt="%.17g",
                        header=cols,
                        comments="",
                    )
                r_results = {}
                run_methods = [m for m in methods if args.r_methods is None or m in args.r_methods]
                for method in run_methods if rscript is not None else []:
                    prev = last.get(method)
                    predicted = None if prev is None else prev[1] * n / prev[0]
                    if predicted is not None and predicted > 3 * args.r_timeout:
                        res = dict(
                            status="skipped",
                            time=predicted,
                            reason=f"{prev[1]:.0f} s at n={prev[0]} predicts ~{predicted:.0f} s",
                        )
                    else:
                        res = fit_r(rscript, script, method, csv, K, X, y, args, tmp)
                    if res["status"] == "ok":
                        last[method] = (n, res["time"])
                    elif res["status"] == "timeout":
                        last[method] = (n, res["time"])
                    r_results[method] = res
                    rows.append(dict(problem=problem, n=n, label=method, result=res))
                    print(f"  {problem} n={n} {method}: {_fmt_time(res)}", flush=True)
                configs = [(False, 1), (True, 1)] + [(False, m) for m in args.n_init if m > 1]
                for one_cpu, n_init in configs:
                    res = fit_skmoe(X, y, K, skmoe_gate, args, one_cpu, n_init)
                    label = (
                        f"skmoe gate={skmoe_gate} n_init={n_init} "
                        f"({'1 CPU' if one_cpu else 'all CPUs'})"
                    )
                    print(f"  {problem} n={n} {label}: {_fmt_time(res)}", flush=True)
                    rows.append(
                        dict(problem=problem, n=n, label=label, result=res, versus=r_results)
                    )
                if rscript is not None:
                    os.remove(csv)
    print()
    print_table(rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(machine=info, args=vars(args), rows=rows), f, indent=1, default=str)


if __name__ == "__main__":
    main()
