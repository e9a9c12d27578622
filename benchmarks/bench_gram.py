"""A/B: the linear experts' statistics kernel of this checkout against another's.

Times :func:`skmoe._kernels.linear_sufficient_stats` (the K weighted Gram
matrices of ``[x, 1, y]``, the heart of the linear experts' M-step) on one
thread, on random data of the three shapes of issue 16's EM targets, in
fresh processes that alternate between the two checkouts, so that a shared
machine's load falls on both alike.  CPU time of the calling process (the
kernel is serial), best of ``--repeats`` calls per process, median over
``--rounds`` processes.  Each process also reports the GFLOP/s of the
useful work (the upper triangles: ``K n (d + 2) (d + 3)`` flops) and the
largest relative difference of its statistics from a NumPy ``einsum`` on the
first 20,000 rows (rounding only).

Usage::

    git worktree add /tmp/skmoe-before <commit>
    python benchmarks/bench_gram.py --against /tmp/skmoe-before
"""

from _ab_shapes import run_shapes

CHILD = r"""
import json, sys, time
import numpy as np
import skmoe
from skmoe._kernels import linear_sufficient_stats as f

n, d, K, repeats = (int(a) for a in sys.argv[1:5])
rng = np.random.default_rng(0)
X, y, W = rng.standard_normal((n, d)), rng.standard_normal(n), rng.random((n, K))
f(X[:2048], y[:2048], W[:2048])  # compile (or load from the cache)
times = []
for _ in range(repeats):
    t = time.process_time()
    f(X, y, W)
    times.append(time.process_time() - t)
m = 20000
A, b, syy = f(X[:m], y[:m], W[:m])
V = np.column_stack([X[:m], np.ones(m)])
ref = np.einsum("ik,ia,ib->kab", W[:m], V, V)
err = float(np.abs(A - ref).max() / np.abs(ref).max())
best = min(times)
print(json.dumps({"file": skmoe.__file__, "cpu_s": best, "gflops": K * n * (d + 2) * (d + 3) / best / 1e9, "err": err}))
"""


def report(n, d, K, res):
    line = [f"n={n} d={d} K={K}:"]
    med = {}
    for name, rows in res.items():
        cpu = sorted(r["cpu_s"] for r in rows)[len(rows) // 2]
        med[name] = cpu
        gf = n * K * (d + 2) * (d + 3) / cpu / 1e9
        err = max(r["err"] for r in rows)
        line.append(f"{name} {1e3 * cpu:.1f} ms CPU ({gf:.1f} GFLOP/s, rel. err {err:.1e});")
    if "against" in med:
        line.append(f"against / this = {med['against'] / med['this']:.2f}x")
    print(" ".join(line))


if __name__ == "__main__":
    run_shapes(__doc__.splitlines()[0], CHILD, "20x8,50x16,5x4", report)
