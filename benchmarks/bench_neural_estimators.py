"""Benchmark of the neural estimators SparseMoERegressor / SparseMoEClassifier.

Two parts, in one script:

1. **Fit throughput** on synthetic data: ``n`` rows x 64 features, a target
   made of 8 regimes (the regime is chosen by the sign pattern of three
   features; each regime has its own smooth function of the others).
   ``SparseMoERegressor(hidden_layer_sizes=(64,), n_experts=8, top_k=2)``
   is fitted for a fixed number of epochs without early stopping; the
   throughput is ``n * epochs / fit seconds`` (a tiny fit first pays the
   one-off import costs).  Default ``n = 10**6``.
2. **Held-out accuracy** on real tabular data sets shipped offline with
   scikit-learn and skmoe (digits, breast cancer, wine; diabetes, mcycle):
   SparseMoE next to scikit-learn's MLPClassifier/MLPRegressor (with a
   StandardScaler) and HistGradientBoosting, default settings except
   ``max_iter=1000`` for the MLPs, over 5 random 75/25 splits: mean and
   standard deviation of the test accuracy (classification) or R^2
   (regression), and the mean fit time.

3. **Default settings against the MLP** (``--defaults``; issue 16's
   protocol): digits, diabetes and mcycle, standardised (a StandardScaler
   fitted on the training rows), 70/30 splits (stratified for digits),
   ``SparseMoEClassifier()`` / ``SparseMoERegressor()`` with default settings
   next to ``MLPClassifier(max_iter=500)`` / ``MLPRegressor(max_iter=500)``,
   every (split, seed) pair fitted side by side in one process, the MLP first
   and then skmoe, each on one thread (``torch.set_num_threads(1)``;
   ``threadpoolctl.threadpool_limits(1)`` around the MLP).  Reports the mean,
   standard deviation and minimum of the held-out score over ``--splits``
   splits x ``--seeds`` random_state seeds (from ``--first-split`` and
   ``--first-seed``), the median CPU seconds of a fit
   (``time.process_time``, robust to other processes on the machine) and
   the ratio of the medians.  ``--moe-params '{"learning_rate": 1e-3}'``
   overrides skmoe's defaults (to time the previous defaults).

Usage::

    python benchmarks/bench_neural_estimators.py [--n 1000000] [--epochs 2]
        [--batch-size 4096] [--device auto] [--threads N] [--skip-throughput]
        [--skip-accuracy] [--splits 5]
    python benchmarks/bench_neural_estimators.py --defaults [--splits 3]
        [--seeds 3] [--first-split 0] [--first-seed 0] [--moe-params JSON]
"""

import argparse
import json
import os
import platform
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmoe.datasets import load_mcycle
from skmoe.neural import SparseMoEClassifier, SparseMoERegressor


def synthetic(n, d=64, seed=0):
    """Rows drawn with ``seed``; the 8 regime functions are fixed (seed 12345)."""
    W = np.random.RandomState(12345).normal(size=(8, d - 3)) / np.sqrt(d - 3)
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, d)).astype(np.float64)
    regime = (X[:, 0] > 0) * 4 + (X[:, 1] > 0) * 2 + (X[:, 2] > 0)
    lin = np.einsum("ij,ij->i", X[:, 3:], W[regime])
    y = np.sin(2 * lin) + 0.5 * lin**2 * (regime % 2) + 0.1 * rng.normal(size=n)
    return X, y


