"""Benchmark: a 10^8-row fit through ``partial_fit`` (online EM) in bounded memory.

A known mixture of linear-Gaussian experts with a softmax gate (the model of
:func:`skmoe.datasets.make_moe_regression`, its parameters drawn once) is
sampled chunk by chunk: no more than one chunk of rows exists at a time, and
the full stream is never materialised.  Each chunk is passed to
``MixtureOfExpertsRegressor.partial_fit``.  Reported:

* rows per second of ``partial_fit`` alone (time inside the calls), and of
  the whole loop including the data generation;
* the peak resident set size of the process (``VmHWM`` from
  ``/proc/self/status``), after the stream and at the end, and the RSS after
  the imports and JIT warm-up for reference;
* the mean log-likelihood on a held-out sample of 10^5 rows of the online
  model, of a batch ``fit`` on another 10^5 rows, and of the true model (the
  oracle: what no estimate can beat on average).

Usage::

    python benchmarks/bench_partial_fit.py [--n-rows 100000000] [--chunk 10000]
        [--n-features 5] [--n-experts 4] [--seed 0]
"""

import argparse
import json
import os
import platform
import sys
import time

import numpy as np
from _procmem import vm_kib  # benchmarks/ is on sys.path when run as a script
from scipy.special import logsumexp

from skmoe import MixtureOfExpertsRegressor
from skmoe.datasets import make_moe_regression


def true_model(n_features, n_experts, seed):
    # make_moe_regression draws X first, then the parameters: with a fixed
    # n_samples the parameters are a function of the seed alone.
    _, _, p = make_moe_regression(
        n_samples=1, n_features=n_features, n_experts=n_experts, random_state=seed
    )
    return p


def draw(p, m, rng):
    """m rows from the true mixture (the generative model of make_moe_regression)."""
    d = p.coef.shape[1]
    X = rng.standard_normal((m, d))
    logits = X @ p.gate_coef + p.gate_intercept
    logits -= logits.max(axis=1, keepdims=True)
    G = np.exp(logits)
    G /= G.sum(axis=1, keepdims=True)
    u = rng.uniform(size=(m, 1))
    z = (u > np.cumsum(G, axis=1)[:, :-1]).sum(axis=1)
    y = (
        np.einsum("nd,nd->n", X, p.coef[z])
        + p.intercept[z]
        + p.noise_std[z] * rng.standard_normal(m)
    )
    return X, y


def true_loglik(p, X, y):
    logits = X @ p.gate_coef + p.gate_intercept
    log_g = logits - logsumexp(logits, axis=1, keepdims=True)
    mean = X @ p.coef.T + p.intercept
    var = p.noise_std**2
    log_n = -0.5 * (np.log(2 * np.pi * var) + (y[:, None] - mean) ** 2 / var)
    return logsumexp(log_g + log_n, axis=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-rows", type=float, default=1e8)
    ap.add_argument("--chunk", type=int, default=10_000)
    ap.add_argument("--n-features", type=int, default=5)
    ap.add_argument("--n-experts", type=int, default=4)
    ap.add_argument("--holdout", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    n_rows = int(args.n_rows)
    p = true_model(args.n_features, args.n_experts, args.seed)

    # JIT warm-up on a tiny stream, so compilation is not timed.
    warm = MixtureOfExpertsRegressor(n_experts=args.n_experts, random_state=0)
    for i in range(3):
        warm.partial_fit(*draw(p, 2000, np.random.default_rng([args.seed, 10**9 + i])))
    del warm
    rss_base = vm_kib("VmRSS")

    est = MixtureOfExpertsRegressor(n_experts=args.n_experts, random_state=0)
    t_fit = 0.0
    t0 = time.perf_counter()
    done = 0
    i = 0
    next_report = 0.1
    while done < n_rows:
        m = min(args.chunk, n_rows - done)
        X, y = draw(p, m, np.random.default_rng([args.seed, i]))  # chunk i, reproducible
        t = time.perf_counter()
        est.partial_fit(X, y)
        t_fit += time.perf_counter() - t
        done += m
        i += 1
        if done >= next_report * n_rows:
            elapsed = time.perf_counter() - t0
            print(
                f"  {done:.3g} rows, {elapsed:.0f} s, {done / elapsed:,.0f} rows/s, "
                f"VmHWM {vm_kib('VmHWM') / 1024:.0f} MiB, chunk log-lik {est.lower_bound_:.4f}",
                file=sys.stderr,
                flush=True,
            )
            next_report += 0.1
    wall = time.perf_counter() - t0
    hwm_stream = vm_kib("VmHWM")

    # Held-out comparison: online vs batch fit on 10^5 rows vs the truth.
    X_te, y_te = draw(p, args.holdout, np.random.default_rng([args.seed, 2 * 10**9]))
    X_tr, y_tr = draw(p, args.holdout, np.random.default_rng([args.seed, 2 * 10**9 + 1]))
    t = time.perf_counter()
    batch = MixtureOfExpertsRegressor(n_experts=args.n_experts, random_state=0, max_iter=500).fit(
        X_tr, y_tr
    )
    t_batch = time.perf_counter() - t
    ll_online = float(est.log_likelihood(X_te, y_te).mean())
    ll_batch = float(batch.log_likelihood(X_te, y_te).mean())
    ll_true = float(true_loglik(p, X_te, y_te).mean())
    out = {
        "n_rows": done,
        "chunk": args.chunk,
        "n_chunks": i,
        "n_features": args.n_features,
        "n_experts": args.n_experts,
        "wall_s": round(wall, 1),
        "partial_fit_s": round(t_fit, 1),
        "rows_per_s_partial_fit": round(done / t_fit),
        "rows_per_s_with_generation": round(done / wall),
        "rss_after_warmup_MiB": round(rss_base / 1024, 1),
        "peak_rss_VmHWM_after_stream_MiB": round(hwm_stream / 1024, 1),
        "peak_rss_VmHWM_end_MiB": round(vm_kib("VmHWM") / 1024, 1),
        "chunk_nbytes_MiB": round(args.chunk * (args.n_features + 1) * 8 / 2**20, 2),
        "heldout_loglik_online": round(ll_online, 5),
        "heldout_loglik_batch_1e5": round(ll_batch, 5),
        "heldout_loglik_true_model": round(ll_true, 5),
        "online_vs_batch_relative": round((ll_online - ll_batch) / abs(ll_batch), 5),
        "batch_fit_s": round(t_batch, 1),
        "batch_n_iter": int(batch.n_iter_),
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
