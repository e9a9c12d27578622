"""Benchmark: Markov-switching regression, skmoe against statsmodels' MarkovRegression.

On the real series shipped with statsmodels' regime-switching tests (the
Federal funds rate, with and without regressors and with time-varying
transitions driven by the output gap; absolute stock returns) and on two
longer simulated series (regimes that rarely and that often switch), both
libraries fit a two-regime model with regime-specific coefficients and
variances (statsmodels: ``switching_variance=True``; its default fit, 5 EM
iterations then BFGS, one start).  skmoe fits the same model with the
steady-state start (statsmodels' default) -- one restart, and 5 restarts --
and with a learned start.  Reported: median wall time over the repeats, the
iterations (statsmodels: 5 EM iterations + the gradient evaluations of BFGS;
skmoe: EM iterations + L-BFGS iterations of the polish, of the selected restart) and the
log-likelihood reached.

Usage::

    python benchmarks/bench_markov_switching.py [--repeats 3]
"""

import argparse
import os
import platform
import time
import warnings

import numpy as np
from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression
from statsmodels.tsa.regime_switching.tests import test_markov_regression as sm_data

from skmoe import MarkovSwitchingRegressor


def simulate(n, stay, seed):
    rng = np.random.RandomState(seed)
    z = np.zeros(n, dtype=int)
    for t in range(1, n):
        z[t] = z[t - 1] if rng.rand() < stay[z[t - 1]] else 1 - z[t - 1]
    x = rng.randn(n)
    y = np.where(z == 0, 1.5 * x, 1.0 - x) + np.where(z == 0, 0.5, 1.0) * rng.randn(n)
    return y, x


def series():
    fed = np.asarray(sm_data.fedfunds, float)
    ogap = np.asarray(sm_data.ogap, float)
    inf = np.asarray(sm_data.inf, float)
    ar = np.asarray(sm_data.areturns, float)
    y_rare, x_rare = simulate(5000, [0.995, 0.99], 0)
    y_freq, x_freq = simulate(5000, [0.3, 0.4], 1)
    # name: (y, exog for the regimes or None, exog_tvtp or None)
    return {
        "fedfunds (const)": (fed, None, None),
        "fedfunds ~ lag": (fed[1:], fed[:-1, None], None),
        "fedfunds ~ lag+ogap+inf": (fed[4:], np.c_[fed[3:-1], ogap[4:], inf[4:]], None),
        "fedfunds ~ lag, tvtp(ogap)": (fed[1:], fed[:-1, None], ogap[1:, None]),
        "areturns ~ lag": (ar[1:], ar[:-1, None], None),
        "simulated rare switches n=5000": (y_rare, x_rare[:, None], None),
        "simulated frequent switches n=5000": (y_freq, x_freq[:, None], None),
    }


def fit_statsmodels(y, exog, tvtp):
    mod = MarkovRegression(
        y,
        k_regimes=2,
        exog=exog,
        switching_variance=True,
        exog_tvtp=None if tvtp is None else np.c_[np.ones(len(y)), tvtp],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        res = mod.fit(disp=False)
        elapsed = time.perf_counter() - t0
    # BFGS with numerical gradients: report its gradient evaluations.
    grads = (res.mle_retvals or {}).get("gcalls", "?")
    return elapsed, res.llf, f"5 EM + {grads} BFGS grads"


def fit_skmoe(y, exog, tvtp, start, n_init):
    if exog is None:
        X, kw = np.zeros((len(y), 1)), dict(expert_features=[])
    else:
        X, kw = exog, {}
    if tvtp is not None:
        d = X.shape[1]
        X = np.c_[X, tvtp]
        kw = dict(
            expert_features=kw.get("expert_features", list(range(d))),
            transitions="input",
            transition_features=list(range(d, X.shape[1])),
            transition_alpha=0.0,
        )
    ms = MarkovSwitchingRegressor(start=start, n_init=n_init, random_state=0, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        ms.fit(X, y)
        elapsed = time.perf_counter() - t0
    return (
        elapsed,
        float(ms.log_likelihood(X, y).sum()),
        f"{ms.n_iter_} EM + {ms.n_polish_iter_} L-BFGS",
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(
        f"# {platform.platform()}, Python {platform.python_version()}, nproc={os.cpu_count()}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    # Compile / load the Numba kernels before timing.
    y, x = simulate(200, [0.9, 0.9], 3)
    fit_skmoe(y, x[:, None], None, "learned", 1)
    fit_skmoe(y, x[:, None], x[:, None], "steady-state", 1)
    runs = [
        ("statsmodels fit", lambda y, e, t: fit_statsmodels(y, e, t)),
        ("skmoe steady-state, n_init=1", lambda y, e, t: fit_skmoe(y, e, t, "steady-state", 1)),
        ("skmoe steady-state, n_init=5", lambda y, e, t: fit_skmoe(y, e, t, "steady-state", 5)),
        ("skmoe learned start, n_init=1", lambda y, e, t: fit_skmoe(y, e, t, "learned", 1)),
    ]
    print("| series | n | fit | time (s) | iterations | log-likelihood | vs statsmodels |")
    print("|---|---|---|---|---|---|---|")
    for name, (y, exog, tvtp) in series().items():
        ref = None
        for label, fn in runs:
            times, out = [], None
            for _ in range(args.repeats):
                elapsed, llf, its = fn(y, exog, tvtp)
                times.append(elapsed)
                out = (llf, its)
            llf, its = out
            if ref is None:
                ref = llf
            print(
                f"| {name} | {len(y)} | {label} | {np.median(times):.3f} | {its} | {llf:.6f} | "
                f"{llf - ref:+.2e} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