def throughput(args):
    import torch

    n = args.n
    X, y = synthetic(n)
    params = dict(
        hidden_layer_sizes=(64,),
        n_experts=8,
        top_k=2,
        batch_size=args.batch_size,
        learning_rate=1e-3,
        early_stopping=False,
        device=args.device,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        SparseMoERegressor(**{**params, "max_epochs": 1}).fit(X[:2000], y[:2000])  # warm-up
        t0 = time.perf_counter()
        reg = SparseMoERegressor(**{**params, "max_epochs": args.epochs}).fit(X, y)
        seconds = time.perf_counter() - t0
    X_test, y_test = synthetic(20000, seed=1)
    t1 = time.perf_counter()
    r2 = reg.score(X_test, y_test)
    predict_s = time.perf_counter() - t1
    result = dict(
        n=n,
        d=64,
        epochs=args.epochs,
        batch_size=args.batch_size,
        device=reg.device_,
        backend=reg.backend_,
        torch_threads=torch.get_num_threads(),
        fit_seconds=seconds,
        fit_rows_per_s=n * args.epochs / seconds,
        predict_rows_per_s=20000 / predict_s,
        r2_held_out=r2,
        expert_load=[round(float(v), 4) for v in reg.expert_load_],
        loss_curve=[round(float(v), 5) for v in reg.loss_curve_],
    )
    print(json.dumps(result))
    return result


def _datasets():
    X, y = load_mcycle(return_X_y=True)
    return [
        ("digits", "clf", *load_digits(return_X_y=True)),
        ("breast_cancer", "clf", *load_breast_cancer(return_X_y=True)),
        ("wine", "clf", *load_wine(return_X_y=True)),
        ("diabetes", "reg", *load_diabetes(return_X_y=True)),
        ("mcycle", "reg", X, y),
    ]


def _models(kind, device, seed):
    if kind == "clf":
        return [
            ("SparseMoEClassifier(E=4,k=2)", SparseMoEClassifier(device=device, random_state=seed)),
            (
                "SparseMoEClassifier(E=4,k=1,noisy,cf=1.25)",
                SparseMoEClassifier(
                    top_k=1,
                    noisy_gating=True,
                    capacity_factor=1.25,
                    device=device,
                    random_state=seed,
                ),
            ),
            (
                "MLPClassifier(100)",
                make_pipeline(StandardScaler(), MLPClassifier(max_iter=1000, random_state=seed)),
            ),
            ("HistGradientBoostingClassifier", HistGradientBoostingClassifier(random_state=seed)),
        ]
    return [
        ("SparseMoERegressor(E=4,k=2)", SparseMoERegressor(device=device, random_state=seed)),
        (
            "SparseMoERegressor(E=4,k=1,noisy,cf=1.25)",
            SparseMoERegressor(
                top_k=1, noisy_gating=True, capacity_factor=1.25, device=device, random_state=seed
            ),
        ),
        (
            "MLPRegressor(100)",
            make_pipeline(StandardScaler(), MLPRegressor(max_iter=1000, random_state=seed)),
        ),
        ("HistGradientBoostingRegressor", HistGradientBoostingRegressor(random_state=seed)),
    ]


def accuracy(args):
    rows = []
    for name, kind, X, y in _datasets():
        scores, times = {}, {}
        for split in range(args.splits):
            Xtr, Xte, ytr, yte = train_test_split(
                X, y, test_size=0.25, random_state=split, stratify=y if kind == "clf" else None
            )
            for label, model in _models(kind, args.device, split):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    t0 = time.perf_counter()
                    model.fit(Xtr, ytr)
                    times.setdefault(label, []).append(time.perf_counter() - t0)
                scores.setdefault(label, []).append(model.score(Xte, yte))
        for label in scores:
            row = dict(
                dataset=name,
                shape=list(X.shape),
                metric="accuracy" if kind == "clf" else "R2",
                model=label,
                mean=float(np.mean(scores[label])),
                std=float(np.std(scores[label])),
                fit_seconds=float(np.mean(times[label])),
            )
            rows.append(row)
            print(
                f"{name:>14} {str(X.shape):>11} {row['metric']:>8} {label:>44} "
                f"{row['mean']:.4f} +- {row['std']:.4f}  fit {row['fit_seconds']:.2f}s",
                flush=True,
            )
    return rows


def defaults(args):
    """Issue 16: default settings vs MLP(max_iter=500), one thread, CPU time side by side."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    moe_params = json.loads(args.moe_params) if args.moe_params else {}
    X_mc, y_mc = load_mcycle(return_X_y=True)
    sets = [
        ("digits", "clf", *load_digits(return_X_y=True)),
        ("diabetes", "reg", *load_diabetes(return_X_y=True)),
        ("mcycle", "reg", X_mc, y_mc),
    ]
    rows = []
    for name, kind, X, y in sets:
        res = {"moe": [], "mlp": [], "t_moe": [], "t_mlp": [], "epochs_moe": [], "epochs_mlp": []}
        for split in range(args.first_split, args.first_split + args.splits):
            Xtr, Xte, ytr, yte = train_test_split(
                X, y, test_size=0.3, random_state=split, stratify=y if kind == "clf" else None
            )
            scaler = StandardScaler().fit(Xtr)
            Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                mlp = (MLPClassifier if kind == "clf" else MLPRegressor)(
                    max_iter=500, random_state=seed
                )
                moe = (SparseMoEClassifier if kind == "clf" else SparseMoERegressor)(
                    device="cpu", random_state=seed, **moe_params
                )
                for label, model in (("mlp", mlp), ("moe", moe)):
                    with warnings.catch_warnings(), threadpool_limits(1):
                        warnings.simplefilter("ignore", ConvergenceWarning)
                        t0 = time.process_time()
                        model.fit(Xtr, ytr)
                        res["t_" + label].append(time.process_time() - t0)
                    res[label].append(model.score(Xte, yte))
                    res["epochs_" + label].append(model.n_iter_)
        row = dict(dataset=name, metric="accuracy" if kind == "clf" else "R2")
        for label in ("moe", "mlp"):
            row[label] = dict(
                mean=float(np.mean(res[label])),
                std=float(np.std(res[label])),
                min=float(np.min(res[label])),
                cpu_s_median=float(np.median(res["t_" + label])),
                epochs_mean=float(np.mean(res["epochs_" + label])),
            )
        row["cpu_ratio_of_medians"] = row["moe"]["cpu_s_median"] / row["mlp"]["cpu_s_median"]
        rows.append(row)
        print(
            f"{name:>9} {row['metric']:>8}  skmoe {row['moe']['mean']:.4f} +- "
            f"{row['moe']['std']:.4f} (min {row['moe']['min']:.4f}, "
            f"{row['moe']['epochs_mean']:.0f} epochs)  MLP {row['mlp']['mean']:.4f} +- "
            f"{row['mlp']['std']:.4f} (min {row['mlp']['min']:.4f}, "
            f"{row['mlp']['epochs_mean']:.0f} epochs)  CPU s {row['moe']['cpu_s_median']:.2f}"
            f" / {row['mlp']['cpu_s_median']:.2f} = {row['cpu_ratio_of_medians']:.2f}x",
            flush=True,
        )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--defaults", action="store_true", help="only part 3 (issue 16)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-split", type=int, default=0, help="--defaults: first split seed")
    parser.add_argument("--first-seed", type=int, default=0, help="--defaults: first model seed")
    parser.add_argument("--moe-params", default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.defaults:
        torch.set_num_threads(1)
    info = dict(
        python=platform.python_version(),
        torch=torch.__version__,
        nproc=os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        cuda=torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    )
    print(json.dumps(info))
    out = dict(machine=info)
    if args.defaults:
        out["defaults"] = defaults(args)
        args.skip_throughput = args.skip_accuracy = True
    if not args.skip_throughput:
        out["throughput"] = throughput(args)
    if not args.skip_accuracy:
        out["accuracy"] = accuracy(args)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
