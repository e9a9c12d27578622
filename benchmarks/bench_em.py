"""Benchmark A: one EM iteration against the Gram-matrix floor, the matmul rate and a pass over X.

One EM iteration of :class:`~skmoe.MixtureOfExpertsRegressor` with K built-in
linear experts and a softmax gate (E-step, re-seed check, expert M-step and
gate M-step) is timed next to the cost of forming the K weighted Gram
matrices ``X^T diag(r_k) X`` with plain NumPy,
``(X * r[:, k:k+1]).T @ X`` for each k, in the same process.  The two are
run alternately (side by side, so that machine noise hits both alike);
medians over the repeats are reported.

Issue 16's measures are timed in the same loop, alternating with the EM
iteration and the floor:

* a large square matmul ``A @ A`` (``--matmul-size``, 3000 by default,
  float64), with the default BLAS threads and with 1 BLAS thread; its
  rate ``2 N^3 / t`` (median time) gives the machine's GFLOP/s, and the EM
  iteration is reported over ``2 K n d^2 / rate``, the time the K Gram
  matrices would take at that rate (target: at most 3x at n=10^6, d=20,
  K=8 and at n=10^6, d=50, K=16);
* one pass over X, ``X.sum(axis=0)``, and the EM iteration over its time
  (target: at most 3x at n=10^6, d=5, K=4, where the work is
  memory-bound).  For reference only, a contiguous streaming read
  ``X.ravel(order="K").sum()`` is timed too: at small d, ``X.sum(axis=0)`` on a
  C-ordered X is limited by NumPy's per-row reduction loop, not by memory
  bandwidth (about 1.9 GB/s at d=5 against about 15 GB/s for the
  streaming read on the 2-core Xeon of RESULTS.md).

The EM state is initialised from the true labels of the simulated data
(mostly, with a little noise) rather than k-means, so the timing is of EM
itself; a few iterations are run first so the gate is warm-started from a
non-trivial solution, as in the middle of a real fit.

Usage::

    python benchmarks/bench_em.py [--n 1000000] [--d 20] [--k 8] [--repeats 7]
                                  [--matmul-size 3000]

Targets: (design.md section 5) the EM iteration costs at most 2x the floor at
n=10^6, d=20, K=8; (issue 16) at most 3x ``2 K n d^2 / rate`` at
(10^6, 20, 8) and (10^6, 50, 16), at most 3x one pass over X at
(10^6, 5, 4).
"""

import argparse
import gc
import os
import platform
import time

import numpy as np
from _machine import cpu_model

from skmoe import MixtureOfExpertsRegressor
from skmoe.datasets import make_moe_regression


def gram_floor(X, r):
    out = []
    for k in range(r.shape[1]):
        out.append((X * r[:, k : k + 1]).T @ X)
    return out


