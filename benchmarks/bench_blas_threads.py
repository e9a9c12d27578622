"""A/B: a whole fit with the default BLAS threads vs under ``threadpool_limits(1)``.

Checks that the EM loop does not pay for threaded BLAS level-1/2 calls on
small reductions (a threaded ``ddot`` of 10^5 elements cost ms per call on a
busy machine before the EM path switched to ``einsum``).  n=10^5, d=2, K=3,
tol=1e-6, the two variants interleaved, median of 4 fits each; the two fits
must be identical (printed difference of lower bounds).

Usage::

    python benchmarks/bench_blas_threads.py
"""

import time, warnings, numpy as np
from threadpoolctl import threadpool_limits
from skmoe import MixtureOfExpertsRegressor
from skmoe.datasets import make_moe_regression

warnings.simplefilter("ignore")
X, y, _ = make_moe_regression(100_000, 2, 3, random_state=0)
MixtureOfExpertsRegressor(n_experts=3, random_state=0, max_iter=3).fit(X[:2000], y[:2000])
for gate in ["softmax", "constant"]:
    a, b = [], []
    for _ in range(4):
        t = time.perf_counter()
        m1 = MixtureOfExpertsRegressor(
            n_experts=3, gate=gate, random_state=0, tol=1e-6, max_iter=1000
        ).fit(X, y)
        a.append(time.perf_counter() - t)
        with threadpool_limits(1):
            t = time.perf_counter()
            m2 = MixtureOfExpertsRegressor(
                n_experts=3, gate=gate, random_state=0, tol=1e-6, max_iter=1000
            ).fit(X, y)
            b.append(time.perf_counter() - t)
    print(
        gate,
        "default",
        np.median(a),
        "blas1",
        np.median(b),
        m1.n_iter_,
        m1.lower_bound_ - m2.lower_bound_,
    )
