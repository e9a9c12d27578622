"""Benchmark of the sparse MoE layer (skmoe.neural._layer.SparseMoELayer).

For each configuration (T rows, model width d, expert hidden width h, E
experts, top-k) the layer ``d -> h -> d`` (GELU, no biases, as a Transformer
FFN) is timed forward and forward+backward, next to

* a **same-FLOP dense matmul**: one FFN ``(T*k, d) @ (d, h) @ (h, d)`` with
  the same activation (the floor a perfect MoE kernel would reach);
* a **naive per-expert loop**: route, then for each expert ``nonzero`` its
  rows, run its FFN and ``index_add_`` the gated result (the usual first
  implementation; it synchronises with the host once per expert);
* **all experts**: the layer's dense backend, every expert on every row.

Expert weights are stored in the matmul dtype (bfloat16 on the GPU), as the
baseline's are; ``--fp32-masters`` keeps float32 expert weights and casts
them in every call, as the estimators do in training.  The router is float32.

Reported: rows/s, TFLOP/s (forward counted as ``4*T*k*d*h``, forward+backward
as 3x that), and the ratios of the layer's time to each baseline's.  On CUDA
the number of host synchronisations in one forward of the layer is counted
with ``torch.cuda.set_sync_debug_mode("warn")`` (each synchronising call
warns once); the fast path's target is zero.

Modes
-----
``--mode gpu`` (CUDA, bfloat16 expert matmuls, float32 router): the grid of
issue 5, T=65536, d in {256, 512, 1024}, h=4d, E in {8, 16, 64}, k in {1, 2},
plus (T=40960, d=768, h=1024, E=32, k=2).

``--mode cpu`` (float32): a smaller grid, T=2048, d in {64, 128, 256}, h=4d,
E in {8, 16, 64}, k in {1, 2}.  On the CPU the layer uses its padded
fallback (the grouped kernel exists there but is slower); the all-experts
baseline is timed once when it would take more than a few seconds.

Usage::

    python benchmarks/bench_moe_layer.py --mode cpu [--threads 1] [--json out.json]
    python benchmarks/bench_moe_layer.py --mode gpu
"""

import argparse
import json
import os
import platform
import time
import warnings

import torch
import torch.nn.functional as F
from _machine import cpu_model  # benchmarks/ is on sys.path when run as a script

from skmoe.neural._layer import SparseMoELayer
from skmoe.neural._routing import top_k_gates

GPU_GRID = [
    (65536, d, 4 * d, E, k) for d in (256, 512, 1024) for E in (8, 16, 64) for k in (1, 2)
] + [(40960, 768, 1024, 32, 2)]
CPU_GRID = [(2048, d, 4 * d, E, k) for d in (64, 128, 256) for E in (8, 16, 64) for k in (1, 2)]


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timeit(fn, device, *, min_time=0.3, min_reps=3, max_reps=50, budget=None):
    """Median seconds of ``fn()`` (after one warm-up call)."""
    fn()
    _sync(device)
    times = []
    start = time.perf_counter()
    while len(times) < max_reps:
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - start
        if len(times) >= min_reps and elapsed > min_time:
            break
        if budget is not None and elapsed > budget:
            break
    times.sort()
    return times[len(times) // 2]


def naive_forward(layer, x, dtype):
    """Route, then loop over experts with nonzero / index_add_ (the baseline)."""
    logits = F.linear(x.float(), layer.router.weight, layer.router.bias)
    idx, gates, _ = top_k_gates(logits, layer.top_k)
    out = torch.zeros(x.shape[0], layer.out_features, device=x.device, dtype=torch.float32)
    w1, w2 = layer.weights[0], layer.weights[1]
    for e in range(layer.n_experts):
        rows, slot = torch.nonzero(idx == e, as_tuple=True)
        if rows.numel() == 0:
            continue
        h = F.gelu(x[rows].to(dtype) @ w1[e].to(dtype).T) @ w2[e].to(dtype).T
        out.index_add_(0, rows, h.float() * gates[rows, slot].unsqueeze(1))
    return out


def count_syncs(fn, device):
    """Host synchronisations during one call of fn (CUDA only)."""
    if device.type != "cuda":
        return None
    _sync(device)
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fn()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message).lower() for w in caught)


