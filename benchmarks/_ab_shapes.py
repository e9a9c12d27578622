"""Shared driver of the A/B kernel benchmarks (``bench_gram.py``, ``bench_gate_kernels.py``).

A child script (``code``, run with ``python -c``) times a kernel of the
checkout on ``PYTHONPATH`` for one shape ``(n, d, K)`` on one thread and
prints a JSON line; :func:`run_shapes` runs it for each shape in fresh
processes that alternate between this checkout and ``--against``, and hands
the results of each shape to ``report``.
"""

import argparse
import json
import os
import subprocess
import sys


def run_child(code, path, n, d, K, repeats):
    """The JSON line of ``code`` run on the checkout at ``path``, on one thread."""
    env = dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", code, str(n), str(d), str(K), str(repeats)],
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


def run_shapes(description, code, default_shapes, report):
    """Parse the common options, run ``code`` per shape and side, call
    ``report(n, d, K, {side: [result per round]})`` for each shape."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--against", default=None, help="the baseline checkout")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--shapes", default=default_shapes, help="d x K pairs")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sides = [("this", here)] + ([("against", args.against)] if args.against else [])
    print(f"load average at start: {os.getloadavg()}")
    for shape in args.shapes.split(","):
        d, K = (int(v) for v in shape.split("x"))
        res = {name: [] for name, _ in sides}
        for _ in range(args.rounds):
            for name, path in sides:
                res[name].append(run_child(code, path, args.n, d, K, args.repeats))
        report(args.n, d, K, res)
    print(f"load average at end: {os.getloadavg()}")
