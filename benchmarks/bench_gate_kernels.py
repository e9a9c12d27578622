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

import argparse
import json
import os
import subprocess
import sys

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


def run(path, n, d, K, repeats):
    env = dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(n), str(d), str(K), str(repeats)],
        env=env,
        cwd=os.path.dirname(path.rstrip(os.sep)) or os.sep,  # not a checkout: `-c` imports from cwd
        capture_output=True,
        text=True,
        check=True,
    )
    res = json.loads(out.stdout.strip().splitlines()[-1])
    if not res["file"].startswith(os.path.abspath(path)):
        raise RuntimeError(f"{path}: the child imported {res['file']}")
    return res


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default=None, help="the baseline checkout")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--shapes", default="20x8,50x16,5x4,2x3", help="d x K pairs")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sides = [("this", here)] + ([("against", args.against)] if args.against else [])
    print(f"load average at start: {os.getloadavg()}")
    parts = ("loss", "fused", "fused+ahead")
    for shape in args.shapes.split(","):
        d, K = (int(v) for v in shape.split("x"))
        res = {name: [] for name, _ in sides}
        for _ in range(args.rounds):
            for name, path in sides:
                res[name].append(run(path, args.n, d, K, args.repeats))
        line = [f"n={args.n} d={d} K={K}:"]
        for part in parts:
            med = {
                name: sorted(r[part] for r in rows)[len(rows) // 2] for name, rows in res.items()
            }
            text = f"{part} {med['this']:.1f} ns/row"
            if "against" in med:
                text += f" (against {med['against']:.1f}, {med['against'] / med['this']:.2f}x)"
            line.append(text)
        print(" ".join(line), "; check", [r[0]["check"] for r in res.values()])
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
