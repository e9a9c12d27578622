"""A/B: this checkout's EM against another checkout's, on bench_flexmix's softmax problem.

Times, in fresh processes that alternate between the two checkouts (so a
shared machine's load falls on both alike):

* the whole fit of ``MixtureOfExpertsRegressor(n_experts=3, gate="softmax",
  tol=1e-6, max_iter=1000, random_state=0)`` on the first ``--n`` rows of the
  softmax problem of ``bench_flexmix.py`` (d=2, K=3), after a warm-up fit
  (Numba's compilation is not timed);
* the parts of one EM iteration at the fitted parameters: the gate's
  log-probabilities, the experts' log-densities, the posterior, the experts'
  M-step and the gate's M-step (median of 30 calls each).

Both checkouts must fit the same model: the script prints the difference of
their log-likelihoods (it should be ~1e-9 or less, rounding).

Usage::

    git worktree add /tmp/skmoe-before <commit>   # the baseline checkout
    python benchmarks/bench_em_kernels.py --against /tmp/skmoe-before
    python benchmarks/bench_em_kernels.py          # this checkout only
"""

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import copy, json, sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
from skmoe import MixtureOfExpertsRegressor
from skmoe.datasets import make_moe_regression

n, repeats = int(sys.argv[1]), int(sys.argv[2])
X, y, _ = make_moe_regression(10**6, 2, 3, gate="softmax", random_state=0)
X, y = X[:n], y[:n]


def make():
    return MixtureOfExpertsRegressor(n_experts=3, gate="softmax", tol=1e-6, max_iter=1000,
                                     random_state=0)


make().fit(X[:3000], y[:3000])  # compile / load the kernels
fits = []
for _ in range(repeats):
    t0 = time.perf_counter()
    est = make().fit(X, y)
    fits.append(time.perf_counter() - t0)
gate, experts = est.gate_, est._expert_set
sw = np.ones(n)
resp, _ = est._e_step(X, y, gate, experts)


def med(f, r=30):
    f()
    ts = []
    for _ in range(r):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


lg, ll = gate._log_proba(X), experts.log_prob(X, y)
from skmoe._threading import blockwise_posterior
parts = {
    "gate log-probabilities": med(lambda: gate._log_proba(X)),
    "expert log-densities": med(lambda: experts.log_prob(X, y)),
    "posterior": med(lambda: blockwise_posterior(lg, ll)),
    "experts M-step": med(lambda: copy.deepcopy(experts).fit(X, y, resp, iteration=1)),
    "gate M-step": med(lambda: copy.deepcopy(gate)._m_step(X, resp, sw)),
}
print(json.dumps(dict(fit=float(np.median(fits)), fits=fits, n_iter=int(est.n_iter_),
                      ll=float(est.log_likelihood(X, y).sum()), parts=parts)))
"""


def run(checkout, n, repeats):
    env = dict(os.environ)
    env["PYTHONPATH"] = checkout + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(n), str(repeats)],
        env=env,
        cwd=checkout,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="path of the baseline checkout")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating processes per checkout")
    parser.add_argument("--repeats", type=int, default=3, help="fits per process")
    args = parser.parse_args()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    checkouts = {"this checkout": here}
    if args.against:
        checkouts = {"baseline": os.path.abspath(args.against), **checkouts}
    results = {name: [] for name in checkouts}
    for _ in range(args.rounds):
        for name, path in checkouts.items():
            results[name].append(run(path, args.n, args.repeats))

    def median(name, key, part=None):
        vals = [r["parts"][part] if part else r[key] for r in results[name]]
        return sorted(vals)[len(vals) // 2]

    print(f"n={args.n}, d=2, K=3; medians over {args.rounds} processes x {args.repeats} fits")
    names = list(checkouts)
    print(
        "| quantity | " + " | ".join(names) + (" | baseline / this |" if len(names) == 2 else " |")
    )
    print("|---" * (len(names) + 1 + (len(names) == 2)) + "|")
    rows = [("whole fit (s)", "fit", None)] + [
        (f"{p} (ms)", None, p) for p in results[names[-1]][0]["parts"]
    ]
    for label, key, part in rows:
        scale = 1e3 if part else 1.0
        vals = [median(nm, key, part) for nm in names]
        line = f"| {label} | " + " | ".join(f"{scale * v:.3f}" for v in vals)
        if len(names) == 2:
            line += f" | {vals[0] / vals[1]:.2f}x"
        print(line + " |")
    for nm in names:
        r = results[nm][0]
        print(f"{nm}: {r['n_iter']} EM iterations, log-likelihood {r['ll']:.9f}")
    if len(names) == 2:
        print(
            f"log-likelihood difference: {results[names[1]][0]['ll'] - results[names[0]][0]['ll']:+.3e}"
        )


if __name__ == "__main__":
    main()
