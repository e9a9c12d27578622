"""A/B: the gate's loss/gradient kernel and the fused E-step of this checkout against another's.

Times, on one thread, nanoseconds per row of

* ``loss``: :func:`skmoe._kernels.softmax_regression_loss_grad` (the gate's
  soft-target cross-entropy and its gradient, one call on all rows), and
* ``fused`` / ``fused+ahead``: the fused E-step kernel
  (``skmoe._kernels._fused._softmax_gaussian_estep_into``) on the engine's
  blocks of ``THREAD_BLOCK_ROWS`` rows, without and with the look-ahead
  (the previous targets' loss and gradient as well),

on random data of the three shapes of issue 16's EM targets plus the
flexmix comparison's (d=2, K=3), in fresh processes that alternate between
the two checkouts (so that a shared machine's load falls on both alike):
best of ``--repeats`` calls per process, median over ``--rounds``
processes.  Each process also prints the loss and one gradient entry, which
must agree between the checkouts to rounding.

Usage::

    git worktree add /tmp/skmoe-before <commit>
    python benchmarks/bench_gate_kernels.py --against /tmp/skmoe-before
"""

from _ab_shapes import run_shapes

CHILD = r"""
import json, sys, time
import numpy as np
import skmoe
from skmoe._kernels import softmax_regression_loss_grad
from skmoe._kernels._config import THREAD_BLOCK_ROWS as B
from skmoe._kernels._fused import _softmax_gaussian_estep_into as fused

n, d, K, repeats = (int(a) for a in sys.argv[1:5])
r = np.random.RandomState(0)
X, y, sw = r.randn(n, d), r.randn(n), np.ones(n)
Wg, bg, shg = 0.3 * r.randn(d, K), r.randn(K), X.mean(axis=0)
coef, ic, var = r.randn(d, K), r.randn(K), r.uniform(0.5, 2.0, K)
T = r.dirichlet(np.ones(K), n)
resp, log_norm = np.empty((n, K)), np.empty(n)


def best(f):
    f(min(n, 5000))  # compile (or load from the cache)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        f(n)
        times.append(time.perf_counter() - t)
    return min(times) / n * 1e9


def run_fused(ahead):
    def f(m):
        for a in range(0, m, B):
            z = min(m, a + B)
            fused(X[a:z], X[a:z], y[a:z], sw[a:z], Wg, bg, shg, coef, ic, var, shg,
                  resp[a:z], log_norm[a:z], ahead)
    return f


out = {"file": skmoe.__file__}
out["loss"] = best(lambda m: softmax_regression_loss_grad(X[:m], Wg, bg, T[:m], sw[:m], shg))
out["fused"] = best(run_fused(False))
out["fused+ahead"] = best(run_fused(True))
loss, gW, _ = softmax_regression_loss_grad(X, Wg, bg, T, sw, shg)
out["check"] = [loss, gW[0, 0]]
print(json.dumps(out))
"""


def report(n, d, K, res):
    line = [f"n={n} d={d} K={K}:"]
    for part in ("loss", "fused", "fused+ahead"):
        med = {name: sorted(r[part] for r in rows)[len(rows) // 2] for name, rows in res.items()}
        text = f"{part} {med['this']:.1f} ns/row"
        if "against" in med:
            text += f" (against {med['against']:.1f}, {med['against'] / med['this']:.2f}x)"
        line.append(text)
    print(" ".join(line), "; check", [rows[0]["check"] for rows in res.values()])


if __name__ == "__main__":
    run_shapes(__doc__.splitlines()[0], CHILD, "20x8,50x16,5x4,2x3", report)
