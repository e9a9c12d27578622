"""The component contract: one M-step, whatever engine moves the rows.

Every built-in gate and expert set is estimated through the component
protocol (``skmoe._rows``; ../shared/design.md section 2b): additive
statistics (``row_stats`` -> ``m_step_from_stats``) or an iterative problem
whose sums over rows come from the engine (``m_step_from_rows``).  From the
same state and the same responsibilities, the M-step computed from

* all rows as one block,
* two thread blocks,
* the blocks of a Dask array (three chunks, no cluster), and
* the first chunk of online EM (``partial_fit``'s updater, step 1)

must agree to 1e-10, and so must the frames (centres and spreads) that
``prepare`` computes from each engine.  A new gate or expert set that passes
this test works in ``fit``, ``partial_fit`` and on Dask without code of its
own in ``_dask.py`` or ``_online.py``.
"""

import copy
from types import SimpleNamespace

import numpy as np
import pytest
from numpy.testing import assert_allclose

from skmoe._online import _ComponentUpdater
from skmoe._rows import ThreadRows
from skmoe.experts import BinomialExpert, LogisticExpert, PoissonExpert
from skmoe.experts._glm import _BinomialSet, _PoissonSet
from skmoe.experts._sets import _LinearGaussianSet, _LogisticSet
from skmoe.gating import ConstantGate, GaussianGate, HierarchicalGate, SoftmaxGate

N, D, K, C = 301, 3, 4, 3
TOL = 1e-10


def _data(seed=0):
    rng = np.random.RandomState(seed)
    # Features far from zero and in mixed units: the frame must absorb them.
    X = rng.standard_normal((N, D)) * [1.0, 1e3, 1e-3] + [1.7e9, -5.0, 1e4]
    resp = rng.dirichlet(np.ones(K), size=N)
    sw = rng.uniform(0.2, 2.0, size=N)
    return X, resp, sw, rng


def _targets(kind, rng):
    if kind == "logistic":
        return rng.randint(0, C, size=N).astype(np.intp)
    if kind == "poisson":
        return rng.poisson(3.0, size=N).astype(np.float64)
    if kind == "binomial":
        return rng.binomial(3, 0.4, size=N) / 3.0
    return rng.standard_normal(N) * 1e-3 + 42.0  # a target in small units, far from zero


def _thread_rows(block_rows, **arrays):
    return ThreadRows(block_rows=block_rows, **arrays)


