"""Coverage of the mixture summary's 95% Wald intervals on simulated data.

Data are drawn from known parameters: a two-expert mixture of linear-Gaussian
experts with a softmax gate on one feature,

    x ~ U(-2, 2),  log(g_1(x) / g_0(x)) = 2 x + 0.3,
    expert 0: y = 1 + 2 x + N(0, 0.5^2),  expert 1: y = -1 - x + N(0, 0.7^2),

``n=500`` rows per replication (``--family poisson``: the same gate, Poisson
experts with log-means ``1 + 0.5 x`` and ``2.5 - 0.3 x``, fitted with
``PoissonExpert(alpha=0)``; their summary takes the generic path, central
differences of the analytic gradient).  Each replication is fitted by
``MixtureOfExpertsRegressor(n_experts=2, gate=SoftmaxGate(alpha=0,
max_iter=50), tol=1e-8, max_iter=2000)`` (the unpenalised gate, so that the
estimate is the maximum-likelihood one the intervals are about, and EM run to
convergence), and ``summary(X, y)`` gives the intervals.  The fitted experts
are aligned to the true ones (of the two labellings, the one whose expert
slopes and intercepts are closest to the truth; swapping the labels negates
the gate's logit contrast), then each of the 8 parameters (gate slope and
intercept, two slopes, two intercepts, two variances) is checked: does its
interval contain the true value?  A replication whose summary has a NaN
standard error (a fit stuck in a degenerate optimum) counts as a miss.

Usage::

    python benchmarks/bench_coverage.py                  # 400 replications, n=500
    python benchmarks/bench_coverage.py --reps 1000 --n 500 --n-jobs 2
    python benchmarks/bench_coverage.py --cov-type robust
    python benchmarks/bench_coverage.py --family poisson

The expected coverage of a parameter over R replications has binomial
standard error ``sqrt(0.95 * 0.05 / R)`` (1.1% at R=400).
"""

import argparse
import datetime
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from scipy.stats import norm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_model  # noqa: E402

GATE = np.array([2.0, 0.3])  # slope, intercept of log(g_1 / g_0)
BETA = np.array([[2.0, 1.0], [-1.0, -1.0]])  # (slope, intercept) of each expert
SIGMA = np.array([0.5, 0.7])
# Poisson experts: log-means 1 + 0.5 x and 2.5 - 0.3 x.
BETA_POISSON = np.array([[0.5, 1.0], [-0.3, 2.5]])
FAMILIES = {
    "gaussian": dict(
        names=["gate:x0[1]", "gate:const[1]", "x0[0]", "const[0]", "sigma2[0]"]
        + ["x0[1]", "const[1]", "sigma2[1]"],
        truth=np.array([GATE[0], GATE[1], *BETA[0], SIGMA[0] ** 2, *BETA[1], SIGMA[1] ** 2]),
        block=3,
    ),
    "poisson": dict(
        names=["gate:x0[1]", "gate:const[1]", "x0[0]", "const[0]", "x0[1]", "const[1]"],
        truth=np.array([GATE[0], GATE[1], *BETA_POISSON[0], *BETA_POISSON[1]]),
        block=2,
    ),
}


def simulate(n, rng, family="gaussian"):
    x = rng.uniform(-2, 2, size=n)
    p1 = 1.0 / (1.0 + np.exp(-(GATE[0] * x + GATE[1])))
    z = (rng.uniform(size=n) < p1).astype(int)
    if family == "poisson":
        return x[:, None], rng.poisson(np.exp(BETA_POISSON[z, 0] * x + BETA_POISSON[z, 1]))
    y = BETA[z, 0] * x + BETA[z, 1] + SIGMA[z] * rng.standard_normal(n)
    return x[:, None], y


def one_replication(seed, n, level, cov_type, family="gaussian"):
    from skmoe import MixtureOfExpertsRegressor
    from skmoe.experts import PoissonExpert
    from skmoe.gating import SoftmaxGate

    spec = FAMILIES[family]
    names, truth, b = spec["names"], spec["truth"], spec["block"]
    rng = np.random.RandomState(seed)
    X, y = simulate(n, rng, family)
    moe = MixtureOfExpertsRegressor(
        PoissonExpert(alpha=0.0) if family == "poisson" else None,
        n_experts=2,
        gate=SoftmaxGate(alpha=0.0, max_iter=50),
        tol=1e-8,
        max_iter=2000,
        random_state=seed,
    ).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kwargs = {} if cov_type == "observed" else {"cov_type": cov_type}
        res = moe.summary(X, y, alpha=1 - level, **kwargs)
    assert list(res.param_names) == names, res.param_names
    est, se = res.params.copy(), res.bse.copy()
    # Align the labels to the truth by the slopes and intercepts of the two
    # expert blocks, [2:2+b] and [2+b:2+2b].
    e0, e1 = slice(2, 2 + b), slice(2 + b, 2 + 2 * b)
    straight = np.sum((est[e0][:2] - truth[e0][:2]) ** 2 + (est[e1][:2] - truth[e1][:2]) ** 2)
    swapped = np.sum((est[e1][:2] - truth[e0][:2]) ** 2 + (est[e0][:2] - truth[e1][:2]) ** 2)
    if swapped < straight:
        est = np.concatenate([-est[:2], est[e1], est[e0]])
        se = np.concatenate([se[:2], se[e1], se[e0]])
    q = norm.ppf(0.5 + level / 2)
    covered = np.abs(est - truth) <= q * se  # NaN se -> False
    return covered, bool(moe.converged_)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=400)
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--level", type=float, default=0.95)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cov-type", default="observed", choices=["observed", "robust"])
    parser.add_argument("--family", default="gaussian", choices=sorted(FAMILIES))
    args = parser.parse_args(argv)
    seeds = np.random.SeedSequence(args.seed).generate_state(args.reps)
    t0 = time.perf_counter()
    out = Parallel(n_jobs=args.n_jobs)(
        delayed(one_replication)(int(s), args.n, args.level, args.cov_type, args.family)
        for s in seeds
    )
    elapsed = time.perf_counter() - t0
    covered = np.array([c for c, _ in out])
    converged = np.array([c for _, c in out])
    R = covered.shape[0]
    se = np.sqrt(args.level * (1 - args.level) / R)
    print(
        f"# coverage of {args.level:.0%} intervals ({args.family} experts, "
        f"{args.cov_type} covariance), "
        f"n={args.n}, {R} replications, seed {args.seed}"
    )
    print(f"# machine: {cpu_model()}; {datetime.date.today()}; {elapsed:.0f} s")
    print(f"# converged: {converged.sum()}/{R}; binomial s.e. of a coverage: {se:.3f}")
    print("| parameter | truth | coverage |")
    print("|---|---:|---:|")
    spec = FAMILIES[args.family]
    for name, t, c in zip(spec["names"], spec["truth"], covered.mean(axis=0), strict=True):
        print(f"| {name} | {t:g} | {c:.3f} |")
    print(f"| **all** | | **{covered.mean():.3f}** |")


if __name__ == "__main__":
    main()
