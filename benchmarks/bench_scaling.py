"""How skmoe's fit time grows with n, d and K.

``MixtureOfExpertsRegressor`` (built-in linear-Gaussian experts, softmax
gate, k-means initialisation, one start) is fitted with a fixed number of EM
iterations (``max_iter=20, tol=0``) so that fits of different sizes do the
same work per row.  Three series, each on data drawn from a known mixture of
experts (:func:`skmoe.datasets.make_moe_regression`, seed 0):

* n = 10^3 .. 10^6 at d=10, K=4 (the rows of one draw of 10^6);
* d = 5 .. 80 at n=10^5, K=4;
* K = 2 .. 32 at n=10^5, d=10.

For each point the script reports the median fit time over ``--repeats``
fits, and the time of one EM iteration, ``(t(20) - t(1)) / 19`` where
``t(m)`` is the median time of a fit with ``max_iter=m`` (this removes the
initialisation: k-means on at most a subsample of rows, and the first
M-step).  Slopes of log(time) against log(n), log(d) and log(K) are fitted by
least squares, over the whole series and over its upper half (where fixed
per-call overheads matter least).  A table is printed and a log-log plot is
saved (matplotlib, Agg backend).

Numba's compilation is excluded by a warm-up fit on a tiny problem.  skmoe
uses all the CPUs this process may run on (see ``nproc`` in the header).

Usage::

    python benchmarks/bench_scaling.py                      # full grids, plot to benchmarks/scaling.png
    python benchmarks/bench_scaling.py --quick              # small grids, under a minute, no plot
    python benchmarks/bench_scaling.py --series n --repeats 5 --plot /tmp/s.png
"""

import argparse
import json
import os
import platform
import time
import warnings

import numpy as np
from _machine import cpu_model  # benchmarks/ is on sys.path when run as a script
from sklearn.exceptions import ConvergenceWarning

import skmoe
from skmoe import MixtureOfExpertsRegressor
from skmoe.datasets import make_moe_regression

FULL = {
    "n": dict(values=[10**3, 3 * 10**3, 10**4, 3 * 10**4, 10**5, 3 * 10**5, 10**6], d=10, K=4),
    "d": dict(values=[5, 10, 20, 40, 80], n=10**5, K=4),
    "K": dict(values=[2, 4, 8, 16, 32], n=10**5, d=10),
}
QUICK = {
    "n": dict(values=[10**3, 10**4, 10**5], d=10, K=4),
    "d": dict(values=[5, 10, 20], n=10**4, K=4),
    "K": dict(values=[2, 4, 8], n=10**4, d=10),
}


def machine_info():
    import numba
    import sklearn

    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"nproc: {os.cpu_count()} (available to this process: {len(os.sched_getaffinity(0))})")
    print(f"cpu: {cpu_model()}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, scikit-learn "
        f"{sklearn.__version__}, numba {numba.__version__}, skmoe {skmoe.__version__}"
    )


def fit_time(X, y, K, max_iter, repeats):
    times = []
    for _ in range(repeats):
        est = MixtureOfExpertsRegressor(n_experts=K, max_iter=max_iter, tol=0.0, random_state=0)
        with warnings.catch_warnings():
            # tol=0 never converges by design.
            warnings.simplefilter("ignore", ConvergenceWarning)
            t0 = time.perf_counter()
            est.fit(X, y)
            times.append(time.perf_counter() - t0)
        if est.n_iter_ != max_iter:
            raise RuntimeError(f"expected {max_iter} EM iterations, ran {est.n_iter_}")
    return float(np.median(times))


def slope(x, t):
    """Least-squares slope of log(t) against log(x)."""
    return float(np.polyfit(np.log(x), np.log(t), 1)[0])