def bench_config(T, d, h, E, k, device, dtype, *, all_experts_budget, fp32_masters=False):
    gen = torch.Generator().manual_seed(0)
    layer = SparseMoELayer(
        d, d, E, k, hidden_sizes=(h,), activation="gelu", bias=False, generator=gen
    )
    # Expert weights stored in the matmul dtype (as the same-FLOP baseline's
    # are), router weights in float32; --fp32-masters keeps float32 expert
    # weights and casts them in every call, as the estimators train.
    layer.to(device)
    if not fp32_masters:
        layer.weights.to(dtype)
    x = torch.randn(T, d, generator=gen).to(device=device, dtype=dtype)
    x_grad = x.clone().requires_grad_()
    backend = layer.resolve_backend(device, dtype, T)
    flops_fwd = 4 * T * k * d * h

    def fwd(backend=backend):
        with torch.no_grad():
            return layer(x, expert_dtype=dtype, backend=backend).output

    def fwd_bwd(backend=backend):
        out = layer(x_grad, expert_dtype=dtype, backend=backend).output
        out.backward(torch.ones_like(out))

    # Same-FLOP dense FFN on T*k rows.
    xd = torch.randn(T * k, d, generator=gen).to(device=device, dtype=dtype)
    xd_grad = xd.clone().requires_grad_()
    w1 = (torch.randn(h, d, generator=gen) / d**0.5).to(device=device, dtype=dtype).requires_grad_()
    w2 = (torch.randn(d, h, generator=gen) / h**0.5).to(device=device, dtype=dtype).requires_grad_()

    def dense_fwd():
        with torch.no_grad():
            return F.linear(F.gelu(F.linear(xd, w1)), w2)

    def dense_fwd_bwd():
        out = F.linear(F.gelu(F.linear(xd_grad, w1)), w2)
        out.backward(torch.ones_like(out))

    def naive_fwd():
        with torch.no_grad():
            return naive_forward(layer, x, dtype)

    def naive_fwd_bwd():
        out = naive_forward(layer, x_grad, dtype)
        out.backward(torch.ones_like(out))

    row = dict(T=T, d=d, h=h, E=E, k=k, backend=backend, dtype=str(dtype).replace("torch.", ""))
    for phase, mine, dense, naive, factor in [
        ("fwd", fwd, dense_fwd, naive_fwd, 1),
        ("fwd+bwd", fwd_bwd, dense_fwd_bwd, naive_fwd_bwd, 3),
    ]:
        t = timeit(mine, device)
        t_dense = timeit(dense, device)
        t_naive = timeit(naive, device)
        if backend == "dense":
            t_all = t
        else:
            t_all = timeit(
                lambda m=mine, p=phase: (fwd if p == "fwd" else fwd_bwd)(backend="dense"),
                device,
                min_reps=1,
                budget=all_experts_budget,
            )
        row[phase] = dict(
            seconds=t,
            rows_per_s=T / t,
            tflops=factor * flops_fwd / t / 1e12,
            vs_same_flop_dense=t / t_dense,
            naive_loop_over_layer=t_naive / t,
            all_experts_over_layer=t_all / t,
        )
    row["host_syncs_per_forward"] = count_syncs(fwd, device)
    return row


def machine():
    info = dict(
        python=platform.python_version(), torch=torch.__version__, threads=torch.get_num_threads()
    )
    info["nproc"] = os.cpu_count()
    info["cpu"] = cpu_model()
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mode", choices=["gpu", "cpu"], default="gpu" if torch.cuda.is_available() else "cpu"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--json", default=None, help="write the rows to this file")
    parser.add_argument("--only", default=None, help="comma-separated indices into the grid")
    parser.add_argument(
        "--fp32-masters", action="store_true", help="float32 expert weights cast per call"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.mode == "gpu":
        if not torch.cuda.is_available():
            raise SystemExit("--mode gpu needs CUDA")
        device, dtype, grid, budget = torch.device("cuda"), torch.bfloat16, GPU_GRID, 30.0
    else:
        device, dtype, grid, budget = torch.device("cpu"), torch.float32, CPU_GRID, 3.0
    if args.only:
        grid = [grid[int(i)] for i in args.only.split(",")]
    print(json.dumps(machine()))
    header = (
        f"{'T':>6} {'d':>5} {'h':>5} {'E':>3} {'k':>2} {'backend':>8} | "
        f"{'phase':>7} {'rows/s':>10} {'TFLOP/s':>8} {'/dense':>7} {'naive/x':>8} {'all/x':>7}"
    )
    print(header)
    rows = []
    for T, d, h, E, k in grid:
        row = bench_config(
            T, d, h, E, k, device, dtype, all_experts_budget=budget, fp32_masters=args.fp32_masters
        )
        rows.append(row)
        for phase in ("fwd", "fwd+bwd"):
            r = row[phase]
            print(
                f"{T:>6} {d:>5} {h:>5} {E:>3} {k:>2} {row['backend']:>8} | {phase:>7} "
                f"{r['rows_per_s']:>10.3g} {r['tflops']:>8.3g} {r['vs_same_flop_dense']:>7.2f} "
                f"{r['naive_loop_over_layer']:>8.2f} {r['all_experts_over_layer']:>7.2f}",
                flush=True,
            )
        if row["host_syncs_per_forward"] is not None:
            print(f"    host synchronisations per forward: {row['host_syncs_per_forward']}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(machine=machine(), mode=args.mode, rows=rows), fh, indent=1)


if __name__ == "__main__":
    main()
