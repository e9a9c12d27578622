"""First fit in a fresh install, and ``import skmoe`` against ``import sklearn`` (issue 16).

Every measurement runs in a fresh Python process.  A "cold" fit gets its
own empty ``NUMBA_CACHE_DIR`` (nothing compiled yet: a fresh install); a
"warm" fit reuses the cache the cold fit of the same round wrote (every later
process).  Several interpreters (say a virtual environment with the
baseline installed and one with the change) are run in interleaved rounds,
so that a busy machine slows both alike; the report gives medians and the
ratio of each interpreter's medians to the first one's.

Measured per round and interpreter:

* ``import sklearn`` and ``import skmoe``, each alone in a process (wall s;
  ``--import-repeats`` alternating pairs, their median and the median of
  the pairs' ratios), and which of torch, dask, matplotlib, numba,
  scipy.stats, sklearn.cluster, pandas the plain ``import skmoe`` loaded;
* ``MixtureOfExpertsRegressor().fit(X, y)`` on the motorcycle data
  (defaults), cold and warm: wall and CPU seconds of the process, import
  of skmoe excluded (what skmoe imports lazily, Numba included, counts);
* the demo's first fit (``python -m skmoe``: 5 experts, softmax gate,
  n_init=5, then predict, log-likelihood, quantiles, gate), cold.

Usage (a fresh install, no network needed)::

    python -m venv --system-site-packages --without-pip /tmp/venv_new
    /tmp/venv_new/bin/python -m pip install --no-deps --no-build-isolation .
    python benchmarks/bench_first_fit.py --python /tmp/venv_base/bin/python \\
        --python /tmp/venv_new/bin/python --rounds 5

With no ``--python``, the running interpreter alone.  Each child runs in an
empty temporary directory (so a checkout in the working directory cannot
shadow the installed package) and prints where ``skmoe`` was imported from.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timezone

_IMPORT = """
import json, sys, time
t0 = time.perf_counter()
import {module}
t = time.perf_counter() - t0
watch = ("torch", "dask", "matplotlib", "numba", "scipy.stats", "sklearn.cluster", "pandas")
print(json.dumps({{"s": t, "loaded": [m for m in watch if m in sys.modules],
                  "file": getattr(sys.modules["{module}"], "__file__", "")}}))
"""

_FIT = """
import json, time, warnings
t0 = time.perf_counter()
import skmoe
from skmoe import MixtureOfExpertsRegressor, SoftmaxGate
from skmoe.datasets import load_mcycle
t_import = time.perf_counter() - t0
X, y = load_mcycle(return_X_y=True)
demo = {demo}
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    w0, c0 = time.perf_counter(), time.process_time()
    if demo:
        from sklearn.model_selection import KFold
        from threadpoolctl import threadpool_limits
        train, test = next(KFold(5, shuffle=True, random_state=0).split(X))
        model = MixtureOfExpertsRegressor(n_experts=5, gate=SoftmaxGate(alpha=1e-2), n_init=5,
                                          max_iter=300, random_state=0)
        with threadpool_limits(1):
            model.fit(X[train], y[train])
            model.predict(X[test])
            model.log_likelihood(X[test], y[test])
            model.predict_quantiles(X[test], [0.05, 0.95])
            model.predict_gate(X)
    else:
        MixtureOfExpertsRegressor().fit(X, y)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
print(json.dumps({{"wall": wall, "cpu": cpu, "import": t_import, "file": skmoe.__file__}}))
"""


def _child(python, code, cache_dir=None):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    with tempfile.TemporaryDirectory() as cwd:
        out = subprocess.run(
            [python, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=False
        )
    if out.returncode:
        raise RuntimeError(f"{python} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _round(python, import_repeats):
    row = {}
    times = {"sklearn": [], "skmoe": []}
    for _ in range(import_repeats):  # alternating, each in a fresh process
        for module in times:
            r = _child(python, _IMPORT.format(module=module))
            times[module].append(r["s"])
            if module == "skmoe":
                row["loaded"], row["file"] = r["loaded"], r["file"]
    for module, t in times.items():
        row[f"import {module}"] = statistics.median(t)
    row["import ratio"] = statistics.median(
        a / b for a, b in zip(times["skmoe"], times["sklearn"], strict=True)
    )
    with tempfile.TemporaryDirectory() as cache:
        cold = _child(python, _FIT.format(demo=False), cache)
        if not os.listdir(cache):
            raise RuntimeError("the cold fit wrote nothing to NUMBA_CACHE_DIR")
        warm = _child(python, _FIT.format(demo=False), cache)
    with tempfile.TemporaryDirectory() as cache:
        demo = _child(python, _FIT.format(demo=True), cache)
    row.update(
        {
            "fit cold wall": cold["wall"],
            "fit cold cpu": cold["cpu"],
            "fit warm wall": warm["wall"],
            "fit warm cpu": warm["cpu"],
            "demo first fit wall": demo["wall"],
            "demo first fit cpu": demo["cpu"],
        }
    )
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", action="append", help="interpreter(s) to compare")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--import-repeats", type=int, default=3, help="import pairs per round (median)"
    )
    parser.add_argument("--json", help="write the raw rows here")
    args = parser.parse_args()
    pythons = args.python or [sys.executable]
    rows = {p: [] for p in pythons}
    for i in range(args.rounds):
        for p in pythons:
            row = _round(p, args.import_repeats)
            rows[p].append(row)
            print(
                f"round {i + 1} {p}: "
                + ", ".join(f"{k} {v:.2f}" for k, v in row.items() if isinstance(v, float)),
                flush=True,
            )
    keys = [k for k, v in rows[pythons[0]][0].items() if isinstance(v, float)]
    print(
        f"\n{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
        f"{args.rounds} rounds, medians (s; ratio to the first interpreter)"
    )
    base = {k: statistics.median(r[k] for r in rows[pythons[0]]) for k in keys}
    for p in pythons:
        med = {k: statistics.median(r[k] for r in rows[p]) for k in keys}
        print(f"\n{p}\n  skmoe from {rows[p][0]['file']}")
        print(f"  import skmoe loaded: {rows[p][0]['loaded']}")
        for k in keys:
            print(f"  {k:<22}{med[k]:8.2f}   x{med[k] / base[k]:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
