"""GaussianHMMClassifier against hmmlearn's class-conditional GaussianHMM.

Data: the Japanese Vowels speaker data (UCI; Kudo, Toyama & Shimbo 1999), 9
speakers, 12 LPC cepstrum coefficients per frame, 7 to 29 frames per
utterance; the standard split, 270 training and 370 test utterances.  It is
read from the ``.ts`` files that aeon's wheel ships, so the script runs
offline.  Install it with ``pip install --no-deps aeon``: only its data files
are read (aeon is not imported), and a plain ``pip install aeon`` downgrades
numba, numpy and pandas to aeon's pins.

Both models are the same: one Gaussian-emission HMM per class (``n_states``
states, diagonal or full covariances), fitted by Baum-Welch, classes
predicted by Bayes' rule with the empirical class priors.  hmmlearn fits each
class once (``n_iter=100``, its default ``tol=1e-2``, ``covars_prior=0`` so
that its M-step is maximum likelihood as skmoe's); skmoe is run with
``n_init=1`` (the same single fit) and ``n_init=3`` restarts.  Fit time is
wall-clock, single-threaded BLAS, the median over seeds (of the median of
``--repeat`` runs), after one warm-up fit (Numba compilation is cached on disk).

Usage::

    python benchmarks/bench_hmm_classifier.py [--repeat 1] [--seeds 0 1 2 3 4]
"""

import argparse
import importlib.util
import os
import time
import warnings
from pathlib import Path

import numpy as np


def _aeon_data_dir():
    spec = importlib.util.find_spec("aeon")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "The Japanese Vowels files come from aeon's wheel: pip install --no-deps aeon "
            "(only its data files are read; without --no-deps pip downgrades numba)."
        )
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "JapaneseVowels"


def load_ts(path):
    """Parse a multivariate, unequal-length ``.ts`` file: list of (T, d) arrays, labels."""
    seqs, labels = [], []
    in_data = False
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if not in_data:
                in_data = line.lower() == "@data"
                continue
            *dims, label = line.split(":")
            seqs.append(np.array([[float(v) for v in d.split(",")] for d in dims]).T.copy())
            labels.append(label)
    return seqs, np.array(labels)


def hmmlearn_fit_predict(X, y, Xt, n_states, covariance_type, seed):
    from hmmlearn.hmm import GaussianHMM

    classes = np.unique(y)
    t0 = time.perf_counter()
    models = []
    for c in classes:
        sc = [s for s, lab in zip(X, y, strict=True) if lab == c]
        m = GaussianHMM(
            n_components=n_states,
            covariance_type=covariance_type,
            n_iter=100,
            covars_prior=0.0,
            random_state=seed,
        )
        m.fit(np.concatenate(sc), [len(s) for s in sc])
        models.append(m)
    fit_time = time.perf_counter() - t0
    log_prior = np.log(np.array([np.mean(y == c) for c in classes]))
    ll = np.array([[m.score(s) for m in models] for s in Xt]) + log_prior
    n_iter = np.mean([m.monitor_.iter for m in models])
    return classes[np.argmax(ll, axis=1)], fit_time, n_iter


def skmoe_fit_predict(X, y, Xt, n_states, covariance_type, seed, n_init):
    from skmoe.sequence import GaussianHMMClassifier

    t0 = time.perf_counter()
    clf = GaussianHMMClassifier(
        n_states, covariance_type=covariance_type, n_init=n_init, random_state=seed
    ).fit(X, y)
    fit_time = time.perf_counter() - t0
    return clf.predict(Xt), fit_time, np.mean(clf.n_iter_)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--states", type=int, nargs="+", default=[2, 3, 4])
    args = parser.parse_args()

    from threadpoolctl import threadpool_limits

    d = _aeon_data_dir()
    X, y = load_ts(d / "JapaneseVowels_TRAIN.ts")
    Xt, yt = load_ts(d / "JapaneseVowels_TEST.ts")
    lens = [len(s) for s in X + Xt]
    print(
        f"Japanese Vowels: {len(X)} train / {len(Xt)} test sequences, d={X[0].shape[1]}, "
        f"T in [{min(lens)}, {max(lens)}], {len(np.unique(y))} classes; nproc={os.cpu_count()}"
    )
    warnings.filterwarnings("ignore")  # hmmlearn's and skmoe's convergence notes
    # Warm-up: Numba cache load / compilation is not fit time.
    skmoe_fit_predict(X[::9], y[::9], Xt[:2], 2, "diag", 0, 1)

    rows = []
    with threadpool_limits(1):
        for cov in ("diag", "full"):
            for S in args.states:
                res = {}
                for name, fn in (
                    ("hmmlearn", lambda s, S=S, cov=cov: hmmlearn_fit_predict(X, y, Xt, S, cov, s)),
                    (
                        "skmoe n_init=1",
                        lambda s, S=S, cov=cov: skmoe_fit_predict(X, y, Xt, S, cov, s, 1),
                    ),
                    (
                        "skmoe n_init=3",
                        lambda s, S=S, cov=cov: skmoe_fit_predict(X, y, Xt, S, cov, s, 3),
                    ),
                ):
                    accs, times, iters = [], [], []
                    for seed in args.seeds:
                        t_runs = []
                        for _ in range(args.repeat):
                            pred, t, it = fn(seed)
                            t_runs.append(t)
                        accs.append(np.mean(pred == yt))
                        times.append(np.median(t_runs))
                        iters.append(it)
                    res[name] = (np.mean(accs), np.min(accs), np.median(times), np.mean(iters))
                    print(
                        f"{cov:4s} S={S} {name:15s} acc {np.round(accs, 4).tolist()} mean "
                        f"{np.mean(accs):.4f}; fit {np.median(times):.3f} s (median over seeds); "
                        f"mean iterations per class {np.mean(iters):.1f}",
                        flush=True,
                    )
                rows.append((cov, S, res))

    print(
        "\n| covariance | n_states | hmmlearn acc | skmoe acc n_init=1 | skmoe acc n_init=3 "
        "| hmmlearn fit s (iters) | skmoe fit s n_init=1 (iters) | skmoe fit s n_init=3 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for cov, S, res in rows:
        h, s1, s3 = res["hmmlearn"], res["skmoe n_init=1"], res["skmoe n_init=3"]
        print(
            f"| {cov} | {S} | {h[0]:.4f} | {s1[0]:.4f} | {s3[0]:.4f} | {h[2]:.2f} ({h[3]:.0f}) "
            f"| {s1[2]:.2f} ({s1[3]:.0f}) | {s3[2]:.2f} |"
        )


if __name__ == "__main__":
    main()