def matmul_time(A):
    t0 = time.perf_counter()
    A @ A
    return time.perf_counter() - t0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=20)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup-iters", type=int, default=3)
    parser.add_argument(
        "--matmul-size",
        type=int,
        default=3000,
        help="N of the N x N float64 A @ A timed for the machine's GFLOP/s rate",
    )
    args = parser.parse_args()
    n, d, K = args.n, args.d, args.k
    load_start = os.getloadavg()

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
    ahead = [None]

    def em_iteration():
        it[0] += 1
        # The E-step as fit runs it (one fused pass for this gate and these
        # experts, which also evaluates the gate's first M-step loss; after
        # the first iteration usually already run by the previous M-step's
        # look-ahead), where the code has it; the older E-step otherwise (A/B
        # against older trees).
        if ahead[0] is not None:
            (resp, ll, gate_eval, mass), ahead[0] = ahead[0], None
        elif hasattr(est, "_em_e_step"):
            resp, ll, gate_eval, mass = est._em_e_step(X, y, sw, gate, experts)
        else:
            (resp, ll), gate_eval, mass = est._e_step(X, y, gate, experts), None, None
        lb = float(sw @ ll - gate._penalty()) / sw.sum()
        if gate_eval is None:
            resp, _ = est._reseed(X, resp, ll, sw, rng)
            est._m_step(X, y, sw, resp, gate, experts, it[0], 0, rng)
        else:
            resp, dead = est._reseed(X, resp, ll, sw, rng, mass=mass)
            gate_eval = None if dead.size else gate_eval
            ahead[0] = est._m_step(
                X, y, sw, resp, gate, experts, it[0], 0, rng, gate_eval=gate_eval
            )
        return lb

    for _ in range(args.warmup_iters):
        em_iteration()
    r = np.ascontiguousarray(est._e_step(X, y, gate, experts)[0])
    gram_floor(X[:1000], r[:1000])

    from threadpoolctl import threadpool_limits

    N = args.matmul_size
    A = np.random.RandomState(1).standard_normal((N, N))
    # Warm both thread settings (thread pool start-up, page faults of the output).
    matmul_time(A)
    with threadpool_limits(1, user_api="blas"):
        matmul_time(A)
    X.sum(axis=0)

    t_em, cpu_em, t_floor, t_floor1, lbs, gate_iters = [], [], [], [], [], []
    t_mm, t_mm1, t_pass, t_stream = [], [], [], []
    # A view (order="K") of a contiguous X; None otherwise (no copy is timed).
    flat = X.ravel(order="K") if X.flags.c_contiguous or X.flags.f_contiguous else None
    for _ in range(args.repeats):
        gc.collect()
        t_mm.append(matmul_time(A))
        with threadpool_limits(1, user_api="blas"):
            t_mm1.append(matmul_time(A))
        gc.collect()
        t0 = time.perf_counter()
        X.sum(axis=0)
        t_pass.append(time.perf_counter() - t0)
        if flat is not None:
            t0 = time.perf_counter()
            flat.sum()
            t_stream.append(time.perf_counter() - t0)
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
    med_mm, med_mm1, med_pass = np.median(t_mm), np.median(t_mm1), np.median(t_pass)
    load_end = os.getloadavg()
    print(
        f"machine: {platform.machine()}, {cpu_model()}, {os.cpu_count()} CPUs, "
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"load average {load_end[0]:.2f}"
    )
    print(
        "load average (1, 5, 15 min) at start: "
        + " ".join(f"{v:.2f}" for v in load_start)
        + "; at end: "
        + " ".join(f"{v:.2f}" for v in load_end)
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

    # Issue 16: the EM iteration against the matmul rate and one pass over X.
    mm_flop = 2.0 * N**3
    rate, rate1 = mm_flop / med_mm, mm_flop / med_mm1
    gram_flop = 2.0 * K * n * d * d
    t_rate, t_rate1 = gram_flop / rate, gram_flop / rate1
    print(
        f"matmul {N}x{N} float64, default BLAS threads (s): " + " ".join(f"{t:.3f}" for t in t_mm)
    )
    print(
        f"matmul {N}x{N} float64, 1 BLAS thread (s):        " + " ".join(f"{t:.3f}" for t in t_mm1)
    )
    print("one pass over X, X.sum(axis=0) (s):  " + " ".join(f"{t:.4f}" for t in t_pass))
    print(
        f"matmul rate (median): {rate / 1e9:.1f} GFLOP/s (default BLAS threads), "
        f"{rate1 / 1e9:.1f} GFLOP/s (1 BLAS thread)"
    )
    print(
        f"2 K n d^2 = {gram_flop / 1e9:.3f} GFLOP: {t_rate * 1e3:.1f} ms at the default-threads rate, "
        f"{t_rate1 * 1e3:.1f} ms at the 1-thread rate"
    )
    print(
        f"ratio EM / (2 K n d^2 / rate): {med_em / t_rate:.2f} (default BLAS threads), "
        f"{med_em / t_rate1:.2f} (1 BLAS thread); issue 16 target <= 3 at (1e6, 20, 8), (1e6, 50, 16)"
    )
    print(
        f"median pass over X {med_pass * 1e3:.1f} ms ({X.nbytes / med_pass / 1e9:.2f} GB/s); "
        f"ratio EM / pass over X: {med_em / med_pass:.2f}; issue 16 target <= 3 at (1e6, 5, 4)"
    )
    if t_stream:
        med_stream = np.median(t_stream)
        print(
            "streaming read X.ravel(order='K').sum() (s): " + " ".join(f"{t:.4f}" for t in t_stream)
        )
        print(
            f"reference only: median streaming read {med_stream * 1e3:.1f} ms "
            f"({X.nbytes / med_stream / 1e9:.2f} GB/s); EM / streaming read: {med_em / med_stream:.2f}"
        )


if __name__ == "__main__":
    main()