def run_series(name, spec, args):
    rows = []
    if name == "n":
        X_all, y_all, _ = make_moe_regression(
            max(spec["values"]), spec["d"], spec["K"], random_state=0
        )
    for v in spec["values"]:
        n = v if name == "n" else spec["n"]
        d = v if name == "d" else spec["d"]
        K = v if name == "K" else spec["K"]
        if name == "n":
            X, y = X_all[:n], y_all[:n]
        else:
            X, y, _ = make_moe_regression(n, d, K, random_state=0)
        t_full = fit_time(X, y, K, args.max_iter, args.repeats)
        t_one = fit_time(X, y, K, 1, args.repeats)
        per_iter = max(t_full - t_one, 1e-9) / (args.max_iter - 1)
        rows.append(dict(n=n, d=d, K=K, fit=t_full, init=t_one, per_iter=per_iter))
        print(
            f"  {name}: n={n} d={d} K={K}: fit {t_full:.4f} s, fit with max_iter=1 {t_one:.4f} s, "
            f"per iteration {per_iter * 1e3:.3f} ms",
            flush=True,
        )
    return rows


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small grids, one repeat, no plot")
    parser.add_argument("--series", nargs="+", choices=["n", "d", "K"], default=["n", "d", "K"])
    parser.add_argument("--repeats", type=int, default=3, help="fits per point (median)")
    parser.add_argument("--max-iter", type=int, default=20, help="EM iterations per fit")
    parser.add_argument("--plot", default=None, help="PNG path (default benchmarks/scaling.png)")
    parser.add_argument("--json", help="also write the measurements to this file")
    parser.add_argument(
        "--from-json", help="do not measure: print the tables and plot from a file --json wrote"
    )
    args = parser.parse_args()
    if args.max_iter < 2:
        parser.error("--max-iter must be at least 2")
    grids = QUICK if args.quick else FULL
    if args.quick:
        args.repeats = 1
    plot = args.plot or (
        None if args.quick else os.path.join(os.path.dirname(__file__), "scaling.png")
    )

    if args.from_json:
        with open(args.from_json) as f:
            results = json.load(f)["results"]
    else:
        machine_info()
        print(f"max_iter={args.max_iter}, tol=0, repeats={args.repeats}")
        X, y, _ = make_moe_regression(500, 3, 2, random_state=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            MixtureOfExpertsRegressor(n_experts=2, max_iter=3, tol=0.0, random_state=0).fit(X, y)
        results = {name: run_series(name, grids[name], args) for name in args.series}
        if args.json:
            with open(args.json, "w") as f:
                json.dump(dict(args=vars(args), results=results), f, indent=1)

    print()
    print(
        "| series | n | d | K | fit time (s) | fit with max_iter=1 (s) | per EM iteration (ms) | per iteration per row (ns) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, rows in results.items():
        for r in rows:
            print(
                f"| {name} | {r['n']} | {r['d']} | {r['K']} | {r['fit']:.4f} | {r['init']:.4f} | "
                f"{r['per_iter'] * 1e3:.3f} | {r['per_iter'] / r['n'] * 1e9:.1f} |"
            )
    print()
    print(
        "| series | slope of fit time (all points) | slope of fit time (upper half) | "
        "slope of per-iteration time (all) | slope of per-iteration time (upper half) |"
    )
    print("|---|---|---|---|---|")
    for name, rows in results.items():
        x = np.array([r[name] for r in rows], dtype=float)
        fit = np.array([r["fit"] for r in rows])
        it = np.array([r["per_iter"] for r in rows])
        half = slice(len(rows) // 2, None)
        print(
            f"| {name} | {slope(x, fit):.2f} | {slope(x[half], fit[half]):.2f} | "
            f"{slope(x, it):.2f} | {slope(x[half], it[half]):.2f} |"
        )

    if plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import NullFormatter, ScalarFormatter

        fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.8), squeeze=False)
        for ax, (name, rows) in zip(axes[0], results.items(), strict=True):
            x = np.array([r[name] for r in rows], dtype=float)
            fit = np.array([r["fit"] for r in rows])
            it = np.array([r["per_iter"] for r in rows])
            ax.loglog(x, fit, "o-", label=f"fit, {args.max_iter} EM iterations")
            ax.loglog(x, it, "s-", label="one EM iteration")
            ax.loglog(x, it[-1] * x / x[-1], "k:", lw=1, label="slope 1 (linear)")
            if name != "n":
                ax.loglog(x, it[-1] * (x / x[-1]) ** 2, "k--", lw=1, label="slope 2")
            if name != "n":
                ax.set_xticks(x)
                ax.xaxis.set_major_formatter(ScalarFormatter())
                ax.xaxis.set_minor_formatter(NullFormatter())
            fixed = {k: rows[0][k] for k in ("n", "d", "K") if k != name}
            ax.set_title(", ".join(f"{k}={v:g}" for k, v in fixed.items()), fontsize=10)
            ax.set_xlabel(name)
            ax.set_ylabel("seconds")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)
        fig.suptitle("skmoe MixtureOfExpertsRegressor (softmax gate, linear experts): fit time")
        fig.tight_layout()
        fig.savefig(plot, dpi=110)
        print(f"\nplot saved to {plot}")


if __name__ == "__main__":
    main()
