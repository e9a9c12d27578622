"""Benchmark B: whole-fit wall time, warm and from a fresh process.

Two targets of the foundation issue:

* a whole fit of :class:`~skmoe.MixtureOfExpertsRegressor` at n=10^5, d=10,
  K=4 (built-in linear experts, softmax gate, defaults otherwise) in under one
  second on 2 cores once the Numba kernels are compiled;
* a fresh Python process that imports skmoe and fits a 1,000-row model in
  under 3 s (the kernels load from Numba's on-disk cache).

Each is run side by side with a baseline from scikit-learn on the same data,
alternating, so that machine noise hits both alike: for the warm fit,
``GaussianMixture(n_components=4)`` on ``[X, y]`` (the closest classical EM in
scikit-learn, same n, K and tolerance) and ``LinearRegression``; for the fresh
process, a process that imports scikit-learn and fits ``GaussianMixture`` on
the same 1,000 rows.  Medians over the repeats are reported, with ratios.

Usage::

    python benchmarks/bench_fit_time.py [--repeats 7]
"""

import argparse
import os
import platform
import subprocess
import sys
import time
import warnings

import numpy as np

FRESH_SKMOE = (
    "import numpy as np, warnings; from skmoe import MixtureOfExpertsRegressor; "
    "from skmoe.datasets import make_moe_regression; "
    "X, y, _ = make_moe_regression(1000, 10, 4, random_state=0); "
    "warnings.simplefilter('ignore'); "
    "MixtureOfExpertsRegressor(n_experts=4, random_state=0).fit(X, y)"
)
FRESH_SKLEARN = (
    "import numpy as np, warnings; from sklearn.mixture import GaussianMixture; "
    "from skmoe.datasets import make_moe_regression; "
    "X, y, _ = make_moe_regression(1000, 10, 4, random_state=0); "
    "warnings.simplefilter('ignore'); "
    "GaussianMixture(4, random_state=0).fit(np.column_stack([X, y]))"
)


def fresh(code):
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    from sklearn.linear_model import LinearRegression
    from sklearn.mixture import GaussianMixture

    from skmoe import MixtureOfExpertsRegressor
    from skmoe.datasets import make_moe_regression

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )

    # Fresh processes first: the parent has not compiled anything, but the
    # on-disk cache is warmed by one untimed run.
    fresh(FRESH_SKMOE)
    t_fresh, t_fresh_base = [], []
    for _ in range(args.repeats):
        t_fresh.append(fresh(FRESH_SKMOE))
        t_fresh_base.append(fresh(FRESH_SKLEARN))

    X, y, _ = make_moe_regression(100_000, 10, 4, random_state=0)
    Z = np.column_stack([X, y])
    warnings.simplefilter("ignore")
    MixtureOfExpertsRegressor(n_experts=4, random_state=0, max_iter=3).fit(X[:2000], y[:2000])
    t_moe, t_gmm, t_lr, iters, gmm_iters = [], [], [], [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        est = MixtureOfExpertsRegressor(n_experts=4, random_state=0).fit(X, y)
        t_moe.append(time.perf_counter() - t0)
        iters.append(est.n_iter_)
        t0 = time.perf_counter()
        gmm = GaussianMixture(4, random_state=0).fit(Z)
        t_gmm.append(time.perf_counter() - t0)
        gmm_iters.append(gmm.n_iter_)
        t0 = time.perf_counter()
        LinearRegression().fit(X, y)
        t_lr.append(time.perf_counter() - t0)

    def fmt(ts):
        return " ".join(f"{t:.3f}" for t in ts)

    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print("fresh process, skmoe 1000-row fit (s):          " + fmt(t_fresh))
    print("fresh process, sklearn GaussianMixture (s):     " + fmt(t_fresh_base))
    print("warm fit n=1e5 d=10 K=4, skmoe (s):             " + fmt(t_moe))
    print(f"  EM iterations: {iters}")
    print("warm fit, sklearn GaussianMixture(4) on [X,y] (s): " + fmt(t_gmm))
    print(f"  EM iterations: {gmm_iters}")
    print("warm fit, sklearn LinearRegression (s):         " + fmt(t_lr))
    mf, mb = np.median(t_fresh), np.median(t_fresh_base)
    mm, mg, ml = np.median(t_moe), np.median(t_gmm), np.median(t_lr)
    print(
        f"median fresh-process skmoe {mf:.2f} s (target < 3), sklearn GaussianMixture {mb:.2f} s, "
        f"ratio {mf / mb:.2f}"
    )
    print(
        f"median warm fit skmoe {mm:.3f} s (target < 1), GaussianMixture {mg:.3f} s (ratio {mm / mg:.2f}), "
        f"LinearRegression {ml:.3f} s (ratio {mm / ml:.1f})"
    )


if __name__ == "__main__":
    main()