def _dask_rows(X, y, sw, resp, role):
    """``skmoe._dask``'s row engine over a three-chunk Dask array (local scheduler)."""
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    from skmoe._dask import _BlockData, _DaskRows

    data = _BlockData(dask, da.from_array(X, chunks=(N // 3 + 1, D)), y, sw)
    data.y = data.y_raw
    blocks = [resp[a:z] for a, z in zip(data.bounds[:-1], data.bounds[1:], strict=True)]
    em = SimpleNamespace(data=data, gcols=None, ecols=None)
    return _DaskRows(em, blocks)


# --------------------------------------------------------------------------- #
# The components: a fresh, initialised one, its rows, and its fitted numbers
# --------------------------------------------------------------------------- #
GATES = {
    "constant": lambda: ConstantGate(),
    "gaussian_full": lambda: GaussianGate(covariance_type="full"),
    "gaussian_tied": lambda: GaussianGate(covariance_type="tied"),
    "gaussian_diag": lambda: GaussianGate(covariance_type="diag"),
    "gaussian_spherical": lambda: GaussianGate(covariance_type="spherical"),
    "softmax": lambda: SoftmaxGate(max_iter=200, tol=1e-12),
    "softmax_generalised_em": lambda: SoftmaxGate(),
    "hierarchical": lambda: HierarchicalGate(depth=2, branching=2, max_iter=200, tol=1e-12),
}

EXPERT_SETS = {
    "linear": lambda rng: _LinearGaussianSet(K, 1e-10, 1e-30),
    "logistic": lambda rng: _LogisticSet(
        [(f"e{k}", LogisticExpert(max_iter=200, tol=1e-12)) for k in range(K)],
        "weighted",
        None,
        rng,
        C,
    ),
    "poisson": lambda rng: _PoissonSet([PoissonExpert(tol=1e-14) for _ in range(K)]),
    "binomial": lambda rng: _BinomialSet([BinomialExpert(n_trials=3, tol=1e-14) for _ in range(K)]),
}


def _gate_numbers(gate):
    names = ("coef_", "intercept_", "weights_", "means_", "covariances_")
    return {n: np.asarray(getattr(gate, n)) for n in names if hasattr(gate, n)}


def _gate_frame(gate):
    frame = getattr(gate, "_frame", None)
    if frame is None:
        frame = (gate._mean, gate._scale) if hasattr(gate, "_mean") else ()
    return {str(i): np.asarray(f) for i, f in enumerate(frame)}


def _set_numbers(eset):
    out = {}
    for name in ("coef", "intercept", "variance"):
        if getattr(eset, name, None) is not None:
            out[name] = np.asarray(getattr(eset, name))
    for k, est in enumerate(getattr(eset, "ests", [])):
        out[f"coef_{k}"], out[f"intercept_{k}"] = est.coef_, est.intercept_
    return out


def _m_step(comp, rows):
    if hasattr(comp, "row_stats"):
        comp.m_step_from_stats(rows.sum(comp.row_stats))
    else:
        comp.m_step_from_rows(rows)
    return comp


def _assert_same(results, numbers):
    ref_name, ref = results[0]
    for name, comp in results[1:]:
        a, b = numbers(ref), numbers(comp)
        assert a.keys() == b.keys()
        for key in a:
            scale = max(1.0, float(np.max(np.abs(a[key]))))
            err = float(np.max(np.abs(a[key] - b[key]))) / scale
            assert err <= TOL, f"{key}: {name} differs from {ref_name} by {err:.3g} (relative)"


# --------------------------------------------------------------------------- #
# The contract
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("name", list(GATES))
def test_gate_m_step_is_the_same_on_every_engine(name):
    X, resp, sw, _ = _data()
    gate = GATES[name]()
    gate._initialize(X, K, sample_weight=sw)
    arrays = dict(gx=X, resp=resp, sw=sw)
    engines = {
        "all rows": _thread_rows(N, **arrays),
        "two thread blocks": _thread_rows(N // 2 + 1, **arrays),
        "dask blocks": _dask_rows(X, np.zeros(N), sw, resp, "gate"),
    }
    if hasattr(gate, "prepare"):
        frames = {n: copy.deepcopy(gate).prepare(r) for n, r in engines.items()}
        _assert_same(list(frames.items()), _gate_frame)
    results = [(n, _m_step(copy.deepcopy(gate), r)) for n, r in engines.items()]
    online = copy.deepcopy(gate)
    ctx = {"fresh": True, "n_seen": sw.sum(), "wsum": sw.sum()}
    _ComponentUpdater(online, "gate").start(X, resp, sw, sw.sum(), ctx)
    results.append(("online first chunk", online))
    _assert_same(results, _gate_numbers)


@pytest.mark.parametrize("name", list(EXPERT_SETS))
def test_expert_set_m_step_is_the_same_on_every_engine(name):
    X, resp, sw, rng = _data(1)
    y = _targets(name, rng)
    eset = EXPERT_SETS[name](np.random.RandomState(0))
    W = resp * sw[:, None]
    arrays = dict(ex=X, y=y, W=W)
    engines = {
        "all rows": _thread_rows(N, **arrays),
        "two thread blocks": _thread_rows(N // 2 + 1, **arrays),
        "dask blocks": _dask_rows(X, y, sw, resp, "experts"),
    }
    # The frame of an EM run comes from the sample weights alone.
    weights = dict(ex=X, y=y, W=sw[:, None])
    frame_engines = {
        "all rows": _thread_rows(N, **weights),
        "two thread blocks": _thread_rows(N // 2 + 1, **weights),
        "dask blocks": _dask_rows(X, y, sw, np.ones((N, 1)), "experts"),
    }
    frames = [(n, copy.deepcopy(eset).prepare(r)) for n, r in frame_engines.items()]
    _assert_same(frames, lambda s: {str(i): np.asarray(f) for i, f in enumerate(s._frame)})
    eset.prepare(frame_engines["all rows"])
    results = [(n, _m_step(copy.deepcopy(eset), r)) for n, r in engines.items()]
    online = copy.deepcopy(eset)
    ctx = {"fresh": True, "n_seen": sw.sum(), "wsum": sw.sum()}
    _ComponentUpdater(online, "experts").start(X, y, W, sw.sum(), ctx)
    results.append(("online first chunk", online))
    _assert_same(results, _set_numbers)


# --------------------------------------------------------------------------- #
# The user guide's gate: the protocol alone runs it in fit, partial_fit, Dask
# --------------------------------------------------------------------------- #
def _guide_gate_class():
    """Execute the code block of doc/guide/organisation.rst (the documented gate)."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "doc/guide/organisation.rst").read_text()
    block = re.search(r"\.\. code-block:: python\n\n((?:   .*\n|\n)+)", text).group(1)
    code = "\n".join(line[3:] for line in block.splitlines())
    namespace = {}
    exec(compile(code, "organisation.rst", "exec"), namespace)  # noqa: S102 - our own docs
    return namespace["SmoothedConstantGate"]


def test_documented_gate_runs_on_every_engine():
    from skmoe import MixtureOfExpertsRegressor
    from skmoe.datasets import make_moe_regression

    Gate = _guide_gate_class()
    X, y, _ = make_moe_regression(600, n_features=2, n_experts=2, random_state=0)
    kw = dict(n_experts=2, random_state=0, max_iter=30)
    ref = MixtureOfExpertsRegressor(gate=Gate(a=0.05), **kw).fit(X, y)
    # The smoothing is applied: proportions (share + a) / (1 + K a), so a
    # share of 0 or 1 is pulled in by a.
    assert np.all(ref.gate_.weights_ >= 0.05 / 1.1 - 1e-15)
    assert abs(ref.gate_.weights_.sum() - 1.0) < 1e-12
    # a = 0 is the built-in constant gate, step for step.
    plain = MixtureOfExpertsRegressor(gate=Gate(a=0.0), **kw).fit(X, y)
    builtin = MixtureOfExpertsRegressor(gate="constant", **kw).fit(X, y)
    assert_allclose(plain.lower_bounds_, builtin.lower_bounds_, rtol=1e-12)
    # Online: the first chunk gives a fitted model, later chunks update it.
    online = MixtureOfExpertsRegressor(gate=Gate(a=0.05), **kw)
    for a in range(0, 600, 150):
        online.partial_fit(X[a : a + 150], y[a : a + 150])
    assert online.n_iter_ == 4 and np.all(online.gate_.weights_ >= 0.05 / 1.1 - 1e-15)
    # Dask: the same fit as in memory.
    da = pytest.importorskip("dask.array")
    got = MixtureOfExpertsRegressor(gate=Gate(a=0.05), **kw).fit(
        da.from_array(X, chunks=(200, 2)), y
    )
    assert got.n_iter_ == ref.n_iter_
    assert_allclose(got.lower_bounds_, ref.lower_bounds_, rtol=1e-8)
    assert_allclose(got.gate_.weights_, ref.gate_.weights_, rtol=1e-8)


# --------------------------------------------------------------------------- #
# The small-problem fast paths give the general path's numbers, to the bit
# --------------------------------------------------------------------------- #
def _ls_stats(rng, n, d, K, dead=()):
    X1 = np.column_stack([rng.randn(n, d) * [10.0, 0.01][:d] + [1e4, -3.0][:d], np.ones(n)])
    y = 50.0 + 3.0 * rng.randn(n)
    W = rng.uniform(0, 1, (n, K))
    W[:, list(dead)] = 0.0
    A = np.einsum("ik,ia,ib->kab", W, X1, X1)
    b = np.einsum("ik,ia,i->ka", W, X1, y)
    return A, b, (y * y) @ W


@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("alpha", [0.0, 1e-10, 1e-2])
@pytest.mark.parametrize("dead", [(), (1,)])
def test_small_linear_solve_is_the_numpy_path_bit_for_bit(d, alpha, dead, monkeypatch):
    from skmoe.experts import _linear

    A, b, syy = _ls_stats(np.random.RandomState(d), 40, d, 3, dead)
    fast = _linear.solve_weighted_linear(A, b, syy, alpha, ridge_scale=np.ones(d))
    assert _linear._solve_weighted_linear_small(A, b, syy, alpha, np.ones(d), d) is not None
    monkeypatch.setattr(_linear, "_SMALL_SOLVE", 0)  # the general NumPy path
    slow = _linear.solve_weighted_linear(A, b, syy, alpha, ridge_scale=np.ones(d))
    for f, s in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(f, s)


@pytest.mark.parametrize("d", [1, 2])
def test_small_linear_solve_leaves_indefinite_systems_to_numpy(d):
    from skmoe.experts import _linear

    A, b, syy = _ls_stats(np.random.RandomState(7), 20, d, 2)
    A[0, 0, 0] = -1.0  # not positive definite once centred
    assert _linear._solve_weighted_linear_small(A, b, syy, 0.0, np.ones(d), d) is None
    beta, rss, _ = _linear.solve_weighted_linear(A, b, syy, 0.0, ridge_scale=np.ones(d))
    assert np.all(np.isfinite(beta)) and np.all(np.isfinite(rss))
