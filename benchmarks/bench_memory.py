"""Benchmark C: peak memory of a fit at n=10^6, d=20, K=8 against the size of X.

The data are simulated once and saved to ``.npy`` files; a fresh child
process loads them (so no temporary of the data generator inflates its
peak), records its resident set size (RSS), fits
``MixtureOfExpertsRegressor(n_experts=8)`` and reports

* the peak RSS increase over the RSS just before ``fit``: the kernel's
  high-water mark ``VmHWM`` (reset just before the fit by writing ``5`` to
  ``/proc/self/clear_refs``) after the fit, minus the RSS read from
  ``/proc/self/statm`` before it -- everything the fit allocated (NumPy,
  Numba, BLAS, k-means alike);
* the peak of Python-traced allocations during the fit (``tracemalloc``;
  NumPy reports its array buffers to it, Numba's runtime does not), for
  comparison.

Both are given as multiples of ``X.nbytes``.  Target (issue 16): at most 1.6x (below 3x before).

Usage::

    python benchmarks/bench_memory.py [--n 1000000] [--d 20] [--k 8] [--max-iter 100]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

CHILD = r"""
import json, os, resource, sys, time, tracemalloc, warnings
import numpy as np
from skmoe import MixtureOfExpertsRegressor

from _procmem import hwm, reset_hwm, rss

folder, K, max_iter, trace = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
X = np.load(os.path.join(folder, "X.npy"))
y = np.load(os.path.join(folder, "y.npy"))
# Warm the JIT caches on a tiny problem first so that compilation memory is
# not counted against the fit.
MixtureOfExpertsRegressor(n_experts=K, random_state=0, max_iter=3).fit(X[:2000], y[:2000])
# Reset the kernel's high-water mark (VmHWM) so that the peak read after the
# fit is the fit's own; where that is not allowed, the high-water mark so far
# is reported and the increase is a lower bound.
reset = reset_hwm()
before = rss()
peak_before = hwm() if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
if trace:
    tracemalloc.start()
t0 = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    est = MixtureOfExpertsRegressor(n_experts=K, random_state=0, max_iter=max_iter).fit(X, y)
secs = time.perf_counter() - t0
traced = tracemalloc.get_traced_memory()[1] if trace else None
peak = hwm()
print(json.dumps(dict(x_bytes=int(X.nbytes), rss_before=before, peak_before=peak_before,
                      peak_after=peak, traced_peak=traced, fit_s=secs, n_iter=int(est.n_iter_))))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--d", type=int, default=20)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--max-iter", type=int, default=100)
    args = parser.parse_args()
    from skmoe.datasets import make_moe_regression

    X, y, _ = make_moe_regression(args.n, args.d, args.k, random_state=0)
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
        for trace in ("0", "1"):
            out = subprocess.run(
                [sys.executable, "-c", CHILD, folder, str(args.k), str(args.max_iter), trace],
                check=True,
                capture_output=True,
                text=True,
                env=env,
            )
            res = json.loads(out.stdout.strip().splitlines()[-1])
            xb = res["x_bytes"]
            inc = res["peak_after"] - res["rss_before"]
            print(
                f"n={args.n} d={args.d} K={args.k}: X is {xb / 2**20:.0f} MiB; fit {res['fit_s']:.1f} s, "
                f"{res['n_iter']} EM iterations" + (" (tracemalloc on)" if trace == "1" else "")
            )
            print(
                f"  RSS before fit {res['rss_before'] / 2**20:.0f} MiB, peak RSS after "
                f"{res['peak_after'] / 2**20:.0f} MiB: increase {inc / 2**20:.0f} MiB = "
                f"{inc / xb:.2f} x X (issue 16 target: at most 1.6)"
            )
            if res["peak_before"] > res["rss_before"]:
                print(
                    f"  (high-water mark before the fit was already {res['peak_before'] / 2**20:.0f} MiB;"
                    " the increase is a lower bound if the fit stayed below it)"
                )
            if res["traced_peak"] is not None:
                print(
                    f"  tracemalloc peak during fit {res['traced_peak'] / 2**20:.0f} MiB = "
                    f"{res['traced_peak'] / xb:.2f} x X"
                )


if __name__ == "__main__":
    main()
