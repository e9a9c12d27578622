"""GridSearchCV with n_jobs=2 against n_jobs=1 (issue 15, cooperative threads).

Each loky worker of GridSearchCV(n_jobs=2) used to start skmoe's full
row-block thread pool, so on 2 cores four threads fought for two and the
parallel search was slower than the sequential one.  With the thread budget
following scikit-learn's rule (joblib's inner thread cap in its workers) each
worker runs its passes on one thread.

The workers are started (and their Numba caches loaded) by an untimed
search first; then the two searches alternate ``--repeats`` times and the
medians are printed.  Run it from a checkout (``PYTHONPATH`` picks the tree)::

    python benchmarks/bench_cooperative_threads.py --repeats 3
"""

import argparse
import os
import sys
import time
import warnings
from datetime import date

import numpy as np
from sklearn.model_selection import GridSearchCV, KFold

sys.path.insert(0, os.path.dirname(__file__))
from _machine import cpu_model  # noqa: E402

from skmoe import MixtureOfExpertsRegressor  # noqa: E402
from skmoe.datasets import make_moe_regression  # noqa: E402


def search(X, y, n_jobs):
    est = MixtureOfExpertsRegressor(n_experts=3, max_iter=30, random_state=0)
    grid = {"gate": ["softmax", "constant"], "n_init": [1, 2]}
    gs = GridSearchCV(est, grid, cv=KFold(3, shuffle=True, random_state=0), n_jobs=n_jobs)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gs.fit(X, y)
    return time.perf_counter() - t0, gs.cv_results_["mean_test_score"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-samples", type=int, default=150_000)
    args = parser.parse_args()
    X, y, _ = make_moe_regression(
        n_samples=args.n_samples, n_features=3, n_experts=3, noise=0.5, random_state=0
    )
    search(X[:3000], y[:3000], 2)  # start the loky workers, load the kernels
    search(X[:3000], y[:3000], 1)
    times = {1: [], 2: []}
    scores = {}
    for _ in range(args.repeats):
        for n_jobs in (1, 2):
            t, s = search(X, y, n_jobs)
            times[n_jobs].append(t)
            scores[n_jobs] = s
    # The same scores (to BLAS's rounding: one BLAS thread in the workers).
    assert np.allclose(scores[1], scores[2], rtol=1e-9), (scores[1], scores[2])
    t1, t2 = np.median(times[1]), np.median(times[2])
    print(f"# {cpu_model()}, {os.cpu_count()} CPUs, {date.today()}, n={args.n_samples}")
    print(f"n_jobs=1: {t1:.2f} s (runs {', '.join(f'{t:.2f}' for t in times[1])})")
    print(f"n_jobs=2: {t2:.2f} s (runs {', '.join(f'{t:.2f}' for t in times[2])})")
    print(f"speed-up n_jobs=2 over n_jobs=1: {t1 / t2:.2f}x")


if __name__ == "__main__":
    main()
