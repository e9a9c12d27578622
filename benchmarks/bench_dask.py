"""Benchmark: exact EM on a Dask array vs the in-memory fit (time, peak memory, agreement).

The data (``make_moe_regression``) are simulated once and saved to ``.npy``
files.  Two fresh child processes then fit the same
``MixtureOfExpertsRegressor`` (softmax gate, built-in linear experts, same
``random_state``):

* **in memory**: loads X and y, fits;
* **Dask**: starts a loopback ``LocalCluster`` of ``--workers`` worker
  processes (one thread each), builds X as a Dask array whose row blocks of
  ``--chunk`` rows are read by the workers from the ``.npy`` file (the client
  never holds X), fits, and reads every worker's memory with
  ``client.run``.

Memory is the resident set size (RSS): the kernel's high-water mark
``VmHWM`` is reset (``/proc/self/clear_refs``) in every process just before
the fit, so "peak" is the highest RSS during the fit and "increase" is that
peak minus the RSS just before it.  A worker's RSS before the fit holds no
data (the blocks are read during the fit), so its increase includes its share
of X, y, the sample weights and the responsibilities, which the Dask fit
keeps on the workers.

The script prints one table and the largest difference between the two
fits' predictions and objective (they are the same EM; see skmoe._dask).

Usage::

    python benchmarks/bench_dask.py [--n 1000000] [--d 10] [--k 4] [--chunk 125000]
        [--workers 2] [--max-iter 30]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

COMMON = r"""
import gc, json, os, resource, sys, time, warnings
import numpy as np

from _procmem import hwm, reset_hwm, rss

folder, K, max_iter = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
from skmoe import MixtureOfExpertsRegressor
kw = dict(n_experts=K, random_state=0, max_iter=max_iter)
"""

IN_MEMORY = (
    COMMON
    + r"""
X = np.load(os.path.join(folder, "X.npy"))
y = np.load(os.path.join(folder, "y.npy"))
# JIT caches warm, so that compilation is not counted.
MixtureOfExpertsRegressor(n_experts=K, random_state=0, max_iter=2).fit(X[:2000], y[:2000])
reset = reset_hwm()
before = rss()
t0 = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    est = MixtureOfExpertsRegressor(**kw).fit(X, y)
secs = time.perf_counter() - t0
peak = hwm()
np.save(os.path.join(folder, "pred_mem.npy"), est.predict(X[:10000]))
print(json.dumps(dict(fit_s=secs, n_iter=int(est.n_iter_), lb=est.lower_bound_, reset=reset,
                      before=before, peak=peak, x_bytes=int(X.nbytes))))
"""
)

DASK = (
    COMMON
    + r"""
import dask, dask.array as da
from distributed import Client, LocalCluster

chunk, workers = int(sys.argv[4]), int(sys.argv[5])

def load_block(path, a, b):
    return np.array(np.load(path, mmap_mode="r")[a:b])

def worker_reset():
    return reset_hwm(), rss()

def worker_peak():
    return rss(), hwm()

if __name__ == "__main__":
    xpath, ypath = os.path.join(folder, "X.npy"), os.path.join(folder, "y.npy")
    Xm = np.load(xpath, mmap_mode="r")
    n, d = Xm.shape
    del Xm
    starts = list(range(0, n, chunk))
    X = da.concatenate([
        da.from_delayed(dask.delayed(load_block)(xpath, a, min(a + chunk, n)),
                        shape=(min(a + chunk, n) - a, d), dtype=np.float64)
        for a in starts])
    y = da.concatenate([
        da.from_delayed(dask.delayed(load_block)(ypath, a, min(a + chunk, n)),
                        shape=(min(a + chunk, n) - a,), dtype=np.float64)
        for a in starts])
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None)
    client = Client(cluster)
    # Warm every worker's JIT caches and imports on a small in-memory problem.
    small = da.from_array(np.random.RandomState(0).randn(2000, d), chunks=(1000, d))
    MixtureOfExpertsRegressor(n_experts=K, random_state=0, max_iter=2).fit(small, small[:, 0])
    w_before = client.run(worker_reset)
    reset = reset_hwm()
    before = rss()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MixtureOfExpertsRegressor(**kw).fit(X, y)
    secs = time.perf_counter() - t0
    peak = hwm()
    w_after = client.run(worker_peak)
    Xs = np.array(np.load(xpath, mmap_mode="r")[:10000])
    np.save(os.path.join(folder, "pred_dask.npy"), est.predict(Xs))
    workers_out = {str(i): dict(before=w_before[k][1], peak=w_after[k][1], reset=w_before[k][0])
                   for i, k in enumerate(sorted(w_before))}
    client.close()
    cluster.close()
    print(json.dumps(dict(fit_s=secs, n_iter=int(est.n_iter_), lb=est.lower_bound_, reset=reset,
                          before=before, peak=peak, workers=workers_out, n_blocks=len(starts))))
