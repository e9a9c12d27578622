"""Where the gate's loss kernel spends its time, part by part (issue 16).

A copy of ``skmoe._kernels._softmax._softmax_regression_loss_grad`` with a
``level`` switch: level 1 forms the tile's logits only, each next level adds
the kernel's next step (targets and weights copied, loss terms, log-sum-exp,
the per-row loss, the gradient's rows, the zero-weight mask, the sums, the
gradient ``X^T G``).  One block of 32768 rows (in cache), one thread; prints
each level's increment in ns per row, for the narrow and the wide variant.
Compiled afresh (no cache).

Usage::

    python benchmarks/bench_loss_parts.py
"""

import time

import numpy as np
from numba import njit

from skmoe._kernels._estep import _tile_linear, _tile_linear_wide, _tile_logsumexp, tile_buffers
from skmoe._kernels._vector import (
    VECTOR_JIT_KWARGS,
    _tile_cross,
    _tile_dots,
    _tile_sum,
)
from skmoe._kernels._vector import (
    log_inline as fast_log,
)

kw = dict(VECTOR_JIT_KWARGS, cache=False)


def make(tile_linear, tile_grad):
    @njit(**kw)
    def k(X, W, b, targets, weights, sh, gW, gb, xt, z, e, t, m, s, tsum, row_loss, wt, level):
        n, d = X.shape
        K = W.shape[1]
        loss = 0.0
        tile = m.shape[0]
        for a in range(0, n, tile):
            nb = min(tile, n - a)
            tile_linear(X, a, nb, W, b, xt, z, sh)
            if level >= 2:
                for j in range(nb):
                    wt[j] = weights[a + j]
                    tsum[j] = 0.0
                    row_loss[j] = 0.0
                for k in range(K):
                    for j in range(nb):
                        t[k, j] = targets[a + j, k]
            if level >= 3:
                for k in range(K):
                    for j in range(nb):
                        e[k, j] = z[k, j]
                        tsum[j] += t[k, j]
                        row_loss[j] -= t[k, j] * z[k, j]
            if level >= 4:
                _tile_logsumexp(e, nb, m, s)
            if level >= 5:
                for j in range(nb):
                    lse = m[j] + fast_log(s[j])
                    keep = wt[j] != 0.0
                    row_loss[j] = wt[j] * (tsum[j] * lse + row_loss[j]) if keep else 0.0
                    s[j] = wt[j] * tsum[j] / s[j]
            if level >= 6:
                for k in range(K):
                    for j in range(nb):
                        g = s[j] * e[k, j] - wt[j] * t[k, j]
                        e[k, j] = g if wt[j] != 0.0 else 0.0
            if level >= 7:
                for t_ in range(d):
                    for j in range(nb):
                        xt[t_, j] = xt[t_, j] if wt[j] != 0.0 else 0.0
            if level >= 8:
                loss += _tile_sum(row_loss, nb)
                for k in range(K):
                    gb[k] += _tile_sum(e[k], nb)
            if level >= 9:
                tile_grad(xt, e, d, K, nb, gW)
        return loss

    return k


narrow = make(_tile_linear, _tile_dots)
wide = make(_tile_linear_wide, _tile_cross)
rng = np.random.default_rng(0)

n = 32768
for d, K in [(5, 4), (20, 8)]:
    X = rng.normal(size=(n, d))
    W = rng.normal(size=(d, K))
    b = rng.normal(size=K)
    T = rng.dirichlet(np.ones(K), size=n)
    sw = np.ones(n)
    sh = np.zeros(d)
    for name, kern in [("narrow", narrow), ("wide", wide)]:
        bufs = tile_buffers(d, K, K, K, None, None, None, None, None)
        gW = np.zeros((d, K))
        gb = np.zeros(K)
        prev = 0
        row = []
        for level in range(1, 10):
            kern(X, W, b, T, sw, sh, gW, gb, *bufs, level)
            ts = []
            for _ in range(30):
                t0 = time.perf_counter()
                kern(X, W, b, T, sw, sh, gW, gb, *bufs, level)
                ts.append(time.perf_counter() - t0)
            v = np.median(ts) / n * 1e9
            row.append(f"L{level}:{v - prev:+.1f}")
            prev = v
        print(d, K, name, f"total {prev:.1f} ns/row", " ".join(row))
