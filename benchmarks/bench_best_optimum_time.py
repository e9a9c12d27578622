"""CPU time of one fit on a best-optimum benchmark set (issue 12's time target).

Fits the set's model (``bench_best_optimum.make_estimator``, ``fit_one``)
once untimed (Numba compilation, caches), then with seeds ``0..seeds-1`` at
the given ``n_init``, and prints the median process CPU time of one fit.  Run
it alternately against two checkouts to compare them side by side, e.g.::

    for s in tonedata NPreg mcycle; do
      PYTHONPATH=/path/to/old python benchmarks/bench_best_optimum_time.py $s 20 3
      python benchmarks/bench_best_optimum_time.py $s 20 3
    done

Process CPU time is steadier than wall time on a shared machine.
"""

import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_best_optimum as B  # noqa: E402


def main():
    name, n_init, seeds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    spec = B.SPEC[name]
    with tempfile.TemporaryDirectory() as tmp:
        frames, _ = B.load_frames([spec], shutil.which("Rscript"), tmp)
    data = B.Data(spec, frames[name])
    base = B.make_estimator(spec, data)
    B.fit_one(spec, data, base, {}, 1, 12345)
    cpu = []
    for seed in range(seeds):
        t0 = time.process_time()
        B.fit_one(spec, data, base, {}, n_init, seed)
        cpu.append(time.process_time() - t0)
    print(np.median(cpu))


if __name__ == "__main__":
    main()