"""
)


def _run(code, args, env):
    out = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=10)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--chunk", type=int, default=125_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-iter", type=int, default=30)
    args = parser.parse_args()
    from skmoe.datasets import make_moe_regression

    X, y, _ = make_moe_regression(args.n, args.d, args.k, random_state=0)
    x_mib = X.nbytes / 2**20
    mib = 2**20
    with tempfile.TemporaryDirectory() as folder:
        np.save(os.path.join(folder, "X.npy"), X)
        np.save(os.path.join(folder, "y.npy"), y)
        del X, y
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [
                os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                os.path.dirname(os.path.abspath(__file__)),
                env.get("PYTHONPATH", ""),
            ]
        )
        mem = _run(IN_MEMORY, [folder, args.k, args.max_iter], env)
        dsk = _run(DASK, [folder, args.k, args.max_iter, args.chunk, args.workers], env)
        diff = np.max(
            np.abs(
                np.load(os.path.join(folder, "pred_mem.npy"))
                - np.load(os.path.join(folder, "pred_dask.npy"))
            )
        )
    print(
        f"n={args.n} d={args.d} K={args.k}: X is {x_mib:.0f} MiB; Dask: {dsk['n_blocks']} blocks "
        f"of {args.chunk} rows, {args.workers} worker processes x 1 thread"
    )
    print(
        "| fit | time s | EM iterations | process | RSS before MiB | peak RSS MiB | increase MiB | increase / X |"
    )
    print("|---|---|---|---|---|---|---|---|")
    inc = mem["peak"] - mem["before"]
    print(
        f"| in memory | {mem['fit_s']:.1f} | {mem['n_iter']} | the process | {mem['before'] / mib:.0f} | "
        f"{mem['peak'] / mib:.0f} | {inc / mib:.0f} | {inc / mib / x_mib:.2f} |"
    )
    inc = dsk["peak"] - dsk["before"]
    print(
        f"| Dask | {dsk['fit_s']:.1f} | {dsk['n_iter']} | client | {dsk['before'] / mib:.0f} | "
        f"{dsk['peak'] / mib:.0f} | {inc / mib:.0f} | {inc / mib / x_mib:.2f} |"
    )
    for name, w in dsk["workers"].items():
        inc = w["peak"] - w["before"]
        print(
            f"| | | | worker {name} | {w['before'] / mib:.0f} | {w['peak'] / mib:.0f} | "
            f"{inc / mib:.0f} | {inc / mib / x_mib:.2f} |"
        )
    print(
        f"time Dask / in memory: {dsk['fit_s'] / mem['fit_s']:.2f}; lower bound in memory "
        f"{mem['lb']:.12g}, Dask {dsk['lb']:.12g} (difference {abs(mem['lb'] - dsk['lb']):.2g}); "
        f"largest prediction difference on 10 000 rows {diff:.2g}"
    )
    if not (mem["reset"] and dsk["reset"]):
        print("(the high-water mark could not be reset: peaks are since process start)")


if __name__ == "__main__":
    main()
