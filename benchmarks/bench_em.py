"""Benchmark A: one EM iteration against the floor of forming K weighted Gram matrices.

One EM iteration of :class:`~skmoe.MixtureOfExpertsRegressor` with K built-in
linear experts and a softmax gate (E-step, re-seed check, expert M-step and
gate M-step) is timed next to the cost of forming the K weighted Gram
matrices ``X^T diag(r_k) X`` with plain NumPy,
``(X * r[:, k:k+1]).T @ X`` for each k, in the same process.  The two are
run alternately (side by side, so that machine noise hits both alike);
medians over the repeats are reported.

The EM state is initialised from the true labels of the simulated data
(mostly, with a little noise) rather than k-means, so the timing is of EM
itself; a few iterations are run first so the gate is warm-started from a
non-trivial solution, as in the middle of a real fit.

Usage::

    python benchmarks/bench_em.py [--n 1000000] [--d 20] [--k 8] [--repeats 7]

Target (design.md section 5): the EM iteration costs at most 2x the floor at
n=10^6, d=20, K=8.
"""

import argparse
import gc
import os
import platform
import time

import numpy as np

from skmoe import MixtureOfExpertsRegressor
from skmoe.datasets import make_moe_regression


def gram_floor(X, r):
    out = []
    for k in range(r.shape[1]):
        out.append((X * r[:, k : k + 1]).T @ X)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=20)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup-iters", type=int, default=3)
    args = parser.parse_args()
    n, d, K = args.n, args.d, args.k

    X, y, params = make_moe_regression(n, d, K, random_state=0)
    rng = np.random.RandomState(0)
    resp0 = np.full((n, K), 0.2 / K)
    resp0[np.arange(n), params.labels] += 0.8

    est = MixtureOfExpertsRegressor(n_experts=K, random_state=0)
    named = est._named_experts()
    X, y, sw = est._validate_fit_data(X, y, None)
    gate = est._make_gate()
    gate._initialize(X, K)
    experts = est._make_expert_set(named, rng, None)
    print(f"expert set: {type(experts).__name__}, gate: {gate!r}")
    est._m_step(X, y, sw, resp0, gate, experts, 0, 0, rng)
    del resp0

    it = [0]

    def em_iteration():
        it[0] += 1
        resp, ll = est._e_step(X, y, gate, experts)
        lb = float(sw @ ll - gate._penalty()) / sw.sum()
        resp, _ = est._reseed(X, resp, ll, sw, rng)
        est._m_step(X, y, sw, resp, gate, experts, it[0], 0, rng)
        return lb

    for _ in range(args.warmup_iters):
        em_iteration()
    r = np.ascontiguousarray(est._e_step(X, y, gate, experts)[0])
    gram_floor(X[:1000], r[:1000])

    from threadpoolctl import threadpool_limits

    t_em, cpu_em, t_floor, t_floor1, lbs, gate_iters = [], [], [], [], [], []
    for _ in range(args.repeats):
        gc.collect()
        t0 = time.perf_counter()
        gram_floor(X, r)
        t_floor.append(time.perf_counter() - t0)
        gc.collect()
        with threadpool_limits(1, user_api="blas"):
            t0 = time.perf_counter()
            gram_floor(X, r)
            t_floor1.append(time.perf_counter() - t0)
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        lbs.append(em_iteration())
        t_em.append(time.perf_counter() - t0)
        cpu_em.append(time.process_time() - c0)
        gate_iters.append(getattr(gate, "n_iter_", -1))

    med_em, med_floor, med_floor1 = np.median(t_em), np.median(t_floor), np.median(t_floor1)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(f"n={n} d={d} K={K} repeats={args.repeats}")
    print("floor, default BLAS threads (s): " + " ".join(f"{t:.3f}" for t in t_floor))
    print("floor, 1 BLAS thread (s):        " + " ".join(f"{t:.3f}" for t in t_floor1))
    print("EM iteration (s):                " + " ".join(f"{t:.3f}" for t in t_em))
    print("EM iteration CPU time (s):       " + " ".join(f"{t:.3f}" for t in cpu_em))
    print("gate quasi-Newton steps per M-step: " + " ".join(str(g) for g in gate_iters))
    print("objective after each E-step: " + " ".join(f"{v:.6f}" for v in lbs))
    print(
        f"median EM iteration {med_em:.3f} s; median floor {med_floor:.3f} s (default BLAS threads), "
        f"{med_floor1:.3f} s (1 BLAS thread)"
    )
    print(
        f"ratio EM / floor: {med_em / med_floor:.2f} (default BLAS threads), "
        f"{med_em / med_floor1:.2f} (1 BLAS thread); target <= 2"
    )


if __name__ == "__main__":
    main()
