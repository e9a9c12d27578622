"""What the first fit compiles, and how long each function takes (issue 16).

Fits the demo's model (``MixtureOfExpertsRegressor(n_experts=5, n_init=5)``
on the motorcycle data) once, then lists every Numba function compiled in
this process with Numba's own timers: ``compiler_lock`` (the whole compile,
typing, lowering and LLVM, of the function and of helpers compiled while it
is typed) and ``llvm_lock`` (LLVM alone), in seconds.  Run it with an empty
cache to see a fresh install's compile::

    NUMBA_CACHE_DIR=$(mktemp -d) python benchmarks/bench_compile_times.py

(With a filled cache the functions load and the list is empty.)
"""

import gc
import time
import warnings

from skmoe import MixtureOfExpertsRegressor
from skmoe.datasets import load_mcycle


def main():
    X, y = load_mcycle(return_X_y=True)
    t0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        MixtureOfExpertsRegressor(n_experts=5, n_init=5, random_state=0).fit(X, y)
    print(f"first fit, CPU s: {time.process_time() - t0:.2f}")
    from numba.core.registry import CPUDispatcher

    rows = []
    for obj in gc.get_objects():
        if isinstance(obj, CPUDispatcher):
            for cres in obj.overloads.values():
                timers = (cres.metadata or {}).get("timers", {})
                if timers:
                    rows.append(
                        (
                            timers.get("compiler_lock", 0.0),
                            timers.get("llvm_lock", 0.0),
                            obj.py_func.__qualname__,
                        )
                    )
    print(f"{'compile s':>10} {'LLVM s':>8}  function")
    for total, llvm, name in sorted(rows, reverse=True):
        print(f"{total:10.3f} {llvm:8.3f}  {name}")


if __name__ == "__main__":
    main()
