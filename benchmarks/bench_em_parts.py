"""Where one EM iteration's time goes: wall time of its parts (issue 16).

One EM iteration of ``MixtureOfExpertsRegressor(n_experts=K)`` (softmax gate,
built-in linear experts) on ``make_moe_regression(n, d, K)``, started from
the true labels as ``bench_em.py`` does, run as fit runs it (the fused E-step,
the gate's look-ahead).  Wrappers time the fused passes, the gate's other
loss/gradient evaluations, the experts' M-step, the gate's M-step (which
contains the look-ahead pass) and the re-seed check; wall milliseconds per
iteration, averaged over ``R`` iterations after 3 warm-up ones.

Usage::

    python benchmarks/bench_em_parts.py N D K [R]
"""

import collections
import sys
import time

import numpy as np

import skmoe._fused as F
from skmoe import MixtureOfExpertsRegressor
from skmoe._kernels import _softmax
from skmoe.datasets import make_moe_regression

n, d, K = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
X, y, params = make_moe_regression(n, d, K, random_state=0)
rng = np.random.RandomState(0)
resp0 = np.full((n, K), 0.2 / K)
resp0[np.arange(n), params.labels] += 0.8
est = MixtureOfExpertsRegressor(n_experts=K, random_state=0)
named = est._named_experts()
X, y, sw = est._validate_fit_data(X, y, None)
gate = est._make_gate()
gate._initialize(X, K)
experts = est._make_expert_set(named, rng, None)
est._m_step(X, y, sw, resp0, gate, experts, 0, 0, rng)
T = collections.defaultdict(float)


def wrap(obj, name, label):
    f = getattr(obj, name)

    def g(*a, **k):
        t = time.perf_counter()
        r = f(*a, **k)
        T[label] += time.perf_counter() - t
        return r

    setattr(obj, name, g)


wrap(F, "_fused_pass", "fused passes (E-step + lookahead)")
wrap(experts, "fit", "experts M-step")
wrap(gate, "_m_step", "gate M-step (incl. lookahead pass)")
wrap(est, "_reseed", "reseed")
wrap(_softmax, "_softmax_regression_loss_grad_one", "gate loss/grad kernel")
wrap(_softmax, "_loss_grad_wide_one", "gate loss/grad kernel (wide)")
ahead = [None]
it = [0]


def em_iteration():
    it[0] += 1
    if ahead[0] is not None:
        (resp, ll, gate_eval, mass), ahead[0] = ahead[0], None
    else:
        resp, ll, gate_eval, mass = est._em_e_step(X, y, sw, gate, experts)
    resp, dead = est._reseed(X, resp, ll, sw, rng, mass=mass)
    ahead[0] = est._m_step(
        X, y, sw, resp, gate, experts, it[0], 0, rng, gate_eval=None if dead.size else gate_eval
    )


for _ in range(3):
    em_iteration()
T.clear()
R = int(sys.argv[4]) if len(sys.argv) > 4 else 5
t = time.perf_counter()
for _ in range(R):
    em_iteration()
tot = time.perf_counter() - t
print(f"iteration ms {1e3 * tot / R:.1f}")
for k, v in T.items():
    print(f"  {k:<40} {1e3 * v / R:.1f} ms")
