"""Hostile-input campaign (issue 13): the properties of tests/test_hostile_inputs.py, for longer.

Draws data sets from ``tests/_hostile.py``'s strategy (random, not the test's
derandomised examples) for each public mixture and neural estimator in
turn, until the time is up, and prints per estimator how many fits
succeeded with finite outputs, how many were rejected with a ValueError
naming the argument, and how many broke the contract (with the first
messages).

Usage::

    python benchmarks/hostile_campaign.py --minutes 10 [--seed 0] [--only NAME ...]
                                          [--save DIR]

``--save DIR`` writes each data set that broke the contract to
``DIR/<estimator>-<turn>-<k>.npz`` (X, y and the weights, when given), to
reproduce it; ``--only`` runs the named estimators alone (with the same
seed, an estimator draws the same data sets turn by turn either way).

Exit status 1 when any case broke the contract.
"""

import argparse
import collections
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402

from tests._hostile import ESTIMATORS, check_estimator_on, datasets  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=20, help="data sets per estimator per turn")
    parser.add_argument("--only", nargs="+", choices=sorted(ESTIMATORS), help="these estimators")
    parser.add_argument("--save", help="directory for the data sets that broke the contract")
    args = parser.parse_args()
    deadline = time.monotonic() + 60.0 * args.minutes
    counts = collections.defaultdict(collections.Counter)
    failures = collections.defaultdict(list)
    names = sorted(args.only or ESTIMATORS)
    if args.save:
        os.makedirs(args.save, exist_ok=True)
    turn = 0
    while time.monotonic() < deadline:
        for name in names:
            if time.monotonic() >= deadline:
                break
            make, classifier = ESTIMATORS[name]
            run = _campaign_run(name, make, classifier, args, deadline, counts, failures, turn)
            try:
                run._hypothesis_internal_use_seed = args.seed * 1_000_003 + turn
                run()
            except Unsatisfiable:
                pass
        turn += 1
    return _report(names, counts, failures)


def _campaign_run(name, make, classifier, args, deadline, counts, failures, turn):
    """One turn of one estimator: ``args.batch`` random data sets."""

    # Random examples, no shrinking or database: a campaign counts
    # cases, and a broken contract is recorded, not minimised.
    @settings(
        max_examples=args.batch,
        derandomize=False,
        database=None,
        deadline=None,
        phases=("generate",),
        suppress_health_check=list(HealthCheck),
    )
    @given(data=datasets(classifier))
    def run(data):
        if time.monotonic() >= deadline:
            return
        try:
            counts[name][check_estimator_on(make, data)] += 1
        except AssertionError as exc:
            counts[name]["broken"] += 1
            if len(failures[name]) < 3:
                failures[name].append(str(exc).splitlines()[0][:300])
            if args.save:
                X, y, sw = data
                path = os.path.join(args.save, f"{name}-{turn}-{counts[name]['broken']}.npz")
                np.savez(path, X=X, y=y, **({} if sw is None else {"sample_weight": sw}))
                failures[name].append(f"saved {path}")

    return run


def _report(names, counts, failures):
    total = collections.Counter()
    print(f"{'estimator':32s} {'fitted':>8s} {'rejected':>9s} {'broken':>7s}")
    for name in names:
        c = counts[name]
        total.update(c)
        print(f"{name:32s} {c['fitted']:8d} {c['rejected']:9d} {c['broken']:7d}")
    print(f"{'total':32s} {total['fitted']:8d} {total['rejected']:9d} {total['broken']:7d}")
    for name, msgs in failures.items():
        for msg in msgs:
            print(f"BROKEN {name}: {msg}")
    return 1 if total["broken"] else 0


if __name__ == "__main__":
    sys.exit(main())
