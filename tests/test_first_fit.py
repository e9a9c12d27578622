"""What the first fit in a fresh install compiles (issue 16: first fit in seconds).

In a subprocess with an empty Numba cache, the demo's first fit (``python -m
skmoe``: 5 experts, softmax gate, n_init=5, then predict, log_likelihood,
predict_quantiles and predict_gate) is run with a listener on Numba's
compile events.  Each compiled function costs ~0.1-1.3 s there; the count
and the list are pinned so that a new kernel or a second specialisation on
this path is a deliberate choice.
"""

import json
import os
import subprocess
import sys

_CHILD = r"""
import json, warnings
from numba.core import event

compiled = []


class Listener(event.Listener):
    def on_start(self, ev):
        pass

    def on_end(self, ev):
        f = ev.data["dispatcher"].py_func
        compiled.append(f"{f.__module__}.{f.__qualname__}")


event.register("numba:compile", Listener())
from sklearn.model_selection import KFold
from threadpoolctl import threadpool_limits

from skmoe import MixtureOfExpertsRegressor, SoftmaxGate
from skmoe.datasets import load_mcycle

X, y = load_mcycle(return_X_y=True)
train, test = next(KFold(5, shuffle=True, random_state=0).split(X))
model = MixtureOfExpertsRegressor(
    n_experts=5, gate=SoftmaxGate(alpha=1e-2), n_init=5, max_iter=300, random_state=0
)
with warnings.catch_warnings(), threadpool_limits(1):
    warnings.simplefilter("ignore")
    model.fit(X[train], y[train])
    model.predict(X[test])
    model.log_likelihood(X[test], y[test])
    model.predict_quantiles(X[test], [0.05, 0.95])
    model.predict_gate(X)
print(json.dumps(compiled))
# The demo's later fits: all the rows, and a column view of a wider table
# (strided rows): no kernel compiled again for their layout.
n_first = len(compiled)
import numpy as np
with warnings.catch_warnings(), threadpool_limits(1):
    warnings.simplefilter("ignore")
    model.fit(X, y)
    model.fit(np.column_stack([X, X])[:, :1], y)
print(json.dumps(compiled[n_first:]))
"""

# What the demo's first fit compiles: the fit's kernels (the gate's
# log-softmax, the experts' Gaussian log-densities, the posterior, the gate's
# loss/gradient, the experts' statistics on few rows, the frame's sums); the
# predictions reuse them.  Not the fused E-step (skmoe._fused): on fewer than
# FUSED_MIN_ROWS rows the separate passes run, and the fused kernel's ~1.8 s
# compile is not paid.  Every kernel once: the gate's loss/gradient takes X
# with the E-step kernels' type (read-only 'A'), so their helper _tile_linear
# is compiled once.  Not the wide variants of the gate's kernels either
# (skmoe._kernels._estep.use_wide: four by four blocks, ~0.5 s more each) but
# their plain gradient helper (_tile_dots, ~0.06 s: the 11th).
_MAX_SKMOE_COMPILES = 11
_NOT_COMPILED = (
    "skmoe._kernels._fused._softmax_gaussian_estep_tiles",
    "skmoe._kernels._fused._softmax_gaussian_estep_wide",
    "skmoe._kernels._softmax._softmax_regression_loss_grad_wide",
    "skmoe._kernels._estep._tile_linear_wide",
    "skmoe._kernels._estep._linear_log_softmax_wide",
    "skmoe._kernels._gaussian._linear_gaussian_log_density_wide",
    "skmoe._kernels._vector._tile_cross",
    "skmoe._kernels._linear._linear_sufficient_stats_blocks",
)


def test_demo_first_fit_compiles_few_functions(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba_cache"))
    out = subprocess.run(
        [sys.executable, "-c", _CHILD],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    compiled = json.loads(out.stdout.strip().splitlines()[-2])
    later = json.loads(out.stdout.strip().splitlines()[-1])
    ours = [name for name in compiled if name.startswith("skmoe.")]
    assert ours, "nothing compiled: the cache was not empty"
    assert len(ours) <= _MAX_SKMOE_COMPILES, sorted(ours)
    assert not set(_NOT_COMPILED) & set(ours), sorted(ours)
    # No kernel twice.
    assert len(set(ours)) == len(ours), sorted(ours)
    # Nor for strided rows, later (the experts' statistics on few rows copy
    # them to C order: their kernel was compiled for that layout alone).
    assert not [name for name in later if name.startswith("skmoe.")], later
