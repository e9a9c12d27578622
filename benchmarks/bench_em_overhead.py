"""CPU per EM iteration on small public data sets (issues 12 and 16).

On data of 30 to 1000 rows an EM iteration costs a fraction of a
millisecond of Python, NumPy and SciPy call overhead, not arithmetic.  This
script fits the best-optimum benchmark's small sets with the default
estimator (``bench_best_optimum.make_estimator``, ``n_init`` restarts) and
reports, per set, the median process CPU time of a fit, the EM iterations of
all its runs (screened, resumed and pre-fit runs included, counted in
``skmoe._em.EMRun.advance``), CPU per iteration (the whole fit divided by
them) and *EM-only* CPU per iteration (the time inside ``advance``, which
leaves out initialisation), with each fit's ``lower_bound_`` and ``n_iter_``
to check that two code versions give the same fits.

Process CPU time, not wall time: the numbers are meant to be compared on a
shared, loaded machine.  Compare two trees by running the script with
``PYTHONPATH=<tree>`` for each (alternating runs) and then ``--compare``::

    PYTHONPATH=/tmp/before python benchmarks/bench_em_overhead.py --json before.json
    PYTHONPATH=. python benchmarks/bench_em_overhead.py --json after.json
    python benchmarks/bench_em_overhead.py --compare before.json after.json

The R data sets are read through Rscript (``bench_best_optimum.load_frames``).
"""

import argparse
import json
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

SETS = ["tonedata", "NOdata_softmax", "NPreg", "fabricfault", "bioChemists", "BregFix", "mcycle_t"]


def measure(names, n_init, seeds, reps):
    sys.path.insert(0, str(Path(__file__).parent))
    import bench_best_optimum as B

    import skmoe
    import skmoe._em as em

    count = {"iters": 0, "cpu": 0.0}
    advance = getattr(em, "EMRun", None) and em.EMRun.advance

    def counted(self, limit):
        start, t0 = self.n_iter, time.process_time()
        try:
            return advance(self, limit)
        finally:
            count["cpu"] += time.process_time() - t0
            count["iters"] += self.n_iter - start

    # An older skmoe without EMRun (before the screened restarts of issue 12):
    # CPU per fit only.
    has_runs = hasattr(em, "EMRun")
    if has_runs:
        em.EMRun.advance = counted
    with tempfile.TemporaryDirectory() as tmp:
        frames, _ = B.load_frames([B.SPEC[n] for n in names], shutil.which("Rscript"), tmp)
    out = {"skmoe": skmoe.__file__, "sets": {}}
    for name in names:
        spec = B.SPEC[name]
        data = B.Data(spec, frames[name])
        base = B.make_estimator(spec, data)
        B.fit_one(spec, data, base, {}, 1, 12345)  # compile / load the kernels
        cpu, iters, em_cpu, lbs, n_iters = [], [], [], [], []
        for rep in range(reps):
            for seed in range(seeds):
                count.update(iters=0, cpu=0.0)
                t0 = time.process_time()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est, *_ = B.fit_one(spec, data, base, {}, n_init, seed)
                cpu.append(time.process_time() - t0)
                iters.append(count["iters"])
                em_cpu.append(count["cpu"])
                if rep == 0:
                    lbs.append(float(est.lower_bound_))
                    n_iters.append(int(est.n_iter_))
        cpu, iters, em_cpu = np.array(cpu), np.maximum(iters, 1), np.array(em_cpu)
        row = dict(
            cpu_fit=float(np.median(cpu)),
            iters=int(np.median(iters)) if has_runs else None,
            us_iter=float(np.median(cpu / iters) * 1e6) if has_runs else None,
            em_us_iter=float(np.median(em_cpu / iters) * 1e6) if has_runs else None,
            lower_bound=lbs,
            n_iter=n_iters,
        )
        out["sets"][name] = row
        line = f"{name:15s} CPU/fit {row['cpu_fit'] * 1e3:8.1f} ms"
        if has_runs:
            line += (
                f"  iterations {row['iters']:6d}  CPU/iteration {row['us_iter']:7.1f} us"
                f"  EM-only {row['em_us_iter']:7.1f} us"
            )
        print(line, flush=True)
    return out


def compare(before, after):
    print(
        "| set | CPU/fit before -> after (ms) | ratio | CPU/iteration (us) | ratio "
        "| EM-only CPU/iteration (us) | ratio | same fits |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for name, b in before["sets"].items():
        a = after["sets"].get(name)
        if a is None:
            continue
        pairs = zip(b["lower_bound"], a["lower_bound"], strict=True)
        same = a["n_iter"] == b["n_iter"] and all(abs(x - y) <= 1e-10 * abs(x) for x, y in pairs)
        print(
            f"| {name} | {b['cpu_fit'] * 1e3:.0f} -> {a['cpu_fit'] * 1e3:.0f} "
            f"| {a['cpu_fit'] / b['cpu_fit']:.2f} "
            f"| {b['us_iter']:.0f} -> {a['us_iter']:.0f} | {a['us_iter'] / b['us_iter']:.2f} "
            f"| {b['em_us_iter']:.0f} -> {a['em_us_iter']:.0f} "
            f"| {a['em_us_iter'] / b['em_us_iter']:.2f} | {'yes' if same else 'NO'} |"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", nargs="+", default=SETS)
    parser.add_argument("--n-init", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--reps", type=int, default=1, help="repetitions of every seed")
    parser.add_argument("--json", help="write the measurements here")
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.compare:
        before, after = (json.loads(Path(p).read_text()) for p in args.compare)
        compare(before, after)
        return
    out = measure(args.sets, args.n_init, args.seeds, args.reps)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
